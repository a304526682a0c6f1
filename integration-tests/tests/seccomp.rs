//! `linux.seccomp`: each action and operator, the flags, the profiles docker and podman
//! ship, what a filter may forbid of the runtime's own work, exec'd processes, and a
//! seccomp notify agent. What a process sees is read from a static probe in the
//! container that makes one system call and prints `RESULT ERRNO`.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use integration_tests::console::receive_master;
use integration_tests::seccomp_profile::{oci_seccomp, ENGINE_DEFAULT_CAPS};
use integration_tests::{
    assert_failed_cleanly, fixture, unique_id, Bundle, Output, Runtime, COMMAND_TIMEOUT,
};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use serde_json::{json, Value};

const GETPPID: i64 = libc::SYS_getppid;
const GETPGID: i64 = libc::SYS_getpgid;
const KILL: i64 = libc::SYS_kill;
const ADD_KEY: i64 = libc::SYS_add_key;

/// `linux.seccomp` that allows everything but `rules`.
fn allow_but(rules: Value) -> Value {
    json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules })
}

fn probe_bundle(id: &str, seccomp: Value, call: &[i64]) -> Bundle {
    let mut args = vec!["syscall".to_owned()];
    args.extend(call.iter().map(i64::to_string));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Bundle::new(id)
        .with_syscall_probe()
        .args(&args)
        .set("/linux/seccomp", seccomp)
        .write()
}

/// Runs the probe for `call` under `seccomp`; its output.
fn probe(seccomp: Value, call: &[i64]) -> Output {
    let runtime = Runtime::under_test();
    let id = unique_id();
    runtime.run(&id, &probe_bundle(&id, seccomp, call))
}

/// The errno the probe saw (0: the call succeeded).
#[track_caller]
fn errno_of(output: &Output) -> i32 {
    output.assert_success();
    let fields: Vec<&str> = output.stdout.split_whitespace().collect();
    assert_eq!(fields.len(), 2, "{output}");
    fields[1].parse().unwrap()
}

#[test]
fn errno_returns_errno_ret_or_eperm() {
    let rule = |errno: Option<u32>| {
        let mut r = json!({ "names": ["getppid"], "action": "SCMP_ACT_ERRNO" });
        if let Some(e) = errno {
            r["errnoRet"] = json!(e);
        }
        allow_but(json!([r]))
    };
    assert_eq!(errno_of(&probe(rule(Some(99)), &[GETPPID])), 99);
    assert_eq!(errno_of(&probe(rule(None), &[GETPPID])), libc::EPERM);
    // Not matched: the call goes through.
    assert_eq!(errno_of(&probe(rule(Some(99)), &[GETPGID, 0])), 0);
}

#[test]
fn kill_actions_end_the_process_with_sigsys() {
    for action in [
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_KILL_PROCESS",
    ] {
        let seccomp = allow_but(json!([{ "names": ["getppid"], "action": action }]));
        let output = probe(seccomp, &[GETPPID]);
        output.assert_status(128 + libc::SIGSYS);
        assert_eq!(output.stdout, "", "{action}: the call returned");
    }
}

#[test]
fn trap_delivers_a_sigsys_the_process_can_catch() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let seccomp = allow_but(json!([{ "names": ["getppid"], "action": "SCMP_ACT_TRAP" }]));
    let bundle = probe_bundle(&id, seccomp, &[GETPPID])
        .set("/process/env/-", json!("CATCH_SIGSYS=1"))
        .write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    assert_eq!(output.stdout, "SIGSYS\n");
}

