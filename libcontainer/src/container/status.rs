//! Deriving a container's status from live facts: its init's identity, the exec fifo,
//! the freezer.

use std::path::Path;

use crate::state::{StateRecord, Status};

pub fn status_of(record: &StateRecord, fifo: &Path) -> Status {
    status_with(record, || fifo.exists())
}

/// The status, asking `has_fifo` only when a live, unfrozen init that has not yet
/// exec'd the container's program leaves `created` and `running` to tell apart.
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
    let Some(init) = record.init.as_ref().and_then(|init| init.live()) else {
        return Status::Stopped;
    };
    let cgroup = crate::cgroups::path::fs_path(&record.cgroup_path, record.cgroup_driver);
    let frozen = record.cgroup_driver != crate::cgroups::Driver::Disabled
        && crate::cgroups::freezer::is_frozen_with_member(&cgroup, init.state);
    if frozen {
        return Status::Paused;
    }
    // An init that has exec'd runs the container's program: it is past the fifo,
    // which `start` may not have removed yet. Only one still in truman's code can be
    // waiting at the fifo.
    if init.exec_since_fork {
        return Status::Running;
    }
    if has_fifo() {
        Status::Created
    } else {
        Status::Running
    }
}
