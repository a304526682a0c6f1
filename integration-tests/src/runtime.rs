//! The runtime binary, driven through runc's CLI contract.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Seek};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::binary::runtime_under_test;
use crate::bundle::Bundle;
use crate::output::{ContainerStdout, Output};
use crate::process::{become_subreaper, parent_pid, PidFd, COMMAND_TIMEOUT};

/// How long the drop guard waits for a force-deleted init to die.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(10);

/// A container id no other test (or test process) uses: the test's name,
/// our pid and a counter, e.g. `run_exit_code-4242-7`.
pub fn unique_id() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let thread = std::thread::current();
    // libtest names each test's thread after the test.
    let test = thread.name().unwrap_or("test");
    let test = test.rsplit("::").next().unwrap_or(test);
    let test: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{test}-{}-{n}", std::process::id())
}

/// A container this runtime touched, to clean up on drop.
struct Tracked {
    id: String,
    /// The init, if it was left to us (the subreaper) as a child.
    init: Option<PidFd>,
    /// Processes `exec --detach` left to us as children.
    execs: Vec<PidFd>,
    /// The bundle must outlive the container: dropped after the delete (none when
    /// the container was made through `cmd`, whose caller holds the bundle).
    _bundle: Option<Arc<TempDir>>,
}

/// A runtime binary with a private state directory (`--root`).
///
/// Every container it created or ran is force-deleted, and its init killed
/// and reaped, when the `Runtime` is dropped, so a failing test leaves
/// nothing behind.
pub struct Runtime {
    bin: PathBuf,
    /// Holds `root/` (the `--root`), `log.json` and the pid files.
    dir: TempDir,
    json_log: bool,
    containers: Mutex<Vec<Tracked>>,
    /// Run as this user, with its `$XDG_RUNTIME_DIR`, instead of as root.
    user: Option<&'static crate::rootless::TestUser>,
    /// Pass no `--root`: truman picks its default.
    default_root: bool,
}

/// What a runtime invocation's stdout is connected to.
enum StdoutTo {
    /// A file the [`Output`] is read from once the runtime exits.
    File,
    /// The write end of a pipe (a created container keeps it).
    Pipe(OwnedFd),
    /// `/dev/null`, stderr too: a container CRIU can checkpoint has no stdio on a
    /// host file it cannot find again. The runtime's errors are in its `--log`.
    Null,
}

impl Runtime {
    /// The runtime under test (see [`runtime_under_test`]).
    pub fn under_test() -> Runtime {
        Runtime::at(runtime_under_test())
    }

    /// A specific runtime binary, e.g. `/usr/sbin/runc` for a comparison.
    pub fn at(bin: impl Into<PathBuf>) -> Runtime {
        become_subreaper();
        let dir = tempfile::Builder::new()
            .prefix("truman-runtime-")
            .tempdir()
            .unwrap_or_else(|e| panic!("create runtime dir: {e}"));
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap_or_else(|e| panic!("mkdir {}: {e}", root.display()));
        Runtime {
            bin: bin.into(),
            dir,
            json_log: false,
            containers: Mutex::new(Vec::new()),
            user: None,
            default_root: false,
        }
    }

    /// The runtime under test run by the test user, without privilege (see
    /// [`crate::rootless`]); its `--root`, pid files and log belong to that user.
    pub fn rootless() -> Runtime {
        let user = crate::rootless::test_user();
        let mut runtime = Runtime::under_test();
        runtime.bin = crate::rootless::runnable(&runtime.bin, runtime.dir.path());
        crate::rootless::chown_tree(runtime.dir.path(), user.uid, user.gid);
        runtime.user = Some(user);
        runtime
    }

    /// Without `--root`: the state goes where truman puts it by default.
    pub fn with_default_root(mut self) -> Runtime {
        self.default_root = true;
        self
    }

