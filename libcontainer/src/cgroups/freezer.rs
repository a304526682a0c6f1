//! The freezer of the container's cgroup: v1 `freezer.state`, v2 `cgroup.freeze`.
//! Read directly, because `state` asks on every call and needs no cgroup manager.

use std::path::{Path, PathBuf};

fn v1_state(cgroup_path: &Path) -> PathBuf {
    Path::new("/sys/fs/cgroup/freezer")
        .join(cgroup_path.strip_prefix("/").unwrap_or(cgroup_path))
        .join("freezer.state")
}

fn v2_freeze(cgroup_path: &Path) -> PathBuf {
    Path::new("/sys/fs/cgroup")
        .join(cgroup_path.strip_prefix("/").unwrap_or(cgroup_path))
        .join("cgroup.freeze")
}

pub fn is_frozen(cgroup_path: &Path) -> bool {
    if let Ok(state) = crate::small_file::read(&v1_state(cgroup_path)) {
        return state.trim_ascii() == b"FROZEN";
    }
    crate::small_file::read(&v2_freeze(cgroup_path)).is_ok_and(|s| s.trim_ascii() == b"1")
}

/// Thaws the cgroup, best effort: used before killing a paused container, whose
/// frozen processes could not otherwise act on the SIGKILL.
pub fn thaw(cgroup_path: &Path) {
    if std::fs::write(v1_state(cgroup_path), "THAWED").is_err() {
        let _ = std::fs::write(v2_freeze(cgroup_path), "0");
    }
}
