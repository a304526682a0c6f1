//! `delete`: stop what is left, remove the cgroup, the resctrl group and the state, run
//! `poststop`.

use std::time::Duration;

use super::create::hook_state;
use super::kill::{signal_all, signal_init};
use super::status::status_of;
use crate::cgroups::Cgroup;
use crate::id::ContainerId;
use crate::process::pidfd::PidFd;
use crate::signal::SignalNumber;
use crate::state::{ContainerDir, StateRecord, StateStore, Status, StoreError};
use crate::{Error, Result};

/// How long `delete --force` waits for a killed container to go, as runc does.
const FORCE_WAIT: Duration = Duration::from_secs(10);

pub fn delete(store: &StateStore, id: &str, force: bool) -> Result<()> {
    let id = ContainerId::parse(id)?;
    let dir = match store.open(&id) {
        Err(StoreError::NotExist) if force => return Ok(()),
        other => other?,
    };
    let record = match dir.load() {
        Ok(record) => record,
        // A create that died before its first record owns nothing yet but the claim.
        Err(StoreError::NotExist) if force || dir.is_empty_claim() => {
            dir.remove()?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let status = status_of(&record, &dir.fifo_path());
    match status {
        Status::Stopped | Status::Created => {}
        _ if force => {}
        _ => {
            return Err(Error::DeleteNotStopped {
                id: id.to_string(),
                status,
            })
        }
    }
    if status != Status::Stopped {
        if status == Status::Paused {
            // A frozen process cannot act on the SIGKILL: thaw first.
            crate::cgroups::freezer::thaw(&crate::cgroups::path::fs_path(
                &record.cgroup_path,
                record.cgroup_driver,
            ));
        }
        // As runc: a container with a pid namespace of its own ends with its init;
        // without one, each of its processes must be killed, and its cgroup tells
        // which (unless that cgroup is shared with others).
        if record.private_pid_ns || record.cgroup_preexisted {
            let _ = signal_init(&record, SignalNumber::KILL);
        } else {
            let _ = signal_all(&record, SignalNumber::KILL);
        }
        if let Some(pidfd) = record.init.as_ref().and_then(PidFd::open) {
            pidfd.wait_exit(FORCE_WAIT);
        }
    }
    destroy(dir, &record, false);
    Ok(())
}

/// Removes everything a container owns: kills its init and cgroup members, removes
/// the cgroup and the state directory, and runs `poststop`. Best effort: each part is
/// tried even if another fails, because this is also the cleanup of a failed create.
pub(crate) fn destroy(dir: ContainerDir, record: &StateRecord, reap: bool) {
    let _span = tracing::debug_span!("destroy", id = %record.id).entered();
    if let Some(init) = &record.init {
        if let Some(pidfd) = PidFd::open(init) {
            let _ = pidfd.signal(SignalNumber::KILL);
            if reap {
                let _ = nix::sys::wait::waitpid(init.pid(), None);
            } else {
                pidfd.wait_exit(FORCE_WAIT);
            }
        }
    }
    if !record.cgroup_preexisted {
        if let Err(e) = Cgroup::of(record).and_then(|c| c.map_or(Ok(()), |c| c.remove())) {
            tracing::warn!("{e}");
        }
    }
    if let Some(group) = &record.intel_rdt {
        if let Err(e) = group.remove() {
            tracing::warn!("{e}");
        }
    }
    let poststop = record.hooks.as_ref().and_then(|h| h.poststop().clone());
    let state = hook_state(record, Status::Stopped);
    if let Err(e) = dir.remove() {
        tracing::warn!("{e}");
    }
    if let (Some(list), Ok(state)) = (poststop, state) {
        // poststop failures are logged, not fatal: the container is already gone.
        if let Err(e) = hooks::run_hooks(hooks::HookPoint::Poststop, &list, state.as_bytes()) {
            tracing::warn!("{e}");
        }
    }
}
