//! create → start → kill → delete, `run`, `state`, `list`: what a caller
//! (containerd's shim, podman's conmon, a user at a shell) sees.

use integration_tests::{
    is_alive, leftover_cgroups, parent_pid, test_cgroups_path, unique_id, wait_exit, Bundle,
    Runtime,
};

const SIGKILL_STATUS: i32 = 128 + libc::SIGKILL;

fn sleeper(id: &str) -> Bundle {
    Bundle::new(id).args(&["sleep", "1000"]).write()
}

#[test]
fn run_exits_with_the_container_status_and_prints_its_stdout() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .args(&["sh", "-c", "echo \"hello from $(hostname)\"; exit 3"])
        .write();
    let hostname = bundle.config()["hostname"].as_str().unwrap().to_string();

    let output = runtime.run(&id, &bundle);

    output.assert_status(3);
    assert_eq!(
        output.stdout,
        format!("hello from {hostname}\n"),
        "{output}"
    );
}

#[test]
fn run_reports_a_container_killed_by_a_signal_as_128_plus_the_signal() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    // The init of a pid namespace cannot be killed from inside it (the kernel
    // drops SIGKILL from its own namespace), so let the shell be an ordinary
    // process of the host's pid namespace.
    let bundle = Bundle::new(&id)
        .args(&["sh", "-c", "kill -9 $$; echo survived"])
        .without_namespace("pid")
        .write();

    let output = runtime.run(&id, &bundle);

    output.assert_status(SIGKILL_STATUS);
    assert_eq!(output.stdout, "", "{output}");
}

#[test]
fn create_start_kill_delete_walks_through_every_state() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);

    runtime.create(&id, &bundle, &[]).assert_success();
    let pid_file = std::fs::read_to_string(runtime.pid_file(&id)).expect("pid file after create");
    assert!(
        !pid_file.is_empty() && pid_file.bytes().all(|b| b.is_ascii_digit()),
        "the pid file must hold just the pid, no newline: {pid_file:?}"
    );
    let pid = runtime.init_pid(&id);
    let state = runtime.state(&id);
    assert_eq!(state["status"], "created", "{state}");
    assert_eq!(state["pid"], pid, "{state}");
    assert_eq!(state["id"], id.as_str(), "{state}");
    assert_eq!(state["bundle"], bundle.path().to_str().unwrap(), "{state}");
    assert!(
        is_alive(pid),
        "the created init must be alive, blocked before exec"
    );
    assert_eq!(
        parent_pid(pid),
        Some(std::process::id() as i32),
        "the init must be left to the caller, its subreaper"
    );
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(
        cgroup.lines().any(|l| l.ends_with(&test_cgroups_path(&id))),
        "the init must be in its cgroup when create returns:\n{cgroup}"
    );

    runtime.start(&id).assert_success();
    let state = runtime.state(&id);
    assert_eq!(state["status"], "running", "{state}");
    assert_eq!(state["pid"], pid, "{state}");

    runtime.kill(&id, "KILL").assert_success();
    assert_eq!(wait_exit(pid), SIGKILL_STATUS);
    let state = runtime.state(&id);
    assert_eq!(state["status"], "stopped", "{state}");
    assert_eq!(state["pid"], 0, "{state}");

    runtime.delete(&id, false).assert_success();
    assert!(
        !runtime.root().join(&id).exists(),
        "state dir left after delete"
    );
    assert_eq!(leftover_cgroups(&id), Vec::<std::path::PathBuf>::new());
    let state = runtime.cmd(&["state", &id]);
    state.assert_failure();
    assert!(state.stderr.contains("container does not exist"), "{state}");
}

#[test]
fn start_twice_is_an_error() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    runtime.create(&id, &sleeper(&id), &[]).assert_success();
    runtime.start(&id).assert_success();

    runtime.start(&id).assert_failure();

    assert_eq!(runtime.state(&id)["status"], "running");
}

#[test]
fn kill_works_on_a_created_container() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    runtime.create(&id, &sleeper(&id), &[]).assert_success();
    let pid = runtime.init_pid(&id);

    runtime.kill(&id, "KILL").assert_success();

    assert_eq!(wait_exit(pid), SIGKILL_STATUS);
    assert_eq!(runtime.state(&id)["status"], "stopped");
    runtime.delete(&id, false).assert_success();
}

#[test]
fn delete_works_on_a_created_container() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    runtime.create(&id, &sleeper(&id), &[]).assert_success();
    let pid = runtime.init_pid(&id);

    runtime.delete(&id, false).assert_success();

    assert_eq!(
        wait_exit(pid),
        SIGKILL_STATUS,
        "delete must kill the created init"
    );
    assert!(
        !runtime.root().join(&id).exists(),
        "state dir left after delete"
    );
    assert_eq!(leftover_cgroups(&id), Vec::<std::path::PathBuf>::new());
}

#[test]
fn delete_force_of_an_unknown_id_succeeds() {
    let runtime = Runtime::under_test();

    runtime.delete(&unique_id(), true).assert_success();
}

