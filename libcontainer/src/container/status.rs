//! Deriving a container's status from live facts: its init's identity, the exec fifo,
//! the freezer.

use std::path::Path;

use crate::state::{StateRecord, Status};

pub fn status_of(record: &StateRecord, fifo: &Path) -> Status {
    status_with(record, || fifo.exists())
}

/// The status, asking `has_fifo` only when a live, unfrozen init leaves `created`
/// and `running` to tell apart.
pub fn status_with(record: &StateRecord, has_fifo: impl FnOnce() -> bool) -> Status {
    // A recorded creator means `create` has not finished: still under way while that
    // truman lives; never to finish if it died, whatever state its init is left in
    // (it may not have noticed yet that truman is gone).
    if let Some(creator) = &record.creator {
        return if creator.is_alive() {
            Status::Creating
        } else {
            Status::Stopped
        };
    }
    let Some(init_state) = record.init.as_ref().and_then(|init| init.live_state()) else {
        return Status::Stopped;
    };
    let cgroup = crate::cgroups::path::fs_path(&record.cgroup_path, record.cgroup_driver);
    let frozen = record.cgroup_driver != crate::cgroups::Driver::Disabled
        && crate::cgroups::freezer::is_frozen_with_member(&cgroup, init_state);
    if frozen {
        return Status::Paused;
    }
    if has_fifo() {
        Status::Created
    } else {
        Status::Running
    }
}
