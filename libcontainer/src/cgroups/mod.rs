//! The container's cgroup, through the `libcgroups` crate, on the three host layouts:
//! cgroup v1, cgroup v2 (unified), and hybrid (v1 controllers plus a cgroup2 tree at
//! `/sys/fs/cgroup/unified`, where a controller such as hugetlb may live alone).

mod cpuset_stats;
mod devices;
mod entrance;
pub mod freezer;
pub mod hierarchy;
pub mod oom;
pub mod path;
mod resources;
pub mod stats;
pub mod sub;
#[cfg(test)]
mod v2_tests;

use std::path::{Path, PathBuf};

use libcgroups::common::{
    create_cgroup_manager, AnyCgroupManager, CgroupConfig, CgroupManager, FreezerState,
};
use nix::unistd::Pid;

pub use entrance::Entrance;
pub use path::{resolve, Driver};
pub use resources::check_file_names;

use crate::id::ContainerId;

#[derive(Debug, thiserror::Error)]
#[error("cgroup {path}: {op}: {message}")]
pub struct CgroupError {
    path: PathBuf,
    op: &'static str,
    message: String,
}

impl CgroupError {
    pub(crate) fn new(path: &Path, op: &'static str, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            op,
            message: message.into(),
        }
    }
}

/// True on a pure cgroup v2 host, where `/sys/fs/cgroup` itself is cgroup2.
/// Whether the caller may make (or join) the cgroup at `path` (relative to each
/// hierarchy's root) in every hierarchy that carries controllers: the nearest
/// existing directory on the way to it is writable. A rootless caller may where its
/// cgroup was delegated to it (cgroup v2); on v1 it never is.
pub fn writable(path: &Path) -> bool {
    let dirs: Vec<PathBuf> = if is_unified() {
        let root = Path::new(libcgroups::common::DEFAULT_CGROUP_ROOT);
        vec![root.join(path.strip_prefix("/").unwrap_or(path))]
    } else {
        hierarchy::hierarchies()
            .iter()
            .filter(|h| h.kind == hierarchy::Kind::Controllers)
            .map(|h| h.dir_of(path))
            .collect()
    };
    !dirs.is_empty()
        && dirs.iter().all(|dir| {
            let existing = dir.ancestors().find(|d| d.exists()).unwrap_or(dir);
            nix::unistd::access(existing, nix::unistd::AccessFlags::W_OK).is_ok()
        })
}

pub fn is_unified() -> bool {
    matches!(
        libcgroups::common::get_cgroup_setup(),
        Ok(libcgroups::common::CgroupSetup::Unified)
    )
}

/// The container's cgroup: the libcgroups manager for its controllers, and on v1 or
/// hybrid hosts the hierarchies that manager leaves out.
pub struct Cgroup {
    /// The path the manager takes: with systemd, `slice:prefix:name`.
    path: PathBuf,
    /// The cgroup's directory below each hierarchy's root.
    dir: PathBuf,
    driver: Driver,
    /// libcgroups' manager, made when first needed (resources, statistics, freezing,
    /// systemd's placement): on a v1 host it reads the mount table once per
    /// controller, so `exec`, `delete`, `kill` and `ps` do without it.
    manager: std::cell::OnceCell<AnyCgroupManager>,
    container: String,
    /// The hierarchies of a v1 or hybrid host (none on a unified one), read once.
    hierarchies: Vec<hierarchy::Hierarchy>,
    /// Where the cgroup2 hierarchy is mounted on a unified host.
    unified_root: PathBuf,
}

impl Cgroup {
    pub fn open(path: &Path, driver: Driver, id: &ContainerId) -> Result<Self, CgroupError> {
        let unified = is_unified();
        if driver == Driver::Systemd {
            systemd_usable(path, unified)?;
        }
        let hierarchies = hierarchy::of_layout(unified);
        Ok(Self {
            path: path.to_owned(),
            dir: path::fs_path(path, driver),
            driver,
            manager: std::cell::OnceCell::new(),
            container: id.to_string(),
            hierarchies,
            unified_root: PathBuf::from(libcgroups::common::DEFAULT_CGROUP_ROOT),
        })
    }

    /// A cgroup managed as on a unified host, on the cgroup2 hierarchy mounted at
    /// `root`: how the v2 code paths are tested on a hybrid host's cgroup2 tree.
    #[cfg(test)]
    pub(crate) fn on_cgroup2_at(root: &Path, path: &Path) -> Result<Self, CgroupError> {
        let manager = libcgroups::v2::manager::Manager::new(root.to_owned(), path.to_owned())
            .map_err(|e| CgroupError::new(path, "open", e.to_string()))?;
        Ok(Self {
            path: path.to_owned(),
            dir: path.to_owned(),
            driver: Driver::Cgroupfs,
            manager: std::cell::OnceCell::from(manager.any()),
            container: String::new(),
            hierarchies: Vec::new(),
            unified_root: root.to_owned(),
        })
    }

