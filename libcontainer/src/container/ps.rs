//! `ps`: the container's processes, as host PIDs (of its cgroup, where it has one).

use crate::id::ContainerId;
use crate::state::StateStore;
use crate::Result;

/// The host PIDs of every process of the container, sorted.
pub fn pids(store: &StateStore, id: &str) -> Result<Vec<i32>> {
    let id = ContainerId::parse(id)?;
    let record = store.load(&id)?;
    let mut pids: Vec<i32> = super::members::of(&record)?
        .into_iter()
        .map(|p| p.as_raw())
        .collect();
    pids.sort_unstable();
    Ok(pids)
}
