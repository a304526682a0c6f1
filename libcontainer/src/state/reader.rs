//! Reading every container under one root, for `list`: the root is opened once and
//! each container's files are found relative to it, a walk of two path components
//! instead of the whole path, and the exec fifo is looked at only when the status
//! depends on it.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags};

use super::store::{io_err, parse_record, EXEC_FIFO, STATE_FILE};
use super::{StateStore, StateSummary, StoreError};
use crate::id::ContainerId;

pub struct RootReader<'a> {
    store: &'a StateStore,
    root: OwnedFd,
}

impl StateStore {
    /// A reader of this root's containers, or `None` when the root does not exist
    /// (no container was ever made under it).
    pub fn reader(&self) -> Result<Option<RootReader<'_>>, StoreError> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        match rustix::fs::open(self.root(), flags, Mode::empty()) {
            Ok(root) => Ok(Some(RootReader { store: self, root })),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(io_err("open state root", self.root())(e.into())),
        }
    }
}

impl RootReader<'_> {
    pub fn load(&self, id: &ContainerId) -> Result<StateSummary, StoreError> {
        let name = Path::new(id.as_str()).join(STATE_FILE);
        let read = crate::small_file::read_at(self.root.as_fd(), &name);
        parse_record(self.store.root().join(name), read)
    }

    /// The uid owning the container's directory: the user who created it, as runc's
    /// `list` names it.
    pub fn owner(&self, id: &ContainerId) -> io::Result<u32> {
        let stat = rustix::fs::statat(self.root.as_fd(), id.as_str(), AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(stat.st_uid)
    }

    pub fn has_fifo(&self, id: &ContainerId) -> bool {
        let name = Path::new(id.as_str()).join(EXEC_FIFO);
        rustix::fs::statat(self.root.as_fd(), &name, AtFlags::SYMLINK_NOFOLLOW).is_ok()
    }
}
