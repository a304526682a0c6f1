//! What the runtime hands over besides the container: file descriptors
//! (`--preserve-fds`), the pid file and the log (runtime contract §4, §6,
//! §10).

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use integration_tests::{runtime_under_test, unique_id, wait_exit, Bundle, Runtime};
use serde_json::{json, Value};

/// `ls -l` of the container process's descriptors, run as the init itself.
const LIST_FDS: [&str; 3] = ["ls", "-l", "/proc/self/fd"];

/// A runtime run by a caller that holds `files` open at fds 3, 4, ...: the
/// wrapper in `hooks-fixtures/` opens `DIR/fd<n>` and execs `DIR/runtime`.
fn runtime_holding_fds(files: &[&str]) -> Runtime {
    let wrapper =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks-fixtures/open-fds-then-exec.sh");
    let runtime = Runtime::at(wrapper);
    let dir = runtime_dir(&runtime);
    let real = dir.join("runtime");
    std::os::unix::fs::symlink(runtime_under_test(), &real)
        .unwrap_or_else(|e| panic!("symlink {}: {e}", real.display()));
    for (n, contents) in (3..).zip(files) {
        let path = dir.join(format!("fd{n}"));
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
    runtime
}

/// The runtime's private directory: holds `root/`, the pid files, the log.
fn runtime_dir(runtime: &Runtime) -> PathBuf {
    runtime
        .root()
        .parent()
        .expect("--root has a parent")
        .to_path_buf()
}

/// The descriptor numbers `ls -l /proc/self/fd` listed, leaving out the one
/// `ls` itself opened on `/proc/<pid>/fd` to list them.
#[track_caller]
fn listed_fds(ls_output: &str) -> Vec<u32> {
    ls_output
        .lines()
        .filter_map(|line| line.split_once(" -> "))
        .filter(|(_, target)| !is_proc_fd_dir(target))
        .map(|(entry, _)| {
            let fd = entry.split_whitespace().last().unwrap_or_default();
            fd.parse()
                .unwrap_or_else(|_| panic!("not an ls -l fd entry: {entry:?}"))
        })
        .collect()
}

fn is_proc_fd_dir(target: &str) -> bool {
    target
        .strip_prefix("/proc/")
        .and_then(|rest| rest.strip_suffix("/fd"))
        .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

#[test]
fn preserve_fds_passes_exactly_the_first_n_extra_fds() {
    // Three descriptors held, two preserved: fd 5 must stay behind.
    let runtime = runtime_holding_fds(&["passed as 3\n", "passed as 4\n", "kept back\n"]);
    let id = unique_id();
    let script = format!("cat <&3; cat <&4; exec {}", LIST_FDS.join(" "));
    let bundle = Bundle::new(&id).args(&["sh", "-c", &script]).write();

    let (created, mut stdout) = runtime.create_piped(&id, &bundle, &["--preserve-fds", "2"]);
    created.assert_success();
    let pid = runtime.init_pid(&id);
    runtime.start(&id).assert_success();
    let output = stdout.read_to_end();
    assert_eq!(wait_exit(pid), 0, "{output}");

    let (passed, listing) = output
        .split_once("passed as 4\n")
        .unwrap_or_else(|| panic!("fd 4 did not reach the container: {output:?}"));
    assert_eq!(passed, "passed as 3\n", "{output}");
    assert_eq!(listed_fds(listing), [0, 1, 2, 3, 4], "{listing}");
}

#[test]
fn without_preserve_fds_the_container_gets_only_stdio() {
    // A careless caller leaks fd 3 into the runtime; it must go no further.
    let runtime = runtime_holding_fds(&["leaked\n"]);
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&LIST_FDS).write();

    let (created, mut stdout) = runtime.create_piped(&id, &bundle, &[]);
    created.assert_success();
    let pid = runtime.init_pid(&id);
    runtime.start(&id).assert_success();
    let listing = stdout.read_to_end();
    assert_eq!(wait_exit(pid), 0, "{listing}");

    assert_eq!(listed_fds(&listing), [0, 1, 2], "{listing}");
}

/// [`runtime_holding_fds`] started as a socket-activated service: systemd's
/// `LISTEN_FDS=sockets` and `LISTEN_PID`, its own pid or `for_pid`.
fn activated_runtime(files: &[&str], sockets: u32, for_pid: Option<u32>) -> Runtime {
    let runtime = runtime_holding_fds(files);
    let dir = runtime_dir(&runtime);
    std::fs::write(dir.join("activation"), sockets.to_string()).expect("write activation");
    if let Some(pid) = for_pid {
        std::fs::write(dir.join("activation-for"), pid.to_string()).expect("write activation-for");
    }
    runtime
}

/// The script's stdout: `LISTEN_FDS LISTEN_PID`, what fds 3.. hold, then `ls -l` of them.
fn activation_probe(fds_to_read: &[u32]) -> String {
    let reads: String = fds_to_read
        .iter()
        .map(|fd| format!("cat <&{fd}; "))
        .collect();
    format!(
        "echo \"${{LISTEN_FDS:-unset}} ${{LISTEN_PID:-unset}}\"; {reads}exec {}",
        LIST_FDS.join(" ")
    )
}

/// As runc: the sockets systemd activated the runtime with reach the container's
/// process at the same numbers, `LISTEN_PID` naming the process (pid 1 in its
/// namespace), and `--preserve-fds` counts the descriptors after them.
#[test]
fn socket_activation_hands_the_sockets_on_before_the_preserved_fds() {
    let files = ["socket 3\n", "socket 4\n", "preserved 5\n", "kept back\n"];
    let runtime = activated_runtime(&files, 2, None);
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .args(&["sh", "-c", &activation_probe(&[3, 4, 5])])
        .write();

    let (created, mut stdout) = runtime.create_piped(&id, &bundle, &["--preserve-fds", "1"]);
    created.assert_success();
    let pid = runtime.init_pid(&id);
    runtime.start(&id).assert_success();
    let output = stdout.read_to_end();
    assert_eq!(wait_exit(pid), 0, "{output}");

    let (read, listing) = output
        .split_once("preserved 5\n")
        .unwrap_or_else(|| panic!("fd 5 did not reach the container: {output:?}"));
    assert_eq!(read, "2 1\nsocket 3\nsocket 4\n", "{output}");
    assert_eq!(listed_fds(listing), [0, 1, 2, 3, 4, 5], "{listing}");
}

/// `LISTEN_PID` names another process: the fds are not this runtime's to pass on
/// (sd_listen_fds(3)), and the container gets neither them nor the variables.
#[test]
fn socket_activation_meant_for_another_process_passes_nothing() {
    let runtime = activated_runtime(&["socket 3\n"], 1, Some(1));
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .args(&["sh", "-c", &activation_probe(&[])])
        .write();

    let (created, mut stdout) = runtime.create_piped(&id, &bundle, &[]);
    created.assert_success();
    let pid = runtime.init_pid(&id);
    runtime.start(&id).assert_success();
    let output = stdout.read_to_end();
    assert_eq!(wait_exit(pid), 0, "{output}");

    let (vars, listing) = output.split_once('\n').expect("a first line");
    assert_eq!(vars, "unset unset", "{output}");
    assert_eq!(listed_fds(listing), [0, 1, 2], "{listing}");
}

/// runc's `exec` passes no activation sockets: they belong to the container's init.
#[test]
fn exec_in_an_activated_container_gets_no_sockets() {
    let runtime = activated_runtime(&["socket 3\n"], 1, None);
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["sleep", "1000"]).write();
    runtime.create(&id, &bundle, &[]).assert_success();
    runtime.start(&id).assert_success();

    let exec = runtime.cmd(&["exec", &id, "sh", "-c", &activation_probe(&[])]);
    exec.assert_success();

    let (vars, listing) = exec.stdout.split_once('\n').expect("a first line");
    assert_eq!(vars, "unset unset", "{exec}");
    assert_eq!(listed_fds(listing), [0, 1, 2], "{listing}");
}

