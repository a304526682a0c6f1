//! When and how a container process loads its seccomp filter. As late as it can: right
//! before exec (for the init, once `start` has come, before the startContainer hooks,
//! whose binaries are the container's), so that a profile may forbid what the setup
//! needed. Two things move it
//! earlier: without no_new_privs, loading a filter takes CAP_SYS_ADMIN, which the
//! process may be about to drop; and with SCMP_ACT_NOTIFY rules, truman must still be
//! there to pass the notification fd to the agent.

use super::error::InitError;
use super::sync::{FromInit, ToInit};
use crate::process::channel::Channel;
use crate::security::seccomp::SeccompFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Moment {
    BeforeCredentials,
    AfterCredentials,
    BeforeExec,
}

pub(crate) fn moment(filter: &SeccompFilter, no_new_privileges: bool) -> Moment {
    match (no_new_privileges, filter.listener.is_some()) {
        (false, _) => Moment::BeforeCredentials,
        (true, true) => Moment::AfterCredentials,
        (true, false) => Moment::BeforeExec,
    }
}

/// Loads the filter; a notification fd is handed to truman over `channel`, which
/// answers once the agent has it.
pub(crate) fn load(filter: &SeccompFilter, channel: &Channel) -> Result<(), InitError> {
    let notify = filter.load().map_err(|e| InitError::Other(e.to_string()))?;
    let Some(fd) = notify else {
        return Ok(());
    };
    use std::os::fd::AsRawFd;
    channel
        .send(&FromInit::SeccompFd { fd: fd.as_raw_fd() })
        .map_err(InitError::Sync)?;
    match channel.recv::<ToInit>().map_err(InitError::Sync)? {
        Some(ToInit::SeccompFdSent) => Ok(()),
        other => Err(InitError::Other(format!(
            "sync: expected SeccompFdSent, got {other:?}"
        ))),
    }
}
