//! `--cgroup-manager=disabled` (crun's flag, which podman's `--cgroups=disabled`
//! passes): no cgroup is made or joined; every command still finds the container's
//! processes, and those that need a cgroup say so in one line.

use integration_tests::{
    leftover_cgroups, parent_pid, test_cgroups_path, unique_id, wait_exit, Bundle, Runtime,
};
use serde_json::json;

const DISABLED: &str = "--cgroup-manager=disabled";

fn own_cgroups(pid: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap()
}

fn ps_json(runtime: &Runtime, id: &str) -> Vec<i32> {
    let output = runtime.cmd(&["ps", "--format", "json", id]);
    output.assert_success();
    let mut pids: Vec<i32> = serde_json::from_str(&output.stdout).expect("ps json");
    pids.sort_unstable();
    pids
}

#[test]
fn a_container_without_a_cgroup_stays_in_its_callers_and_leaves_none_behind() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["sleep", "1000"]).write();
    assert!(bundle.config()["linux"]["cgroupsPath"].as_str() == Some(&*test_cgroups_path(&id)));

    runtime.create(&id, &bundle, &[DISABLED]).assert_success();
    runtime.start(&id).assert_success();
    let init = runtime.init_pid(&id);

    assert_eq!(leftover_cgroups(&id), Vec::<std::path::PathBuf>::new());
    assert_eq!(own_cgroups(&init.to_string()), own_cgroups("self"));
    let exec = runtime.cmd(&["exec", &id, "cat", "/proc/self/cgroup"]);
    exec.assert_success();
    assert_eq!(runtime.state(&id)["status"], "running");
    runtime.kill(&id, "KILL").assert_success();
    assert_eq!(wait_exit(init), 137);
    runtime.delete(&id, false).assert_success();
    assert_eq!(leftover_cgroups(&id), Vec::<std::path::PathBuf>::new());
}

#[test]
fn without_a_cgroup_ps_kill_all_and_delete_force_find_every_process() {
    let runtime = Runtime::under_test();
    for private_pid_ns in [true, false] {
        let id = unique_id();
        let mut bundle =
            Bundle::new(&id).args(&["sh", "-c", "sleep 1000 & echo forked; exec sleep 1001"]);
        if !private_pid_ns {
            bundle = bundle.without_namespace("pid");
        }
        let bundle = bundle.write();
        let (created, mut stdout) = runtime.create_piped(&id, &bundle, &[DISABLED]);
        created.assert_success();
        runtime.start(&id).assert_success();
        let init = runtime.init_pid(&id);
        assert_eq!(stdout.read_line().as_deref(), Some("forked"));
        let exec = runtime.exec_detached(&id, &[], &["sleep", "1002"]);

        // The init, the sleep it forked, and the exec'd process.
        let pids = ps_json(&runtime, &id);
        assert_eq!(pids.len(), 3, "pid namespace {private_pid_ns}: {pids:?}");
        assert!(pids.contains(&init) && pids.contains(&exec), "{pids:?}");
        let forked = *pids.iter().find(|p| ![init, exec].contains(p)).unwrap();
        assert_eq!(parent_pid(forked), Some(init));

        if private_pid_ns {
            runtime
                .cmd(&["kill", "--all", &id, "KILL"])
                .assert_success();
            // The exec'd process first: a pid namespace's init ends only once every
            // other process in it has been reaped, and the test is this one's parent.
            assert_eq!(wait_exit(exec), 137);
            assert_eq!(wait_exit(init), 137);
            // Ended with its pid namespace, and reaped by the init before it exited.
            assert!(!std::path::Path::new(&format!("/proc/{forked}")).exists());
            runtime.delete(&id, false).assert_success();
        } else {
            // In the host's pid namespace nothing dies with the init: delete --force
            // must find them all.
            runtime.delete(&id, true).assert_success();
            assert_eq!(wait_exit(init), 137);
            assert_eq!(wait_exit(exec), 137);
            // Its parent gone, it went to the test, the subreaper.
            assert_eq!(
                wait_exit(forked),
                137,
                "the forked sleep outlived delete --force"
            );
        }
    }
}

#[test]
fn without_a_cgroup_pause_update_and_events_say_why_they_cannot() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["sleep", "1000"]).write();
    runtime.create(&id, &bundle, &[DISABLED]).assert_success();
    runtime.start(&id).assert_success();

    for args in [
        vec!["pause", id.as_str()],
        vec!["update", "--memory", "100M", id.as_str()],
        vec!["events", "--stats", id.as_str()],
    ] {
        let output = runtime.cmd(&args);
        output.assert_failure();
        let said = output.stderr.trim();
        assert_eq!(said.lines().count(), 1, "{output}");
        assert!(
            said.contains("has no cgroup") && said.contains(args[0]),
            "{output}"
        );
    }
    runtime.delete(&id, true).assert_success();
}

#[test]
fn a_limit_without_a_cgroup_is_refused_by_name_before_anything_exists() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .args(&["true"])
        .set("/linux/resources/memory", json!({"limit": 104857600}))
        .write();

    let output = runtime.create(&id, &bundle, &[DISABLED]);

    integration_tests::assert_failed_cleanly(
        &runtime,
        &output,
        &id,
        &[&["linux.resources.memory: cannot be applied without a cgroup"]],
    );
}

#[test]
fn the_cgroup_manager_flags_that_disagree_are_refused() {
    let runtime = Runtime::under_test();
    let output = runtime.cmd(&["--systemd-cgroup", "--cgroup-manager=cgroupfs", "list"]);
    output.assert_failure();
    assert!(output.stderr.contains("disagree"), "{output}");
}

/// A container joining another's pid namespace by path does not own it: without a
/// cgroup, its processes are its init's descendants and its exec'd ones, not the
/// other container's.
#[test]
fn without_a_cgroup_a_joined_pid_namespace_s_other_processes_are_not_the_container_s() {
    let runtime = Runtime::under_test();
    let holder = unique_id();
    let holder_bundle = Bundle::new(&holder).args(&["sleep", "1000"]).write();
    runtime
        .create(&holder, &holder_bundle, &[DISABLED])
        .assert_success();
    runtime.start(&holder).assert_success();
    let holder_init = runtime.init_pid(&holder);
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .without_namespace("pid")
        .set(
            "/linux/namespaces/-",
            json!({"type": "pid", "path": format!("/proc/{holder_init}/ns/pid")}),
        )
        .args(&["sh", "-c", "sleep 1001 & echo forked; exec sleep 1002"])
        .write();
    let (created, mut stdout) = runtime.create_piped(&id, &bundle, &[DISABLED]);
    created.assert_success();
    runtime.start(&id).assert_success();
    let init = runtime.init_pid(&id);
    assert_eq!(stdout.read_line().as_deref(), Some("forked"));

    let pids = ps_json(&runtime, &id);

    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(
        pids.contains(&init) && !pids.contains(&holder_init),
        "{pids:?}"
    );
    runtime.delete(&id, true).assert_success();
    assert_eq!(wait_exit(init), 137);
    assert!(
        integration_tests::is_alive(holder_init),
        "delete --force killed the other container"
    );
    runtime.delete(&holder, true).assert_success();
}
