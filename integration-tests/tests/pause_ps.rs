//! `pause`, `resume` and `ps` on a running container, as containerd and podman call
//! them: the freezer stops the processes (the host sees them frozen in /proc), `state`
//! says `paused`, and `ps` lists the container's host PIDs.

use integration_tests::{unique_id, Bundle, Runtime};

/// A running container with an init and one child; returns once the child exists
/// (the init says so on its stdout).
fn running(runtime: &Runtime, id: &str) -> Bundle {
    let bundle = Bundle::new(id)
        .args(&["sh", "-c", "sleep 1000 & echo started; wait"])
        .write();
    let (created, mut stdout) = runtime.create_piped(id, &bundle, &[]);
    created.assert_success();
    runtime.start(id).assert_success();
    assert_eq!(stdout.read_line().as_deref(), Some("started"));
    bundle
}

/// The status `list --format json` gives the container.
fn listed_status(runtime: &Runtime, id: &str) -> String {
    let output = runtime.cmd(&["list", "--format", "json"]);
    output.assert_success();
    let listed: Vec<serde_json::Value> =
        serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {output}"));
    let entry = listed.iter().find(|c| c["id"] == id);
    let entry = entry.unwrap_or_else(|| panic!("{id} is not listed: {output}"));
    entry["status"].as_str().unwrap_or_default().to_owned()
}

fn ps_json(runtime: &Runtime, id: &str) -> Vec<i32> {
    let output = runtime.cmd(&["ps", "--format", "json", id]);
    output.assert_success();
    serde_json::from_str(output.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {output}"))
}

/// The one-letter state of a process in `/proc/<pid>/stat`.
fn proc_state(pid: i32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 1..];
    after_comm.trim_start().chars().next().unwrap()
}

#[test]
fn ps_json_lists_the_init_and_its_children_by_host_pid() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let _bundle = running(&runtime, &id);
    let init = runtime.init_pid(&id);

    let pids = ps_json(&runtime, &id);

    assert!(pids.contains(&init), "{pids:?} lacks the init {init}");
    assert_eq!(pids.len(), 2, "the init and its sleep: {pids:?}");
    let child = pids.iter().find(|p| **p != init).unwrap();
    let ppid_line = std::fs::read_to_string(format!("/proc/{child}/status")).unwrap();
    assert!(
        ppid_line.contains(&format!("PPid:\t{init}\n")),
        "the other process is the init's child"
    );
}

#[test]
fn ps_table_prints_ps_lines_of_the_container_only() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let _bundle = running(&runtime, &id);
    let pids = ps_json(&runtime, &id);

    let output = runtime.cmd(&["ps", "--format", "table", &id, "-o", "pid,comm"]);

    output.assert_success();
    let mut lines = output.stdout.lines();
    assert_eq!(
        lines
            .next()
            .map(str::split_whitespace)
            .map(|h| h.collect::<Vec<_>>()),
        Some(vec!["PID", "COMMAND"])
    );
    let listed: Vec<i32> = lines
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(listed.len(), pids.len(), "{output}");
    assert!(listed.iter().all(|p| pids.contains(p)), "{output}");
}

#[test]
fn pause_freezes_every_process_and_resume_thaws_them() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let _bundle = running(&runtime, &id);
    let pids = ps_json(&runtime, &id);

    runtime.cmd(&["pause", &id]).assert_success();

    assert_eq!(runtime.state(&id)["status"], "paused");
    assert_eq!(listed_status(&runtime, &id), "paused");
    for pid in &pids {
        // A task stopped by the v1 freezer sleeps uninterruptibly.
        assert_eq!(proc_state(*pid), 'D', "process {pid} is not frozen");
    }
    runtime.cmd(&["pause", &id]).assert_failure();

    runtime.cmd(&["resume", &id]).assert_success();

    assert_eq!(runtime.state(&id)["status"], "running");
    assert_eq!(listed_status(&runtime, &id), "running");
    for pid in &pids {
        assert_ne!(proc_state(*pid), 'D', "process {pid} is still frozen");
    }
    runtime.cmd(&["resume", &id]).assert_failure();
}

#[test]
fn delete_force_kills_a_paused_container() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let _bundle = running(&runtime, &id);
    runtime.cmd(&["pause", &id]).assert_success();
    let init = runtime.init_pid(&id);

    runtime.delete(&id, true).assert_success();

    assert_eq!(integration_tests::wait_exit(init), 128 + libc::SIGKILL);
    assert!(integration_tests::leftover_cgroups(&id).is_empty());
}

/// A created container frozen by someone else (truman pauses only running ones):
/// `state` and `list` call it `created`, as crun and the OCI spec do (its program has
/// not run), while `delete --force` still sees the freezer, thaws it and removes it.
#[test]
fn a_created_container_frozen_from_outside_reads_created_and_delete_force_thaws_it() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["true"]).write();
    runtime.create(&id, &bundle, &[]).assert_success();
    let init = runtime.init_pid(&id);
    let freezer = std::path::Path::new("/sys/fs/cgroup/freezer")
        .join(integration_tests::CGROUP_TEST_PARENT)
        .join(&id)
        .join("freezer.state");
    if !freezer.exists() {
        eprintln!("skipped: no v1 freezer here ({})", freezer.display());
        return;
    }
    std::fs::write(&freezer, "FROZEN").unwrap();
    // The kernel freezes the tasks after the write returns (FREEZING, then FROZEN);
    // v1 has no event for it, so its state is read until it says so.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_to_string(&freezer).unwrap().trim() != "FROZEN" {
        assert!(std::time::Instant::now() < deadline, "never FROZEN");
        std::thread::yield_now();
    }
    assert_eq!(proc_state(init), 'D', "the init is not frozen");

    assert_eq!(runtime.state(&id)["status"], "created");
    assert_eq!(listed_status(&runtime, &id), "created");
    runtime.cmd(&["pause", &id]).assert_failure();

    runtime.delete(&id, true).assert_success();

    assert_eq!(integration_tests::wait_exit(init), 128 + libc::SIGKILL);
    assert!(integration_tests::leftover_cgroups(&id).is_empty());
}