    /// The container's directory on a unified host.
    fn unified_dir(&self) -> PathBuf {
        self.unified_root
            .join(self.dir.strip_prefix("/").unwrap_or(&self.dir))
    }

    /// The cgroup of a container `create` recorded; none for one made without
    /// (`--cgroup-manager=disabled`).
    pub fn of(record: &crate::state::StateRecord) -> Result<Option<Self>, CgroupError> {
        if record.cgroup_driver == Driver::Disabled {
            return Ok(None);
        }
        let id = ContainerId::parse(&record.id)
            .map_err(|e| CgroupError::new(&record.cgroup_path, "open", e.to_string()))?;
        Self::open(&record.cgroup_path, record.cgroup_driver, &id).map(Some)
    }

    /// The cgroup's directory below each hierarchy's root.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The host's cgroup hierarchies as read when this cgroup was opened: what the
    /// container's `/sys/fs/cgroup` shows on a v1 or hybrid host.
    pub fn hierarchies(&self) -> &[hierarchy::Hierarchy] {
        &self.hierarchies
    }

    /// On a v1 or hybrid host, the container's cgroup in the hierarchies libcgroups'
    /// v1 manager leaves out: named ones (`name=systemd`) and the hybrid cgroup2 tree.
    /// runc puts the container in those too, so that it sees its own cgroup there.
    fn extra_dirs(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.hierarchies
            .iter()
            .filter(|h| h.kind != hierarchy::Kind::Controllers)
            .map(|h| h.dir_of(&self.dir))
    }

    /// The container's directory on the hybrid cgroup2 tree, if the host has one.
    fn hybrid_unified(&self) -> Option<&hierarchy::Hierarchy> {
        self.hierarchies
            .iter()
            .find(|h| h.kind == hierarchy::Kind::Unified)
    }

    /// libcgroups' manager of the cgroup, made on first use.
    fn manager(&self) -> Result<&AnyCgroupManager, CgroupError> {
        if let Some(manager) = self.manager.get() {
            return Ok(manager);
        }
        let _span = tracing::debug_span!("cgroup manager").entered();
        let manager = create_cgroup_manager(CgroupConfig {
            cgroup_path: self.path.clone(),
            systemd_cgroup: self.driver == Driver::Systemd,
            container_name: self.container.clone(),
        })
        .map_err(|e| CgroupError::new(&self.path, "open", e.to_string()))?;
        Ok(self.manager.get_or_init(|| manager))
    }

    /// The cgroup opened for the container's next process to enter by itself (see
    /// [`Entrance`]), its directories made first when `make`; none with systemd,
    /// which places a scope's first process itself.
    pub fn entrance(&self, make: bool) -> Result<Option<Entrance>, CgroupError> {
        if self.driver == Driver::Systemd {
            return Ok(None);
        }
        Entrance::open(&self.hierarchies, &self.dirs(), make).map(Some)
    }

