//! `linux.intelRdt` and `update --l3-cache-schema/--mem-bw-schema`, checked where a
//! user would look: the resctrl group's files on the host, or, on a host without a
//! resctrl mount (this project's CI host), the one-line refusal and nothing left.
//!
//! The file writes themselves are unit-tested against a directory laid out as a
//! resctrl mount (libcontainer/src/intelrdt/tests.rs).

use std::path::{Path, PathBuf};

use integration_tests::mountinfo::own_mounts;
use integration_tests::{assert_failed_cleanly, unique_id, Bundle, Runtime, CGROUP_TEST_PARENT};
use serde_json::{json, Value};

/// Where the host mounts resctrl, if it does.
fn host_resctrl() -> Option<PathBuf> {
    own_mounts()
        .into_iter()
        .find(|m| m.fstype == "resctrl")
        .map(|m| PathBuf::from(m.mount_point))
}

fn sleeper(id: &str, intel_rdt: Value) -> Bundle {
    Bundle::new(id)
        .args(&["sleep", "1000"])
        .set("/linux/intelRdt", intel_rdt)
        .write()
}

#[test]
fn intel_rdt_without_resctrl_is_refused_by_name_and_leaves_nothing() {
    if let Some(root) = host_resctrl() {
        return the_container_has_a_resctrl_group_of_its_own(&root);
    }
    for intel_rdt in [
        json!({}),
        json!({ "closID": "gold" }),
        json!({ "l3CacheSchema": "L3:0=f" }),
        json!({ "memBwSchema": "MB:0=50", "enableMonitoring": true }),
    ] {
        let runtime = Runtime::under_test().with_json_log();
        let id = unique_id();

        let output = runtime.create(&id, &sleeper(&id, intel_rdt.clone()), &[]);

        // runc's reason, after the field.
        assert_failed_cleanly(
            &runtime,
            &output,
            &id,
            &[&["linux.intelRdt: intelRdt is specified in config, but Intel RDT is not enabled"]],
        );
    }
}

/// Unverified on this project's CI host, which has no resctrl: a container with an
/// empty `intelRdt` gets `<resctrl>/<id>` with its init and exec'd processes in it,
/// and the group goes with the container.
fn the_container_has_a_resctrl_group_of_its_own(root: &Path) {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let init = runtime.create_started(&id, &sleeper(&id, json!({})));
    let group = root.join(&id);
    let tasks = || std::fs::read_to_string(group.join("tasks")).unwrap();
    assert!(
        tasks().lines().any(|t| t == init.to_string()),
        "{}",
        tasks()
    );
    let exec = runtime.exec_detached(&id, &[], &["sleep", "1000"]);
    assert!(
        tasks().lines().any(|t| t == exec.to_string()),
        "{}",
        tasks()
    );

    runtime.delete(&id, true).assert_success();
    assert!(!group.exists(), "{} left behind", group.display());
}

#[test]
fn update_refuses_schemata_the_host_cannot_take_with_runcs_words() {
    let root = host_resctrl();
    let has = |info: &str| root.as_ref().is_some_and(|r| r.join(info).is_dir());
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["sleep", "1000"]).write();
    runtime.create_started(&id, &bundle);
    let pids_max = Path::new("/sys/fs/cgroup/pids")
        .join(CGROUP_TEST_PARENT)
        .join(&id)
        .join("pids.max");
    let before = std::fs::read_to_string(&pids_max).unwrap();

    for (flag, info, words) in [
        (
            "--l3-cache-schema=L3:0=f",
            "info/L3",
            "Intel RDT/CAT: l3 cache schema is not enabled",
        ),
        (
            "--mem-bw-schema=MB:0=50",
            "info/MB",
            "Intel RDT/MBA: memory bandwidth schema is not enabled",
        ),
    ] {
        if has(info) {
            continue;
        }
        let output = runtime.cmd(&["update", "--pids-limit", "5", flag, &id]);

        output.assert_failure();
        assert!(output.stderr.contains(words), "{output}");
        // Refused before anything changed.
        assert_eq!(std::fs::read_to_string(&pids_max).unwrap(), before);
    }
}