/// The activation sockets and preserved fds are the container's: as runc, the hooks
/// truman runs on the host do not get them.
#[test]
fn the_handed_over_fds_do_not_reach_truman_s_hooks() {
    let runtime = activated_runtime(&["socket 3\n", "preserved 4\n"], 1, None);
    let id = unique_id();
    let seen = runtime_dir(&runtime).join("hook-fds");
    let bundle = Bundle::new(&id)
        .args(&["sh", "-c", &activation_probe(&[3, 4])])
        .set(
            "/hooks/createRuntime",
            json!([{
                "path": "/bin/sh",
                "args": ["sh", "-c", format!("exec ls -l /proc/self/fd > {}", seen.display())],
            }]),
        )
        .write();

    let (created, mut stdout) = runtime.create_piped(&id, &bundle, &["--preserve-fds", "1"]);
    created.assert_success();
    let pid = runtime.init_pid(&id);
    runtime.start(&id).assert_success();
    let output = stdout.read_to_end();
    assert_eq!(wait_exit(pid), 0, "{output}");

    assert!(
        output.starts_with("1 1\nsocket 3\npreserved 4\n"),
        "{output}"
    );
    let hook = std::fs::read_to_string(&seen).expect("the hook ran");
    let hook_fds = listed_fds(&hook);
    assert!(
        !hook_fds.contains(&3) && !hook_fds.contains(&4),
        "the hook got the container's fds: {hook}"
    );
}

