//! `checkpoint` and `restore` through CRIU, with a container that counts into a file
//! of its rootfs: a checkpoint stops it and leaves an image; a restore brings it back
//! counting on from where it stopped, in its namespaces and cgroup, an ordinary
//! container again. Needs a CRIU that works on this kernel (`scripts/criu.sh`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use integration_tests::{unique_id, Bundle, Runtime};
use serde_json::json;

/// Counts from 1, one number every 50 ms, appending each to /counts:
/// a process that restarted instead of going on would write 1 there again.
fn counting(id: &str) -> Bundle {
    Bundle::new(id)
        .args(&[
            "sh",
            "-c",
            "i=0; while true; do i=$((i+1)); echo $i >> /counts; sleep 0.05; done",
        ])
        .set("/root/readonly", json!(false))
        .set("/linux/resources/memory", json!({"limit": 64 << 20}))
        .write()
}

/// The last number counted: the last whole line of /counts.
fn count(bundle: &Bundle) -> Option<u64> {
    let text = std::fs::read_to_string(bundle.rootfs().join("counts")).ok()?;
    text.strip_suffix('\n')?.lines().last()?.parse().ok()
}

/// Waits until the count is at least `least`, and returns it.
#[track_caller]
fn count_reaches(bundle: &Bundle, least: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(n) = count(bundle).filter(|n| *n >= least) {
            return n;
        }
        assert!(Instant::now() < deadline, "the count never reached {least}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running counting container whose stdio is /dev/null.
fn started(runtime: &Runtime, id: &str) -> Bundle {
    let bundle = counting(id);
    runtime.create_on_dev_null(id, &bundle).assert_success();
    runtime.start(id).assert_success();
    count_reaches(&bundle, 3);
    bundle
}

/// The numbers in /counts, which must be 1, 2, 3, ... with none missing or written
/// twice (or, from `from`, the same run on from there).
#[track_caller]
fn assert_counted_on(bundle: &Bundle, from: u64) {
    let text = std::fs::read_to_string(bundle.rootfs().join("counts")).unwrap();
    let numbers: Vec<u64> = text.lines().filter_map(|l| l.parse().ok()).collect();
    let expected: Vec<u64> = (from..from + numbers.len() as u64).collect();
    assert_eq!(numbers, expected, "/counts is not one run from {from}");
}

struct Images {
    _dir: tempfile::TempDir,
    images: PathBuf,
    work: PathBuf,
}

fn images() -> Images {
    let dir = tempfile::tempdir().unwrap();
    Images {
        images: dir.path().join("images"),
        work: dir.path().join("work"),
        _dir: dir,
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn checkpoint(
    runtime: &Runtime,
    id: &str,
    images: &Images,
    extra: &[&str],
) -> integration_tests::Output {
    let mut args = vec![
        "checkpoint",
        "--image-path",
        path(&images.images),
        "--work-path",
        path(&images.work),
    ];
    args.extend_from_slice(extra);
    args.push(id);
    runtime.cmd(&args)
}

fn restore(
    runtime: &Runtime,
    id: &str,
    bundle: &Bundle,
    images: &Images,
) -> integration_tests::Output {
    restore_with(runtime, id, bundle, images, &[])
}

fn restore_with(
    runtime: &Runtime,
    id: &str,
    bundle: &Bundle,
    images: &Images,
    extra: &[&str],
) -> integration_tests::Output {
    let pid_file = runtime.pid_file(id);
    let mut args = vec![
        "restore",
        "--detach",
        "--image-path",
        path(&images.images),
        "--work-path",
        path(&images.work),
        "--bundle",
        path(bundle.path()),
        "--pid-file",
        path(&pid_file),
    ];
    args.extend_from_slice(extra);
    args.push(id);
    runtime.cmd(&args)
}

/// The memory cgroup of `pid`, as /proc names it.
fn memory_cgroup(pid: i32) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    text.lines()
        .find_map(|l| l.split_once(":memory:").map(|(_, path)| path.to_owned()))
        .unwrap_or_default()
}

fn exec_output(runtime: &Runtime, id: &str, args: &[&str]) -> String {
    let mut argv = vec!["exec", id];
    argv.extend_from_slice(args);
    let output = runtime.cmd(&argv);
    output.assert_success();
    output.stdout.trim().to_owned()
}

#[test]
fn a_checkpoint_stops_the_container_and_its_restore_counts_on_where_it_stopped() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    // A volume: a bind mount from the host, which CRIU is told is external.
    let volume = tempfile::tempdir().unwrap();
    let bundle = counting(&id)
        .set(
            "/mounts/-",
            json!({"destination": "/data", "type": "bind", "source": path(volume.path()), "options": ["rbind", "rw"]}),
        )
        .write();
    runtime.create_on_dev_null(&id, &bundle).assert_success();
    runtime.start(&id).assert_success();
    count_reaches(&bundle, 3);
    let init = runtime.init_pid(&id);
    let images = images();

    checkpoint(&runtime, &id, &images, &[]).assert_success();

    // It stopped: the init is gone and the container with it.
    assert_eq!(integration_tests::wait_exit(init), 128 + libc::SIGKILL);
    runtime.cmd(&["state", &id]).assert_failure();
    assert!(integration_tests::leftover_cgroups(&id).is_empty());
    for file in ["inventory.img", "descriptors.json"] {
        assert!(images.images.join(file).exists(), "no {file} in the image");
    }
    let stopped_at = count(&bundle).unwrap();

    restore(&runtime, &id, &bundle, &images).assert_success();

    let state = runtime.state(&id);
    assert_eq!(state["status"], "running", "{state}");
    let pid = runtime.init_pid(&id);
    assert_ne!(pid, init);
    let pid_file = std::fs::read_to_string(runtime.pid_file(&id)).unwrap();
    assert_eq!(pid_file, pid.to_string());
    // On from where it stopped, not from 1.
    count_reaches(&bundle, stopped_at + 5);
    assert_counted_on(&bundle, 1);
    // Its namespaces are back: the shell is PID 1, the hostname the config's.
    assert_eq!(exec_output(&runtime, &id, &["cat", "/proc/1/comm"]), "sh");
    assert_eq!(
        exec_output(&runtime, &id, &["hostname"]),
        integration_tests::DEFAULT_HOSTNAME
    );
    // Its mounts are back: the volume is the host's directory again.
    exec_output(
        &runtime,
        &id,
        &["sh", "-c", "echo restored > /data/written"],
    );
    assert_eq!(
        std::fs::read_to_string(volume.path().join("written")).unwrap(),
        "restored\n"
    );
    // Its cgroup is the config's, limited as the config says.
    let memory = Path::new("/sys/fs/cgroup/memory")
        .join(integration_tests::CGROUP_TEST_PARENT)
        .join(&id);
    if memory.exists() {
        let procs = std::fs::read_to_string(memory.join("cgroup.procs")).unwrap();
        assert!(procs.lines().any(|l| l == pid.to_string()), "{procs}");
        let limit = std::fs::read_to_string(memory.join("memory.limit_in_bytes")).unwrap();
        assert_eq!(limit.trim(), (64u64 << 20).to_string());
    }
    // An ordinary container: pause, resume, kill, delete.
    runtime.cmd(&["pause", &id]).assert_success();
    assert_eq!(runtime.state(&id)["status"], "paused");
    runtime.cmd(&["resume", &id]).assert_success();
    runtime.kill(&id, "KILL").assert_success();
    assert_eq!(integration_tests::wait_exit(pid), 128 + libc::SIGKILL);
    runtime.delete(&id, false).assert_success();
    assert!(integration_tests::leftover_cgroups(&id).is_empty());
}

#[test]
fn leave_running_keeps_the_container_and_a_copy_restored_under_a_new_id_counts_on_beside_it() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = started(&runtime, &id);
    let images = images();

    checkpoint(&runtime, &id, &images, &["--leave-running"]).assert_success();

    assert_eq!(runtime.state(&id)["status"], "running");
    let at_checkpoint = count_reaches(&bundle, 0);
    count_reaches(&bundle, at_checkpoint + 3);

    // Another id, another bundle (its own rootfs to count into).
    let copy = unique_id();
    let copy_bundle = counting(&copy);
    restore(&runtime, &copy, &copy_bundle, &images).assert_success();

    assert_eq!(runtime.state(&copy)["status"], "running");
    let first = count_reaches(&copy_bundle, 1);
    count_reaches(&copy_bundle, first + 3);
    // The copy's rootfs holds only what it counted: on from the checkpoint.
    let copied = std::fs::read_to_string(copy_bundle.rootfs().join("counts")).unwrap();
    let from: u64 = copied.lines().next().unwrap().parse().unwrap();
    assert!(
        from > 1 && from <= at_checkpoint + 1,
        "the copy counted from {from}, the checkpoint was taken at most at {at_checkpoint}"
    );
    assert_counted_on(&copy_bundle, from);
    let original = count(&bundle).unwrap();
    count_reaches(&bundle, original + 3);
    assert_ne!(runtime.init_pid(&copy), runtime.init_pid(&id));
}

#[test]
fn a_container_that_is_not_running_is_not_checkpointed() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = counting(&id);
    runtime.create_on_dev_null(&id, &bundle).assert_success();
    let images = images();

    let output = checkpoint(&runtime, &id, &images, &[]);

    output.assert_failure();
    assert!(
        output
            .stderr
            .contains("cannot be checkpointed in created state"),
        "{output}"
    );
    assert_eq!(runtime.state(&id)["status"], "created");
    assert!(!images.images.join("inventory.img").exists());
}

