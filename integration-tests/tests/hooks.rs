//! OCI hooks (runtime-spec config.md "POSIX-platform Hooks"): every point
//! runs at its moment of the lifecycle, in order, with the container's state
//! on stdin, its own `args` and `env`, and a failing or hanging hook fails
//! the operation without leaving anything behind.
//!
//! Each recording hook is `sh -c 'cat > DIR/<point>.json; echo <point> >>
//! DIR/order'`. DIR is a host directory, bind-mounted at `/hooks` in the
//! container: `prestart`, `createRuntime`, `poststart` and `poststop` run in
//! the runtime's namespaces, `createContainer` in the container's mount
//! namespace before `pivot_root` (so host paths still resolve), all with the
//! host's `/bin/sh` and DIR's host path. `startContainer` runs after
//! `pivot_root`: its path resolves in the container, so it is the rootfs's
//! busybox `sh` writing to `/hooks`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use integration_tests::{
    is_alive, leftover_cgroups, parent_pid, unique_id, wait_exit, Bundle, Runtime,
};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use serde_json::{json, Value};
use tempfile::TempDir;

const SIGKILL_STATUS: i32 = 128 + libc::SIGKILL;

/// Where the records directory is bind-mounted in the container.
const RECORDS_IN_CONTAINER: &str = "/hooks";

/// A PATH for the hooks: their `env` is all the environment they get.
const HOOK_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The hooks `create` runs, in the order the spec gives them.
const CREATE_TIME_POINTS: [&str; 3] = ["prestart", "createRuntime", "createContainer"];

/// Every hook point, in lifecycle order.
const ALL_POINTS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// The host directory hooks write their records to.
struct Records {
    dir: TempDir,
}

impl Records {
    fn new() -> Records {
        let dir = tempfile::Builder::new()
            .prefix("truman-hooks-")
            .tempdir()
            .unwrap_or_else(|e| panic!("create hook records dir: {e}"));
        Records { dir }
    }

    fn host_path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Where `point` records, as the hook sees it.
    fn dir_seen_by(&self, point: &str) -> String {
        if point == "startContainer" {
            RECORDS_IN_CONTAINER.to_string()
        } else {
            self.host_path().display().to_string()
        }
    }

    /// The points that have finished, in the order they finished.
    fn order(&self) -> Vec<String> {
        match std::fs::read_to_string(self.file("order")) {
            Ok(text) => text.lines().map(String::from).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// True if the hook of `point` has run (at least started).
    fn ran(&self, point: &str) -> bool {
        self.file(&format!("{point}.json")).exists()
    }

    /// The state the hook of `point` received on stdin.
    #[track_caller]
    fn state(&self, point: &str) -> Value {
        read_json(&self.file(&format!("{point}.json")))
    }
}

#[track_caller]
fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {text:?}", path.display()))
}

/// A hook running `script` with `sh`: the host's, or for `startContainer`
/// the rootfs's (its path resolves in the container).
fn sh_hook(script: &str) -> Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", script],
        "env": [HOOK_PATH],
    })
}

/// A hook for `point` that saves its stdin to `<point>.json` and then
/// appends `point` to `order`.
fn recording_hook(records: &Records, point: &str) -> Value {
    let dir = records.dir_seen_by(point);
    sh_hook(&format!(
        "cat > '{dir}/{point}.json' && echo {point} >> '{dir}/order'"
    ))
}

/// A bundle running `args`, with the records directory bind-mounted at
/// [`RECORDS_IN_CONTAINER`] and no hooks yet.
fn bundle_with_records(id: &str, records: &Records, args: &[&str]) -> Bundle {
    let bundle = Bundle::new(id);
    let mount_point = bundle
        .rootfs()
        .join(RECORDS_IN_CONTAINER.trim_start_matches('/'));
    std::fs::create_dir(&mount_point)
        .unwrap_or_else(|e| panic!("mkdir {}: {e}", mount_point.display()));
    bundle.args(args).set(
        "/mounts/-",
        json!({
            "destination": RECORDS_IN_CONTAINER,
            "type": "bind",
            "source": records.host_path(),
            "options": ["rbind", "rw"],
        }),
    )
}

/// [`bundle_with_records`] with a recording hook at every point.
fn recording_bundle(id: &str, records: &Records, args: &[&str]) -> Bundle {
    let hooks: serde_json::Map<String, Value> = ALL_POINTS
        .iter()
        .map(|point| (point.to_string(), json!([recording_hook(records, point)])))
        .collect();
    bundle_with_records(id, records, args)
        .set("/hooks", Value::Object(hooks))
        .write()
}

