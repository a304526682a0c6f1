//! Noticing that the kernel's OOM killer acted in a container's cgroup, as `runc events`
//! reports it: on v1 an eventfd registered on `memory.oom_control`, on v2 an inotify
//! watch on `memory.events` and its `oom_kill` counter.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use super::{Cgroup, CgroupError};

pub struct OomWatch {
    source: Source,
}

enum Source {
    /// The eventfd the kernel signals; the `oom_control` file must stay open.
    V1 {
        eventfd: OwnedFd,
        _control: File,
        /// `cgroup.event_control`: gone once the cgroup is, which also wakes the
        /// eventfd without any OOM.
        register: PathBuf,
    },
    V2 {
        inotify: Inotify,
        events: PathBuf,
        seen: u64,
    },
}

impl Cgroup {
    /// Starts watching for OOM kills in the container's memory cgroup.
    pub fn watch_oom(&self) -> Result<OomWatch, CgroupError> {
        let dir = self.controller_dir("memory").ok_or_else(|| {
            CgroupError::new(&self.path, "watch for OOM", "memory controller missing")
        })?;
        if self.hierarchies.is_empty() {
            OomWatch::v2(&dir)
        } else {
            OomWatch::v1(&dir)
        }
    }
}

impl OomWatch {
    fn v1(dir: &Path) -> Result<Self, CgroupError> {
        let control_path = dir.join("memory.oom_control");
        let control = File::open(&control_path)
            .map_err(|e| CgroupError::new(&control_path, "open", e.to_string()))?;
        // SAFETY: eventfd takes an initial value and flags and returns a new fd or -1.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            let e = std::io::Error::last_os_error();
            return Err(CgroupError::new(dir, "eventfd", e.to_string()));
        }
        // SAFETY: the kernel just returned this fd; nothing else owns it.
        let eventfd = unsafe { OwnedFd::from_raw_fd(raw) };
        let register = dir.join("cgroup.event_control");
        let line = format!("{} {}", eventfd.as_raw_fd(), control.as_raw_fd());
        std::fs::write(&register, &line)
            .map_err(|e| CgroupError::new(&register, "register OOM eventfd", e.to_string()))?;
        Ok(Self {
            source: Source::V1 {
                eventfd,
                _control: control,
                register,
            },
        })
    }

    fn v2(dir: &Path) -> Result<Self, CgroupError> {
        let events = dir.join("memory.events");
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)
            .map_err(|e| CgroupError::new(dir, "inotify", e.to_string()))?;
        inotify
            .add_watch(&events, AddWatchFlags::IN_MODIFY)
            .map_err(|e| CgroupError::new(&events, "watch", e.to_string()))?;
        let seen = oom_kills(&events);
        Ok(Self {
            source: Source::V2 {
                inotify,
                events,
                seen,
            },
        })
    }

    /// After the descriptor polled readable: how many OOM events happened since the
    /// last call (possibly none: v2 files change for other reasons too).
    pub fn take(&mut self) -> u64 {
        match &mut self.source {
            Source::V1 {
                eventfd, register, ..
            } => {
                let mut count = [0u8; 8];
                match nix::unistd::read(eventfd.as_raw_fd(), &mut count) {
                    Ok(8) if register.exists() => u64::from_ne_bytes(count),
                    _ => 0,
                }
            }
            Source::V2 {
                inotify,
                events,
                seen,
            } => {
                let _ = inotify.read_events();
                let now = oom_kills(events);
                let new = now.saturating_sub(*seen);
                *seen = now;
                new
            }
        }
    }
}

impl AsFd for OomWatch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.source {
            Source::V1 { eventfd, .. } => eventfd.as_fd(),
            Source::V2 { inotify, .. } => inotify.as_fd(),
        }
    }
}

/// The `oom_kill` counter of a v2 `memory.events` file.
fn oom_kills(events: &Path) -> u64 {
    std::fs::read_to_string(events)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}
