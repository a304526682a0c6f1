//! The directory tree under `--root`, and the lock that serialises the commands that
//! change one container.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::StateRecord;
use crate::id::ContainerId;

pub(super) const STATE_FILE: &str = "state.json";
/// Where `restore` binds the rootfs for CRIU, in the container's directory.
pub(crate) const CRIU_ROOT: &str = "criu-root";
pub(super) const EXEC_FIFO: &str = "exec.fifo";
const EXEC_ERROR: &str = "exec.error";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    // The wording of these two is runc's: containerd and podman match on it.
    #[error("container does not exist")]
    NotExist,
    #[error("container with given ID already exists")]
    Exists,
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("serialize the state of {path}: {source}")]
    Serialize {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("state file {path} is corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
}

pub(super) fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

#[derive(Debug, Clone)]
pub struct StateStore {
    root: PathBuf,
}

/// One container's directory, held under an exclusive lock for as long as this value
/// lives: two `delete`s, or a `kill` racing a `delete`, take turns.
#[derive(Debug)]
pub struct ContainerDir {
    path: PathBuf,
    // The lock is an flock on the directory itself, released when this fd closes.
    lock: File,
}

impl StateStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn dir_of(&self, id: &ContainerId) -> PathBuf {
        self.root.join(id.as_str())
    }

    /// Makes the directory of a new container. The `mkdir` is the atomic claim on the
    /// id: of two `create`s with one id, exactly one gets it.
    pub fn create(&self, id: &ContainerId) -> Result<ContainerDir, StoreError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(&self.root)
            .map_err(io_err("create state root", &self.root))?;
        let path = self.dir_of(id);
        match fs::DirBuilder::new().mode(0o711).create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(StoreError::Exists),
            Err(e) => return Err(io_err("create state directory", &path)(e)),
        }
        let lock = lock_dir(&path)?;
        Ok(ContainerDir { path, lock })
    }

    /// Opens and locks an existing container's directory.
    pub fn open(&self, id: &ContainerId) -> Result<ContainerDir, StoreError> {
        let path = self.dir_of(id);
        let lock = match lock_dir(&path) {
            Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::NotExist)
            }
            other => other?,
        };
        // Whoever held the lock before us may have deleted the container, and a new
        // `create` may have made a new directory with the same name: the lock we hold
        // is only worth something on the directory that is there now.
        let held = lock
            .metadata()
            .map_err(io_err("stat state directory", &path))?;
        match std::fs::metadata(&path) {
            Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => {}
            Ok(_) => return self.open(id),
            Err(_) => return Err(StoreError::NotExist),
        }
        Ok(ContainerDir { path, lock })
    }

    /// Reads a container's record without taking its lock: records are replaced by
    /// rename, so a reader always sees a whole one.
    pub fn load(&self, id: &ContainerId) -> Result<StateRecord, StoreError> {
        load_record(&self.dir_of(id))
    }

    /// The part of the record `state` needs (see [`super::StateSummary`]).
    pub fn load_summary(&self, id: &ContainerId) -> Result<super::StateSummary, StoreError> {
        load_record(&self.dir_of(id))
    }

    pub fn fifo_path(&self, id: &ContainerId) -> PathBuf {
        self.dir_of(id).join(EXEC_FIFO)
    }

    /// The ids of every container directory under the root, sorted.
    pub fn ids(&self) -> Result<Vec<ContainerId>, StoreError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("read state root", &self.root)(e)),
        };
        let mut ids: Vec<ContainerId> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| ContainerId::parse(e.file_name().to_str()?).ok())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

impl ContainerDir {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn fifo_path(&self) -> PathBuf {
        self.path.join(EXEC_FIFO)
    }

    /// Why the init failed between `start` and the exec, if it did.
    pub fn exec_error_path(&self) -> PathBuf {
        self.path.join(EXEC_ERROR)
    }

    /// True when the directory holds no record: a `create` died before writing one.
    pub fn is_empty_claim(&self) -> bool {
        !self.path.join(STATE_FILE).exists()
    }

    pub fn load(&self) -> Result<StateRecord, StoreError> {
        load_record(&self.path)
    }

    /// Replaces the record atomically: temporary file, then rename. No fsync: the
    /// rename alone makes a reader see the old record or the new one whole, and what
    /// a record describes (processes, mounts, cgroups) does not outlive a power loss
    /// either; the store lives on tmpfs (`/run`, `$XDG_RUNTIME_DIR`) wherever
    /// clients put it. runc and crun do not fsync it either.
    pub fn save(&self, record: &StateRecord) -> Result<(), StoreError> {
        let path = self.path.join(STATE_FILE);
        let tmp = self.path.join(".state.json.tmp");
        let bytes = serde_json::to_vec(record).map_err(|source| StoreError::Serialize {
            path: path.clone(),
            source,
        })?;
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)
            .map_err(io_err("create", &tmp))?;
        file.write_all(&bytes).map_err(io_err("write", &tmp))?;
        fs::rename(&tmp, &path).map_err(io_err("rename", &path))
    }

    /// Removes the directory and everything in it; the lock goes with it.
    pub fn remove(self) -> Result<(), StoreError> {
        // A restore binds the container's rootfs here while CRIU runs; one that was
        // interrupted leaves the bind, and removing through it would delete the
        // rootfs: it is unmounted first, and the removal refused if it stays.
        let criu_root = self.path.join(CRIU_ROOT);
        if let Ok(meta) = fs::symlink_metadata(&criu_root) {
            let _ = nix::mount::umount2(&criu_root, nix::mount::MntFlags::MNT_DETACH);
            let here = fs::symlink_metadata(&self.path).map(|m| m.dev());
            let there = fs::symlink_metadata(&criu_root).map(|m| m.dev());
            if meta.is_dir() && here.ok() != there.ok() {
                return Err(io_err("remove state directory", &criu_root)(
                    io::Error::other(
                        "a mount is still there (the rootfs bound by an interrupted restore)",
                    ),
                ));
            }
        }
        match fs::remove_dir_all(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("remove state directory", &self.path)(e)),
        }
    }

    /// The raw fd of the lock, which a forked init must close so that it does not
    /// hold the container's lock for its whole life.
    pub fn lock_fd(&self) -> i32 {
        self.lock.as_raw_fd()
    }
}