/// Kills and reaps `pid` if it is an unreaped child of ours (a container
/// init a runtime left behind and we, the subreaper, inherited). Being our
/// unreaped child, its pid cannot have been reused. True if it was alive.
fn kill_if_our_child(pid: i32) -> bool {
    if !is_alive(pid) {
        return false;
    }
    if parent_pid(pid) == Some(std::process::id() as i32) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        let _ = waitpid(Pid::from_raw(pid), None);
    }
    true
}

/// After a failed `create`: no state, no cgroup, no pid file and no init.
#[track_caller]
fn assert_nothing_left_behind(runtime: &Runtime, id: &str, init_pid: i32) {
    let init_left = kill_if_our_child(init_pid);
    assert!(
        !init_left,
        "the init (pid {init_pid}) is still alive after the failed create"
    );
    let state_dir = runtime.root().join(id);
    assert!(
        !state_dir.exists(),
        "state dir {} left after the failed create",
        state_dir.display()
    );
    assert_eq!(leftover_cgroups(id), Vec::<PathBuf>::new());
    assert!(
        !runtime.pid_file(id).exists(),
        "pid file written although create failed"
    );
    let state = runtime.cmd(&["state", id]);
    state.assert_failure();
}

/// The pid a hook's state names, as an `i32`.
#[track_caller]
fn state_pid(state: &Value) -> i32 {
    state["pid"]
        .as_i64()
        .and_then(|pid| i32::try_from(pid).ok())
        .unwrap_or_else(|| panic!("state has no pid: {state}"))
}

#[test]
fn every_hook_point_runs_at_its_moment_in_lifecycle_order() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let records = Records::new();
    let bundle = recording_bundle(&id, &records, &["sh", "-c", "echo ready; exec sleep 1000"]);

    let (created, mut stdout) = runtime.create_piped(&id, &bundle, &[]);
    created.assert_success();
    let pid = runtime.init_pid(&id);
    assert_eq!(
        records.order(),
        CREATE_TIME_POINTS,
        "create must have run prestart, createRuntime and createContainer, in that order"
    );
    for point in ["startContainer", "poststart", "poststop"] {
        assert!(!records.ran(point), "{point} ran during create");
    }

    runtime.start(&id).assert_success();
    assert!(
        records.order().contains(&"poststart".to_string()),
        "poststart must be done when start returns: {:?}",
        records.order()
    );
    // startContainer runs in the init before it execs the user process: once
    // the process has printed, the hook is done.
    assert_eq!(stdout.read_line().as_deref(), Some("ready"));
    let mut after_start = records.order();
    assert_eq!(after_start.len(), 5, "{after_start:?}");
    assert_eq!(after_start[..3], CREATE_TIME_POINTS, "{after_start:?}");
    after_start[3..].sort();
    assert_eq!(
        after_start[3..],
        ["poststart", "startContainer"],
        "start must run startContainer and poststart once each"
    );

    runtime.kill(&id, "KILL").assert_success();
    assert_eq!(wait_exit(pid), SIGKILL_STATUS);
    assert!(
        !records.ran("poststop"),
        "poststop belongs to delete, not to the container's exit"
    );

    runtime.delete(&id, false).assert_success();
    let order = records.order();
    assert_eq!(order.len(), 6, "{order:?}");
    assert_eq!(
        order.last().map(String::as_str),
        Some("poststop"),
        "{order:?}"
    );
}

/// The spec: startContainer hooks run before the user process is executed,
/// poststart hooks after it, before `start` returns. (runc 1.1.5 runs
/// poststart as soon as the init is released, before its execve.)
#[test]
fn poststart_runs_after_the_user_process_is_executed() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let records = Records::new();
    // The first poststart hook records the command line of the pid it is
    // given: the user process's once it has been executed, the runtime's
    // init's before. (Against a runtime that runs poststart without waiting
    // for the execve this is a race, which such a runtime loses only often.)
    let dir = records.host_path().display();
    let cmdline_hook = sh_hook(&format!(
        "pid=$(sed -n 's/.*\"pid\": *\\([0-9][0-9]*\\).*/\\1/p'); \
         cat /proc/$pid/cmdline > '{dir}/poststart-cmdline'"
    ));
    let user_args = ["sleep", "1000"];
    let bundle = recording_bundle(&id, &records, &user_args)
        .set(
            "/hooks/poststart",
            json!([cmdline_hook, recording_hook(&records, "poststart")]),
        )
        .write();
    runtime.create(&id, &bundle, &[]).assert_success();

    runtime.start(&id).assert_success();

    let cmdline = std::fs::read(records.file("poststart-cmdline"))
        .expect("the poststart hook must have run before start returned");
    let argv: Vec<String> = cmdline
        .split(|&b| b == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    assert_eq!(
        argv,
        user_args,
        "when poststart ran, the container's pid was not yet the user process \
         (poststart state: {})",
        records.state("poststart")
    );
    assert_eq!(records.state("poststart")["status"], "running");
    let mut expected: Vec<&str> = CREATE_TIME_POINTS.to_vec();
    expected.extend(["startContainer", "poststart"]);
    assert_eq!(records.order(), expected);
}