/// Name events (`IN_*` mask and file name) in one directory, via inotify.
struct DirWatch {
    fd: OwnedFd,
}

impl DirWatch {
    fn new(dir: &Path) -> DirWatch {
        // SAFETY: inotify_init1 takes flags and returns a new fd or -1.
        let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(
            raw >= 0,
            "inotify_init1: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: the kernel just gave us this fd; nobody else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let path = CString::new(dir.as_os_str().as_bytes()).expect("path without NUL");
        let mask = libc::IN_CREATE | libc::IN_MODIFY | libc::IN_MOVED_TO;
        // SAFETY: a valid inotify fd and a NUL-terminated path.
        let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), path.as_ptr(), mask) };
        assert!(
            wd >= 0,
            "inotify_add_watch {}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        );
        DirWatch { fd }
    }

    /// Every event queued so far.
    fn events(&self) -> Vec<(u32, String)> {
        let mut events = Vec::new();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: reads at most buffer.len() bytes into the buffer.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buffer.as_mut_ptr().cast(),
                    buffer.len(),
                )
            };
            if n < 0 {
                let err = std::io::Error::last_os_error();
                match err.raw_os_error() {
                    Some(libc::EAGAIN) => return events,
                    Some(libc::EINTR) => continue,
                    _ => panic!("read inotify events: {err}"),
                }
            }
            // struct inotify_event { int wd; u32 mask; u32 cookie; u32 len; char name[len]; }
            let mut rest = &buffer[..n as usize];
            while rest.len() >= 16 {
                let field = |at: usize| u32::from_ne_bytes(rest[at..at + 4].try_into().unwrap());
                let (mask, len) = (field(4), field(12) as usize);
                let name = &rest[16..16 + len];
                let name = name.split(|&b| b == 0).next().unwrap_or_default();
                events.push((mask, String::from_utf8_lossy(name).into_owned()));
                rest = &rest[16 + len..];
            }
        }
    }
}

