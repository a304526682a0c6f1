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
    if is_frozen(&record.cgroup_path) {
        return Status::Paused;
    }
    if fifo.exists() {
        Status::Created
    } else {
        Status::Running
    }
}

/// Reads the freezer state of the container's cgroup (v1 freezer or v2 cgroup.freeze).
fn is_frozen(cgroup_path: &Path) -> bool {
    let relative = cgroup_path.strip_prefix("/").unwrap_or(cgroup_path);
    let v1 = Path::new("/sys/fs/cgroup/freezer")
        .join(relative)
        .join("freezer.state");
    if let Ok(state) = std::fs::read_to_string(v1) {
        return state.trim() == "FROZEN";
    }
    let v2 = Path::new("/sys/fs/cgroup")
        .join(relative)
        .join("cgroup.freeze");
    std::fs::read_to_string(v2).is_ok_and(|s| s.trim() == "1")
}
