//! How a hook fails: exit status, signal, timeout, bad spec, and stopping the list.

mod common;

use std::fs;
use std::io::ErrorKind;
use std::time::{Duration, Instant};

use common::{hook, quoted, sh, STATE};
use hooks::{run_hook, run_hooks, HookError, HookPoint};
use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

#[test]
fn non_zero_exit_reports_the_code_and_the_last_stderr_line() {
    let hook = sh("echo noise; printf 'first\\nlast words\\n\\n' >&2; exit 3");

    let err = run_hook(HookPoint::CreateRuntime, &hook, STATE).expect_err("hook fails");

    assert!(
        matches!(&err, HookError::ExitStatus { code: 3, stderr: Some(line), .. } if line == "last words"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "createRuntime hook /bin/sh: exit status 3: last words"
    );
}

#[test]
fn non_zero_exit_without_stderr() {
    let err = run_hook(HookPoint::Prestart, &sh("exit 7"), STATE).expect_err("hook fails");

    assert_eq!(err.to_string(), "prestart hook /bin/sh: exit status 7");
}

#[test]
fn killed_by_a_signal() {
    let err = run_hook(HookPoint::Poststop, &sh("kill -9 $$"), STATE).expect_err("hook fails");

    assert!(
        matches!(err, HookError::Signaled { signal: 9, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "poststop hook /bin/sh: killed by signal SIGKILL"
    );
}

#[test]
fn timeout_kills_and_reaps_the_hook() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pid");
    // exec, so that the pid written is the one of the process that must be killed.
    let mut hook = sh(&format!("echo $$ > {}; exec sleep 30", quoted(&file)));
    hook.set_timeout(Some(1));

    let started = Instant::now();
    let err = run_hook(HookPoint::CreateContainer, &hook, STATE).expect_err("hook times out");

    assert!(
        matches!(err, HookError::TimedOut { seconds: 1, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "createContainer hook /bin/sh: timed out after 1s"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let pid: i32 = fs::read_to_string(&file)
        .expect("read pid")
        .trim()
        .parse()
        .expect("parse pid");
    // Killed and reaped: not even a zombie is left.
    assert_eq!(kill(Pid::from_raw(pid), None), Err(Errno::ESRCH));
}

#[test]
fn a_timeout_that_is_not_positive_is_rejected_before_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("ran");
    for timeout in [0, -1] {
        let mut hook = sh(&format!("touch {}", quoted(&file)));
        hook.set_timeout(Some(timeout));

        let err = run_hook(HookPoint::Prestart, &hook, STATE).expect_err("rejected");

        assert!(
            matches!(err, HookError::InvalidTimeout { timeout: t, .. } if t == timeout),
            "{err:?}"
        );
        assert!(!file.exists());
    }
}

#[test]
fn a_missing_binary_fails_to_spawn() {
    let hook = hook("/nonexistent/hook", &["hook"]);

    let err = run_hook(HookPoint::StartContainer, &hook, STATE).expect_err("spawn fails");

    assert!(
        matches!(&err, HookError::Spawn { source, .. } if source.kind() == ErrorKind::NotFound),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .starts_with("startContainer hook /nonexistent/hook: spawn: "));
}

#[test]
fn run_hooks_stops_at_the_first_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = dir.path().join("first");
    let third = dir.path().join("third");
    let hooks = [
        sh(&format!("touch {}", quoted(&first))),
        sh("echo second failed >&2; exit 1"),
        sh(&format!("touch {}", quoted(&third))),
    ];

    let err = run_hooks(HookPoint::Prestart, &hooks, STATE).expect_err("second hook fails");

    assert!(
        matches!(&err, HookError::ExitStatus { code: 1, stderr: Some(line), .. } if line == "second failed"),
        "{err:?}"
    );
    assert!(first.exists(), "the first hook ran");
    assert!(!third.exists(), "the third hook must not run");
}

#[test]
fn run_hooks_runs_all_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("log");
    let hooks: Vec<_> = ["one", "two", "three"]
        .iter()
        .map(|name| sh(&format!("echo {name} >> {}", quoted(&log))))
        .collect();

    run_hooks(HookPoint::Poststart, &hooks, STATE).expect("run hooks");

    assert_eq!(
        fs::read_to_string(&log).expect("read log"),
        "one\ntwo\nthree\n"
    );
}
