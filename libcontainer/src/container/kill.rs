//! `kill`: a signal to the init; with `--all`, or a SIGKILL to a container without a
//! PID namespace of its own (whose processes do not die with the init), to every
//! process of the container's cgroup, as runc does.

use super::status::status_of;
use crate::id::ContainerId;
use crate::process::pidfd::PidFd;
use crate::process::ProcessIdentity;
use crate::signal::{parse_signal, SignalNumber};
use crate::state::{StateRecord, StateStore, Status};
use crate::{Error, Result};

pub fn kill(store: &StateStore, id: &str, signal: &str, all: bool) -> Result<()> {
    let id = ContainerId::parse(id)?;
    let signal = parse_signal(signal)?;
    let dir = store.open(&id)?;
    let record = dir.load()?;
    let status = status_of(&record, &dir.fifo_path());
    if matches!(status, Status::Stopped) {
        // runc: with --all, a container that is already gone is not an error.
        return if all { Ok(()) } else { Err(Error::NotRunning) };
    }
    if all || (signal == SignalNumber::KILL && !record.private_pid_ns) {
        signal_all(&record, signal)
    } else {
        signal_init(&record, signal)
    }
}

pub(crate) fn signal_init(record: &StateRecord, signal: SignalNumber) -> Result<()> {
    let pidfd = record
        .init
        .as_ref()
        .and_then(PidFd::open)
        .ok_or(Error::NotRunning)?;
    pidfd.signal(signal).map_err(|e| match e.raw_os_error() {
        Some(libc::ESRCH) => Error::NotRunning,
        _ => Error::sys(format!("signal {signal}"))(e),
    })
}

/// Signals every process of the cgroup. The init goes first so that a SIGKILL takes
/// down a PID namespace in one step.
pub(crate) fn signal_all(record: &StateRecord, signal: SignalNumber) -> Result<()> {
    // Found first: without a cgroup, they are found through the living init.
    let members = super::members::of(record)?;
    let _ = signal_init(record, signal);
    for pid in members {
        if let Some(pidfd) = ProcessIdentity::of(pid).as_ref().and_then(PidFd::open) {
            let _ = pidfd.signal(signal);
        }
    }
    Ok(())
}
