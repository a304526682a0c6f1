//! Processes the tests start or inherit: the subreaper role, waiting with a
//! deadline, and reaping container inits.
//!
//! Waiting never sleeps: a pidfd becomes readable when its process exits,
//! so we `poll` it with a timeout and then reap with `waitid`.

use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::Once;
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};

/// How long any single runtime command, or a container the test waits for,
/// may take before the test fails instead of hanging.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Makes the test process the subreaper of everything it starts, once.
///
/// After `create`, the runtime's helper processes exit and the container
/// init is re-parented to the nearest subreaper. containerd's shim and conmon
/// are subreapers; being one too lets a test `waitpid` the init from the pid
/// file and see its exit status, exactly as they do.
pub(crate) fn become_subreaper() {
    static SUBREAPER: Once = Once::new();
    SUBREAPER.call_once(|| {
        nix::sys::prctl::set_child_subreaper(true)
            .unwrap_or_else(|e| panic!("prctl(PR_SET_CHILD_SUBREAPER): {e}"));
    });
}

/// A pidfd: a handle on one process that stays valid (and never refers to
/// another process) even after the pid is reused.
pub(crate) struct PidFd {
    fd: OwnedFd,
}

impl PidFd {
    pub(crate) fn open(pid: i32) -> io::Result<PidFd> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel just returned this fd to us; nobody else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        Ok(PidFd { fd })
    }

    /// Waits until the process has exited (it is then a zombie until reaped).
    /// Returns false if `timeout` passed first.
    pub(crate) fn wait_exited(&self, timeout: Duration) -> bool {
        let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        loop {
            match poll(&mut fds, PollTimeout::from(millis)) {
                Ok(0) => return false,
                Ok(_) => return true,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => panic!("poll pidfd: {e}"),
            }
        }
    }

    /// Sends `signal`; a process that already exited is not an error.
    pub(crate) fn signal(&self, signal: i32) {
        // SAFETY: pidfd_send_signal(fd, sig, NULL info, 0 flags).
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.fd.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        let err = io::Error::last_os_error();
        if rc < 0 && err.raw_os_error() != Some(libc::ESRCH) {
            panic!("pidfd_send_signal({signal}): {err}");
        }
    }

    /// True if the process is a child of ours that nobody has reaped yet.
    pub(crate) fn is_unreaped_child(&self) -> bool {
        let peek = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match waitid(Id::PIDFd(self.fd.as_fd()), peek) {
            Ok(_) => true,
            Err(nix::errno::Errno::ECHILD) => false,
            Err(e) => panic!("waitid(P_PIDFD, WNOWAIT): {e}"),
        }
    }

    /// Reaps the (already exited) process. `None` if it is not our child or
    /// was reaped already.
    pub(crate) fn reap(&self) -> Option<i32> {
        match waitid(Id::PIDFd(self.fd.as_fd()), WaitPidFlag::WEXITED) {
            Ok(status) => Some(exit_status(status)),
            Err(nix::errno::Errno::ECHILD) => None,
            Err(e) => panic!("waitid(P_PIDFD): {e}"),
        }
    }
}

/// Shell-style exit status: the exit code, or 128 + the signal number.
fn exit_status(status: WaitStatus) -> i32 {
    match status {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, signal, _) => 128 + signal as i32,
        other => panic!("unexpected wait status {other:?}"),
    }
}

/// Waits for `pid`, a child of the test process (e.g. a container init read
/// from `--pid-file`), to exit, reaps it and returns its exit status: the exit
/// code, or 128 + signal number if it was killed.
///
/// Panics if the process is not our child (the runtime did not leave the init
/// to the caller's subreaper) or does not exit within [`COMMAND_TIMEOUT`].
#[track_caller]
pub fn wait_exit(pid: i32) -> i32 {
    become_subreaper();
    let pidfd = PidFd::open(pid).unwrap_or_else(|e| panic!("pidfd_open({pid}): {e}"));
    assert!(
        pidfd.is_unreaped_child(),
        "process {pid} is not a child of the test process (not re-parented to the subreaper?)"
    );
    assert!(
        pidfd.wait_exited(COMMAND_TIMEOUT),
        "process {pid} did not exit within {COMMAND_TIMEOUT:?}"
    );
    pidfd
        .reap()
        .unwrap_or_else(|| panic!("process {pid} was reaped by someone else"))
}

/// True if `pid` exists and is not a zombie.
pub fn is_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => match stat.rfind(')') {
            Some(end) => !matches!(stat[end + 1..].trim_start().chars().next(), Some('Z' | 'X')),
            None => true,
        },
        Err(_) => false,
    }
}

/// The parent pid of `pid` as `/proc/<pid>/status` reports it, if it exists.
pub fn parent_pid(pid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("PPid:"))
        .and_then(|ppid| ppid.trim().parse().ok())
}
