//! `features` (runtime-spec features.md), and a container for what it claims, so the
//! two cannot drift apart: every mount option it lists is mounted and seen in the
//! container's mountinfo, every namespace is created, every seccomp action, operator,
//! architecture and flag it lists is loaded. (The hook points it lists are each run by
//! `hooks.rs`, idmapped mounts by `idmapped_mounts.rs`, `netDevices` by `network.rs`;
//! `intelRdt` can only be refused on a host without resctrl, by `intel_rdt.rs`), and
//! every memory policy mode and flag is the task policy of a container.

use std::collections::BTreeSet;

use integration_tests::mountinfo::{parse_mountinfo, MountLine};
use integration_tests::{host_ns, unique_id, Bundle, Output, Runtime};
use serde_json::{json, Value};

fn features() -> Value {
    let output = Runtime::under_test().cmd(&["features"]);
    output.assert_success();
    serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("features JSON: {e}: {output}"))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

#[test]
fn features_says_what_containerd_asks_before_giving_a_pod_a_user_namespace() {
    let features = features();

    assert_eq!(features["ociVersionMin"], "1.0.0");
    assert_eq!(features["ociVersionMax"], "1.3.0");
    assert!(strings(&features["linux"]["namespaces"]).contains(&"user".to_owned()));
    assert_eq!(
        features["linux"]["mountExtensions"]["idmap"]["enabled"],
        true
    );
    assert!(strings(&features["mountOptions"]).contains(&"rro".to_owned()));
    assert_eq!(
        strings(&features["hooks"]),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );
    // Nothing unknown is printed as null: containerd's Go types read absent fields.
    assert!(!serde_json::to_string(&features).unwrap().contains("null"));
}

/// What a container must show for a mount option, on a tmpfs at its own mount
/// point (or a bind, for the options only a bind takes).
struct Recipe {
    /// The mount's options: the one under test, after what it must undo.
    options: Vec<String>,
    bind: bool,
    /// Tokens the mount's line must show (per-mount or superblock options, or tags).
    shows: &'static [&'static str],
    /// Tokens it must not show.
    hides: &'static [&'static str],
}

fn recipe(option: &str) -> Recipe {
    let r = |options: &[&str], shows, hides| Recipe {
        options: options.iter().map(|o| o.to_string()).collect(),
        bind: false,
        shows,
        hides,
    };
    let bind = |options: &[&str], shows, hides| Recipe {
        bind: true,
        ..r(options, shows, hides)
    };
    match option {
        "ro" | "rro" => r(&[option], &["ro"], &[]),
        "rw" => r(&["ro", "rw"], &["rw"], &["ro"]),
        // On a bind: a new filesystem mounted "ro" has a read-only superblock, which
        // no mount attribute changes.
        "rrw" => bind(&["rbind", "ro", "rrw"], &["rw"], &["ro"]),
        "nosuid" | "rnosuid" => r(&[option], &["nosuid"], &[]),
        "suid" => r(&["nosuid", "suid"], &[], &["nosuid"]),
        "rsuid" => r(&["nosuid", "rsuid"], &[], &["nosuid"]),
        "nodev" | "rnodev" => r(&[option], &["nodev"], &[]),
        "dev" => r(&["nodev", "dev"], &[], &["nodev"]),
        "rdev" => r(&["nodev", "rdev"], &[], &["nodev"]),
        "noexec" | "rnoexec" => r(&[option], &["noexec"], &[]),
        "exec" => r(&["noexec", "exec"], &[], &["noexec"]),
        "rexec" => r(&["noexec", "rexec"], &[], &["noexec"]),
        "noatime" | "rnoatime" => r(&[option], &["noatime"], &["relatime"]),
        "atime" => r(&["noatime", "atime"], &["relatime"], &["noatime"]),
        "ratime" => r(&["noatime", "ratime"], &["relatime"], &["noatime"]),
        "relatime" | "rrelatime" => r(&["strictatime", option], &["relatime"], &[]),
        "norelatime" | "rnorelatime" => r(&[option], &["relatime"], &["noatime"]),
        "strictatime" | "rstrictatime" => r(&[option], &[], &["relatime", "noatime"]),
        "nostrictatime" => r(&["strictatime", "nostrictatime"], &["relatime"], &[]),
        "rnostrictatime" => r(&["strictatime", "rnostrictatime"], &["relatime"], &[]),
        "nodiratime" | "rnodiratime" => r(&[option], &["nodiratime"], &[]),
        "diratime" => r(&["nodiratime", "diratime"], &[], &["nodiratime"]),
        "rdiratime" => r(&["nodiratime", "rdiratime"], &[], &["nodiratime"]),
        "nosymfollow" | "rnosymfollow" => r(&[option], &["nosymfollow"], &[]),
        "symfollow" => r(&["nosymfollow", "symfollow"], &[], &["nosymfollow"]),
        "rsymfollow" => r(&["nosymfollow", "rsymfollow"], &[], &["nosymfollow"]),
        "sync" => r(&["sync"], &["sync"], &[]),
        "async" => r(&["sync", "async"], &[], &["sync"]),
        "dirsync" => r(&["dirsync"], &["dirsync"], &[]),
        "lazytime" => r(&["lazytime"], &["lazytime"], &[]),
        "nolazytime" => r(&["lazytime", "nolazytime"], &[], &["lazytime"]),
        "shared" | "rshared" => r(&[option], &["shared:"], &[]),
        "unbindable" | "runbindable" => r(&[option], &["unbindable"], &["shared:"]),
        "private" | "rprivate" | "slave" | "rslave" => r(&["shared", option], &[], &["shared:"]),
        // Flags a mount line does not show: the mount is made with them.
        "defaults" | "silent" | "loud" | "iversion" | "noiversion" | "nomand" => {
            r(&[option], &[], &[])
        }
        "tmpcopyup" => r(&["tmpcopyup"], &[], &[]),
        "bind" | "rbind" => bind(&[option], &[], &[]),
        "idmap" | "ridmap" => bind(&["rbind", option], &[], &[]),
        "remount" => r(&["remount", "ro"], &["ro"], &[]),
        other => panic!("features lists mount option {other:?}, which this test has no recipe for"),
    }
}