#[test]
fn a_restore_under_an_id_in_use_is_refused_and_leaves_the_container_alone() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = started(&runtime, &id);
    let images = images();
    checkpoint(&runtime, &id, &images, &["--leave-running"]).assert_success();

    let output = restore(&runtime, &id, &bundle, &images);

    output.assert_failure();
    assert!(output.stderr.contains("already exists"), "{output}");
    assert_eq!(runtime.state(&id)["status"], "running");
}

/// `--pre-dump` needs the kernel's soft-dirty bits: refused with that reason where
/// CRIU says they are missing, and the container left running either way.
#[test]
fn pre_dump_is_refused_naming_soft_dirty_where_the_kernel_lacks_it() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let _bundle = started(&runtime, &id);
    let images = images();
    let tracked = std::process::Command::new("criu")
        .args([
            "check",
            "--no-default-config",
            "--feature",
            "mem_dirty_track",
        ])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);

    let output = checkpoint(&runtime, &id, &images, &["--pre-dump"]);

    if tracked {
        output.assert_success();
    } else {
        output.assert_failure();
        assert!(output.stderr.contains("soft-dirty"), "{output}");
    }
    assert_eq!(runtime.state(&id)["status"], "running");
}

/// A terminal container that counts until /stop appears, then prints `stopped at N`
/// and its tty and exits with `code`: created with a console socket, started,
/// checkpointed once it counts (its first pty master let go). Returns its bundle, the
/// image, the socket and the count it stopped at.
fn checkpointed_terminal(
    runtime: &Runtime,
    id: &str,
    code: i32,
) -> (
    Bundle,
    Images,
    integration_tests::console::ConsoleSocket,
    u64,
) {
    use integration_tests::console::{receive_master, ConsoleSocket};
    let script = format!(
        "i=0; until [ -e /stop ]; do i=$((i+1)); echo $i >> /counts; sleep 0.05; done; \
         echo stopped at $i; tty; exit {code}"
    );
    let bundle = Bundle::new(id)
        .args(&["sh", "-c", &script])
        .set("/root/readonly", json!(false))
        .set("/process/terminal", json!(true))
        .write();
    let socket = ConsoleSocket::new();
    runtime
        .create(id, &bundle, &["--console-socket", socket.path()])
        .assert_success();
    let (_, first_master) = receive_master(&socket.accept_queued());
    runtime.start(id).assert_success();
    count_reaches(&bundle, 3);
    let images = images();
    checkpoint(runtime, id, &images, &[]).assert_success();
    drop(first_master);
    let stopped_at = count(&bundle).unwrap();
    (bundle, images, socket, stopped_at)
}

