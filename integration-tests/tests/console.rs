//! `process.terminal` with `--console-socket` (runtime contract §5): the
//! runtime sends the pty master over the caller's socket, as one message
//! with one `SCM_RIGHTS` fd and a non-empty payload, before `create` exits.

use integration_tests::console::{
    assert_nothing_more, read_until_hangup, receive_master, ConsoleSocket,
};
use integration_tests::{unique_id, wait_exit, Bundle, Runtime};
use serde_json::json;

#[test]
fn console_socket_gets_the_pty_master_before_create_exits() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let (rows, cols) = (37, 123);
    let bundle = Bundle::new(&id)
        .args(&["sh", "-c", "tty; stty size"])
        .set("/process/terminal", json!(true))
        .set(
            "/process/consoleSize",
            json!({ "height": rows, "width": cols }),
        )
        .write();
    let socket = ConsoleSocket::new();

    runtime
        .create(&id, &bundle, &["--console-socket", socket.path()])
        .assert_success();

    let stream = socket.accept_queued();
    let (_payload, master) = receive_master(&stream);
    let pid = runtime.init_pid(&id);
    assert_nothing_more(&stream, pid);
    runtime.start(&id).assert_success();
    let output = read_until_hangup(master);
    assert_eq!(wait_exit(pid), 0, "{output:?}");
    assert_eq!(
        output,
        format!("/dev/pts/0\n{rows} {cols}\n"),
        "the container's stdio must be the pty, sized as configured"
    );
    runtime.delete(&id, false).assert_success();
}

/// After a refused `create`: no state and no pid file.
#[track_caller]
fn assert_nothing_created(runtime: &Runtime, id: &str) {
    assert!(
        !runtime.root().join(id).exists(),
        "state dir left after the failed create"
    );
    assert!(
        !runtime.pid_file(id).exists(),
        "pid file written although create failed"
    );
}

#[track_caller]
fn assert_error_names_the_console_socket(output: &integration_tests::Output) {
    let stderr = output.stderr.to_lowercase();
    assert!(
        stderr.contains("console socket") || stderr.contains("console-socket"),
        "the error must name the console socket: {output}"
    );
}

#[test]
fn terminal_without_console_socket_fails_create() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .args(&["true"])
        .set("/process/terminal", json!(true))
        .write();

    let created = runtime.create(&id, &bundle, &[]);

    created.assert_failure();
    assert_error_names_the_console_socket(&created);
    assert_nothing_created(&runtime, &id);
}

#[test]
fn console_socket_without_terminal_fails_create() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["true"]).write();
    let socket = ConsoleSocket::new();

    let created = runtime.create(&id, &bundle, &["--console-socket", socket.path()]);

    created.assert_failure();
    assert_error_names_the_console_socket(&created);
    assert_nothing_created(&runtime, &id);
}