    /// The user truman runs as, when not root.
    pub fn user(&self) -> Option<&'static crate::rootless::TestUser> {
        self.user
    }

    /// Also pass `--log <dir>/log.json --log-format json`, as containerd does.
    pub fn with_json_log(mut self) -> Runtime {
        self.json_log = true;
        self
    }

    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// The `--root` state directory.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// The `--log` file (only passed after [`Runtime::with_json_log`]).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("log.json")
    }

    /// The log's lines, each of which must be one JSON object. Empty if the
    /// runtime never wrote the log.
    #[track_caller]
    pub fn log_lines(&self) -> Vec<Value> {
        let path = self.log_path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Vec::new();
        };
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| match serde_json::from_str::<Value>(line) {
                Ok(entry @ Value::Object(_)) => entry,
                _ => panic!("{}: line is not a JSON object: {line:?}", path.display()),
            })
            .collect()
    }

    /// Where [`Runtime::create`] asks the runtime to write the init's pid.
    pub fn pid_file(&self, id: &str) -> PathBuf {
        let name: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.path().join(format!("{name}.pid"))
    }

    /// The init pid from the pid file, which must hold exactly a decimal
    /// number (go-runc parses it with `strconv.Atoi`: no newline allowed).
    #[track_caller]
    pub fn init_pid(&self, id: &str) -> i32 {
        let path = self.pid_file(id);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read pid file {}: {e}", path.display()));
        text.parse().unwrap_or_else(|_| {
            panic!("pid file {} holds {text:?}, not a bare pid", path.display())
        })
    }

    /// Runs the runtime with arbitrary arguments after the global flags.
    #[track_caller]
    pub fn cmd(&self, args: &[&str]) -> Output {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        self.track_made_by(&args);
        self.invoke(&args, StdoutTo::File, None)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Runtime::cmd`], with `input` on the runtime's stdin (as go-runc
    /// passes `update --resources=-`).
    #[track_caller]
    pub fn cmd_with_stdin(&self, args: &[&str], input: &str) -> Output {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        self.track_made_by(&args);
        self.invoke_with_stdin(&args, StdoutTo::File, None, Some(input))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `run --bundle B ID` in the foreground: the output holds the
    /// container's stdout and the status is the container's exit status.
    #[track_caller]
    pub fn run(&self, id: &str, bundle: &Bundle) -> Output {
        self.track(id, bundle);
        let args = [
            OsString::from("run"),
            "--bundle".into(),
            bundle.path().into(),
            id.into(),
        ];
        self.invoke(&args, StdoutTo::File, None)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Runtime::run`], but the runtime is started in a new, private
    /// mount namespace. Returns the output and that namespace
    /// (`mnt:[...]`): what a container *without* its own mount namespace
    /// must be in. The namespace, and anything mounted in it, disappears
    /// when the runtime and container exit, so the host is never touched.
    #[track_caller]
    pub fn run_in_new_mount_ns(&self, id: &str, bundle: &Bundle) -> (Output, String) {
        self.track(id, bundle);
        let args = [
            OsString::from("run"),
            "--bundle".into(),
            bundle.path().into(),
            id.into(),
        ];
        let (read_end, write_end) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe2");
        let output = self
            .invoke(&args, StdoutTo::File, Some(write_end.as_raw_fd()))
            .unwrap_or_else(|e| panic!("{e}"));
        drop(write_end);
        let mut ns = String::new();
        File::from(read_end)
            .read_to_string(&mut ns)
            .expect("read the runtime's mount namespace");
        assert!(
            !ns.is_empty(),
            "the runtime's mount namespace was not reported"
        );
        (output, ns)
    }

    /// `create --bundle B --pid-file P [extra...] ID`. The pid file is
    /// [`Runtime::pid_file`]; the container's stdout and stderr are files
    /// nobody reads (use [`Runtime::create_piped`] to read its stdout).
    #[track_caller]
    pub fn create(&self, id: &str, bundle: &Bundle, extra_args: &[&str]) -> Output {
        self.create_with(id, bundle, extra_args, StdoutTo::File)
    }

    /// [`Runtime::create`] with the container's stdout on a pipe the test
    /// reads (the runtime's stdout is passed through to the init untouched).
    #[track_caller]
    pub fn create_piped(
        &self,
        id: &str,
        bundle: &Bundle,
        extra_args: &[&str],
    ) -> (Output, ContainerStdout) {
        let (read_end, write_end) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe2");
        let output = self.create_with(id, bundle, extra_args, StdoutTo::Pipe(write_end));
        let stdout = ContainerStdout::new(File::from(read_end));
        (output, stdout)
    }

    #[track_caller]
    fn create_with(
        &self,
        id: &str,
        bundle: &Bundle,
        extra_args: &[&str],
        stdout: StdoutTo,
    ) -> Output {
        self.track(id, bundle);
        let mut args = vec![
            OsString::from("create"),
            "--bundle".into(),
            bundle.path().into(),
            "--pid-file".into(),
            self.pid_file(id).into(),
        ];
        args.extend(extra_args.iter().map(OsString::from));
        args.push(id.into());
        let output = self
            .invoke(&args, stdout, None)
            .unwrap_or_else(|e| panic!("{e}"));
        // Even after a failed create: a runtime that wrongly left an init
        // behind must not leave it running past the test.
        self.track_init(id);
        output
    }

    /// [`Runtime::create`] with the runtime's, and so the container's, stdout and
    /// stderr on `/dev/null`, as a container to checkpoint has them (the runtime's
    /// errors go to its `--log`: see [`Runtime::with_json_log`]).
    #[track_caller]
    pub fn create_on_dev_null(&self, id: &str, bundle: &Bundle) -> Output {
        self.create_with(id, bundle, &[], StdoutTo::Null)
    }

    /// `start ID`.
    #[track_caller]
    pub fn start(&self, id: &str) -> Output {
        self.cmd(&["start", id])
    }

    /// `create` then `start`, both of which must succeed: a running container,
    /// as containerd and podman make one. Returns the init's pid.
    #[track_caller]
    pub fn create_started(&self, id: &str, bundle: &Bundle) -> i32 {
        self.create(id, bundle, &[]).assert_success();
        self.start(id).assert_success();
        self.init_pid(id)
    }

    /// `exec --detach --pid-file P [extra...] ID ARGS...`, which must succeed;
    /// returns the pid of the exec'd process, a child of the test process.
    #[track_caller]
    pub fn exec_detached(&self, id: &str, extra: &[&str], args: &[&str]) -> i32 {
        let pid_file = self.dir.path().join(format!("exec-{}.pid", unique_id()));
        let pid_file = pid_file.to_str().expect("UTF-8 temp path");
        let mut argv = vec!["exec", "--detach", "--pid-file", pid_file];
        argv.extend_from_slice(extra);
        argv.push(id);
        argv.extend_from_slice(args);
        self.cmd(&argv).assert_success();
        let text = std::fs::read_to_string(pid_file)
            .unwrap_or_else(|e| panic!("read exec pid file {pid_file}: {e}"));
        let pid = text
            .parse()
            .unwrap_or_else(|_| panic!("exec pid file holds {text:?}, not a bare pid"));
        if let Ok(pidfd) = PidFd::open(pid) {
            let mut containers = self.containers.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(tracked) = containers.iter_mut().find(|c| c.id == id) {
                tracked.execs.push(pidfd);
            }
        }
        pid
    }

    /// `state ID`, which must succeed and print one JSON object.
    #[track_caller]
    pub fn state(&self, id: &str) -> Value {
        let output = self.cmd(&["state", id]);
        output.assert_success();
        serde_json::from_str(&output.stdout)
            .unwrap_or_else(|e| panic!("state is not JSON ({e}): {output}"))
    }

    /// `kill ID SIGNAL`.
    #[track_caller]
    pub fn kill(&self, id: &str, signal: &str) -> Output {
        self.cmd(&["kill", id, signal])
    }

    /// `delete [--force] ID`.
    #[track_caller]
    pub fn delete(&self, id: &str, force: bool) -> Output {
        if force {
            self.cmd(&["delete", "--force", id])
        } else {
            self.cmd(&["delete", id])
        }
    }

    /// `list --format json`, which must succeed; the array of states
    /// (runc prints `null` for none).
    #[track_caller]
    pub fn list_json(&self) -> Vec<Value> {
        let output = self.cmd(&["list", "--format", "json"]);
        output.assert_success();
        match serde_json::from_str(&output.stdout) {
            Ok(Value::Array(states)) => states,
            Ok(Value::Null) => Vec::new(),
            _ => panic!("list --format json did not print a JSON array: {output}"),
        }
    }

    /// Remembers a container for the drop guard. Ids that could not name a
    /// directory of their own (`../x`, `a/b`, empty) are not deleted later:
    /// a runtime that mishandles them must not be pointed at them again.
    fn track(&self, id: &str, bundle: &Bundle) {
        self.track_kept(id, Some(bundle.keep_alive()));
    }

    /// Tracks the container a `create` or `run` given to `cmd` makes (its id is the
    /// last argument), so that the drop guard deletes it too.
    fn track_made_by(&self, args: &[OsString]) {
        let mut words = args.iter();
        while let Some(word) = words.next() {
            if ["--root", "--log", "--log-format"]
                .map(OsString::from)
                .contains(word)
            {
                words.next();
            } else if !word.to_string_lossy().starts_with('-') {
                if word == "create" || word == "run" || word == "restore" {
                    if let Some(id) = args.last() {
                        self.track_kept(&id.to_string_lossy(), None);
                    }
                }
                return;
            }
        }
    }

    fn track_kept(&self, id: &str, bundle: Option<Arc<TempDir>>) {
        let plain = !id.is_empty()
            && id != "."
            && id != ".."
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c));
        let mut containers = self.containers.lock().unwrap_or_else(|e| e.into_inner());
        if plain && !containers.iter().any(|c| c.id == id) {
            containers.push(Tracked {
                id: id.to_string(),
                init: None,
                execs: Vec::new(),
                _bundle: bundle,
            });
        }
    }

    /// Takes a handle on a created container's init, if it is our child.
    /// A child cannot be reaped by anyone else, so its pid cannot be reused
    /// between the check and `pidfd_open`.
    fn track_init(&self, id: &str) {
        let Ok(text) = std::fs::read_to_string(self.pid_file(id)) else {
            return;
        };
        let Ok(pid) = text.trim().parse::<i32>() else {
            return;
        };
        if parent_pid(pid) != Some(std::process::id() as i32) {
            return;
        }
        let Ok(pidfd) = PidFd::open(pid) else {
            return;
        };
        let mut containers = self.containers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tracked) = containers.iter_mut().find(|c| c.id == id) {
            tracked.init = Some(pidfd);
        }
    }

    fn global_args(&self) -> Vec<OsString> {
        let mut args = match self.default_root {
            true => Vec::new(),
            false => vec![OsString::from("--root"), self.root().into()],
        };
        if self.json_log {
            args.extend([
                "--log".into(),
                self.log_path().into(),
                "--log-format".into(),
                "json".into(),
            ]);
        }
        args
    }

    /// Runs the binary, waiting at most [`COMMAND_TIMEOUT`]. stdout/stderr
    /// go to files rather than pipes: a created container inherits them and
    /// would keep a pipe open long after the runtime exited.
    ///
    /// With `report_mount_ns`, the child first enters a new private mount
    /// namespace and writes its name to that fd.
    fn invoke(
        &self,
        args: &[OsString],
        stdout: StdoutTo,
        report_mount_ns: Option<RawFd>,
    ) -> Result<Output, String> {
        self.invoke_with_stdin(args, stdout, report_mount_ns, None)
    }

    fn invoke_with_stdin(
        &self,
        args: &[OsString],
        stdout: StdoutTo,
        report_mount_ns: Option<RawFd>,
        stdin: Option<&str>,
    ) -> Result<Output, String> {
        let mut command = Command::new(&self.bin);
        command.args(self.global_args()).args(args);
        if let Some(user) = self.user {
            // std drops the supplementary groups before it changes the ids.
            command
                .uid(user.uid)
                .gid(user.gid)
                .env("XDG_RUNTIME_DIR", &user.runtime_dir)
                .env("USER", user.name)
                .env("HOME", format!("/home/{}", user.name));
        }
        let described = describe(&command);
        let fail = |what: &str, e: std::io::Error| format!("{described}: {what}: {e}");

        let mut stdout_file = tempfile::tempfile().map_err(|e| fail("stdout file", e))?;
        let mut stderr_file = tempfile::tempfile().map_err(|e| fail("stderr file", e))?;
        let stdout_clone = stdout_file.try_clone().map_err(|e| fail("dup", e))?;
        let stderr_clone = stderr_file.try_clone().map_err(|e| fail("dup", e))?;
        match stdin {
            Some(text) => {
                let mut file = tempfile::tempfile().map_err(|e| fail("stdin file", e))?;
                std::io::Write::write_all(&mut file, text.as_bytes())
                    .and_then(|_| file.rewind())
                    .map_err(|e| fail("stdin file", e))?;
                command.stdin(file)
            }
            None => command.stdin(Stdio::null()),
        };
        command.stderr(stderr_clone);
        match stdout {
            StdoutTo::File => command.stdout(stdout_clone),
            StdoutTo::Pipe(fd) => command.stdout(fd),
            StdoutTo::Null => command.stdout(Stdio::null()).stderr(Stdio::null()),
        };
        if let Some(fd) = report_mount_ns {
            // SAFETY: the closure runs between fork and exec and only makes
            // async-signal-safe syscalls on memory it does not allocate.
            unsafe { command.pre_exec(move || enter_private_mount_ns(fd)) };
        }

        let mut child = command.spawn().map_err(|e| fail("spawn", e))?;
        // Close our copies of the child's stdio, above all a pipe's write end:
        // the reader must see EOF once the container closes it.
        drop(command);
        let pidfd = PidFd::open(child.id() as i32).map_err(|e| fail("pidfd_open", e))?;
        if !pidfd.wait_exited(COMMAND_TIMEOUT) {
            // Our own child: killing it by pid is safe until we reap it.
            let _ = child.kill();
            let _ = child.wait();
            let mut stderr = String::new();
            let _ = stderr_file.rewind();
            let _ = stderr_file.read_to_string(&mut stderr);
            return Err(format!(
                "{described}: did not exit within {COMMAND_TIMEOUT:?}; stderr:\n{stderr}"
            ));
        }
        let status = child.wait().map_err(|e| fail("wait", e))?;
        let status = status
            .code()
            .or_else(|| status.signal().map(|signal| 128 + signal))
            .unwrap_or(-1);

        let read = |file: &mut File| -> Result<String, String> {
            let mut bytes = Vec::new();
            file.rewind().map_err(|e| fail("rewind", e))?;
            file.read_to_end(&mut bytes).map_err(|e| fail("read", e))?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        };
        Ok(Output {
            stdout: read(&mut stdout_file)?,
            stderr: read(&mut stderr_file)?,
            command: described,
            status,
        })
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let mut containers =
            std::mem::take(self.containers.get_mut().unwrap_or_else(|e| e.into_inner()));
        // The init of a pid namespace ends only once its exec'd processes are
        // reaped, and those are our children: reap them while the deletes run.
        let execs: Vec<PidFd> = containers
            .iter_mut()
            .flat_map(|c| std::mem::take(&mut c.execs))
            .collect();
        let exec_reaper = std::thread::spawn(move || {
            for pidfd in execs {
                if pidfd.wait_exited(CLEANUP_TIMEOUT) {
                    pidfd.reap();
                }
            }
        });
        for container in &containers {
            let args = ["delete", "--force", container.id.as_str()].map(OsString::from);
            match self.invoke(&args, StdoutTo::File, None) {
                Ok(output) if output.success() => {}
                Ok(output) => eprintln!("cleanup: {output}"),
                Err(e) => eprintln!("cleanup: {e}"),
            }
        }
        let _ = exec_reaper.join();
        // Whatever the runtime did, our children must not outlive the test
        // (nor stay zombies): they are container inits we created.
        for init in containers.iter().filter_map(|c| c.init.as_ref()) {
            init.signal(libc::SIGKILL);
            if init.wait_exited(CLEANUP_TIMEOUT) {
                init.reap();
            } else {
                eprintln!("cleanup: a container init did not die within {CLEANUP_TIMEOUT:?}");
            }
        }
    }
}

/// Runs in the forked child before exec: a new mount namespace whose
/// mounts do not propagate back to the host, then its name (`mnt:[...]`)
/// written to `report_fd`.
fn enter_private_mount_ns(report_fd: RawFd) -> std::io::Result<()> {
    // SAFETY: plain syscalls on constant C strings and a stack buffer.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let flags = libc::MS_REC | libc::MS_PRIVATE;
        let no_string = std::ptr::null();
        if libc::mount(no_string, c"/".as_ptr(), no_string, flags, std::ptr::null()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut name = [0u8; 64];
        let len = libc::readlink(
            c"/proc/self/ns/mnt".as_ptr(),
            name.as_mut_ptr().cast(),
            name.len(),
        );
        if len < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::write(report_fd, name.as_ptr().cast(), len as usize) != len {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}