fn lock_dir(path: &Path) -> Result<File, StoreError> {
    let dir = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
        .map_err(io_err("open state directory", path))?;
    loop {
        // SAFETY: flock on a descriptor we own; it touches no memory.
        if unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(dir);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(io_err("lock state directory", path)(err));
        }
    }
}

fn load_record<T: serde::de::DeserializeOwned>(dir: &Path) -> Result<T, StoreError> {
    let path = dir.join(STATE_FILE);
    let read = crate::small_file::read(&path);
    parse_record(path, read)
}

/// The record in what a read of `path` gave: a missing file is a container that does
/// not exist (never created, or deleted meanwhile).
pub(super) fn parse_record<T: serde::de::DeserializeOwned>(
    path: PathBuf,
    read: io::Result<Vec<u8>>,
) -> Result<T, StoreError> {
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StoreError::NotExist),
        Err(e) => return Err(io_err("read", &path)(e)),
    };
    serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt { path, source })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use super::*;
    use crate::process::ProcessIdentity;

    fn record(id: &str) -> StateRecord {
        StateRecord {
            oci_version: "1.2.0".into(),
            id: id.into(),
            bundle: PathBuf::from("/bundle"),
            rootfs: PathBuf::from("/bundle/rootfs"),
            created: chrono::Utc::now(),
            annotations: HashMap::new(),
            cgroup_path: PathBuf::from("/x"),
            cgroup_driver: Default::default(),
            process: None,
            device_rules: None,
            intel_rdt: None,
            personality: None,
            memory_policy: None,
            stdio: None,
            config_stamp: None,
            no_new_keyring: false,
            cgroup_preexisted: false,
            seccomp: None,
            creator: None,
            init: None,
            private_pid_ns: true,
            exec_processes: Vec::new(),
            hooks: None,
        }
    }

    fn id(s: &str) -> ContainerId {
        ContainerId::parse(s).unwrap()
    }

    #[test]
    fn an_id_can_be_claimed_once() {
        let root = tempfile::tempdir().unwrap();
        let store = StateStore::new(root.path().join("state"));
        let dir = store.create(&id("a")).unwrap();
        assert!(matches!(store.create(&id("a")), Err(StoreError::Exists)));
        dir.remove().unwrap();
        store.create(&id("a")).unwrap();
    }

    #[test]
    fn a_saved_record_is_loaded_whole_and_no_temporary_file_stays() {
        let root = tempfile::tempdir().unwrap();
        let store = StateStore::new(root.path());
        let dir = store.create(&id("b")).unwrap();
        assert!(dir.is_empty_claim());
        dir.save(&record("b")).unwrap();
        assert!(!dir.is_empty_claim());
        let loaded = store.load(&id("b")).unwrap();
        assert_eq!(loaded.id, "b");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
    }

    #[test]
    fn a_saved_record_s_summary_holds_every_field_it_names() {
        let root = tempfile::tempdir().unwrap();
        let store = StateStore::new(root.path());
        let dir = store.create(&id("s")).unwrap();
        let identity = ProcessIdentity {
            pid: 7,
            start_time: 9,
        };
        let mut full = record("s");
        full.annotations.insert("k".into(), "v".into());
        full.cgroup_driver = crate::cgroups::Driver::Systemd;
        full.creator = Some(identity);
        full.init = Some(identity);
        full.process = Some(Default::default());
        dir.save(&full).unwrap();

        let summary = store.load_summary(&id("s")).unwrap();
        let expected = full.summary();
        assert_eq!(
            format!("{summary:?}"),
            format!("{expected:?}"),
            "the summary read back differs from the record's"
        );
    }

    #[test]
    fn unknown_and_removed_containers_do_not_exist() {
        let root = tempfile::tempdir().unwrap();
        let store = StateStore::new(root.path());
        assert!(matches!(store.open(&id("c")), Err(StoreError::NotExist)));
        assert!(matches!(store.load(&id("c")), Err(StoreError::NotExist)));
        let dir = store.create(&id("c")).unwrap();
        dir.remove().unwrap();
        assert!(matches!(store.open(&id("c")), Err(StoreError::NotExist)));
        assert!(store.ids().unwrap().is_empty());
    }

    #[test]
    fn the_lock_serialises_commands_on_one_container() {
        let root = tempfile::tempdir().unwrap();
        let store = StateStore::new(root.path());
        let held = store.create(&id("d")).unwrap();
        let path = held.path().to_owned();
        let other = File::open(&path).unwrap();
        // SAFETY: a non-blocking flock on a descriptor we own.
        let busy = unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(busy, -1, "a second lock must wait while the first is held");
        drop(held);
        // SAFETY: as above.
        let free = unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(free, 0, "the lock is released with its holder");
    }
}
