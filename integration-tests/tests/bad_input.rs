//! Bad bundles, bad ids and unknown containers: each must fail the way
//! containerd and podman parse failures, and leave nothing behind.
//!
//! Every runtime here logs with `--log F --log-format json` (as containerd's
//! shim does): containerd reports the last `error` line of that log, podman
//! reports stderr, so the message must be in both.

use std::path::PathBuf;

use integration_tests::{
    fixture, is_alive, leftover_cgroups, test_cgroups_path, unique_id, Bundle, Output, Runtime,
};
use serde_json::Value;

/// Asserts the error a caller sees: non-zero exit, exactly one line on
/// stderr, and the log's last line a JSON `error` entry; both the stderr
/// line and the log's `msg` mention every string in `mentions`.
#[track_caller]
fn assert_reported_error(runtime: &Runtime, output: &Output, mentions: &[&str]) {
    output.assert_failure();
    let stderr = output.stderr.trim_end();
    assert_eq!(
        stderr.lines().count(),
        1,
        "the error must be one line on stderr: {output}"
    );
    let log = runtime.log_lines();
    let last = log
        .last()
        .unwrap_or_else(|| panic!("empty --log after a failure: {output}"));
    assert_eq!(last["level"], "error", "last log line: {last}");
    let msg = last["msg"].as_str().unwrap_or_default();
    assert!(!msg.is_empty(), "last log line has no msg: {last}");
    for mention in mentions {
        assert!(
            stderr.contains(mention),
            "stderr does not mention {mention:?}: {output}"
        );
        assert!(
            msg.contains(mention),
            "log msg does not mention {mention:?}: {last}"
        );
    }
}

/// Asserts a failed `create` left nothing behind: no state under `--root`
/// other than the containers in `kept`, no cgroup for `cgroup_id`, and no
/// live process from the pid file of `id`.
#[track_caller]
fn assert_nothing_left(runtime: &Runtime, id: &str, cgroup_id: &str, kept: &[&str]) {
    let mut state_dirs: Vec<String> = std::fs::read_dir(runtime.root())
        .expect("read --root")
        .map(|entry| {
            entry
                .expect("read --root")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    state_dirs.sort();
    assert_eq!(state_dirs, kept, "state left under --root");
    assert_eq!(
        leftover_cgroups(cgroup_id),
        Vec::<PathBuf>::new(),
        "cgroups left"
    );
    if let Ok(pid) = std::fs::read_to_string(runtime.pid_file(id)) {
        let pid: i32 = pid.trim().parse().unwrap_or(0);
        assert!(
            pid <= 0 || !is_alive(pid),
            "a failed create wrote a pid file for live process {pid}"
        );
    }
}

/// Creates a container from `bundle` and checks it failed cleanly,
/// mentioning `mentions`.
#[track_caller]
fn assert_create_fails(bundle: Bundle, id: &str, mentions: &[&str]) -> Output {
    let runtime = Runtime::under_test().with_json_log();

    let output = runtime.create(id, &bundle, &[]);

    assert_reported_error(&runtime, &output, mentions);
    assert_nothing_left(&runtime, id, id, &[]);
    output
}

#[test]
fn create_without_config_json_fails() {
    let id = unique_id();
    let bundle = Bundle::new(&id).remove_config();

    assert_create_fails(bundle, &id, &["config.json"]);
}

#[test]
fn create_with_config_json_that_does_not_parse_fails_naming_it() {
    let id = unique_id();
    let bundle = Bundle::new(&id).write_raw_config(&fixture("broken/not-json.json"));

    let output = assert_create_fails(bundle, &id, &["config.json"]);

    // Not part of the contract, but what a user wants to see.
    if !output.stderr.contains('6') {
        eprintln!("note: the parse error does not point at line 6: {output}");
    }
}

#[test]
fn create_with_an_unsupported_oci_version_fails_naming_it() {
    let id = unique_id();
    let mut config: Value = serde_json::from_str(&fixture("broken/bad-version.json")).unwrap();
    let bad_version = config["ociVersion"].as_str().unwrap().to_string();
    // Keep the cgroup where assert_nothing_left looks if the runtime goes on.
    config["linux"]["cgroupsPath"] = test_cgroups_path(&id).into();
    let bundle = Bundle::new(&id).replace_config(config).write();

    assert_create_fails(bundle, &id, &[&bad_version]);
}

#[test]
fn create_with_a_missing_rootfs_fails_naming_it() {
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .set("/root/path", "no-such-rootfs".into())
        .write();

    assert_create_fails(bundle, &id, &["no-such-rootfs"]);
}

#[test]
fn create_with_a_duplicate_id_fails_and_leaves_the_first_container_alone() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["sleep", "1000"]).write();
    runtime.create(&id, &bundle, &[]).assert_success();
    let pid = runtime.init_pid(&id);

    let output = runtime.create(&id, &bundle, &[]);

    assert_reported_error(
        &runtime,
        &output,
        &["container with given ID already exists"],
    );
    assert_eq!(runtime.init_pid(&id), pid, "the pid file was overwritten");
    let state = runtime.state(&id);
    assert_eq!(state["status"], "created", "{state}");
    assert_eq!(state["pid"], pid, "{state}");
    assert!(is_alive(pid), "the first container's init died");
    let state_dirs: Vec<_> = std::fs::read_dir(runtime.root()).unwrap().collect();
    assert_eq!(state_dirs.len(), 1, "{state_dirs:?}");
}