#[test]
fn hooks_receive_the_container_state_on_stdin() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let records = Records::new();
    let annotations = json!({ "org.example.hook-test": id, "org.example.empty": "" });
    let bundle = recording_bundle(&id, &records, &["sleep", "1000"])
        .set("/annotations", annotations.clone())
        .write();
    let bundle_path = bundle
        .path()
        .canonicalize()
        .expect("canonicalize bundle path");

    runtime.create(&id, &bundle, &[]).assert_success();
    let pid = runtime.init_pid(&id);
    runtime.start(&id).assert_success();
    runtime.kill(&id, "KILL").assert_success();
    assert_eq!(wait_exit(pid), SIGKILL_STATUS);
    runtime.delete(&id, false).assert_success();

    for point in ALL_POINTS {
        let state = records.state(point);
        let ctx = format!("{point} hook got {state}");
        assert!(
            state["ociVersion"].as_str().is_some_and(|v| !v.is_empty()),
            "{ctx}"
        );
        assert_eq!(state["id"], id.as_str(), "{ctx}");
        let bundle_in_state = state["bundle"]
            .as_str()
            .unwrap_or_else(|| panic!("no bundle: {ctx}"));
        assert_eq!(
            Path::new(bundle_in_state).canonicalize().ok().as_deref(),
            Some(bundle_path.as_path()),
            "{ctx}"
        );
        assert_eq!(state["annotations"], annotations, "{ctx}");
        let expected_status = match point {
            "prestart" | "createRuntime" | "createContainer" => Some("creating"),
            // Before the user process is executed: not yet running.
            "startContainer" => Some("created"),
            // "running": see poststart_runs_after_the_user_process_is_executed.
            "poststart" => None,
            _ => Some("stopped"),
        };
        if let Some(status) = expected_status {
            assert_eq!(state["status"], status, "{ctx}");
        }
        match point {
            "prestart" | "createRuntime" | "poststart" => {
                assert_eq!(state_pid(&state), pid, "the init's host pid: {ctx}")
            }
            // These run inside the container's pid namespace; runc gives the
            // pid as the hook sees it there (1), the spec the host's.
            "createContainer" | "startContainer" => {
                let seen = state_pid(&state);
                assert!(seen == pid || seen == 1, "{ctx}")
            }
            _ => {}
        }
    }
}

#[test]
fn hook_args_and_env_reach_the_hook_as_configured() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let records = Records::new();
    // argv[0] differs from the path, an argument has a space, and the
    // environment is exactly `env` (none of the runtime's own variables).
    // The container's busybox picks its applet by argv[0], so there the
    // path is the busybox binary and argv[0] the applet.
    // The script must not end with `tr`: a shell may exec its last command
    // in place, and a /proc/$$/environ opened before that exec reads empty.
    let hook = |point: &str, path: &str, argv0: &str| {
        let dir = records.dir_seen_by(point);
        let script = format!(
            "cat > /dev/null; \
             tr '\\0' '\\n' < /proc/$$/cmdline > '{dir}/{point}-argv'; \
             tr '\\0' '\\n' < /proc/$$/environ > '{dir}/{point}-env'; \
             exit 0"
        );
        json!({
            "path": path,
            "args": [argv0, "-c", script, "$0 is", "two words"],
            "env": [HOOK_PATH, "HOOK_GREETING=hello hooks", "EMPTY="],
        })
    };
    let bundle = bundle_with_records(&id, &records, &["true"])
        .set(
            "/hooks",
            json!({
                "createRuntime": [hook("createRuntime", "/bin/sh", "my-hook-argv0")],
                "startContainer": [hook("startContainer", "/bin/busybox", "sh")],
            }),
        )
        .write();

    runtime.create(&id, &bundle, &[]).assert_success();
    let pid = runtime.init_pid(&id);
    runtime.start(&id).assert_success();
    assert_eq!(wait_exit(pid), 0);

    for point in ["createRuntime", "startContainer"] {
        let configured = &bundle.config()["hooks"][point][0];
        let lines = |what: &str| -> Vec<String> {
            let path = records.file(&format!("{point}-{what}"));
            std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("the {point} hook did not record {what}: {e}"))
                .lines()
                .map(String::from)
                .collect()
        };
        assert_eq!(
            json!(lines("argv")),
            configured["args"],
            "{point} hook argv"
        );
        let env = lines("env");
        let mut sorted_env = env.clone();
        sorted_env.sort();
        let mut sorted_configured: Vec<String> = serde_json::from_value(configured["env"].clone())
            .expect("configured env is a list of strings");
        sorted_configured.sort();
        assert_eq!(sorted_env, sorted_configured, "{point} hook env");
        // environ is an ordered list (the first of two equal names wins).
        assert_eq!(
            json!(env),
            configured["env"],
            "{point} hook env: the right variables, in another order"
        );
    }
}