/// A container with a terminal: restored with `--console-socket`, it gets a new pty,
/// whose master truman sends there; the restored process writes to it.
#[test]
fn a_terminal_container_is_restored_onto_a_new_pty_sent_to_the_console_socket() {
    use integration_tests::console::{read_until_hangup, receive_master};
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let (bundle, images, socket, stopped_at) = checkpointed_terminal(&runtime, &id, 0);

    let restored = runtime.cmd(&[
        "restore",
        "--detach",
        "--image-path",
        path(&images.images),
        "--work-path",
        path(&images.work),
        "--bundle",
        path(bundle.path()),
        "--console-socket",
        socket.path(),
        "--pid-file",
        path(&runtime.pid_file(&id)),
        &id,
    ]);

    restored.assert_success();
    let (_, master) = receive_master(&socket.accept_queued());
    let pid = runtime.init_pid(&id);
    count_reaches(&bundle, stopped_at + 3);
    std::fs::write(bundle.rootfs().join("stop"), "").unwrap();
    let output = read_until_hangup(master);
    assert_eq!(integration_tests::wait_exit(pid), 0, "{output:?}");
    let last: u64 = output
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{output:?}"));
    assert!(last > stopped_at, "{output:?}, stopped at {stopped_at}");
    assert!(output.contains("/dev/pts/"), "{output:?}");
}

