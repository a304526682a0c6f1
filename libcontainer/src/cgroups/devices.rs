//! Device rules as the kernel takes them. The spec's `major` and `minor` are optional
//! and a missing one means "any"; docker (and runc's own configs) write "any" as -1
//! instead (`--device-cgroup-rule 'b 8:* rmw'` becomes `"minor": -1`). libcgroups
//! prints a number it is given, and the v1 devices cgroup refuses `b 8:-1 rmw` with
//! EINVAL, so every negative number becomes the missing one before a rule leaves here.

use oci_spec::runtime::LinuxDeviceCgroup;

/// `rules` with every negative major or minor number turned into a wildcard.
pub(super) fn wildcards_resolved(rules: &[LinuxDeviceCgroup]) -> Vec<LinuxDeviceCgroup> {
    rules
        .iter()
        .map(|rule| {
            let mut rule = rule.clone();
            rule.set_major(rule.major().filter(|n| *n >= 0));
            rule.set_minor(rule.minor().filter(|n| *n >= 0));
            rule
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use libcgroups::v2::devices::emulator::Emulator;
    use libcgroups::v2::devices::program::Program;
    use oci_spec::runtime::LinuxDeviceType;

    fn rules(json: serde_json::Value) -> Vec<LinuxDeviceCgroup> {
        serde_json::from_value(json).unwrap()
    }

    /// What docker writes for `--device-cgroup-rule 'b 8:* rmw'`, after its deny-all.
    fn docker_rules() -> Vec<LinuxDeviceCgroup> {
        rules(serde_json::json!([
            { "allow": false, "access": "rwm" },
            { "allow": true, "type": "b", "major": 8, "minor": -1, "access": "rwm" },
            { "allow": true, "type": "c", "major": -1, "minor": 3, "access": "r" },
        ]))
    }

    #[test]
    fn negative_numbers_become_the_v1_wildcard() {
        let lines: Vec<String> = wildcards_resolved(&docker_rules())
            .iter()
            .map(ToString::to_string)
            .collect();
        // The strings libcgroups writes to devices.allow and devices.deny.
        assert_eq!(lines, ["a *:* rwm", "b 8:* rwm", "c *:3 r"]);
    }

    #[test]
    fn numbers_that_are_given_stay() {
        let given = rules(serde_json::json!([
            { "allow": true, "type": "b", "major": 7, "minor": 0, "access": "r" }
        ]));
        assert_eq!(wildcards_resolved(&given), given);
    }

    /// The cgroup v2 device program libcgroups builds from the rules (its own
    /// emulator and program, run in rbpf here, since loading it into the kernel needs
    /// CAP_SYS_RESOURCE this CI host's root lacks; see `v2_tests.rs`).
    fn program(rules: &[LinuxDeviceCgroup]) -> Program {
        let mut emulator = Emulator::with_default_allow(false);
        emulator.add_rules(rules);
        Program::from_rules(&emulator.rules, emulator.default_allow).unwrap()
    }

    #[test]
    fn the_v2_device_program_treats_a_wildcard_as_any_device() {
        for rules in [wildcards_resolved(&docker_rules()), docker_rules()] {
            let program = program(&rules);
            let allowed = |typ, major, minor, access: &str| {
                program.execute(typ, major, minor, access.into()).unwrap() == 1
            };
            assert!(allowed(LinuxDeviceType::B, 8, 0, "rwm"));
            assert!(allowed(LinuxDeviceType::B, 8, 255, "r"));
            assert!(!allowed(LinuxDeviceType::B, 9, 0, "r"), "another major");
            assert!(!allowed(LinuxDeviceType::C, 8, 0, "r"), "another type");
            assert!(allowed(LinuxDeviceType::C, 1, 3, "r"));
            assert!(allowed(LinuxDeviceType::C, 136, 3, "r"));
            assert!(
                !allowed(LinuxDeviceType::C, 136, 3, "w"),
                "access not granted"
            );
            assert!(!allowed(LinuxDeviceType::C, 136, 4, "r"), "another minor");
        }
    }
}
