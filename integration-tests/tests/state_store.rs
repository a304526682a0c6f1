//! The state store under `--root` under concurrent commands and after a crash: what
//! containerd and podman rely on when they race `kill` with `delete`, or restart after
//! the runtime was killed half-way through `create`.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use integration_tests::{is_alive, leftover_cgroups, unique_id, wait_exit, Bundle, Runtime};
use serde_json::json;

fn sleeper(id: &str) -> Bundle {
    Bundle::new(id).args(&["sleep", "1000"]).write()
}

#[track_caller]
fn assert_nothing_left(runtime: &Runtime, id: &str, init: i32) {
    assert!(
        !runtime.root().join(id).exists(),
        "state directory of {id} left behind"
    );
    assert_eq!(leftover_cgroups(id), Vec::<std::path::PathBuf>::new());
    assert!(!is_alive(init), "init {init} still alive");
}

#[test]
fn of_concurrent_creates_with_one_id_exactly_one_wins() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);

    let outputs: Vec<_> = std::thread::scope(|s| {
        let racers: Vec<_> = (0..4)
            .map(|_| s.spawn(|| runtime.create(&id, &bundle, &[])))
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });

    let winners = outputs.iter().filter(|o| o.success()).count();
    assert_eq!(winners, 1, "{outputs:#?}");
    for lost in outputs.iter().filter(|o| !o.success()) {
        assert!(
            lost.stderr.contains("already exists"),
            "a losing create must say the id is taken: {lost}"
        );
    }
    let state = runtime.state(&id);
    assert_eq!(state["status"], "created", "{state}");
    assert!(is_alive(state["pid"].as_i64().unwrap() as i32));
}

#[test]
fn concurrent_force_deletes_both_succeed_and_remove_everything() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);
    runtime.create(&id, &bundle, &[]).assert_success();
    runtime.start(&id).assert_success();
    let init = runtime.init_pid(&id);

    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| runtime.delete(&id, true));
        let b = s.spawn(|| runtime.delete(&id, true));
        (a.join().unwrap(), b.join().unwrap())
    });

    a.assert_success();
    b.assert_success();
    assert_eq!(wait_exit(init), 128 + libc::SIGKILL);
    assert_nothing_left(&runtime, &id, init);
}

#[test]
fn kill_racing_delete_leaves_a_clean_store() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);
    runtime.create(&id, &bundle, &[]).assert_success();
    runtime.start(&id).assert_success();
    let init = runtime.init_pid(&id);

    let (kill, delete) = std::thread::scope(|s| {
        let kill = s.spawn(|| runtime.kill(&id, "KILL"));
        let delete = s.spawn(|| runtime.delete(&id, true));
        (kill.join().unwrap(), delete.join().unwrap())
    });

    delete.assert_success();
    // The kill either came first, or found the container stopped or gone: each is a
    // clean answer, and none may be a corrupt state file.
    assert!(
        kill.success()
            || kill.stderr.contains("not running")
            || kill.stderr.contains("does not exist"),
        "{kill}"
    );
    assert_eq!(wait_exit(init), 128 + libc::SIGKILL);
    assert_nothing_left(&runtime, &id, init);
}

/// A hook that tells the test it is running (by writing into `started`, which blocks
/// until the test reads it) and then waits on `release` for as long as nobody writes.
fn blocking_hook(started: &Path, release: &Path) -> serde_json::Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!(
            "echo started > {}; read line < {}",
            started.display(),
            release.display()
        )],
    })
}

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .unwrap_or_else(|e| panic!("mkfifo {}: {e}", path.display()));
}

#[test]
fn delete_force_after_create_was_killed_mid_way_removes_everything() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let fifos = tempfile::tempdir().unwrap();
    let started = fifos.path().join("started");
    let release = fifos.path().join("release");
    mkfifo(&started);
    mkfifo(&release);
    // By the createRuntime hooks the state is recorded, the cgroup made and the init
    // cloned: killing truman there leaves the most behind.
    let bundle = Bundle::new(&id)
        .args(&["sleep", "1000"])
        .set(
            "/hooks/createRuntime",
            json!([blocking_hook(&started, &release)]),
        )
        .write();

    let mut create = Command::new(runtime.bin())
        .arg("--root")
        .arg(runtime.root())
        .args(["create", "--bundle"])
        .arg(bundle.path())
        .arg(&id)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn create");
    let mut line = String::new();
    File::open(&started)
        .and_then(|mut f| f.read_to_string(&mut line))
        .expect("the hook reports it started");
    assert_eq!(line.trim(), "started");

    create.kill().expect("kill truman create");
    create.wait().expect("reap truman create");
    // Let the orphaned hook finish.
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(&release)
        .and_then(|mut f| f.write_all(b"go\n"))
        .expect("release the hook");

    let state = runtime.cmd(&["state", &id]);
    state.assert_success();
    let state: serde_json::Value = serde_json::from_str(&state.stdout).expect("state is JSON");
    assert_ne!(
        state["status"], "created",
        "a create that never finished must not look created: {state}"
    );
    let cgroups_before = leftover_cgroups(&id);
    assert!(
        !cgroups_before.is_empty(),
        "the cgroup existed when create was killed"
    );

    runtime.delete(&id, true).assert_success();

    assert!(!runtime.root().join(&id).exists());
    assert_eq!(leftover_cgroups(&id), Vec::<std::path::PathBuf>::new());
}
