//! Deriving a container's status from live facts: its init's identity, the exec fifo,
//! the freezer.

use std::path::Path;

use crate::cgroups::Driver;
use crate::process::ProcessIdentity;
use crate::state::{StateRecord, StateSummary, Status};

pub fn status_of(record: &StateRecord, fifo: &Path) -> Status {
    let facts = Facts {
        creator: record.creator.as_ref(),
        init: record.init.as_ref(),
        cgroup_path: &record.cgroup_path,
        cgroup_driver: record.cgroup_driver,
    };
    facts.status(|| fifo.exists())
}

/// The status from a record's summary, asking `has_fifo` only when a live, unfrozen
/// init that has not yet exec'd the container's program leaves `created` and
/// `running` to tell apart.
pub fn status_with(summary: &StateSummary, has_fifo: impl FnOnce() -> bool) -> Status {
    let facts = Facts {
        creator: summary.creator.as_ref(),
        init: summary.init.as_ref(),
        cgroup_path: &summary.cgroup_path,
        cgroup_driver: summary.cgroup_driver,
    };
    facts.status(has_fifo)
}

/// What a status is derived from, in a full record or its summary.
struct Facts<'a> {
    creator: Option<&'a ProcessIdentity>,
    init: Option<&'a ProcessIdentity>,
    cgroup_path: &'a Path,
    cgroup_driver: Driver,
}

impl Facts<'_> {
    fn status(&self, has_fifo: impl FnOnce() -> bool) -> Status {
        // A recorded creator means `create` has not finished: still under way while that
        // truman lives; never to finish if it died, whatever state its init is left in
        // (it may not have noticed yet that truman is gone).
        if let Some(creator) = self.creator {
            return if creator.is_alive() {
                Status::Creating
            } else {
                Status::Stopped
            };
        }
        let Some(init) = self.init.and_then(|init| init.live()) else {
            return Status::Stopped;
        };
        let cgroup = crate::cgroups::path::fs_path(self.cgroup_path, self.cgroup_driver);
        let frozen =
            self.cgroup_driver != Driver::Disabled && crate::cgroups::freezer::is_frozen(&cgroup);
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
}
