//! `exec`: one more process in a container, as containerd and podman start one
//! (`--process` with `--detach`) and as people do (arguments and flags). Checked from
//! inside (its output, user, terminal) and from the host (its namespaces, its
//! cgroup, that `kill --all` and `delete --force` reach it).

use integration_tests::console::{read_until_hangup, receive_master, ConsoleSocket};
use integration_tests::{leftover_cgroups, unique_id, wait_exit, Bundle, Runtime};
use serde_json::json;

fn sleeper(id: &str) -> Bundle {
    Bundle::new(id).args(&["sleep", "1000"]).write()
}

fn ns(pid: i32, kind: &str) -> String {
    let link = format!("/proc/{pid}/ns/{kind}");
    std::fs::read_link(&link)
        .unwrap_or_else(|e| panic!("readlink {link}: {e}"))
        .to_string_lossy()
        .into_owned()
}

fn host_cgroups(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap()
}

#[test]
fn exec_prints_the_output_and_returns_the_exit_code_of_its_process() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);
    runtime.create_started(&id, &bundle);

    let output = runtime.cmd(&["exec", &id, "sh", "-c", "echo out; echo err >&2; exit 3"]);

    output.assert_status(3);
    assert_eq!(output.stdout, "out\n");
    assert!(output.stderr.contains("err"), "{output}");
}

#[test]
fn exec_into_a_created_container_works_before_start() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);
    runtime.create(&id, &bundle, &[]).assert_success();

    let output = runtime.cmd(&["exec", &id, "hostname"]);

    output.assert_success();
    assert_eq!(output.stdout.trim(), integration_tests::DEFAULT_HOSTNAME);
    assert_eq!(runtime.state(&id)["status"], "created");
}

#[test]
fn the_process_joins_every_namespace_and_the_cgroup_of_the_init() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);
    let init = runtime.create_started(&id, &bundle);

    let pid = runtime.exec_detached(&id, &[], &["sleep", "1000"]);

    for kind in ["mnt", "net", "ipc", "uts", "pid", "cgroup", "user"] {
        assert_eq!(ns(pid, kind), ns(init, kind), "{kind} namespace");
    }
    assert_eq!(host_cgroups(pid), host_cgroups(init));
    // Inside, it sees the container's root and is a process of its pid namespace.
    let inside = runtime.cmd(&["exec", &id, "ps", "-o", "pid,comm"]);
    inside.assert_success();
    assert!(inside.stdout.contains("1 sleep"), "{inside}");
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        std::fs::read_link(format!("/proc/{init}/root")).unwrap()
    );
}

#[test]
fn in_a_user_namespace_the_process_is_mapped_like_the_init() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let mapping = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    let bundle = Bundle::new(&id)
        .args(&["sleep", "1000"])
        .set("/linux/namespaces/-", json!({ "type": "user" }))
        .set("/linux/uidMappings", mapping.clone())
        .set("/linux/gidMappings", mapping)
        .write();
    let init = runtime.create_started(&id, &bundle);

    let output = runtime.cmd(&["exec", &id, "sh", "-c", "id -u; cat /proc/self/uid_map"]);

    output.assert_success();
    let mut lines = output.stdout.lines();
    assert_eq!(lines.next(), Some("0"));
    let map: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(map, ["0", "100000", "65536"]);
    let pid = runtime.exec_detached(&id, &[], &["sleep", "1000"]);
    assert_eq!(ns(pid, "user"), ns(init, "user"));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("Uid:") && l.contains("100000")),
        "the process runs as host uid 100000: {status}"
    );
}

#[test]
fn user_cwd_env_and_additional_gids_come_from_the_flags() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id)
        .set("/process/env/-", json!("FROM_CONFIG=yes"))
        .write();
    runtime.create_started(&id, &bundle);

    let output = runtime.cmd(&[
        "exec",
        "--user",
        "1000:1000",
        "--additional-gids",
        "5",
        "--cwd",
        "/tmp",
        "--env",
        "FOO=bar",
        &id,
        "sh",
        "-c",
        "id -u; id -g; id -G; pwd; echo $FOO $FROM_CONFIG $HOME",
    ]);

    output.assert_success();
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(
        lines,
        ["1000", "1000", "1000 5", "/tmp", "bar yes /home/test"]
    );
}

