//! The container's cgroup, through the `libcgroups` crate (v1, v2 and hybrid hosts).

pub mod freezer;
pub mod hierarchy;

use std::path::{Path, PathBuf};

use libcgroups::common::{create_cgroup_manager, AnyCgroupManager, CgroupConfig, CgroupManager};
use nix::unistd::Pid;

use crate::id::ContainerId;

#[derive(Debug, thiserror::Error)]
#[error("cgroup {path}: {op}: {message}")]
pub struct CgroupError {
    path: PathBuf,
    op: &'static str,
    message: String,
}

pub struct Cgroup {
    path: PathBuf,
    manager: AnyCgroupManager,
    /// The hierarchies of a v1 or hybrid host (none on a unified one), read once.
    hierarchies: Vec<hierarchy::Hierarchy>,
    /// On a v1 or hybrid host, the container's cgroup in the hierarchies libcgroups'
    /// v1 manager leaves out: named ones (`name=systemd`) and the hybrid cgroup2 tree.
    /// runc puts the container in those too, so that it sees its own cgroup there.
    extra: Vec<PathBuf>,
}

/// The cgroup path for a container: `linux.cgroupsPath` if given, else `/<id>` as runc
/// does, each relative to the root of every hierarchy.
pub fn path_for(configured: Option<&Path>, id: &ContainerId) -> PathBuf {
    match configured {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("/").join(id.as_str()),
    }
}

/// True on a pure cgroup v2 host, where `/sys/fs/cgroup` itself is cgroup2.
pub fn is_unified() -> bool {
    matches!(
        libcgroups::common::get_cgroup_setup(),
        Ok(libcgroups::common::CgroupSetup::Unified)
    )
}

impl Cgroup {
    pub fn open(path: &Path, systemd: bool, id: &ContainerId) -> Result<Self, CgroupError> {
        let manager = create_cgroup_manager(CgroupConfig {
            cgroup_path: path.to_owned(),
            systemd_cgroup: systemd,
            container_name: id.to_string(),
        })
        .map_err(|e| CgroupError {
            path: path.to_owned(),
            op: "open",
            message: e.to_string(),
        })?;
        let hierarchies = if is_unified() {
            Vec::new()
        } else {
            hierarchy::hierarchies()
        };
        let extra = hierarchies
            .iter()
            .filter(|h| h.kind != hierarchy::Kind::Controllers)
            .map(|h| h.dir_of(path))
            .collect();
        Ok(Self {
            path: path.to_owned(),
            manager,
            hierarchies,
            extra,
        })
    }

    /// The host's cgroup hierarchies as read when this cgroup was opened: what the
    /// container's `/sys/fs/cgroup` shows on a v1 or hybrid host.
    pub fn hierarchies(&self) -> &[hierarchy::Hierarchy] {
        &self.hierarchies
    }

    fn err(
        &self,
        op: &'static str,
    ) -> impl FnOnce(libcgroups::common::AnyManagerError) -> CgroupError + '_ {
        move |e| CgroupError {
            path: self.path.clone(),
            op,
            message: e.to_string(),
        }
    }

    /// Creates the cgroup where missing and moves `pid` into it.
    pub fn add(&self, pid: Pid) -> Result<(), CgroupError> {
        self.manager
            .add_task(pid)
            .map_err(self.err("add process"))?;
        for dir in &self.extra {
            std::fs::create_dir_all(dir)
                .and_then(|_| std::fs::write(dir.join("cgroup.procs"), pid.to_string()))
                .map_err(|e| CgroupError {
                    path: dir.clone(),
                    op: "add process",
                    message: e.to_string(),
                })?;
        }
        Ok(())
    }

    /// Kills whatever is left in the cgroup and removes it.
    pub fn remove(&self) -> Result<(), CgroupError> {
        self.manager.remove().map_err(self.err("remove"))?;
        for dir in &self.extra {
            match std::fs::remove_dir(dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(CgroupError {
                        path: dir.clone(),
                        op: "remove",
                        message: e.to_string(),
                    })
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Freezes (`true`) or thaws every process of the cgroup.
    pub fn freeze(&self, frozen: bool) -> Result<(), CgroupError> {
        use libcgroups::common::FreezerState;
        let state = if frozen {
            FreezerState::Frozen
        } else {
            FreezerState::Thawed
        };
        self.manager
            .freeze(state)
            .map_err(self.err(if frozen { "freeze" } else { "thaw" }))
    }

    pub fn pids(&self) -> Result<Vec<Pid>, CgroupError> {
        self.manager
            .get_all_pids()
            .map_err(self.err("list processes"))
    }
}
