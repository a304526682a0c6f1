//! `pause` and `resume`: the cgroup freezer stops and restarts every process of the
//! container at once; `state` then reports `paused`.

use super::status::status_of;
use crate::id::ContainerId;
use crate::state::{StateStore, Status};
use crate::{Error, Result};

pub fn pause(store: &StateStore, id: &str) -> Result<()> {
    set_frozen(store, id, true)
}

pub fn resume(store: &StateStore, id: &str) -> Result<()> {
    set_frozen(store, id, false)
}

fn set_frozen(store: &StateStore, id: &str, frozen: bool) -> Result<()> {
    let id = ContainerId::parse(id)?;
    let dir = store.open(&id)?;
    let record = dir.load()?;
    // As runc: only a running container can be paused, only a paused one resumed.
    match (status_of(&record, &dir.fifo_path()), frozen) {
        (Status::Running, true) | (Status::Paused, false) => {}
        (_, true) => return Err(Error::NotRunning),
        (_, false) => return Err(Error::NotPaused),
    }
    let command = if frozen { "pause" } else { "resume" };
    super::members::cgroup_for(&record, command)?.freeze(frozen)?;
    Ok(())
}
