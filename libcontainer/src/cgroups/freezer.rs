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

/// `is_frozen`, told the run state of a live member of the cgroup (its init), which
/// spares `list` and `state` the read where it settles the answer. The v1 freezer
/// holds every task of a FROZEN cgroup in the refrigerator, which `/proc` reports as
/// `D` (and kernels before 6.1 left a stopped task in `T`): a member in any other
/// state means the cgroup is not frozen. The v2 freezer parks its tasks in `S`, which
/// settles nothing.
pub fn is_frozen_with_member(cgroup_path: &Path, member_state: char) -> bool {
    if freezer_is_v1() && !matches!(member_state, 'D' | 'T' | 't') {
        return false;
    }
    is_frozen(cgroup_path)
}

/// Whether this host's freezer is a cgroup v1 hierarchy, asked once per command.
fn freezer_is_v1() -> bool {
    static V1: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *V1.get_or_init(|| {
        nix::sys::statfs::statfs("/sys/fs/cgroup/freezer")
            .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::CGROUP_SUPER_MAGIC)
    })
}

/// Thaws the cgroup, best effort: used before killing a paused container, whose
/// frozen processes could not otherwise act on the SIGKILL.
pub fn thaw(cgroup_path: &Path) {
    if std::fs::write(v1_state(cgroup_path), "THAWED").is_err() {
        let _ = std::fs::write(v2_freeze(cgroup_path), "0");
    }
}