/// As runc: a restore runs the prestart and createRuntime hooks once CRIU has made
/// the namespaces, with the restored init's pid in the state, and no other hook of
/// `create` or `start`.
#[test]
fn a_restore_runs_the_prestart_and_create_runtime_hooks_with_the_restored_pid() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = started(&runtime, &id);
    let images = images();
    checkpoint(&runtime, &id, &images, &[]).assert_success();
    let records = tempfile::tempdir().unwrap();
    let hook = |point: &str| {
        let file = records.path().join(format!("{point}.json"));
        json!([{"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}", file.display())]}])
    };
    let bundle = bundle
        .set(
            "/hooks",
            json!({
                "prestart": hook("prestart"),
                "createRuntime": hook("createRuntime"),
                "createContainer": hook("createContainer"),
                "poststart": hook("poststart"),
            }),
        )
        .write();

    restore(&runtime, &id, &bundle, &images).assert_success();

    let pid = runtime.init_pid(&id);
    for point in ["prestart", "createRuntime"] {
        let text = std::fs::read_to_string(records.path().join(format!("{point}.json")))
            .unwrap_or_else(|e| panic!("the {point} hook did not run: {e}"));
        let state: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(state["pid"], pid, "{point}: {state}");
        assert_eq!(state["id"], id.as_str(), "{point}: {state}");
    }
    for point in ["createContainer", "poststart"] {
        assert!(
            !records.path().join(format!("{point}.json")).exists(),
            "the {point} hook ran on restore"
        );
    }
}

/// An established TCP connection is refused without `--tcp-established`, with CRIU's
/// reason in the error line, and the container keeps running.
#[test]
fn an_open_tcp_connection_is_refused_without_tcp_established() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let port = 20000 + std::process::id() % 20000;
    let bundle = Bundle::new(&id)
        .args(&[
            "sh",
            "-c",
            &format!(
                "sleep 1000 | nc -l -p {port} >/dev/null & sleep 0.2; sleep 1000 | nc 127.0.0.1 {port} & \
                 i=0; while true; do i=$((i+1)); echo $i >> /counts; sleep 0.05; done"
            ),
        ])
        .set("/root/readonly", json!(false))
        // A network namespace of its own has its loopback down: the host's, then.
        .without_namespace("network")
        .write();
    runtime.create_on_dev_null(&id, &bundle).assert_success();
    runtime.start(&id).assert_success();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !established(port) {
        assert!(Instant::now() < deadline, "no connection on port {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let images = images();

    let output = checkpoint(&runtime, &id, &images, &[]);

    output.assert_failure();
    assert!(output.stderr.contains("--tcp-established"), "{output}");
    assert_eq!(output.stderr.trim().lines().count(), 1, "{output}");
    assert_eq!(runtime.state(&id)["status"], "running");
    let now = count(&bundle).unwrap();
    count_reaches(&bundle, now + 3);
}

/// Whether the host's network namespace has an established TCP connection to
/// `port` (its `/proc/net/tcp` and `tcp6`, state 01).
fn established(port: u32) -> bool {
    let port = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        std::fs::read_to_string(table)
            .unwrap_or_default()
            .lines()
            .any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.len() > 3 && fields[3] == "01" && fields[2].ends_with(&port)
            })
    })
}

