//! runc's command-line contract as callers use it: `spec`, `--version`, flags as
//! `--flag value` and `--flag=value`, short aliases, `run --detach`, `kill --all`, and
//! refused command lines reported in `--log`.

use integration_tests::{is_alive, unique_id, wait_exit, Bundle, Runtime};
use serde_json::Value;

#[test]
fn spec_writes_a_config_that_runs_and_refuses_to_overwrite_it() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    // A bundle whose config.json comes from `spec` itself.
    let bundle = Bundle::new(&id).remove_config();
    let dir = bundle.path().to_str().unwrap().to_owned();

    runtime.cmd(&["spec", "--bundle", &dir]).assert_success();
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.path().join("config.json")).unwrap())
            .expect("spec writes JSON");
    assert_eq!(written["root"]["path"], "rootfs", "{written}");
    assert_eq!(written["process"]["args"][0], "sh", "{written}");

    let again = runtime.cmd(&["spec", "--bundle", &dir]);
    again.assert_failure();
    assert!(again.stderr.contains("config.json"), "{again}");

    // The spec runs as written, once the terminal it asks for is left out.
    let mut config = written;
    config["process"]["terminal"] = Value::Bool(false);
    config["process"]["args"] = serde_json::json!(["true"]);
    let bundle = bundle.replace_config(config).write();
    runtime.run(&id, &bundle).assert_success();
}

#[test]
fn spec_rootless_maps_the_caller_into_a_user_namespace() {
    let runtime = Runtime::under_test();
    let dir = tempfile::tempdir().unwrap();

    runtime
        .cmd(&[
            "spec",
            "--rootless",
            "--bundle",
            dir.path().to_str().unwrap(),
        ])
        .assert_success();

    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap())
            .unwrap();
    let namespaces: Vec<&str> = config["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ns| ns["type"].as_str().unwrap())
        .collect();
    assert!(namespaces.contains(&"user"), "{config}");
    let euid = nix::unistd::geteuid().as_raw();
    assert_eq!(
        config["linux"]["uidMappings"][0]["hostID"], euid,
        "{config}"
    );
}

#[test]
fn version_prints_the_lines_go_runc_parses() {
    let runtime = Runtime::under_test();

    let output = runtime.cmd(&["--version"]);

    output.assert_success();
    let first = output.stdout.lines().next().unwrap_or_default();
    let name = runtime.bin().file_name().unwrap().to_str().unwrap();
    assert!(
        first.starts_with(&format!("{name} version ")),
        "go-runc reads `<name> version X`: {output}"
    );
    assert!(
        output.stdout.lines().any(|l| l.starts_with("spec: ")),
        "{output}"
    );
}

#[test]
fn flags_work_with_an_equals_sign_and_short_aliases() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["sleep", "1000"]).write();
    let bundle_flag = format!("--bundle={}", bundle.path().display());
    let pid_file = runtime.pid_file(&id);
    let pid_flag = format!("--pid-file={}", pid_file.display());

    runtime.create(&id, &bundle, &[]).assert_success();
    runtime.delete(&id, true).assert_success();
    runtime
        .cmd(&["create", &bundle_flag, &pid_flag, &id])
        .assert_success();
    let pid = runtime.init_pid(&id);
    runtime.cmd(&["kill", "-a", &id, "KILL"]).assert_success();
    assert_eq!(wait_exit(pid), 128 + libc::SIGKILL);
    runtime.cmd(&["delete", "-f", &id]).assert_success();
    assert!(!runtime.root().join(&id).exists());
}

#[test]
fn run_detach_returns_with_the_container_running() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["sleep", "1000"]).write();
    let pid_file = runtime.pid_file(&id);

    runtime
        .cmd(&[
            "run",
            "-d",
            "--bundle",
            bundle.path().to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            &id,
        ])
        .assert_success();

    let state = runtime.state(&id);
    assert_eq!(state["status"], "running", "{state}");
    let pid = runtime.init_pid(&id);
    assert_eq!(state["pid"], pid, "{state}");
    assert!(is_alive(pid));
}