#[test]
fn a_process_file_is_run_as_written() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);
    runtime.create_started(&id, &bundle);
    let process = bundle.path().join("process.json");
    std::fs::write(
        &process,
        json!({
            "args": ["sh", "-c", "id -u; pwd; echo $ONLY; echo ${FROM_CONFIG:-unset}"],
            "cwd": "/etc",
            "env": ["ONLY=file", "PATH=/bin"],
            "user": { "uid": 1000, "gid": 1000 }
        })
        .to_string(),
    )
    .unwrap();

    let output = runtime.cmd(&["exec", "--process", process.to_str().unwrap(), &id]);

    output.assert_success();
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(lines, ["1000", "/etc", "file", "unset"]);
}

#[test]
fn cap_adds_a_capability_the_container_lacks() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);
    runtime.create_started(&id, &bundle);
    // CAP_SYS_ADMIN is bit 21; the default config does not grant it.
    let has_sys_admin = |extra: &[&str]| {
        let mut argv = vec!["exec"];
        argv.extend_from_slice(extra);
        argv.extend_from_slice(&[&id, "sh", "-c", "grep CapEff /proc/self/status"]);
        let output = runtime.cmd(&argv);
        output.assert_success();
        let hex = output.stdout.split_whitespace().nth(1).unwrap().to_owned();
        u64::from_str_radix(&hex, 16).unwrap() & (1 << 21) != 0
    };

    assert!(!has_sys_admin(&[]));
    assert!(has_sys_admin(&["--cap", "CAP_SYS_ADMIN"]));
}

#[test]
fn tty_with_a_console_socket_gives_the_process_a_terminal() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);
    runtime.create_started(&id, &bundle);
    let socket = ConsoleSocket::new();

    let pid = runtime.exec_detached(
        &id,
        &["--tty", "--console-socket", socket.path()],
        &["sh", "-c", "test -t 0 && test -t 1 && tty"],
    );

    let stream = socket.accept_queued();
    let (_, master) = receive_master(&stream);
    let output = read_until_hangup(master);
    assert!(output.trim().starts_with("/dev/pts/"), "{output:?}");
    assert_eq!(wait_exit(pid), 0);
}

#[test]
fn exec_refuses_stopped_unknown_and_paused_containers() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["true"]).write();
    let init = runtime.create_started(&id, &bundle);
    wait_exit(init);

    let stopped = runtime.cmd(&["exec", &id, "true"]);
    stopped.assert_status(255);
    assert!(
        stopped
            .stderr
            .contains("cannot exec in a stopped container"),
        "{stopped}"
    );

    let unknown = runtime.cmd(&["exec", "no-such-container", "true"]);
    unknown.assert_failure();
    assert!(
        unknown.stderr.contains("container does not exist"),
        "{unknown}"
    );

    let paused_id = unique_id();
    let paused = sleeper(&paused_id);
    runtime.create_started(&paused_id, &paused);
    runtime.cmd(&["pause", &paused_id]).assert_success();
    let refused = runtime.cmd(&["exec", &paused_id, "true"]);
    refused.assert_status(255);
    assert!(refused.stderr.contains("--ignore-paused"), "{refused}");
}

#[test]
fn a_missing_program_fails_with_exit_255_and_leaves_no_process() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);
    runtime.create_started(&id, &bundle);

    let output = runtime.cmd(&["exec", &id, "no-such-program"]);

    output.assert_status(255);
    assert!(
        output.stderr.contains("executable file not found"),
        "{output}"
    );
    let ps = runtime.cmd(&["ps", "--format", "json", &id]);
    let pids: Vec<i32> = serde_json::from_str(ps.stdout.trim()).unwrap();
    assert_eq!(pids, [runtime.init_pid(&id)], "only the init is left");
}

#[test]
fn kill_all_reaches_exec_processes_and_ps_lists_them() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);
    let init = runtime.create_started(&id, &bundle);
    let pid = runtime.exec_detached(&id, &[], &["sleep", "1000"]);

    let ps = runtime.cmd(&["ps", "--format", "json", &id]);
    let pids: Vec<i32> = serde_json::from_str(ps.stdout.trim()).unwrap();
    assert!(pids.contains(&init) && pids.contains(&pid), "{pids:?}");

    runtime
        .cmd(&["kill", "--all", &id, "KILL"])
        .assert_success();

    assert_eq!(wait_exit(pid), 128 + libc::SIGKILL);
    assert_eq!(wait_exit(init), 128 + libc::SIGKILL);
}