/// Whether the mount line shows `token` among its options, superblock options or
/// tags (a tag is matched by prefix: `shared:`).
fn shows(m: &MountLine, token: &str) -> bool {
    m.options.iter().chain(&m.super_options).any(|o| o == token)
        || m.tags
            .iter()
            .any(|t| t == token || (token.ends_with(':') && t.starts_with(token)))
}

#[test]
fn every_mount_option_features_lists_is_applied() {
    let options = strings(&features()["mountOptions"]);
    let runtime = Runtime::under_test();
    let id = unique_id();
    let mut bundle = Bundle::new(&id);
    let volume = tempfile::tempdir().expect("a host dir");
    std::fs::write(volume.path().join("from-host"), "x").unwrap();
    let image_dir = bundle.rootfs().join("copied");
    std::fs::create_dir(&image_dir).unwrap();
    std::fs::write(image_dir.join("from-image"), "x").unwrap();
    let mut checks = Vec::new();
    for option in &options {
        let recipe = recipe(option);
        let dest = if *option == "tmpcopyup" {
            "/copied".to_owned()
        } else {
            format!("/probe/{option}")
        };
        let mut mount = if recipe.bind {
            json!({ "destination": dest, "type": "bind", "source": volume.path(), "options": recipe.options })
        } else {
            json!({ "destination": dest, "type": "tmpfs", "source": format!("probe-{option}"),
                    "options": recipe.options })
        };
        if option.ends_with("idmap") {
            let to_2000 = json!([{ "containerID": 0, "hostID": 2000, "size": 1 }]);
            mount["uidMappings"] = to_2000.clone();
            mount["gidMappings"] = to_2000;
        }
        if *option == "remount" {
            // A remount changes what an earlier entry mounted.
            bundle = bundle.set(
                "/mounts/-",
                json!({ "destination": dest, "type": "tmpfs", "source": "probe-remount" }),
            );
            mount["type"] = json!("tmpfs");
        }
        bundle = bundle.set("/mounts/-", mount);
        checks.push((option.clone(), dest, recipe));
    }
    let bundle = bundle
        .args(&[
            "sh",
            "-c",
            "cat /proc/self/mountinfo; echo --; ls /copied; stat -c %u /probe/idmap/from-host",
        ])
        .write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    let (mountinfo, files) = output.stdout.split_once("--\n").expect("the marker");
    let mounts = parse_mountinfo(mountinfo);
    for (option, dest, recipe) in &checks {
        let m = mounts
            .iter()
            .rev()
            .find(|m| &m.mount_point == dest)
            .unwrap_or_else(|| panic!("{option}: nothing mounted at {dest}: {output}"));
        for token in recipe.shows {
            assert!(shows(m, token), "{option}: {token} missing: {m:?}");
        }
        for token in recipe.hides {
            assert!(!shows(m, token), "{option}: {token} still there: {m:?}");
        }
    }
    assert!(
        files.contains("from-image"),
        "tmpcopyup copied nothing: {output}"
    );
    assert!(files.ends_with("2000\n"), "idmap mapped nothing: {output}");
}

