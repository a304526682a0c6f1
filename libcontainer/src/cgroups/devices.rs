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

/// What every container's device cgroup allows besides its own rules, as runc's
/// `AllowedDevices` and libcgroups (which keeps its list private) have it: the
/// default devices (null, zero, full, tty, urandom, random), mknod of any device,
/// the console, the ptys and ptmx, and tun.
const ALWAYS_ALLOWED: [&str; 12] = [
    "c 1:3 rwm",
    "c 1:5 rwm",
    "c 1:7 rwm",
    "c 5:0 rwm",
    "c 1:9 rwm",
    "c 1:8 rwm",
    "c *:* m",
    "b *:* m",
    "c 5:1 rwm",
    "c 136:* rwm",
    "c 5:2 rwm",
    "c 10:200 rwm",
];

/// Writes `rules`, then [`ALWAYS_ALLOWED`], into a v1 devices cgroup, in the order
/// libcgroups' v1 manager writes them: done here so that a create whose only v1
/// resource is its device rules needs no libcgroups manager (whose construction
/// reads the mount table once per controller).
pub(super) fn apply_v1(dir: &std::path::Path, rules: &[LinuxDeviceCgroup]) -> std::io::Result<()> {
    use std::io::Write;
    // Each file opened once: the kernel takes one rule per write.
    let open = |name: &str| std::fs::OpenOptions::new().write(true).open(dir.join(name));
    let (mut allow, mut deny) = (None, None);
    let rules = rules
        .iter()
        .map(|r| (r.allow(), r.to_string()))
        .chain(ALWAYS_ALLOWED.iter().map(|r| (true, r.to_string())));
    for (allowed, rule) in rules {
        let (slot, name) = match allowed {
            true => (&mut allow, "devices.allow"),
            false => (&mut deny, "devices.deny"),
        };
        let file = match slot {
            Some(file) => file,
            None => slot.insert(open(name)?),
        };
        file.write_all(rule.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// truman's own v1 device rules leave a cgroup allowing exactly what libcgroups'
    /// v1 manager makes it allow, on a host with a v1 devices hierarchy (as root).
    #[test]
    fn v1_device_rules_written_without_libcgroups_match_what_libcgroups_writes() {
        use libcgroups::common::{CgroupManager, ControllerOpt};
        let Some(mount) = crate::cgroups::hierarchy::hierarchies()
            .into_iter()
            .find(|h| h.options.split(',').any(|o| o == "devices"))
        else {
            eprintln!("no v1 devices hierarchy on this host: nothing to compare");
            return;
        };
        let name = format!("truman-test-devices-{}", std::process::id());
        let ours = mount.mount_point.join(format!("{name}-ours"));
        std::fs::create_dir(&ours).unwrap();
        let theirs_path = std::path::PathBuf::from(format!("/{name}-theirs"));
        let rules = docker_rules();
        let resources = oci_spec::runtime::LinuxResourcesBuilder::default()
            .devices(wildcards_resolved(&rules))
            .build()
            .unwrap();
        let manager = libcgroups::v1::manager::Manager::new(&theirs_path).unwrap();
        let theirs = mount.dir_of(&theirs_path);
        std::fs::create_dir_all(&theirs).unwrap();
        let applied = manager.apply(&ControllerOpt {
            resources: &resources,
            disable_oom_killer: false,
            oom_score_adj: None,
            freezer_state: None,
        });
        let ours_applied = apply_v1(&ours, &wildcards_resolved(&rules));
        let list = |dir: &std::path::Path| {
            let mut lines: Vec<String> = std::fs::read_to_string(dir.join("devices.list"))
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect();
            lines.sort();
            lines
        };
        let (a, b) = (list(&ours), list(&theirs));
        let _ = std::fs::remove_dir(&ours);
        let _ = manager.remove();
        applied.unwrap();
        ours_applied.unwrap();
        assert_eq!(a, b);
    }
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
