//! Deriving a container's status from live facts: its init's identity, the exec fifo,
//! the freezer.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use crate::cgroups::Driver;
use crate::process::ProcessIdentity;
use crate::state::{StateRecord, StateSummary, Status};

pub fn status_of(record: &StateRecord, fifo: &Path) -> Status {
    let facts = Facts {
        creator: record.creator.as_ref(),
        init: record.init.as_ref(),
        cgroup_path: &record.cgroup_path,
        cgroup_driver: record.cgroup_driver,
    };
    facts.status(|| fifo.exists(), None, Precedence::Freezer)
}

/// `/proc` and the v1 freezer hierarchy, opened once by a caller that derives many
/// statuses (`list`): each container's files are then a walk of two or three path
/// components instead of five or six, a tenth of `list`'s time with 100 containers.
/// Held by that caller alone and dropped with it, never kept in a static: a host
/// directory open in the process that becomes a container's init would be a way out
/// of its root (runc's CVE-2024-21626 was a leaked cgroup directory).
pub struct StatusDirs {
    proc: Option<OwnedFd>,
    freezer_v1: Option<OwnedFd>,
}

impl StatusDirs {
    /// What can be opened; a missing one is looked up by its whole path.
    pub fn open() -> Self {
        let dir = |path: &str| {
            rustix::fs::open(
                path,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()
        };
        Self {
            proc: dir("/proc"),
            freezer_v1: dir(crate::cgroups::freezer::V1_ROOT),
        }
    }

    fn proc(&self) -> Option<BorrowedFd<'_>> {
        self.proc.as_ref().map(AsFd::as_fd)
    }

    fn freezer_v1(&self) -> Option<BorrowedFd<'_>> {
        self.freezer_v1.as_ref().map(AsFd::as_fd)
    }
}

/// The status from a record's summary, asking `has_fifo` only when a live, unfrozen
/// init that has not yet exec'd the container's program leaves `created` and
/// `running` to tell apart. `dirs`, if given, is where the init and the freezer are
/// looked up.
pub fn status_with(
    summary: &StateSummary,
    has_fifo: impl FnOnce() -> bool,
    dirs: Option<&StatusDirs>,
) -> Status {
    let facts = Facts {
        creator: summary.creator.as_ref(),
        init: summary.init.as_ref(),
        cgroup_path: &summary.cgroup_path,
        cgroup_driver: summary.cgroup_driver,
    };
    facts.status(has_fifo, dirs, Precedence::Program)
}

/// Which fact decides for a container that is both frozen and still waiting for
/// `start`. truman never pauses a created container (`pause` wants it running), so
/// only a freezer written by someone else makes one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Precedence {
    /// `paused`, as runc says: what `pause`, `resume` and `delete` act on, which
    /// must know to thaw it before a kill can end it.
    Freezer,
    /// `created`, as crun says and as the OCI spec defines it (its program has not
    /// run): what `state` and `list` print. It spares them the freezer's file for
    /// every container waiting for `start`, 3 of their 7 system calls for one.
    Program,
}

/// What a status is derived from, in a full record or its summary.
struct Facts<'a> {
    creator: Option<&'a ProcessIdentity>,
    init: Option<&'a ProcessIdentity>,
    cgroup_path: &'a Path,
    cgroup_driver: Driver,
}

impl Facts<'_> {
    fn status(
        &self,
        has_fifo: impl FnOnce() -> bool,
        dirs: Option<&StatusDirs>,
        precedence: Precedence,
    ) -> Status {
        // A recorded creator means `create` has not finished: still under way while that
        // truman lives; never to finish if it died, whatever state its init is left in
        // (it may not have noticed yet that truman is gone).
        if let Some(creator) = self.creator {
            return if creator.is_alive() {
                Status::Creating
            } else {
                Status::Stopped
            };
        }
        let Some(init) = self
            .init
            .and_then(|init| init.live_in(dirs.and_then(StatusDirs::proc)))
        else {
            return Status::Stopped;
        };
        // An init that has exec'd runs the container's program: it is past the fifo,
        // which `start` may not have removed yet. Only one still in truman's code can be
        // waiting at the fifo.
        let waiting = || !init.exec_since_fork && has_fifo();
        match precedence {
            Precedence::Freezer => match self.frozen(dirs) {
                true => Status::Paused,
                false if waiting() => Status::Created,
                false => Status::Running,
            },
            Precedence::Program => match waiting() {
                true => Status::Created,
                false if self.frozen(dirs) => Status::Paused,
                false => Status::Running,
            },
        }
    }

    fn frozen(&self, dirs: Option<&StatusDirs>) -> bool {
        let cgroup = crate::cgroups::path::fs_path(self.cgroup_path, self.cgroup_driver);
        self.cgroup_driver != Driver::Disabled
            && crate::cgroups::freezer::is_frozen_in(dirs.and_then(StatusDirs::freezer_v1), &cgroup)
    }
}
