//! What a hook is started with: its argv, its environment, the state on its stdin.

mod common;

use std::fs;

use common::{hook, quoted, sh, STATE};
use hooks::{run_hook, HookPoint};
use oci_spec::runtime::HookBuilder;

#[test]
fn state_is_written_to_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("state");
    let hook = sh(&format!("cat > {}", quoted(&file)));

    run_hook(HookPoint::CreateRuntime, &hook, STATE).expect("run hook");

    assert_eq!(fs::read(&file).expect("read state file"), STATE);
}

#[test]
fn args_are_the_exact_argv_and_argv0_may_differ_from_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cmdline");
    let script = format!("cat /proc/$$/cmdline > {}", quoted(&file));
    let hook = hook("/bin/sh", &["my-hook", "-c", &script]);

    run_hook(HookPoint::Prestart, &hook, STATE).expect("run hook");

    let expected = format!("my-hook\0-c\0{script}\0");
    assert_eq!(fs::read_to_string(&file).expect("read cmdline"), expected);
}

#[test]
fn dollar_zero_is_args0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("name");
    let hook = hook(
        "/bin/sh",
        &["myname", "-c", &format!("echo \"$0\" > {}", quoted(&file))],
    );

    run_hook(HookPoint::Poststart, &hook, STATE).expect("run hook");

    assert_eq!(fs::read_to_string(&file).expect("read name"), "myname\n");
}

#[test]
fn without_args_argv0_is_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cmdline");
    // With no arguments sh runs the script it reads on stdin, here in place of the state.
    let script = format!("cat /proc/$$/cmdline > {}\n", quoted(&file));
    let hook = HookBuilder::default()
        .path("/bin/sh")
        .build()
        .expect("build hook");

    run_hook(HookPoint::Poststop, &hook, script.as_bytes()).expect("run hook");

    assert_eq!(
        fs::read_to_string(&file).expect("read cmdline"),
        "/bin/sh\0"
    );
}

/// The environment the hook's process was executed with, one entry per element, sorted.
fn environ_of(env: Option<Vec<String>>) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("environ");
    let mut hook = sh(&format!("cat /proc/$$/environ > {}", quoted(&file)));
    hook.set_env(env);

    run_hook(HookPoint::CreateContainer, &hook, STATE).expect("run hook");

    let environ = fs::read_to_string(&file).expect("read environ");
    let mut entries: Vec<String> = environ.split_terminator('\0').map(str::to_owned).collect();
    entries.sort();
    entries
}

#[test]
fn env_is_exactly_the_given_env() {
    let env = vec![
        "PATH=/usr/bin:/bin".to_owned(),
        "FOO=bar=baz".to_owned(),
        "EMPTY=".to_owned(),
    ];
    let mut expected = env.clone();
    expected.sort();

    assert_eq!(environ_of(Some(env)), expected);
}

#[test]
fn no_env_is_an_empty_env() {
    assert_eq!(environ_of(None), Vec::<String>::new());
}

#[test]
fn a_hook_that_ignores_stdin_succeeds() {
    // Far more than a pipe holds, so the write hits EPIPE once the hook is gone.
    let state = vec![b' '; 4 * 1024 * 1024];

    run_hook(HookPoint::StartContainer, &sh("exit 0"), &state).expect("run hook");
}

#[test]
fn a_chatty_hook_does_not_block_on_its_output() {
    // Megabytes on both streams while we still try to write its stdin: reading only
    // one stream at a time, or writing stdin first, would deadlock here.
    let hook = sh("head -c 4194304 /dev/zero; head -c 4194304 /dev/zero >&2; cat > /dev/null");
    let state = vec![b' '; 1024 * 1024];

    run_hook(HookPoint::CreateRuntime, &hook, &state).expect("run hook");
}

#[test]
fn a_background_child_holding_stdout_does_not_keep_us_waiting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pid");
    // The sleep inherits the hook's stdout and stderr and outlives the hook.
    let hook = sh(&format!("sleep 60 & echo $! > {}", quoted(&file)));

    run_hook(HookPoint::Poststart, &hook, STATE).expect("run hook");

    let pid: i32 = fs::read_to_string(&file)
        .expect("read pid")
        .trim()
        .parse()
        .expect("parse pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill background sleep");
}