#[test]
fn a_hook_running_past_its_timeout_fails_create() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let records = Records::new();
    let dir = records.host_path().display();
    let mut hook = sh_hook(&format!(
        "cat > '{dir}/state.json'; echo $$ > '{dir}/hook.pid'; exec sleep 30"
    ));
    hook["timeout"] = json!(1);
    let bundle = bundle_with_records(&id, &records, &["true"])
        .set("/hooks", json!({ "createRuntime": [hook] }))
        .write();

    let started = Instant::now();
    let created = runtime.create(&id, &bundle, &[]);
    let took = started.elapsed();

    created.assert_failure();
    assert!(
        took < Duration::from_secs(20),
        "create took {took:?}: the 1 s timeout did not stop the hook"
    );
    let stderr = created.stderr.to_lowercase();
    assert!(
        stderr.contains("timeout") || stderr.contains("timed out"),
        "the error must say the hook timed out: {created}"
    );
    let hook_pid: i32 = std::fs::read_to_string(records.file("hook.pid"))
        .expect("the hook must have started")
        .trim()
        .parse()
        .expect("hook pid");
    let hook_left = kill_if_our_child(hook_pid);
    assert!(!hook_left, "the timed-out hook {hook_pid} is still running");
    assert_nothing_left_behind(&runtime, &id, state_pid(&records.state("state")));
}

#[test]
fn a_failing_create_runtime_hook_fails_create_and_leaves_nothing_behind() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let records = Records::new();
    let dir = records.host_path().display();
    let failing = sh_hook(&format!(
        "cat > '{dir}/state.json'; echo 'no network for you' >&2; exit 3"
    ));
    let bundle = bundle_with_records(&id, &records, &["true"])
        .set(
            "/hooks",
            json!({
                "createRuntime": [failing],
                "createContainer": [recording_hook(&records, "createContainer")],
            }),
        )
        .write();

    let created = runtime.create(&id, &bundle, &[]);

    created.assert_failure();
    assert!(
        created.stderr.to_lowercase().contains("hook"),
        "the error must name the hook: {created}"
    );
    assert!(
        !records.ran("createContainer"),
        "create went on after the createRuntime hook failed"
    );
    assert_nothing_left_behind(&runtime, &id, state_pid(&records.state("state")));
}

/// runc takes a config with 100,000 annotations (about 3 MB of JSON): every hook gets
/// the whole state with all of them (the in-container ones through truman's channel
/// to the init), and `state`, `exec` and `delete` work on such a container.
#[test]
fn a_config_with_100000_annotations_goes_through_the_whole_lifecycle() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let records = Records::new();
    let annotations: serde_json::Map<String, Value> = (0..100_000)
        .map(|i| {
            (
                format!("org.example.annotation.{i}"),
                json!(format!("value-{i}")),
            )
        })
        .collect();
    let bundle = recording_bundle(&id, &records, &["sleep", "1000"])
        .set("/annotations", Value::Object(annotations.clone()))
        .write();

    runtime.create(&id, &bundle, &[]).assert_success();
    runtime.start(&id).assert_success();

    for point in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
    ] {
        let state = records.state(point);
        assert_eq!(
            state["annotations"].as_object(),
            Some(&annotations),
            "{point} did not get every annotation"
        );
    }
    let state = runtime.cmd(&["state", &id]);
    state.assert_success();
    let state: Value = serde_json::from_str(&state.stdout).expect("state is JSON");
    assert_eq!(state["status"], "running");
    assert_eq!(
        state["annotations"].as_object().map(|a| a.len()),
        Some(100_000)
    );
    let exec = runtime.cmd(&["exec", &id, "echo", "through"]);
    exec.assert_success();
    assert_eq!(exec.stdout.trim(), "through");

    runtime.kill(&id, "KILL").assert_success();
    wait_exit(runtime.init_pid(&id));
    runtime.delete(&id, false).assert_success();
    assert_eq!(
        records.state("poststop")["annotations"]
            .as_object()
            .map(|a| a.len()),
        Some(100_000)
    );
}
