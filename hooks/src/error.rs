//! What can go wrong while running a hook. Every message starts with the hook point
//! and the hook's path, e.g. `createRuntime hook /usr/bin/foo: exit status 3: boom`.

use std::io;
use std::path::PathBuf;

use nix::sys::signal::Signal;

use crate::HookPoint;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The spec requires a timeout, when given, to be a positive number of seconds.
    #[error("{point} hook {path}: invalid timeout {timeout}: must be greater than zero")]
    InvalidTimeout {
        point: HookPoint,
        path: PathBuf,
        timeout: i64,
    },
    #[error("{point} hook {path}: spawn: {source}")]
    Spawn {
        point: HookPoint,
        path: PathBuf,
        source: io::Error,
    },
    /// Writing the state to the hook's stdin failed for a reason other than the hook
    /// closing it (a hook that does not read its stdin is not an error).
    #[error("{point} hook {path}: write state to stdin: {source}")]
    WriteState {
        point: HookPoint,
        path: PathBuf,
        source: io::Error,
    },
    /// A step of watching the running hook failed (`op` names it: pidfd_open, poll,
    /// read stdout, waitpid...). The hook has been killed and reaped.
    #[error("{point} hook {path}: {op}: {source}")]
    Supervise {
        point: HookPoint,
        path: PathBuf,
        op: &'static str,
        source: io::Error,
    },
    #[error("{point} hook {path}: exit status {code}{}", stderr_suffix(.stderr))]
    ExitStatus {
        point: HookPoint,
        path: PathBuf,
        code: i32,
        /// The last non-empty line the hook wrote to stderr.
        stderr: Option<String>,
    },
    #[error("{point} hook {path}: killed by signal {}{}", signal_name(*.signal), stderr_suffix(.stderr))]
    Signaled {
        point: HookPoint,
        path: PathBuf,
        signal: i32,
        /// The last non-empty line the hook wrote to stderr.
        stderr: Option<String>,
    },
    /// The hook ran past its timeout; it was killed with SIGKILL and reaped.
    #[error("{point} hook {path}: timed out after {seconds}s")]
    TimedOut {
        point: HookPoint,
        path: PathBuf,
        seconds: i64,
    },
}

fn stderr_suffix(stderr: &Option<String>) -> String {
    match stderr {
        Some(line) => format!(": {line}"),
        None => String::new(),
    }
}

fn signal_name(signal: i32) -> String {
    match Signal::try_from(signal) {
        Ok(signal) => signal.as_str().to_owned(),
        Err(_) => signal.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_message_ends_with_the_stderr_line() {
        let err = HookError::ExitStatus {
            point: HookPoint::CreateRuntime,
            path: PathBuf::from("/usr/bin/foo"),
            code: 3,
            stderr: Some("boom".to_owned()),
        };
        assert_eq!(
            err.to_string(),
            "createRuntime hook /usr/bin/foo: exit status 3: boom"
        );
    }

    #[test]
    fn signal_message_names_the_signal() {
        let err = HookError::Signaled {
            point: HookPoint::Poststop,
            path: PathBuf::from("/hook"),
            signal: libc::SIGKILL,
            stderr: None,
        };
        assert_eq!(
            err.to_string(),
            "poststop hook /hook: killed by signal SIGKILL"
        );
    }
}