#[test]
fn trace_without_a_tracer_fails_the_call_with_enosys() {
    let seccomp = allow_but(json!([
        { "names": ["getppid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7 }
    ]));
    assert_eq!(errno_of(&probe(seccomp, &[GETPPID])), libc::ENOSYS);
}

#[test]
fn allow_and_log_let_the_call_through_a_denying_default() {
    // The docker profile denies by default; getppid is in its allow list, and a LOG
    // rule for getpgid lets that through too.
    let mut seccomp = oci_seccomp(&docker_profile(), &ENGINE_DEFAULT_CAPS);
    seccomp["syscalls"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "names": ["add_key"], "action": "SCMP_ACT_LOG" }));
    assert_eq!(errno_of(&probe(seccomp.clone(), &[GETPPID])), 0);
    // add_key(NULL, ...) fails on its own arguments, not on the filter.
    assert_eq!(
        errno_of(&probe(seccomp, &[ADD_KEY, 0, 0, 0, 0, 0])),
        libc::EFAULT
    );
}

/// getpgid(arg) with a rule ERRNO(99) when `arg OP value` (MASKED_EQ: arg & value
/// == value_two); arguments that do not match fail with ESRCH (no such process).
fn getpgid_matches(op: &str, value: u64, value_two: Option<u64>, args: &[i64]) -> Vec<bool> {
    let mut cond = json!({ "index": 0, "value": value, "op": op });
    if let Some(v2) = value_two {
        cond["valueTwo"] = json!(v2);
    }
    let seccomp = allow_but(json!([
        { "names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99, "args": [cond] }
    ]));
    args.iter()
        .map(
            |arg| match errno_of(&probe(seccomp.clone(), &[GETPGID, *arg])) {
                99 => true,
                libc::ESRCH => false,
                other => panic!("{op} {arg}: unexpected errno {other}"),
            },
        )
        .collect()
}

#[test]
fn every_argument_operator_compares_as_the_spec_says() {
    let around = [99, 100, 101];
    assert_eq!(
        getpgid_matches("SCMP_CMP_NE", 100, None, &around),
        [true, false, true]
    );
    assert_eq!(
        getpgid_matches("SCMP_CMP_LT", 100, None, &around),
        [true, false, false]
    );
    assert_eq!(
        getpgid_matches("SCMP_CMP_LE", 100, None, &around),
        [true, true, false]
    );
    assert_eq!(
        getpgid_matches("SCMP_CMP_EQ", 100, None, &around),
        [false, true, false]
    );
    assert_eq!(
        getpgid_matches("SCMP_CMP_GE", 100, None, &around),
        [false, true, true]
    );
    assert_eq!(
        getpgid_matches("SCMP_CMP_GT", 100, None, &around),
        [false, false, true]
    );
    assert_eq!(
        getpgid_matches("SCMP_CMP_MASKED_EQ", 0xf0, Some(0x10), &[0x1f, 0x20, 0x10]),
        [true, false, true]
    );
}

#[test]
fn conditions_on_two_arguments_must_all_hold_and_on_one_argument_either() {
    let both = allow_but(json!([{
        "names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99,
        "args": [
            { "index": 0, "value": 12345, "op": "SCMP_CMP_EQ" },
            { "index": 1, "value": 0, "op": "SCMP_CMP_EQ" }
        ]
    }]));
    assert_eq!(errno_of(&probe(both.clone(), &[KILL, 12345, 0])), 99);
    assert_eq!(errno_of(&probe(both, &[KILL, 12345, 1])), libc::ESRCH);

    // As runc: two conditions on the same argument make two rules.
    let either = allow_but(json!([{
        "names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99,
        "args": [
            { "index": 0, "value": 5000, "op": "SCMP_CMP_EQ" },
            { "index": 0, "value": 7000, "op": "SCMP_CMP_EQ" }
        ]
    }]));
    assert_eq!(errno_of(&probe(either.clone(), &[GETPGID, 5000])), 99);
    assert_eq!(errno_of(&probe(either.clone(), &[GETPGID, 7000])), 99);
    assert_eq!(errno_of(&probe(either, &[GETPGID, 6000])), libc::ESRCH);
}

#[test]
fn unknown_syscall_names_are_skipped_as_runc_skips_them() {
    let seccomp = allow_but(json!([{
        "names": ["no_such_syscall_anywhere", "getppid"],
        "action": "SCMP_ACT_ERRNO", "errnoRet": 99
    }]));
    assert_eq!(errno_of(&probe(seccomp, &[GETPPID])), 99);
}

#[test]
fn known_flags_load_and_wait_killable_recv_is_refused_where_libseccomp_lacks_it() {
    for flag in [
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    ] {
        let mut seccomp = allow_but(json!([
            { "names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99 }
        ]));
        seccomp["flags"] = json!([flag]);
        assert_eq!(errno_of(&probe(seccomp, &[GETPPID])), 99, "{flag}");
    }
    // Debian 12's libseccomp (2.5) has no WAIT_KILLABLE_RECV: a clear refusal.
    let mut seccomp = allow_but(json!([]));
    seccomp["flags"] = json!(["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]);
    let output = probe(seccomp, &[GETPPID]);
    output.assert_failure();
    assert!(output.stderr.contains("linux.seccomp.flags"), "{output}");
}

/// A config libseccomp or the runtime refuses fails create, names what is wrong, and
/// leaves nothing behind.
#[track_caller]
fn assert_refused(seccomp: Value, mentions: &str) {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = probe_bundle(&id, seccomp, &[GETPPID]);

    let output = runtime.create(&id, &bundle, &[]);

    assert_failed_cleanly(&runtime, &output, &id, &[&[mentions]]);
}

#[test]
fn an_unknown_action_or_operator_is_a_clear_error_at_create() {
    assert_refused(
        allow_but(json!([{ "names": ["getppid"], "action": "SCMP_ACT_EXPLODE" }])),
        "SCMP_ACT_EXPLODE",
    );
    assert_refused(
        allow_but(json!([{
            "names": ["getppid"], "action": "SCMP_ACT_ERRNO",
            "args": [{ "index": 0, "value": 1, "op": "SCMP_CMP_ROUGHLY" }]
        }])),
        "SCMP_CMP_ROUGHLY",
    );
}

#[test]
fn notify_without_a_listener_or_on_write_or_as_default_is_refused() {
    assert_refused(
        allow_but(json!([{ "names": ["getppid"], "action": "SCMP_ACT_NOTIFY" }])),
        "linux.seccomp.listenerPath",
    );
    let mut on_write = allow_but(json!([{ "names": ["write"], "action": "SCMP_ACT_NOTIFY" }]));
    on_write["listenerPath"] = json!("/nonexistent.sock");
    assert_refused(on_write, "write syscall");
    assert_refused(
        json!({ "defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x.sock" }),
        "default action",
    );
}

fn docker_profile() -> Value {
    serde_json::from_str(&fixture("seccomp/docker-default.json")).unwrap()
}

fn podman_profile() -> Value {
    serde_json::from_str(&fixture("seccomp/podman-default.json")).unwrap()
}

#[test]
fn dockers_default_profile_loads_and_blocks_with_eperm() {
    let seccomp = oci_seccomp(&docker_profile(), &ENGINE_DEFAULT_CAPS);
    // add_key is in no allow list: the profile's default, EPERM.
    assert_eq!(
        errno_of(&probe(seccomp.clone(), &[ADD_KEY, 0, 0, 0, 0, 0])),
        libc::EPERM
    );
    // unshare needs CAP_SYS_ADMIN in this profile.
    let unshare = [libc::SYS_unshare, i64::from(libc::CLONE_NEWUSER)];
    assert_eq!(errno_of(&probe(seccomp.clone(), &unshare)), libc::EPERM);
    assert_eq!(errno_of(&probe(seccomp, &[GETPPID])), 0);
}

#[test]
fn podmans_default_profile_loads_and_blocks_with_its_errnos() {
    let seccomp = oci_seccomp(&podman_profile(), &ENGINE_DEFAULT_CAPS);
    // Not listed: podman's default is ENOSYS.
    assert_eq!(
        errno_of(&probe(seccomp.clone(), &[ADD_KEY, 0, 0, 0, 0, 0])),
        libc::ENOSYS
    );
    // Listed with errnoRet 1.
    assert_eq!(
        errno_of(&probe(seccomp.clone(), &[libc::SYS_swapoff, 0])),
        libc::EPERM
    );
    assert_eq!(errno_of(&probe(seccomp, &[GETPPID])), 0);
}

#[test]
fn a_filter_may_forbid_what_the_runtime_needs_to_set_the_container_up() {
    // sethostname, mount and pivot_root are how the container's world is made; with
    // no_new_privs the filter comes right before exec, so it can forbid them all.
    let seccomp = allow_but(json!([{
        "names": ["sethostname", "mount", "pivot_root", "setgroups", "capset", "umount2"],
        "action": "SCMP_ACT_ERRNO", "errnoRet": 99
    }]));
    let output = probe(seccomp, &[libc::SYS_sethostname, 0, 0]);
    assert_eq!(errno_of(&output), 99);
}

/// Without no_new_privs the filter is loaded before the credentials change, so it is
/// in force when the runtime checks the cwd (CVE-2024-21626): a filter forbidding
/// getcwd must not pass for an escape. The container, and a process exec'd into it,
/// run; the process itself sees getcwd refused.
#[test]
fn a_filter_forbidding_getcwd_without_no_new_privileges_still_runs() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let seccomp = allow_but(json!([{ "names": ["getcwd"], "action": "SCMP_ACT_ERRNO" }]));
    let bundle = probe_bundle(&id, seccomp, &[libc::SYS_getcwd, 0, 0])
        .set("/process/noNewPrivileges", json!(false))
        .set("/process/cwd", json!("/tmp"))
        .write();

    let output = runtime.run(&id, &bundle);
    assert_eq!(errno_of(&output), libc::EPERM);

    let id = unique_id();
    let bundle = bundle.args(&["sleep", "1000"]).write();
    runtime.create_started(&id, &bundle);
    let exec = runtime.cmd(&[
        "exec",
        &id,
        "syscall",
        &libc::SYS_getcwd.to_string(),
        "0",
        "0",
    ]);
    assert_eq!(errno_of(&exec), libc::EPERM);
}

#[test]
fn exec_processes_get_the_containers_filter() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let seccomp = allow_but(json!([
        { "names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99 }
    ]));
    let bundle = probe_bundle(&id, seccomp, &[GETPPID])
        .args(&["sleep", "1000"])
        .write();
    runtime.create_started(&id, &bundle);

    let output = runtime.cmd(&["exec", &id, "syscall", &GETPPID.to_string()]);

    assert_eq!(errno_of(&output), 99);
}

/// A seccomp agent: accepts one connection per container process, checks the state
/// it is sent, and answers every notification with `value` as the call's result.
struct Agent {
    _dir: tempfile::TempDir,
    path: PathBuf,
    listener: UnixListener,
}

impl Agent {
    fn new() -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.sock");
        let listener = UnixListener::bind(&path).unwrap();
        Agent {
            _dir: dir,
            path,
            listener,
        }
    }

    /// Takes the next process's fd and state, then serves `count` notifications on a
    /// thread; returns the state.
    fn serve(&self, count: usize, value: i64) -> (Value, std::thread::JoinHandle<()>) {
        let (stream, _) = self.listener.accept().unwrap();
        // The message follows the connection: wait for it.
        let mut fds = [PollFd::new(stream.as_fd(), PollFlags::POLLIN)];
        let millis = u16::try_from(COMMAND_TIMEOUT.as_millis()).unwrap_or(u16::MAX);
        assert_eq!(
            poll(&mut fds, PollTimeout::from(millis)),
            Ok(1),
            "no message from the runtime"
        );
        let (payload, fd) = receive_master(&stream);
        let state: Value = serde_json::from_slice(&payload).unwrap();
        let handle = std::thread::spawn(move || answer(fd, count, value));
        (state, handle)
    }
}

fn answer(fd: OwnedFd, count: usize, value: i64) {
    use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags};
    for _ in 0..count {
        let request = ScmpNotifReq::receive(fd.as_raw_fd()).unwrap();
        ScmpNotifResp::new_val(request.id, value, ScmpNotifRespFlags::empty())
            .respond(fd.as_raw_fd())
            .unwrap();
    }
}

/// `linux.seccomp` that sends getppid to the agent at `agent`.
fn notify_getppid(agent: &Agent) -> Value {
    let mut seccomp = allow_but(json!([{ "names": ["getppid"], "action": "SCMP_ACT_NOTIFY" }]));
    seccomp["listenerPath"] = json!(agent.path);
    seccomp["listenerMetadata"] = json!("for-the-agent");
    seccomp
}

#[test]
fn notify_sends_the_fd_and_state_to_the_agent_which_answers_the_call() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let agent = Agent::new();
    let bundle = probe_bundle(&id, notify_getppid(&agent), &[GETPPID]);

    std::thread::scope(|scope| {
        let served = scope.spawn(|| agent.serve(1, 4242));
        let (created, mut stdout) = runtime.create_piped(&id, &bundle, &[]);
        created.assert_success();
        // The agent had its connection before create returned.
        let (state, server) = served.join().unwrap();
        let init = runtime.init_pid(&id);
        assert_eq!(state["fds"], json!(["seccompFd"]));
        assert_eq!(state["pid"], init);
        assert_eq!(state["metadata"], "for-the-agent");
        assert_eq!(state["state"]["id"], id.as_str());
        assert_eq!(state["state"]["status"], "creating");
        runtime.start(&id).assert_success();
        server.join().unwrap();
        // The call the agent answered returned what it said.
        assert_eq!(stdout.read_line().as_deref(), Some("4242 0"));
    });
}

