//! How a container's process gets into its cgroup without truman writing its pid.
//!
//! Writing a pid into `cgroup.procs` takes the kernel's global lock on every thread
//! group's cgroup membership for writing, which waits for an RCU grace period when
//! the lock was idle: 5-20 ms on an idle host, the largest single cost of a `run`
//! here (runc and crun pay it too). Two ways in skip that lock:
//! - cgroup v2: `clone3(CLONE_INTO_CGROUP)`, the process is born in its cgroup;
//! - cgroup v1: a single-threaded process moving itself, writing `0` into `tasks`,
//!   which the kernel lets through without the lock (its only thread cannot exit or
//!   exec under it).
//!
//! truman opens everything before the clone (the directories made, the files opened
//! with truman's credentials, which the kernel checks rather than the writer's: a
//! process already in the container's user namespace may still use them); the
//! process enters right after `Go`, before anything else it does.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::unistd::Pid;

use super::hierarchy::{Hierarchy, Kind};
use super::CgroupError;

/// The container's cgroup, opened for its next process to enter.
pub struct Entrance {
    /// `tasks` of the container's cgroup in each v1 hierarchy.
    tasks: Vec<(PathBuf, File)>,
    /// The container's directory on cgroup2 (the whole tree on a unified host, the
    /// `unified` one on a hybrid host), for `CLONE_INTO_CGROUP`.
    unified: Option<(PathBuf, OwnedFd)>,
}

impl Entrance {
    /// Opens the directories `dirs` (made where missing when `make`), one per
    /// hierarchy in `hierarchies` order, or the one cgroup2 directory when
    /// `hierarchies` is empty (a unified host). Without `make` (an `exec`), a
    /// hierarchy where the container has no directory is left out, as runc joins
    /// only the cgroups it recorded: one mounted after the container was made.
    pub(super) fn open(
        hierarchies: &[Hierarchy],
        dirs: &[PathBuf],
        make: bool,
    ) -> Result<Self, CgroupError> {
        let mut entrance = Self {
            tasks: Vec::new(),
            unified: None,
        };
        let unified_host = hierarchies.is_empty();
        for (index, dir) in dirs.iter().enumerate() {
            let hierarchy = hierarchies.get(index);
            if make {
                std::fs::create_dir_all(dir)
                    .map_err(|e| CgroupError::new(dir, "create", e.to_string()))?;
                if let Some(h) = hierarchy.filter(|h| is_cpuset(h)) {
                    fill_cpuset(&h.mount_point, dir)?;
                }
            }
            let missing = |e: &std::io::Error| !make && e.kind() == std::io::ErrorKind::NotFound;
            if unified_host || hierarchy.is_some_and(|h| h.kind == Kind::Unified) {
                match File::options()
                    .read(true)
                    .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
                    .open(dir)
                {
                    Ok(fd) => entrance.unified = Some((dir.clone(), fd.into())),
                    Err(e) if missing(&e) => {}
                    Err(e) => return Err(CgroupError::new(dir, "open", e.to_string())),
                }
            } else {
                let tasks = dir.join("tasks");
                match File::options()
                    .write(true)
                    .custom_flags(libc::O_CLOEXEC)
                    .open(&tasks)
                {
                    Ok(file) => entrance.tasks.push((tasks, file)),
                    Err(e) if missing(&e) => {}
                    Err(e) => return Err(CgroupError::new(&tasks, "open", e.to_string())),
                }
            }
        }
        Ok(entrance)
    }

    /// The cgroup2 directory to clone the process into, if there is one.
    pub fn clone_into(&self) -> Option<BorrowedFd<'_>> {
        self.unified.as_ref().map(|(_, fd)| fd.as_fd())
    }

    /// In the process, single-threaded: moves itself into every v1 hierarchy's cgroup.
    pub fn enter_self(&self) -> Result<(), CgroupError> {
        for (path, file) in &self.tasks {
            let mut file: &File = file;
            file.write_all(b"0")
                .map_err(|e| CgroupError::new(path, "enter", e.to_string()))?;
        }
        Ok(())
    }

    /// In truman, once the process is cloned: where the clone could not place it on
    /// cgroup2 (the kernel refused `CLONE_INTO_CGROUP`, or clone3 itself), its pid is
    /// written there the ordinary way.
    pub fn finish(&self, pid: Pid, cloned_into: bool) -> Result<(), CgroupError> {
        if let (Some((dir, _)), false) = (&self.unified, cloned_into) {
            let procs = dir.join("cgroup.procs");
            std::fs::write(&procs, pid.to_string())
                .map_err(|e| CgroupError::new(&procs, "add process", e.to_string()))?;
        }
        Ok(())
    }
}

fn is_cpuset(hierarchy: &Hierarchy) -> bool {
    hierarchy.kind == Kind::Controllers && hierarchy.options.split(',').any(|o| o == "cpuset")
}

/// A new v1 cpuset cgroup has empty `cpuset.cpus` and `cpuset.mems` and takes no
/// process until both are set: each directory on the way down gets its parent's
/// where it has none (as libcgroups does when it adds a process).
fn fill_cpuset(mount_point: &Path, dir: &Path) -> Result<(), CgroupError> {
    let Ok(relative) = dir.strip_prefix(mount_point) else {
        return Ok(());
    };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let mut current = mount_point.to_owned();
        let mut value = read_trimmed(&current.join(file))?;
        for component in relative.components() {
            current.push(component);
            let path = current.join(file);
            let own = read_trimmed(&path)?;
            if own.is_empty() {
                std::fs::write(&path, &value)
                    .map_err(|e| CgroupError::new(&path, "write", e.to_string()))?;
            } else {
                value = own;
            }
        }
    }
    Ok(())
}

fn read_trimmed(path: &Path) -> Result<String, CgroupError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| CgroupError::new(path, "read", e.to_string()))
}