#[test]
fn delete_force_kills_exec_processes_and_removes_sub_cgroups() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);
    let init = runtime.create_started(&id, &bundle);
    // A cgroup below the container's, in the pids hierarchy, as a user of
    // `exec --cgroup` makes one.
    let pids_dir = std::path::Path::new("/sys/fs/cgroup/pids")
        .join(integration_tests::CGROUP_TEST_PARENT)
        .join(&id);
    let sub = pids_dir.join("sub");
    std::fs::create_dir(&sub).unwrap();

    let pid = runtime.exec_detached(&id, &["--cgroup", "pids:sub"], &["sleep", "1000"]);

    let cgroups = host_cgroups(pid);
    assert!(
        cgroups
            .lines()
            .any(|l| l.contains(":pids:") && l.ends_with(&format!("{id}/sub"))),
        "{cgroups}"
    );
    assert!(
        cgroups
            .lines()
            .any(|l| l.contains(":memory:") && l.ends_with(&id)),
        "other controllers keep the container's cgroup: {cgroups}"
    );
    // The init of a pid namespace ends only once every process of it is reaped,
    // and the exec'd one is ours to reap: do it as it dies, as a shim would.
    let reaper = std::thread::spawn(move || wait_exit(pid));
    runtime.delete(&id, true).assert_success();
    assert_eq!(reaper.join().unwrap(), 128 + libc::SIGKILL);
    assert_eq!(wait_exit(init), 128 + libc::SIGKILL);
    assert_eq!(leftover_cgroups(&id), Vec::<std::path::PathBuf>::new());
}

/// Field `n` (1-based, after the command name) of `/proc/<pid>/stat`.
fn stat_field(pid: i32, n: usize) -> i64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after
        .split_whitespace()
        .nth(n - 3)
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn the_process_leads_a_session_of_its_own() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);
    runtime.create_started(&id, &bundle);

    let pid = runtime.exec_detached(&id, &[], &["sleep", "1000"]);

    // Field 6 of stat is the session id.
    assert_eq!(stat_field(pid, 6), i64::from(pid));
}

#[test]
fn rlimits_and_oom_score_adj_come_from_the_process() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id).set("/process/oomScoreAdj", json!(123)).write();
    runtime.create_started(&id, &bundle);
    let process = bundle.path().join("process.json");
    std::fs::write(
        &process,
        json!({
            "args": ["sh", "-c", "ulimit -n; cat /proc/self/oom_score_adj"],
            "cwd": "/",
            "env": ["PATH=/bin"],
            "user": { "uid": 0, "gid": 0 },
            "rlimits": [{ "type": "RLIMIT_NOFILE", "soft": 77, "hard": 88 }]
        })
        .to_string(),
    )
    .unwrap();

    let output = runtime.cmd(&["exec", "--process", process.to_str().unwrap(), &id]);

    output.assert_success();
    // runc gives an exec'd process the container's oomScoreAdj.
    assert_eq!(output.stdout, "77\n123\n");
}

#[test]
fn a_terminal_in_a_user_namespace_belongs_to_its_root() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let mapping = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    let bundle = sleeper(&id)
        .set("/linux/namespaces/-", json!({ "type": "user" }))
        .set("/linux/uidMappings", mapping.clone())
        .set("/linux/gidMappings", mapping)
        .write();
    runtime.create_started(&id, &bundle);
    let socket = ConsoleSocket::new();

    let pid = runtime.exec_detached(
        &id,
        &["--tty", "--console-socket", socket.path()],
        &["sh", "-c", "ls -ln $(tty)"],
    );

    let (_, master) = receive_master(&socket.accept_queued());
    let listing = read_until_hangup(master);
    let owner: Vec<&str> = listing.split_whitespace().skip(2).take(1).collect();
    assert_eq!(owner, ["0"], "{listing:?}");
    assert_eq!(wait_exit(pid), 0);
}

#[test]
fn a_failure_after_the_process_started_leaves_it_not_running() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);
    let init = runtime.create_started(&id, &bundle);

    // In the foreground, so that the runtime reaps what it killed (detached, the
    // process would be left to the caller, the test, to reap).
    let output = runtime.cmd(&[
        "exec",
        "--pid-file",
        "/nonexistent-dir/exec.pid",
        &id,
        "sleep",
        "1000",
    ]);

    output.assert_failure();
    assert!(output.stderr.contains("/nonexistent-dir"), "{output}");
    let ps = runtime.cmd(&["ps", "--format", "json", &id]);
    let pids: Vec<i32> = serde_json::from_str(ps.stdout.trim()).unwrap();
    assert_eq!(pids, [init], "the exec'd process was left running");
}