/// An id that is not a plain file name must be refused before anything is
/// created for it, not even outside `--root`.
#[track_caller]
fn assert_id_rejected(bad_id: &str) {
    let runtime = Runtime::under_test().with_json_log();
    // The cgroup is named after a good id, so a runtime that accepts the
    // bad one leaves it where assert_nothing_left looks.
    let cgroup_id = unique_id();
    let bundle = Bundle::new(&cgroup_id).args(&["sleep", "1000"]).write();

    let output = runtime.create(bad_id, &bundle, &[]);

    assert_reported_error(&runtime, &output, &[]);
    assert_nothing_left(&runtime, bad_id, &cgroup_id, &[]);
    let beside_root = runtime.root().join("..").join("x");
    assert!(!beside_root.exists(), "created {}", beside_root.display());
}

#[test]
fn create_rejects_an_id_that_climbs_out_of_the_state_dir() {
    assert_id_rejected("../x");
}

#[test]
fn create_rejects_an_id_with_a_slash() {
    assert_id_rejected("a/b");
}

#[test]
fn create_rejects_an_empty_id() {
    assert_id_rejected("");
}

/// `SUBCOMMAND <unknown id>` fails with runc's "does not exist" wording,
/// which containerd matches on.
#[track_caller]
fn assert_unknown_container(args: &[&str]) {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let args: Vec<&str> = args
        .iter()
        .map(|&a| if a == "ID" { id.as_str() } else { a })
        .collect();

    let output = runtime.cmd(&args);

    assert_reported_error(&runtime, &output, &["does not exist"]);
    assert_nothing_left(&runtime, &id, &id, &[]);
}

#[test]
fn state_of_an_unknown_container_fails() {
    assert_unknown_container(&["state", "ID"]);
}

#[test]
fn start_of_an_unknown_container_fails() {
    assert_unknown_container(&["start", "ID"]);
}

#[test]
fn kill_of_an_unknown_container_fails() {
    assert_unknown_container(&["kill", "ID", "KILL"]);
}

#[test]
fn delete_of_an_unknown_container_fails() {
    assert_unknown_container(&["delete", "ID"]);
}

#[test]
fn create_refuses_the_root_cgroup_and_paths_that_climb_out() {
    for bad in ["/", "/truman-test/../.."] {
        let id = unique_id();
        let bundle = Bundle::new(&id)
            .set("/linux/cgroupsPath", bad.into())
            .write();

        assert_create_fails(bundle, &id, &["linux.cgroupsPath"]);
    }
}

#[test]
fn create_refuses_a_hostname_without_a_uts_namespace() {
    let id = unique_id();
    let bundle = Bundle::new(&id).without_namespace("uts").write();

    assert_create_fails(bundle, &id, &["hostname"]);
}

/// Without a mount namespace of its own, what would change the caller's mount tree
/// and stay after the container is refused, naming the field.
#[test]
fn create_refuses_what_would_change_the_callers_mounts_without_a_mount_namespace() {
    for (field, value) in [
        ("/root/readonly", serde_json::json!(true)),
        ("/linux/rootfsPropagation", serde_json::json!("private")),
    ] {
        let id = integration_tests::unique_id();
        let bundle = Bundle::new(&id)
            .without_namespace("mount")
            .remove("/linux/maskedPaths")
            .remove("/linux/readonlyPaths")
            .set("/root/readonly", serde_json::json!(false))
            .set(field, value)
            .write();
        let name = if field == "/root/readonly" {
            "root.readonly"
        } else {
            "linux.rootfsPropagation"
        };
        assert_create_fails(bundle, &id, &[name, "needs its own mount namespace"]);
    }
}