#[test]
fn delete_of_a_running_container_needs_force() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    runtime.create(&id, &sleeper(&id), &[]).assert_success();
    let pid = runtime.init_pid(&id);
    runtime.start(&id).assert_success();

    runtime.delete(&id, false).assert_failure();
    assert_eq!(runtime.state(&id)["status"], "running");
    assert!(is_alive(pid));

    runtime.delete(&id, true).assert_success();
    assert_eq!(wait_exit(pid), SIGKILL_STATUS);
    let state = runtime.cmd(&["state", &id]);
    state.assert_failure();
    assert!(state.stderr.contains("container does not exist"), "{state}");
}

/// The container's init traps SIGTERM and exits with this status.
const TERM_TRAP_STATUS: i32 = 42;

/// Starts a container whose init exits `TERM_TRAP_STATUS` on SIGTERM, waits
/// until the trap is installed, sends `signal` through `kill` and returns
/// the init's exit status.
fn exit_status_after_kill(signal: &str) -> i32 {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let script = format!("trap 'exit {TERM_TRAP_STATUS}' TERM; echo ready; sleep 1000 & wait");
    let bundle = Bundle::new(&id).args(&["sh", "-c", &script]).write();
    let (created, mut stdout) = runtime.create_piped(&id, &bundle, &[]);
    created.assert_success();
    let pid = runtime.init_pid(&id);
    runtime.start(&id).assert_success();
    assert_eq!(stdout.read_line().as_deref(), Some("ready"));

    runtime.kill(&id, signal).assert_success();

    wait_exit(pid)
}

#[test]
fn kill_accepts_a_signal_name() {
    assert_eq!(exit_status_after_kill("TERM"), TERM_TRAP_STATUS);
}

#[test]
fn kill_accepts_a_signal_name_with_sig_prefix() {
    assert_eq!(exit_status_after_kill("SIGTERM"), TERM_TRAP_STATUS);
}

#[test]
fn kill_accepts_a_signal_number() {
    assert_eq!(
        exit_status_after_kill(&libc::SIGTERM.to_string()),
        TERM_TRAP_STATUS
    );
}

#[test]
fn kill_with_kill_kills() {
    assert_eq!(exit_status_after_kill("KILL"), SIGKILL_STATUS);
}

#[test]
fn kill_with_an_unknown_signal_fails_naming_it() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    runtime.create(&id, &sleeper(&id), &[]).assert_success();
    let pid = runtime.init_pid(&id);

    let output = runtime.kill(&id, "NOPE");

    output.assert_failure();
    assert!(output.stderr.contains("NOPE"), "{output}");
    assert_eq!(runtime.state(&id)["status"], "created");
    assert!(is_alive(pid));
}

#[test]
fn list_json_shows_every_container_with_its_status_and_pid() {
    let runtime = Runtime::under_test();
    let created = unique_id();
    let running = unique_id();
    runtime
        .create(&created, &sleeper(&created), &[])
        .assert_success();
    runtime
        .create(&running, &sleeper(&running), &[])
        .assert_success();
    runtime.start(&running).assert_success();

    let list = runtime.list_json();

    assert_eq!(list.len(), 2, "{list:?}");
    for (id, status) in [(&created, "created"), (&running, "running")] {
        let entry = list
            .iter()
            .find(|c| c["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} missing from {list:?}"));
        assert_eq!(entry["status"], status, "{entry}");
        assert_eq!(entry["pid"], runtime.init_pid(id), "{entry}");
    }
}

#[test]
fn list_quiet_prints_the_ids() {
    let runtime = Runtime::under_test();
    let mut ids = vec![unique_id(), unique_id()];
    for id in &ids {
        runtime.create(id, &sleeper(id), &[]).assert_success();
    }

    let output = runtime.cmd(&["list", "-q"]);

    output.assert_success();
    let mut listed: Vec<&str> = output.stdout.lines().collect();
    listed.sort();
    ids.sort();
    assert_eq!(listed, ids, "{output}");
}

#[test]
fn a_large_annotation_reaches_the_state_whole() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let big = "x".repeat(100 * 1024);
    let bundle = Bundle::new(&id)
        .args(&["sleep", "1000"])
        .set("/annotations", serde_json::json!({ "big": big }))
        .write();

    runtime.create(&id, &bundle, &[]).assert_success();

    assert_eq!(runtime.state(&id)["annotations"]["big"], big.as_str());
}

/// In an outer container whose seccomp profile answers clone3 with ENOSYS (docker's
/// and podman's did, before they knew it), truman clones with clone(2) instead, for
/// the init and for an exec'd process alike.
#[test]
fn where_clone3_is_refused_with_enosys_containers_are_cloned_with_clone() {
    let runtime = Runtime::at(integration_tests::without_clone3(
        &integration_tests::runtime_under_test(),
    ));
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["sleep", "1000"]).write();

    let init = runtime.create_started(&id, &bundle);
    let exec = runtime.cmd(&["exec", &id, "echo", "exec'd"]);

    exec.assert_success();
    assert_eq!(exec.stdout, "exec'd\n", "{exec}");
    assert_eq!(parent_pid(init), Some(std::process::id() as i32));
    runtime.kill(&id, "KILL").assert_success();
    assert_eq!(wait_exit(init), 137);
    runtime.delete(&id, false).assert_success();
}