/// The names in `dir`, sorted.
fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read dir {}: {e}", dir.display()))
        .map(|entry| entry.expect("dir entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn pid_file_holds_just_the_init_pid_and_appears_whole() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["sleep", "1000"]).write();
    let pid_file = runtime.pid_file(&id);
    let dir = runtime_dir(&runtime);
    let watch = DirWatch::new(&dir);

    runtime.create(&id, &bundle, &[]).assert_success();

    let text = std::fs::read_to_string(&pid_file).expect("pid file after create");
    let state = runtime.state(&id);
    assert_eq!(
        text,
        state["pid"].to_string(),
        "the pid file must hold exactly the init's pid in decimal, no newline"
    );
    let name = file_name(&pid_file);
    let on_pid_file: Vec<u32> = watch
        .events()
        .into_iter()
        .filter(|(_, event_name)| *event_name == name)
        .map(|(mask, _)| mask)
        .collect();
    assert!(
        on_pid_file
            .iter()
            .any(|mask| mask & (libc::IN_MOVED_TO | libc::IN_CREATE) != 0),
        "the pid file never appeared: {on_pid_file:x?}"
    );
    // A write while the file has its final name is an IN_MODIFY with that
    // name: a reader could then see it empty or half-written.
    assert!(
        on_pid_file.iter().all(|mask| mask & libc::IN_MODIFY == 0),
        "the pid file was written in place, not renamed into place whole \
         (inotify masks {on_pid_file:x?})"
    );
    assert_eq!(
        dir_entries(&dir),
        [name, "root".to_string()],
        "nothing but the pid file may be left next to it"
    );
}

#[test]
fn a_failed_create_writes_no_pid_file() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    // Fails late, in the container's init, after the runtime has forked it.
    let bundle = Bundle::new(&id)
        .set(
            "/mounts/-",
            json!({ "destination": "/mnt", "type": "no-such-fs-type", "source": "none" }),
        )
        .write();

    runtime.create(&id, &bundle, &[]).assert_failure();

    assert!(
        !runtime.pid_file(&id).exists(),
        "pid file written although create failed"
    );
    assert_eq!(
        dir_entries(&runtime_dir(&runtime)),
        ["root"],
        "no temporary pid file may be left behind either"
    );
}

/// Seconds since the epoch of an RFC 3339 timestamp
/// (`2024-05-01T12:00:00.123Z`, `...+02:00`); `None` if malformed.
fn rfc3339_seconds(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let number = |from: usize, to: usize| -> Option<i64> {
        let digits = text.get(from..to)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if bytes.len() < 20
        || !matches!(bytes[10], b'T' | b't')
        || separators.iter().any(|&(at, sep)| bytes[at] != sep)
    {
        return None;
    }
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let (hours, minutes) = rest[1..].split_once(':')?;
            if hours.len() != 2 || minutes.len() != 2 {
                return None;
            }
            sign * (hours.parse::<i64>().ok()? * 3600 + minutes.parse::<i64>().ok()? * 60)
        }
    };
    // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
    let shifted_year = if month <= 2 { year - 1 } else { year };
    let era = shifted_year.div_euclid(400);
    let year_of_era = shifted_year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

#[test]
fn rfc3339_parser_reads_offsets_and_fractions() {
    assert_eq!(rfc3339_seconds("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        rfc3339_seconds("2024-02-29T12:30:15.123456789+02:00"),
        Some(1_709_202_615)
    );
    assert_eq!(rfc3339_seconds("2024-02-29 12:30:15Z"), None);
    assert_eq!(rfc3339_seconds("2024-02-29T12:30:15"), None);
}

#[test]
fn a_failing_command_logs_one_json_error_line() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let before = now_seconds();

    let output = runtime.cmd(&["state", &id]);

    let after = now_seconds();
    output.assert_failure();
    let lines = runtime.log_lines();
    assert_eq!(lines.len(), 1, "exactly one log line: {lines:?}");
    let line = &lines[0];
    assert_eq!(line["level"], "error", "{line}");
    let msg = line["msg"].as_str().unwrap_or_default();
    assert!(msg.contains("container does not exist"), "{line}");
    let time = line["time"].as_str().unwrap_or_default();
    let time = rfc3339_seconds(time).unwrap_or_else(|| panic!("time is not RFC 3339: {line}"));
    assert!(
        (before - 1..=after + 1).contains(&time),
        "the time {time} is not when the command ran ({before}..{after}): {line}"
    );
    // podman falls back to the runtime's stderr when the log is unusable.
    assert!(
        output.stderr.contains("container does not exist"),
        "the error must reach stderr too: {output}"
    );
}

#[test]
fn a_successful_lifecycle_logs_no_error() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["true"]).write();

    runtime.create(&id, &bundle, &[]).assert_success();
    let pid = runtime.init_pid(&id);
    runtime.start(&id).assert_success();
    assert_eq!(wait_exit(pid), 0);
    runtime.delete(&id, false).assert_success();

    let errors: Vec<Value> = runtime
        .log_lines()
        .into_iter()
        .filter(|line| line["level"] == "error")
        .collect();
    assert_eq!(errors, Vec::<Value>::new());
}