/// What podman asks before it offers checkpoints on a runtime: `checkpoint --help`
/// succeeds, and `restore --lsm-mount-context` without a value answers in the words
/// of runc's flag parser (podman's test for restoring into a pod).
#[test]
fn podman_s_probes_find_checkpoint_and_restore() {
    let runtime = Runtime::under_test();
    runtime.cmd(&["checkpoint", "--help"]).assert_success();
    let output = runtime.cmd(&["restore", "--lsm-mount-context"]);
    output.assert_failure();
    assert!(output.stderr.contains("flag needs an argument"), "{output}");
}

/// A restore whose prestart hook fails: refused with the hook's error, and nothing
/// of it is left (state, cgroup, the rootfs bind, a process).
#[test]
fn a_failed_restore_leaves_nothing_behind() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = started(&runtime, &id);
    let images = images();
    checkpoint(&runtime, &id, &images, &[]).assert_success();
    let bundle = bundle
        .set(
            "/hooks",
            json!({"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 7"]}]}),
        )
        .write();
    let stopped_at = count(&bundle).unwrap();

    let output = restore(&runtime, &id, &bundle, &images);

    output.assert_failure();
    assert!(output.stderr.contains("prestart"), "{output}");
    runtime.cmd(&["state", &id]).assert_failure();
    assert!(!runtime.root().join(&id).exists());
    assert!(integration_tests::leftover_cgroups(&id).is_empty());
    // (Other tests' restores may have theirs at this moment.) Nor is CRIU's cgroup
    // yard left mounted in the work directory, where removing it would reach into
    // the host's cgroup hierarchies.
    let ours = runtime.root().join(&id).join("criu-root");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(ours.to_str().unwrap()), "{mounts}");
    assert!(!mounts.contains(path(&images.work)), "{mounts}");
    // Nothing counts on.
    assert_eq!(count(&bundle), Some(stopped_at));
    assert_counted_on(&bundle, 1);
}

/// truman killed in the middle of a restore (by its own prestart hook) leaves the
/// rootfs bound for CRIU in the state directory: a `delete --force` unmounts it
/// before it removes the directory, and the container's rootfs is untouched.
#[test]
fn a_restore_killed_midway_is_deleted_without_touching_the_rootfs() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = started(&runtime, &id);
    let images = images();
    checkpoint(&runtime, &id, &images, &[]).assert_success();
    let bundle = bundle
        .set(
            "/hooks",
            json!({"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "kill -9 $PPID"]}]}),
        )
        .write();

    let output = restore(&runtime, &id, &bundle, &images);

    assert_eq!(output.status, 128 + libc::SIGKILL, "{output}");
    runtime.delete(&id, true).assert_success();
    assert!(
        bundle.rootfs().join("bin/busybox").exists(),
        "the rootfs was removed"
    );
    assert!(
        bundle.rootfs().join("counts").exists(),
        "the rootfs was removed"
    );
    assert!(!runtime.root().join(&id).exists());
    // (Other tests' restores may have theirs at this moment.) Nor is CRIU's cgroup
    // yard left mounted in the work directory, where removing it would reach into
    // the host's cgroup hierarchies.
    let ours = runtime.root().join(&id).join("criu-root");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(ours.to_str().unwrap()), "{mounts}");
    assert!(!mounts.contains(path(&images.work)), "{mounts}");
    assert!(integration_tests::leftover_cgroups(&id).is_empty());
}

