//! The freezer of the container's cgroup: v1 `freezer.state`, v2 `cgroup.freeze`.
//! Read directly, because `state` asks on every call and needs no cgroup manager.

use std::ffi::OsString;
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// The v1 hierarchy's mount point.
pub(crate) const V1_ROOT: &str = "/sys/fs/cgroup/freezer";

fn v1_state(cgroup_path: &Path) -> PathBuf {
    file_of("/sys/fs/cgroup/freezer/", cgroup_path, "freezer.state")
}

fn v2_freeze(cgroup_path: &Path) -> PathBuf {
    file_of("/sys/fs/cgroup/", cgroup_path, "cgroup.freeze")
}

/// `root` (empty, or ending in `/`), the cgroup's path below it and `file`, in one
/// allocation: `list` builds one for every live container.
fn file_of(root: &str, cgroup_path: &Path, file: &str) -> PathBuf {
    let below = cgroup_path.as_os_str().as_bytes();
    let below = below.strip_prefix(b"/").unwrap_or(below);
    let below = below.strip_suffix(b"/").unwrap_or(below);
    let mut path = Vec::with_capacity(root.len() + below.len() + 1 + file.len());
    path.extend_from_slice(root.as_bytes());
    path.extend_from_slice(below);
    if !below.is_empty() {
        path.push(b'/');
    }
    path.extend_from_slice(file.as_bytes());
    PathBuf::from(OsString::from_vec(path))
}

pub fn is_frozen(cgroup_path: &Path) -> bool {
    is_frozen_in(None, cgroup_path)
}

/// As [`is_frozen`], the v1 state read below `v1_root`, an open v1 freezer hierarchy,
/// when the caller holds one.
pub(crate) fn is_frozen_in(v1_root: Option<BorrowedFd<'_>>, cgroup_path: &Path) -> bool {
    let v1 = match v1_root {
        Some(root) => crate::small_file::read_at(root, &file_of("", cgroup_path, "freezer.state")),
        None => crate::small_file::read(&v1_state(cgroup_path)),
    };
    if let Ok(state) = v1 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_freezer_file_is_under_the_hierarchy_whatever_the_slashes() {
        for (cgroup, v1) in [
            ("/a/b", "/sys/fs/cgroup/freezer/a/b/freezer.state"),
            ("a/b/", "/sys/fs/cgroup/freezer/a/b/freezer.state"),
            ("/", "/sys/fs/cgroup/freezer/freezer.state"),
        ] {
            assert_eq!(v1_state(Path::new(cgroup)), Path::new(v1), "{cgroup}");
        }
        assert_eq!(
            v2_freeze(Path::new("/a")),
            Path::new("/sys/fs/cgroup/a/cgroup.freeze")
        );
        assert_eq!(
            file_of("", Path::new("/a/b"), "freezer.state"),
            Path::new("a/b/freezer.state")
        );
        assert_eq!(
            file_of("", Path::new("/"), "freezer.state"),
            Path::new("freezer.state")
        );
    }
}