#[test]
fn an_exec_process_sends_its_own_fd_to_the_agent() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let agent = Agent::new();
    let bundle = probe_bundle(&id, notify_getppid(&agent), &[GETPPID])
        .args(&["sleep", "1000"])
        .write();
    std::thread::scope(|scope| {
        // The init's fd: closed at once, so its own calls (if any) fail, unanswered.
        let served = scope.spawn(|| agent.serve(0, 0));
        runtime.create_started(&id, &bundle);
        served.join().unwrap().1.join().unwrap();
    });

    std::thread::scope(|scope| {
        let served = scope.spawn(|| agent.serve(1, 777));
        let output = runtime.cmd(&["exec", &id, "syscall", "110"]);
        let (state, server) = served.join().unwrap();
        server.join().unwrap();
        assert_eq!(output.stdout, "777 0\n", "{output}");
        assert_eq!(state["state"]["status"], "running");
        assert_eq!(state["state"]["pid"], runtime.init_pid(&id));
        assert_ne!(
            state["pid"], state["state"]["pid"],
            "the exec'd process, not the init"
        );
    });
}

#[test]
fn a_notify_rule_for_unknown_syscalls_only_needs_no_agent() {
    let mut seccomp = allow_but(json!([
        { "names": ["no_such_syscall_anywhere"], "action": "SCMP_ACT_NOTIFY" },
        { "names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99 }
    ]));
    seccomp["listenerPath"] = json!("/nonexistent/agent.sock");
    assert_eq!(errno_of(&probe(seccomp, &[GETPPID])), 99);
}

#[test]
fn start_container_hooks_run_under_the_filter() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let seccomp = allow_but(json!([
        { "names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99 }
    ]));
    // A hook runs a binary of the container's: it is held by the same filter.
    let bundle = probe_bundle(&id, seccomp, &[GETPPID])
        .set("/root/readonly", json!(false))
        .set(
            "/hooks/startContainer",
            json!([{ "path": "/bin/sh", "args": ["sh", "-c", "syscall 110 > /hook-result"] }]),
        )
        .write();

    let output = runtime.run(&id, &bundle);

    assert_eq!(errno_of(&output), 99);
    let hook = std::fs::read_to_string(bundle.rootfs().join("hook-result")).unwrap();
    assert_eq!(hook, "-1 99\n");
}
