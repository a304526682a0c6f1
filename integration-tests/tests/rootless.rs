//! truman run by a user without privilege, as rootless podman, rootless docker and
//! BuildKit run it: the config `spec --rootless` writes, the user's own id mapped to
//! root of a user namespace of the container's (more ids through newuidmap and
//! newgidmap from /etc/subuid), state under `$XDG_RUNTIME_DIR/truman`, and no cgroup
//! where none is delegated to the user (a cgroup v1 host never delegates one).

use integration_tests::rootless::SUBORDINATE;
use integration_tests::{host_has_v1_controller, unique_id, wait_exit, Bundle, Runtime};
use serde_json::json;

/// `id -u`, the uid and gid maps, the pid: who the process is.
const WHO_AM_I: &str = "id -u; cat /proc/self/uid_map /proc/self/gid_map; echo $$";

fn squeezed(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn a_user_runs_a_container_as_root_of_its_own_user_namespace() {
    let runtime = Runtime::rootless();
    let user = runtime.user().unwrap();
    let id = unique_id();
    let bundle = Bundle::rootless(&id, &runtime)
        .args(&["sh", "-c", WHO_AM_I])
        .write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    let own = format!("0 {} 1", user.uid);
    let own_gid = format!("0 {} 1", user.gid);
    assert_eq!(
        squeezed(&output.stdout),
        ["0", own.as_str(), own_gid.as_str(), "1"],
        "{output}"
    );
}

#[test]
fn a_user_s_state_lives_under_its_runtime_dir() {
    let runtime = Runtime::rootless().with_default_root();
    let user = runtime.user().unwrap();
    let id = unique_id();
    let bundle = Bundle::rootless(&id, &runtime)
        .args(&["sleep", "1000"])
        .write();

    runtime.create(&id, &bundle, &[]).assert_success();

    let dir = user.runtime_dir.join("truman").join(&id);
    assert!(
        dir.join("state.json").is_file(),
        "no state in {}",
        dir.display()
    );
    let root = std::fs::metadata(user.runtime_dir.join("truman")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&root), user.uid);
    let listed: Vec<String> = runtime
        .list_json()
        .iter()
        .map(|c| c["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(listed.contains(&id), "{listed:?}");
    runtime.delete(&id, true).assert_success();
    assert!(!dir.exists());
}

#[test]
fn a_user_execs_lists_signals_and_deletes_its_container() {
    let runtime = Runtime::rootless();
    let user = runtime.user().unwrap();
    let id = unique_id();
    let bundle = Bundle::rootless(&id, &runtime)
        .args(&["sleep", "1000"])
        .write();
    let init = runtime.create_started(&id, &bundle);

    let exec = runtime.cmd(&["exec", &id, "sh", "-c", WHO_AM_I]);
    let detached = runtime.exec_detached(&id, &[], &["sleep", "1001"]);
    let ps = runtime.cmd(&["ps", "--format", "json", &id]);

    exec.assert_success();
    let lines = squeezed(&exec.stdout);
    assert_eq!(lines[0], "0", "{exec}");
    assert_eq!(lines[1], format!("0 {} 1", user.uid), "{exec}");
    assert_ne!(lines[3], "1", "the exec'd process is not the init: {exec}");
    ps.assert_success();
    let mut pids: Vec<i32> = serde_json::from_str(&ps.stdout).expect("ps json");
    pids.sort_unstable();
    let mut expected = vec![init, detached];
    expected.sort_unstable();
    assert_eq!(pids, expected);
    runtime.kill(&id, "KILL").assert_success();
    // The exec'd process first: the init's pid namespace ends once it is reaped.
    assert_eq!(wait_exit(detached), 137);
    assert_eq!(wait_exit(init), 137);
    runtime.delete(&id, false).assert_success();
    assert!(runtime.list_json().is_empty());
}

#[test]
fn a_user_maps_its_subordinate_ids_through_newuidmap_and_newgidmap() {
    let runtime = Runtime::rootless();
    let user = runtime.user().unwrap();
    let id = unique_id();
    let maps = |own: u32| {
        json!([
            {"containerID": 0, "hostID": own, "size": 1},
            {"containerID": 1, "hostID": SUBORDINATE, "size": 65536}
        ])
    };
    let bundle = Bundle::rootless(&id, &runtime)
        .set("/linux/uidMappings", maps(user.uid))
        .set("/linux/gidMappings", maps(user.gid))
        .set(
            "/process/user",
            json!({"uid": 1000, "gid": 1000, "additionalGids": [5]}),
        )
        .args(&[
            "sh",
            "-c",
            "echo $(id -u) $(id -g) $(id -G); cat /proc/self/uid_map /proc/self/gid_map",
        ])
        .write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    let lines = squeezed(&output.stdout);
    // id -G: the gid, then the supplementary groups.
    assert_eq!(lines[0], "1000 1000 1000 5", "{output}");
    let own = format!("0 {} 1", user.uid);
    let sub = format!("1 {SUBORDINATE} 65536");
    assert_eq!(lines[1..3], [own.clone(), sub.clone()], "{output}");
    assert_eq!(lines[3..5], [format!("0 {} 1", user.gid), sub], "{output}");
}

#[test]
fn a_user_s_container_without_a_cgroup_refuses_a_limit_by_name() {
    if !host_has_v1_controller("memory") {
        // A cgroup v2 host may delegate a cgroup to the user: then limits apply.
        return;
    }
    let runtime = Runtime::rootless().with_json_log();
    let id = unique_id();
    let bundle = Bundle::rootless(&id, &runtime)
        .set("/linux/resources/pids", json!({"limit": 100}))
        .args(&["true"])
        .write();

    let output = runtime.create(&id, &bundle, &[]);

    integration_tests::assert_failed_cleanly(
        &runtime,
        &output,
        &id,
        &[&["linux.resources.pids: cannot be applied without a cgroup"]],
    );
}

#[test]
fn a_user_s_hooks_run_as_that_user_and_its_time_namespace_is_the_container_s() {
    let runtime = Runtime::rootless();
    let user = runtime.user().unwrap();
    let id = unique_id();
    let out = tempfile::tempdir().unwrap();
    integration_tests::rootless::chown(out.path(), user.uid, user.gid);
    let seen = out.path().join("hook-uid");
    // Root of the container is a subordinate id, not the user's own: the process
    // is not dumpable once it is, and must have written its offsets before.
    let sub = json!([{"containerID": 0, "hostID": SUBORDINATE, "size": 65536}]);
    let bundle = Bundle::rootless(&id, &runtime)
        .set("/linux/uidMappings", sub.clone())
        .set("/linux/gidMappings", sub)
        .set("/linux/namespaces/-", json!({"type": "time"}))
        .set(
            "/linux/timeOffsets",
            json!({"boottime": {"secs": 86400, "nanosecs": 0}}),
        )
        .set(
            "/hooks/createRuntime",
            json!([{"path": "/bin/sh", "args": ["sh", "-c", format!("id -u > {}", seen.display())]}]),
        )
        .args(&["sh", "-c", "readlink /proc/self/ns/time; cut -d. -f1 /proc/uptime"])
        .write();
    let host_uptime = integration_tests::host_uptime_secs();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    let hook_uid = std::fs::read_to_string(&seen).expect("the hook ran");
    assert_eq!(hook_uid.trim(), user.uid.to_string());
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_ne!(lines[0], integration_tests::host_ns("time"), "{output}");
    let uptime: u64 = lines[1].parse().expect("uptime");
    assert!(uptime >= host_uptime + 86400, "{output}");
}

#[test]
fn a_user_s_container_gets_a_terminal_that_belongs_to_its_root() {
    use integration_tests::console::{read_until_hangup, receive_master, ConsoleSocket};
    let runtime = Runtime::rootless();
    let user = runtime.user().unwrap();
    let id = unique_id();
    let bundle = Bundle::rootless(&id, &runtime)
        .set("/process/terminal", json!(true))
        .args(&["sh", "-c", "tty; stat -c %u $(tty); id -u"])
        .write();
    let socket = ConsoleSocket::new().owned_by(user.uid, user.gid);

    runtime
        .create(&id, &bundle, &["--console-socket", socket.path()])
        .assert_success();
    let (_, master) = receive_master(&socket.accept_queued());
    let init = runtime.init_pid(&id);
    runtime.start(&id).assert_success();
    let text = read_until_hangup(master);

    assert_eq!(wait_exit(init), 0, "{text:?}");
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    assert_eq!(lines.len(), 3, "{text:?}");
    assert!(lines[0].starts_with("/dev/pts/"), "{text:?}");
    assert_eq!(lines[1..], ["0", "0"], "{text:?}");
}

#[test]
fn a_user_s_seccomp_filter_is_loaded() {
    let runtime = Runtime::rootless();
    let id = unique_id();
    let bundle = Bundle::rootless(&id, &runtime)
        .set(
            "/linux/seccomp",
            json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
            }),
        )
        .args(&["sh", "-c", "mkdir /tmp/x 2>&1; echo $?"])
        .write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    assert!(
        output.stdout.contains("Operation not permitted"),
        "{output}"
    );
    assert!(output.stdout.ends_with("1\n"), "{output}");
}

#[test]
fn a_user_s_container_that_names_a_cgroup_it_may_not_make_fails_naming_it() {
    if !host_has_v1_controller("memory") {
        return;
    }
    let runtime = Runtime::rootless().with_json_log();
    let id = unique_id();
    let cgroup = integration_tests::test_cgroups_path(&id);
    let bundle = Bundle::rootless(&id, &runtime)
        .set("/linux/cgroupsPath", json!(cgroup))
        .args(&["true"])
        .write();

    let output = runtime.create(&id, &bundle, &[]);

    // As runc: only a cgroup nobody named is done without.
    integration_tests::assert_failed_cleanly(
        &runtime,
        &output,
        &id,
        &[&[cgroup.as_str()], &["permission denied"]],
    );
}
