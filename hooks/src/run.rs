//! Running the hooks of one hook point, the way runc does.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::Duration;

use oci_spec::runtime::Hook;

use crate::supervise::{supervise, Ending, Failure};
use crate::{HookError, HookPoint};

/// Runs each hook in order, stopping at the first failure.
/// `state` is the OCI state JSON (bytes) to write on each hook's stdin.
pub fn run_hooks(point: HookPoint, hooks: &[Hook], state: &[u8]) -> Result<(), HookError> {
    hooks
        .iter()
        .try_for_each(|hook| run_hook(point, hook, state))
}

/// Runs one hook: executes `path` with argv `args` and exactly the environment `env`,
/// writes `state` to its stdin and waits for it to exit, for at most `timeout` seconds.
/// Its stdout and stderr are logged at debug level, never passed through: the
/// runtime's own stdout may be a channel its caller parses.
pub fn run_hook(point: HookPoint, hook: &Hook, state: &[u8]) -> Result<(), HookError> {
    let path = hook.path();
    let _span =
        tracing::debug_span!("hook", point = point.name(), path = %path.display()).entered();
    let timeout = match hook.timeout() {
        Some(timeout) if timeout <= 0 => {
            return Err(HookError::InvalidTimeout {
                point,
                path: path.clone(),
                timeout,
            })
        }
        timeout => timeout,
    };

    let child = command(hook).spawn().map_err(|source| HookError::Spawn {
        point,
        path: path.clone(),
        source,
    })?;
    tracing::debug!(pid = child.id(), "hook started");

    let seconds = timeout.map(|seconds| Duration::from_secs(seconds.unsigned_abs()));
    let finished = supervise(child, state, seconds).map_err(|failure| match failure {
        Failure::WriteState(source) => HookError::WriteState {
            point,
            path: path.clone(),
            source,
        },
        Failure::Os { op, source } => HookError::Supervise {
            point,
            path: path.clone(),
            op,
            source,
        },
    })?;
    finished.stdout.log("stdout");
    finished.stderr.log("stderr");

    let status = match finished.ending {
        Ending::TimedOut => {
            return Err(HookError::TimedOut {
                point,
                path: path.clone(),
                seconds: timeout.unwrap_or_default(),
            })
        }
        Ending::Exited(status) => status,
    };
    tracing::debug!(%status, "hook exited");
    if status.success() {
        return Ok(());
    }
    let stderr = finished.stderr.last_line();
    Err(match status.signal() {
        Some(signal) => HookError::Signaled {
            point,
            path: path.clone(),
            signal,
            stderr,
        },
        // Without WUNTRACED a reaped child either exited or was killed by a signal.
        None => HookError::ExitStatus {
            point,
            path: path.clone(),
            code: status.code().unwrap_or(-1),
            stderr,
        },
    })
}

/// The hook's command line, environment and pipes.
fn command(hook: &Hook) -> Command {
    let mut command = Command::new(hook.path());
    // execv semantics: `args` is the whole argv and args[0] need not be the path.
    // Without args, argv[0] is the path, as std does by default.
    if let Some([argv0, rest @ ..]) = hook.args().as_deref() {
        command.arg0(argv0).args(rest);
    }

    // The hook sees exactly the environment the spec gives it, in its order and with
    // any duplicates, as runc passes it. std's Command keeps the environment in a
    // sorted map, so the exec is done here, after std has set up the pipes.
    let exec = Exec::new(hook);
    command.env_clear();
    // SAFETY: the closure runs in the forked child before exec; it only calls execve
    // with arrays built before the fork, and allocates nothing.
    unsafe {
        command.pre_exec(move || exec.run());
    }

    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// An execve prepared before the fork: argv and envp as NUL-terminated arrays.
struct Exec {
    path: CString,
    // Owned here only so that the pointers below stay valid.
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
}

// SAFETY: the raw pointers point into the CStrings owned by the same struct, which
// moves as a whole into the child's pre_exec closure.
unsafe impl Send for Exec {}
unsafe impl Sync for Exec {}

impl Exec {
    fn new(hook: &Hook) -> Self {
        let cstring = |s: &str| CString::new(s.replace('\0', "")).unwrap_or_default();
        let path = CString::new(hook.path().as_os_str().as_bytes()).unwrap_or_default();
        let argv: Vec<CString> = match hook.args().as_deref() {
            Some(args) if !args.is_empty() => args.iter().map(|a| cstring(a)).collect(),
            _ => vec![path.clone()],
        };
        let envp: Vec<CString> = hook.env().iter().flatten().map(|e| cstring(e)).collect();
        let nul_terminated = |v: &[CString]| {
            v.iter()
                .map(|c| c.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect()
        };
        let argv_ptrs = nul_terminated(&argv);
        let envp_ptrs = nul_terminated(&envp);
        Self {
            path,
            _argv: argv,
            _envp: envp,
            argv_ptrs,
            envp_ptrs,
        }
    }

    /// Only returns on failure, with execve's error.
    fn run(&self) -> std::io::Result<()> {
        // SAFETY: every pointer is valid and NUL-terminated; the arrays end in null.
        unsafe {
            libc::execve(
                self.path.as_ptr(),
                self.argv_ptrs.as_ptr(),
                self.envp_ptrs.as_ptr(),
            );
        }
        Err(std::io::Error::last_os_error())
    }
}