/// checkpoint reads the bundle's config.json again for the container's mounts: one
/// changed since `create` is refused by name, and the container left running.
#[test]
fn a_bundle_whose_config_changed_since_create_is_not_checkpointed() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = started(&runtime, &id);
    let _bundle = bundle.set("/hostname", json!("changed")).write();
    let images = images();

    let output = checkpoint(&runtime, &id, &images, &[]);

    output.assert_failure();
    assert!(
        output
            .stderr
            .contains("config.json: changed since the container was created"),
        "{output}"
    );
    assert_eq!(runtime.state(&id)["status"], "running");
}

/// The container's seccomp filter comes back with its processes: the restored init
/// is filtered as the checkpointed one was (its /proc status says so), and a call
/// the filter refuses is still refused in it.
#[test]
fn the_seccomp_filter_is_back_after_restore() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .args(&[
            "sh",
            "-c",
            "i=0; while true; do i=$((i+1)); echo $i >> /counts; \
             if mkdir /refused 2>/dev/null; then echo made > /mkdir; fi; sleep 0.05; done",
        ])
        .set("/root/readonly", json!(false))
        .set(
            "/linux/seccomp",
            json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
            }),
        )
        .write();
    runtime.create_on_dev_null(&id, &bundle).assert_success();
    runtime.start(&id).assert_success();
    count_reaches(&bundle, 3);
    let filters = |pid: i32| {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .filter(|l| l.starts_with("Seccomp"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let before = filters(runtime.init_pid(&id));
    assert!(before.iter().any(|l| l == "Seccomp:\t2"), "{before:?}");
    let images = images();
    checkpoint(&runtime, &id, &images, &[]).assert_success();
    let stopped_at = count(&bundle).unwrap();

    restore(&runtime, &id, &bundle, &images).assert_success();

    assert_eq!(filters(runtime.init_pid(&id)), before);
    count_reaches(&bundle, stopped_at + 5);
    assert!(
        !bundle.rootfs().join("mkdir").exists() && !bundle.rootfs().join("refused").exists(),
        "mkdir was allowed in the restored container"
    );
}

/// A container that joined another's UTS and IPC namespaces by path (as a pod's
/// containers join its sandbox's) is restored into them again (CRIU's join_ns).
#[test]
fn a_container_that_joined_namespaces_by_path_is_restored_into_them() {
    let runtime = Runtime::under_test().with_json_log();
    let sandbox = unique_id();
    let sandbox_bundle = Bundle::new(&sandbox).args(&["sleep", "1000"]).write();
    runtime
        .create_on_dev_null(&sandbox, &sandbox_bundle)
        .assert_success();
    runtime.start(&sandbox).assert_success();
    let sandbox_pid = runtime.init_pid(&sandbox);
    let id = unique_id();
    let mut bundle = counting(&id).remove("/hostname");
    for kind in ["uts", "ipc"] {
        let index = bundle.config()["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .position(|ns| ns["type"] == kind)
            .unwrap();
        bundle = bundle.set(
            &format!("/linux/namespaces/{index}/path"),
            json!(format!("/proc/{sandbox_pid}/ns/{kind}")),
        );
    }
    let bundle = bundle.write();
    runtime.create_on_dev_null(&id, &bundle).assert_success();
    runtime.start(&id).assert_success();
    count_reaches(&bundle, 3);
    let ns = |pid: i32, kind: &str| std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).unwrap();
    let images = images();
    checkpoint(&runtime, &id, &images, &[]).assert_success();

    restore(&runtime, &id, &bundle, &images).assert_success();

    let pid = runtime.init_pid(&id);
    for kind in ["uts", "ipc"] {
        assert_eq!(ns(pid, kind), ns(sandbox_pid, kind), "{kind}");
    }
    assert_ne!(ns(pid, "mnt"), ns(sandbox_pid, "mnt"));
    let now = count(&bundle).unwrap();
    count_reaches(&bundle, now + 3);
}

/// A terminal container restored in the foreground without `--console-socket`:
/// truman takes the new pty's master itself and relays it, as `run` does, and
/// returns the container's exit code once it ends.
#[test]
fn a_terminal_container_restored_in_the_foreground_is_relayed_by_truman() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let (bundle, images, _socket, stopped_at) = checkpointed_terminal(&runtime, &id, 4);
    // Once it counts on, it is told to stop.
    let stopper = {
        let rootfs = bundle.rootfs();
        let counts = rootfs.join("counts");
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                let last = std::fs::read_to_string(&counts)
                    .ok()
                    .and_then(|t| t.lines().last().and_then(|l| l.parse::<u64>().ok()));
                if last.is_some_and(|n| n >= stopped_at + 3) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            std::fs::write(rootfs.join("stop"), "").unwrap();
        })
    };

    let output = runtime.cmd(&[
        "restore",
        "--image-path",
        path(&images.images),
        "--work-path",
        path(&images.work),
        "--bundle",
        path(bundle.path()),
        &id,
    ]);

    stopper.join().unwrap();
    assert_eq!(output.status, 4, "{output}");
    assert!(output.stdout.contains("/dev/pts/"), "{output}");
    let last: u64 = output
        .stdout
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{output}"));
    assert!(last > stopped_at, "{output}, stopped at {stopped_at}");
    runtime.cmd(&["state", &id]).assert_failure();
}

