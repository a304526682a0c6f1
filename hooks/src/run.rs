//! Running the hooks of one hook point, the way runc does.

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

    // The hook sees only the environment the spec gives it, nothing of the runtime's.
    command.env_clear();
    for entry in hook.env().iter().flatten() {
        match entry.split_once('=') {
            Some((key, value)) => {
                command.env(key, value);
            }
            // std cannot pass an entry that is not KEY=VALUE; getenv could not see it
            // anyway.
            None => tracing::warn!(entry, "hook env entry is not KEY=VALUE, dropped"),
        }
    }

    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}