    fn manager_error(
        &self,
        op: &'static str,
    ) -> impl FnOnce(libcgroups::common::AnyManagerError) -> CgroupError + '_ {
        move |e| CgroupError::new(&self.path, op, e.to_string())
    }

    /// Creates the cgroup where missing and moves `pid` into it.
    pub fn add(&self, pid: Pid) -> Result<(), CgroupError> {
        if self.hierarchies.is_empty() {
            // libcgroups' v2 manager creates each missing parent with a plain mkdir:
            // two containers created at once below one new parent (a pod's) would
            // race on it. Its leaf stays its own to create.
            if let Some(parent) = self.unified_dir().parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| CgroupError::new(parent, "create", e.to_string()))?;
            }
        }
        self.manager()?
            .add_task(pid)
            .map_err(self.manager_error("add process"))?;
        for dir in self.extra_dirs() {
            std::fs::create_dir_all(&dir)
                .and_then(|_| std::fs::write(dir.join("cgroup.procs"), pid.to_string()))
                .map_err(|e| CgroupError::new(&dir, "add process", e.to_string()))?;
        }
        Ok(())
    }

    /// The container's directory in every hierarchy.
    fn dirs(&self) -> Vec<PathBuf> {
        if self.hierarchies.is_empty() {
            vec![self.unified_dir()]
        } else {
            self.hierarchies
                .iter()
                .map(|h| h.dir_of(&self.dir))
                .collect()
        }
    }

    /// True if the cgroup's directory exists in any hierarchy.
    pub fn exists(&self) -> bool {
        self.dirs().iter().any(|d| d.is_dir())
    }

    /// Kills whatever is left in the cgroup and removes it in every hierarchy, with
    /// the cgroups made below it (by `exec --cgroup` users, or by the container
    /// itself). With systemd, its scope is stopped through libcgroups.
    pub fn remove(&self) -> Result<(), CgroupError> {
        if self.driver == Driver::Systemd {
            for dir in self.dirs() {
                remove_tree(&dir, false)?;
            }
            // systemd removes the scope's directory once its unit is stopped.
            return self
                .manager()?
                .remove()
                .map_err(self.manager_error("remove"));
        }
        for dir in self.dirs() {
            remove_tree(&dir, true)?;
        }
        Ok(())
    }

    /// Freezes (`true`) or thaws every process of the cgroup.
    pub fn freeze(&self, frozen: bool) -> Result<(), CgroupError> {
        let state = if frozen {
            FreezerState::Frozen
        } else {
            FreezerState::Thawed
        };
        self.manager()?
            .freeze(state)
            .map_err(self.manager_error(if frozen { "freeze" } else { "thaw" }))
    }

    /// The processes in the cgroup and the cgroups below it, as one hierarchy (the
    /// first, every hierarchy holding them all) lists them.
    pub fn pids(&self) -> Result<Vec<Pid>, CgroupError> {
        let Some(dir) = self.dirs().into_iter().next() else {
            return Ok(Vec::new());
        };
        let mut cgroups = vec![dir];
        collect_descendants(&cgroups[0].clone(), &mut cgroups);
        let mut pids = Vec::new();
        for cgroup in &cgroups {
            let procs = cgroup.join("cgroup.procs");
            let text = std::fs::read_to_string(&procs)
                .map_err(|e| CgroupError::new(&procs, "list processes", e.to_string()))?;
            pids.extend(
                text.lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .map(Pid::from_raw),
            );
        }
        Ok(pids)
    }
}

/// Removes the cgroups below `dir`, and `dir` itself when `with_dir`: kills every
/// process in them first, so that none keeps running while another is waited for,
/// then removes them deepest first. A cgroup already gone is no error.
fn remove_tree(dir: &Path, with_dir: bool) -> Result<(), CgroupError> {
    // The usual case first: a container whose processes have all exited, with no
    // cgroup below its own, goes in one rmdir (the kernel refuses one still holding
    // either with EBUSY, which takes the long way).
    if with_dir {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(_) => {}
        }
    }
    let mut below = Vec::new();
    if with_dir && dir.is_dir() {
        below.push(dir.to_owned());
    }
    collect_descendants(dir, &mut below);
    if below.is_empty() {
        return Ok(());
    }
    let mut pidfds = Vec::new();
    for cgroup in &below {
        let procs = std::fs::read_to_string(cgroup.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines().filter_map(|l| l.trim().parse().ok()) {
            let process = crate::process::ProcessIdentity::of(Pid::from_raw(pid));
            if let Some(pidfd) = process
                .as_ref()
                .and_then(crate::process::pidfd::PidFd::open)
            {
                let _ = pidfd.signal(crate::signal::SignalNumber::KILL);
                pidfds.push(pidfd);
            }
        }
    }
    for pidfd in pidfds {
        pidfd.wait_exit(std::time::Duration::from_secs(10));
    }
    // Deepest first: a cgroup goes only once its children have.
    for cgroup in below.iter().rev() {
        match std::fs::remove_dir(cgroup) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(CgroupError::new(cgroup, "remove", e.to_string()))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The cgroups below `dir`, each after its parent.
fn collect_descendants(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            into.push(entry.path());
            collect_descendants(&entry.path(), into);
        }
    }
}

/// libcgroups' systemd manager speaks to systemd over D-Bus and drives cgroup v2 only:
/// anywhere else it would fail late or wait on a bus nobody answers, so say why now.
fn systemd_usable(path: &Path, unified: bool) -> Result<(), CgroupError> {
    // sd_booted(3): systemd is the init system iff this directory exists.
    if !Path::new("/run/systemd/system").is_dir() {
        return Err(CgroupError::new(
            path,
            "--systemd-cgroup",
            "systemd not running on this host, cannot use systemd cgroups manager",
        ));
    }
    if !unified {
        return Err(CgroupError::new(
            path,
            "--systemd-cgroup",
            "the systemd cgroup driver needs a cgroup v2 host; this one has v1 controllers",
        ));
    }
    Ok(())
}