/// A mount inside a volume (a tmpfs at /data/cache over the bind at /data) has its
/// mount point in the volume's source. Restored from a new bundle with a new, empty
/// volume, the point is made in that volume, where CRIU looks for it.
#[test]
fn a_mount_point_inside_a_volume_is_made_in_the_new_volume_on_restore() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let with_volume = |bundle: Bundle, volume: &Path| {
        bundle
            .set(
                "/mounts/-",
                json!({"destination": "/data", "type": "bind", "source": path(volume), "options": ["rbind", "rw"]}),
            )
            .set(
                "/mounts/-",
                json!({"destination": "/data/cache", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}),
            )
            .write()
    };
    let volume = tempfile::tempdir().unwrap();
    let bundle = with_volume(counting(&id), volume.path());
    runtime.create_on_dev_null(&id, &bundle).assert_success();
    runtime.start(&id).assert_success();
    count_reaches(&bundle, 3);
    let images = images();
    checkpoint(&runtime, &id, &images, &[]).assert_success();

    let copy = unique_id();
    let new_volume = tempfile::tempdir().unwrap();
    let copy_bundle = with_volume(counting(&copy), new_volume.path());
    restore(&runtime, &copy, &copy_bundle, &images).assert_success();

    assert!(new_volume.path().join("cache").is_dir());
    let mounts = exec_output(&runtime, &copy, &["cat", "/proc/self/mountinfo"]);
    assert!(mounts.contains(" /data/cache "), "{mounts}");
    let first = count_reaches(&copy_bundle, 1);
    count_reaches(&copy_bundle, first + 3);
}

/// A copy restored under a new id is in its own cgroup, the one its bundle names,
/// whether CRIU restores the dumped cgroups below it (the default) or leaves cgroups
/// alone (`--manage-cgroups-mode ignore` on both sides, runc's way to move a
/// container to another cgroup path).
#[test]
fn a_copy_restored_under_a_new_id_is_in_its_own_cgroup_in_either_cgroup_mode() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let _bundle = started(&runtime, &id);
    if !integration_tests::host_has_v1_controller("memory") {
        eprintln!("skipped: no v1 memory controller to read the cgroup from");
        return;
    }
    for mode in [None, Some("ignore")] {
        let images = images();
        let flags: Vec<&str> = match mode {
            Some(mode) => vec!["--manage-cgroups-mode", mode],
            None => Vec::new(),
        };
        let mut args = vec!["--leave-running"];
        args.extend_from_slice(&flags);
        checkpoint(&runtime, &id, &images, &args).assert_success();
        let copy = unique_id();
        let copy_bundle = counting(&copy);

        restore_with(&runtime, &copy, &copy_bundle, &images, &flags).assert_success();

        let cgroup = memory_cgroup(runtime.init_pid(&copy));
        assert!(cgroup.ends_with(&format!("/{copy}")), "{mode:?}: {cgroup}");
        let first = count_reaches(&copy_bundle, 1);
        count_reaches(&copy_bundle, first + 3);
        runtime.delete(&copy, true).assert_success();
        assert!(integration_tests::leftover_cgroups(&copy).is_empty());
    }
}