#[test]
fn every_namespace_features_lists_is_created() {
    let kinds = strings(&features()["linux"]["namespaces"]);
    let runtime = Runtime::under_test();
    let id = unique_id();
    let mut bundle = Bundle::new(&id);
    let proc_name = |kind: &str| {
        match kind {
            "mount" => "mnt",
            "network" => "net",
            other => other,
        }
        .to_owned()
    };
    for kind in &kinds {
        bundle = bundle.with_namespace(kind);
    }
    let mapping = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    let names: Vec<String> = kinds.iter().map(|k| proc_name(k)).collect();
    let bundle = bundle
        .set("/linux/uidMappings", mapping.clone())
        .set("/linux/gidMappings", mapping)
        .args(&[
            "sh",
            "-c",
            &format!(
                "for ns in {}; do readlink /proc/self/ns/$ns; done",
                names.join(" ")
            ),
        ])
        .write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    let inside: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(inside.len(), names.len(), "{output}");
    for (name, seen) in names.iter().zip(inside) {
        assert_ne!(seen, host_ns(name), "{name} is the host's: {output}");
    }
}

#[test]
fn every_seccomp_action_operator_arch_and_flag_features_lists_loads() {
    let features = features();
    let seccomp = &features["linux"]["seccomp"];
    assert_eq!(seccomp["enabled"], true);
    // Each action on a syscall the shell never makes; NOTIFY needs an agent, which
    // seccomp.rs's notify tests run.
    let rules: Vec<Value> = strings(&seccomp["actions"])
        .into_iter()
        .filter(|a| a != "SCMP_ACT_NOTIFY")
        .zip([
            "acct",
            "swapon",
            "swapoff",
            "reboot",
            "kexec_load",
            "init_module",
            "delete_module",
            "pivot_root",
            "syslog",
        ])
        .map(|(action, syscall)| json!({ "names": [syscall], "action": action }))
        .chain(strings(&seccomp["operators"]).into_iter().map(|op| {
            json!({ "names": ["settimeofday"], "action": "SCMP_ACT_ERRNO",
                    "args": [{ "index": 0, "value": 1, "valueTwo": 1, "op": op }] })
        }))
        .collect();
    let native: BTreeSet<String> = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
        .map(String::from)
        .into();
    let archs = strings(&seccomp["archs"]);
    assert!(archs.iter().any(|a| native.contains(a)), "{archs:?}");
    let runtime = Runtime::under_test();
    for flags in strings(&seccomp["supportedFlags"])
        .into_iter()
        .map(|f| vec![f])
        .chain([vec![]])
    {
        let id = unique_id();
        let bundle = Bundle::new(&id)
            .set(
                "/linux/seccomp",
                json!({ "defaultAction": "SCMP_ACT_ALLOW", "architectures": archs,
                        "flags": flags, "syscalls": rules }),
            )
            .args(&["true"])
            .write();
        let output: Output = runtime.run(&id, &bundle);
        output.assert_success();
    }
    for flag in strings(&seccomp["supportedFlags"]) {
        assert!(strings(&seccomp["knownFlags"]).contains(&flag), "{flag}");
    }
}

/// The name `numa_maps` gives a task policy of `mode` (mm/mempolicy.c's policy_modes).
fn numa_maps_name(mode: &str) -> &'static str {
    match mode {
        "MPOL_DEFAULT" => "default",
        "MPOL_PREFERRED" => "prefer",
        "MPOL_BIND" => "bind",
        "MPOL_INTERLEAVE" => "interleave",
        "MPOL_LOCAL" => "local",
        "MPOL_PREFERRED_MANY" => "prefer (many)",
        "MPOL_WEIGHTED_INTERLEAVE" => "weighted interleave",
        other => panic!("features lists a memory policy mode no kernel has: {other}"),
    }
}

#[test]
fn every_memory_policy_mode_and_flag_features_lists_is_the_containers() {
    let features = features();
    let policy = &features["linux"]["memoryPolicy"];
    let takes_no_nodes = ["MPOL_DEFAULT", "MPOL_LOCAL"];
    // Each flag with a mode that takes it (NUMA balancing: MPOL_BIND).
    let mut cases: Vec<(String, Vec<String>)> = strings(&policy["modes"])
        .into_iter()
        .map(|mode| (mode, Vec::new()))
        .collect();
    for flag in strings(&policy["flags"]) {
        cases.push(("MPOL_BIND".to_owned(), vec![flag]));
    }
    assert!(cases.len() >= 8, "{policy}");
    for (mode, flags) in cases {
        let runtime = Runtime::under_test();
        let id = unique_id();
        let mut asked = json!({ "mode": mode, "flags": flags });
        if !takes_no_nodes.contains(&mode.as_str()) {
            asked["nodes"] = json!("0");
        }
        let bundle = Bundle::new(&id)
            .set("/linux/memoryPolicy", asked)
            .args(&["cat", "/proc/self/numa_maps"])
            .write();

        let output = runtime.run(&id, &bundle);

        output.assert_success();
        let stack = output
            .stdout
            .lines()
            .find(|line| line.contains(" stack"))
            .unwrap_or_else(|| panic!("{mode} {flags:?}: no stack in numa_maps: {output}"));
        let name = numa_maps_name(&mode);
        assert!(
            stack
                .split_once(' ')
                .is_some_and(|(_, rest)| rest.starts_with(name)),
            "{mode} {flags:?}: {stack}"
        );
    }
}
