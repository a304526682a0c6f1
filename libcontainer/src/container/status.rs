//! Deriving a container's status from live facts: its init's identity, the exec fifo,
//! the freezer.

use std::path::Path;

use crate::state::{StateRecord, Status};

pub fn status_of(record: &StateRecord, fifo: &Path) -> Status {
    let Some(init) = &record.init else {
        // No init yet: being created, unless the creating truman died.
        return match &record.creator {
            Some(creator) if creator.is_alive() => Status::Creating,
            _ => Status::Stopped,
        };
    };
    if !init.is_alive() {
        return Status::Stopped;
    }
    if record.creator.as_ref().is_some_and(|c| c.is_alive()) {
        return Status::Creating;
    }
    if crate::cgroups::freezer::is_frozen(&record.cgroup_path) {
        return Status::Paused;
    }
    if fifo.exists() {
        Status::Created
    } else {
        Status::Running
    }
}