#[test]
fn kill_all_reaches_every_process_without_a_pid_namespace() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    // Without a pid namespace, killing the init does not take its children with it.
    let bundle = Bundle::new(&id)
        .without_namespace("pid")
        .args(&["sh", "-c", "sleep 1000 & echo $!; wait"])
        .write();
    let (created, mut stdout) = runtime.create_piped(&id, &bundle, &[]);
    created.assert_success();
    runtime.start(&id).assert_success();
    let child: i32 = stdout
        .read_line()
        .expect("the container prints its child's pid")
        .trim()
        .parse()
        .expect("a pid");
    let init = runtime.init_pid(&id);
    assert!(is_alive(child));

    runtime
        .cmd(&["kill", "--all", &id, "KILL"])
        .assert_success();

    assert_eq!(wait_exit(init), 128 + libc::SIGKILL);
    assert_eq!(wait_exit(child), 128 + libc::SIGKILL);
}

#[test]
fn a_refused_command_line_is_reported_in_the_log() {
    let runtime = Runtime::under_test().with_json_log();

    let output = runtime.cmd(&["no-such-command"]);

    output.assert_failure();
    let lines = runtime.log_lines();
    let last = lines.last().expect("an error line in --log");
    assert_eq!(last["level"], "error", "{last}");
    assert!(
        last["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("no-such-command"),
        "{last}"
    );
}

#[test]
fn kill_delivers_real_time_signals_by_number_and_name() {
    for signal in ["37", "RTMIN+3"] {
        let runtime = Runtime::under_test();
        let id = unique_id();
        let rt3 = libc::SIGRTMIN() + 3;
        let bundle = Bundle::new(&id)
            .args(&[
                "sh",
                "-c",
                &format!("trap 'exit 42' {rt3}; echo ready; while true; do sleep 1; done"),
            ])
            .write();
        let (created, mut stdout) = runtime.create_piped(&id, &bundle, &[]);
        created.assert_success();
        runtime.start(&id).assert_success();
        assert_eq!(stdout.read_line().as_deref().map(str::trim), Some("ready"));
        let init = runtime.init_pid(&id);

        runtime.kill(&id, signal).assert_success();

        assert_eq!(
            wait_exit(init),
            42,
            "signal {signal} did not reach the trap"
        );
    }
}

#[test]
fn run_keep_leaves_the_stopped_container_in_the_store() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["true"]).write();

    runtime
        .cmd(&[
            "run",
            "--keep",
            "--bundle",
            bundle.path().to_str().unwrap(),
            &id,
        ])
        .assert_success();

    assert_eq!(runtime.state(&id)["status"], "stopped");
    runtime.delete(&id, false).assert_success();
}

#[test]
fn pidfd_socket_receives_a_pidfd_of_the_init() {
    use std::io::IoSliceMut;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::net::UnixListener;

    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["sleep", "1000"]).write();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("pidfd.sock");
    let listener = UnixListener::bind(&socket).unwrap();

    runtime
        .create(&id, &bundle, &["--pidfd-socket", socket.to_str().unwrap()])
        .assert_success();

    let (conn, _) = listener.accept().expect("the runtime connected");
    let mut payload = [0u8; 256];
    let mut iov = [IoSliceMut::new(&mut payload)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .expect("recvmsg");
    let fds: Vec<i32> = msg
        .cmsgs()
        .unwrap()
        .filter_map(|c| match c {
            ControlMessageOwned::ScmRights(fds) => Some(fds),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(fds.len(), 1, "exactly one fd");
    // SAFETY: the fd was just received and is owned by nobody else.
    let pidfd = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    let fdinfo =
        std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd())).unwrap();
    let pid_line = fdinfo
        .lines()
        .find(|l| l.starts_with("Pid:"))
        .expect("a pidfd");
    assert_eq!(
        pid_line.split_whitespace().nth(1),
        Some(runtime.init_pid(&id).to_string().as_str()),
        "{fdinfo}"
    );
}

/// A reader that goes away (`truman list | head -0`, a client that closed its end)
/// makes the write fail: truman reports it and exits 1, as for any failed write,
/// instead of being killed by SIGPIPE halfway through a command.
#[test]
fn output_into_a_closed_pipe_is_an_error_not_a_killing_signal() {
    use std::os::unix::process::ExitStatusExt;
    let runtime = Runtime::under_test();
    let (reader, writer) = nix::unistd::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(runtime.bin())
        .arg("--root")
        .arg(runtime.root())
        .arg("list")
        .stdout(std::process::Stdio::from(writer))
        .output()
        .expect("spawn the runtime");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), None, "killed: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Broken pipe"), "{stderr}");
}