#[test]
fn text_log_format_writes_a_logrus_text_line() {
    let runtime = Runtime::under_test();
    let log = runtime_dir(&runtime).join("log.txt");
    let log_arg = log.to_str().expect("UTF-8 path");
    let id = unique_id();

    let output = runtime.cmd(&["--log", log_arg, "--log-format", "text", "state", &id]);

    output.assert_failure();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one log line: {text:?}");
    let line = lines[0];
    assert!(line.contains("level=error"), "{line:?}");
    assert!(
        line.contains("msg=\"container does not exist\""),
        "logrus quotes a message with spaces: {line:?}"
    );
    let time = line
        .split_once("time=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(time, _)| time)
        .unwrap_or_else(|| panic!("no time=\"...\" field: {line:?}"));
    assert!(rfc3339_seconds(time).is_some(), "{line:?}");
}

#[test]
fn state_and_list_print_only_json_on_stdout_even_with_debug() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["sleep", "1000"]).write();
    runtime.create(&id, &bundle, &[]).assert_success();

    let state = runtime.cmd(&["--debug", "state", &id]);
    state.assert_success();
    let parsed: Value = serde_json::from_str(&state.stdout)
        .unwrap_or_else(|e| panic!("state stdout is not only JSON ({e}): {state}"));
    assert_eq!(parsed["id"], id.as_str(), "{state}");

    let list = runtime.cmd(&["--debug", "list", "--format", "json"]);
    list.assert_success();
    let parsed: Value = serde_json::from_str(&list.stdout)
        .unwrap_or_else(|e| panic!("list stdout is not only JSON ({e}): {list}"));
    let ids: Vec<&Value> = parsed
        .as_array()
        .unwrap_or_else(|| panic!("list did not print an array: {list}"))
        .iter()
        .map(|container| &container["id"])
        .collect();
    assert_eq!(ids, [&json!(id)], "{list}");
}

#[test]
fn exec_passes_preserved_fds_and_nothing_else_of_the_runtime() {
    let runtime = runtime_holding_fds(&["passed as 3\n", "kept back\n"]);
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["sleep", "1000"]).write();
    runtime.create_started(&id, &bundle);
    let list = LIST_FDS.join(" ");

    let preserved = runtime.cmd(&[
        "exec",
        "--preserve-fds",
        "1",
        &id,
        "sh",
        "-c",
        &format!("cat <&3; exec {list}"),
    ]);
    let plain = runtime.cmd(&["exec", &id, "sh", "-c", &format!("exec {list}")]);

    preserved.assert_success();
    let listing = preserved
        .stdout
        .strip_prefix("passed as 3\n")
        .unwrap_or_else(|| panic!("fd 3 did not reach the process: {preserved}"));
    assert_eq!(listed_fds(listing), [0, 1, 2, 3], "{listing}");
    // Not the namespaces, root or sync socket the runtime opened to start it.
    plain.assert_success();
    assert_eq!(listed_fds(&plain.stdout), [0, 1, 2], "{plain}");
}

/// A caller may start the runtime with a standard fd closed. Whatever truman opens
/// first would then take that number; it must not: the container gets /dev/null
/// there, as Rust's own start-up arranged before truman replaced it.
#[test]
fn a_closed_stdin_reaches_the_container_as_dev_null() {
    use std::os::unix::process::CommandExt;
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .args(&["readlink", "/proc/self/fd/0"])
        .write();
    let mut run = std::process::Command::new(runtime.bin());
    run.arg("--root")
        .arg(runtime.root())
        .args(["run", "--bundle"])
        .arg(bundle.path())
        .arg(&id);
    // SAFETY: close() is async-signal-safe; it runs in the child before its exec.
    unsafe {
        run.pre_exec(|| {
            libc::close(0);
            Ok(())
        });
    }
    let out = run.output().expect("spawn the runtime");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stdout} {stderr}", out.status);
    assert_eq!(stdout.trim(), "/dev/null", "stderr: {stderr}");
}
