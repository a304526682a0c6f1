//! pidfds: a handle on one process that a recycled PID cannot fool.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::signal::SignalNumber;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::ProcessIdentity;

pub struct PidFd(OwnedFd);

impl AsFd for PidFd {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl PidFd {
    /// Opens a pidfd on `process`, or `None` if that process is gone. The start time is
    /// checked after the open: the pidfd then pins exactly the process we meant.
    pub fn open(process: &ProcessIdentity) -> Option<Self> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, process.pid, 0) };
        if fd < 0 {
            return None;
        }
        // SAFETY: the kernel just returned this fd to us; nothing else owns it.
        let pidfd = PidFd(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        process.is_alive().then_some(pidfd)
    }

    pub(crate) fn from_owned(fd: OwnedFd) -> Self {
        PidFd(fd)
    }

    /// True once the process has ended (a pidfd polls readable then).
    pub fn has_exited(&self) -> bool {
        let mut fds = [PollFd::new(self.0.as_fd(), PollFlags::POLLIN)];
        matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
    }

    /// A copy of the process's descriptor `fd` (pidfd_getfd(2)), as a seccomp
    /// notification fd is taken from a container process.
    pub fn get_fd(&self, fd: i32) -> io::Result<OwnedFd> {
        // SAFETY: pidfd_getfd takes two descriptors and flags, returns a new fd or -1.
        let ret = unsafe { libc::syscall(libc::SYS_pidfd_getfd, self.0.as_raw_fd(), fd, 0) };
        if ret < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel just installed this fd for us; nothing else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(ret as i32) })
    }

    pub fn as_raw_fd(&self) -> i32 {
        self.0.as_raw_fd()
    }

    pub fn signal(&self, signal: SignalNumber) -> io::Result<()> {
        // SAFETY: pidfd_send_signal with a null siginfo and no flags touches no memory.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                signal.as_raw(),
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if ret < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits until the process has exited, or the timeout passes. Returns whether it
    /// exited. Works for any process, not only our children.
    pub fn wait_exit(&self, timeout: Duration) -> bool {
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        let mut fds = [PollFd::new(self.0.as_fd(), PollFlags::POLLIN)];
        loop {
            match poll(
                &mut fds,
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                Ok(n) => return n > 0,
                Err(_) => return false,
            }
        }
    }
}
