//! A process as the kernel names it over time: a PID alone can be recycled, so every
//! process truman remembers is stored with its start time.

use std::os::fd::BorrowedFd;

use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use super::stat::Stat;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessIdentity {
    pub pid: i32,
    /// Field 22 of `/proc/<pid>/stat`: clock ticks after boot.
    #[serde(rename = "startTime")]
    pub start_time: u64,
}

/// A live process, as its `/proc/<pid>/stat` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Live {
    /// Whether it has called execve since it was forked: a container's init has once
    /// it runs the container's program.
    pub exec_since_fork: bool,
}

/// The kernel's flag of a process forked and not yet exec'd (include/linux/sched.h).
const PF_FORKNOEXEC: u32 = 0x40;

impl ProcessIdentity {
    /// Reads the identity of a live process, or `None` if it is gone.
    pub fn of(pid: Pid) -> Option<Self> {
        let stat = Stat::of(pid.as_raw())?;
        Some(Self {
            pid: pid.as_raw(),
            start_time: stat.start_time,
        })
    }

    /// True while this very process exists and has not exited: a zombie has finished,
    /// and a PID with another start time is another process.
    pub fn is_alive(&self) -> bool {
        self.live().is_some()
    }

    /// What `/proc` says of this very process while it is alive, as `is_alive`
    /// means it; `None` once it is not.
    pub fn live(&self) -> Option<Live> {
        self.live_in(None)
    }

    /// As [`ProcessIdentity::live`], read below `proc`, an open `/proc`, if given.
    pub(crate) fn live_in(&self, proc: Option<BorrowedFd<'_>>) -> Option<Live> {
        let stat = Stat::of_in(proc, self.pid)?;
        (stat.start_time == self.start_time && !matches!(stat.state, b'Z' | b'X')).then_some(Live {
            exec_since_fork: stat.flags & PF_FORKNOEXEC == 0,
        })
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_changed_start_time_is_not() {
        let me = ProcessIdentity::of(nix::unistd::getpid()).unwrap();
        assert!(me.is_alive());
        let other = ProcessIdentity {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(!other.is_alive());
    }

    #[test]
    fn a_forked_child_has_not_exec_d_until_it_does() {
        // This test binary was exec'd by cargo.
        let me = ProcessIdentity::of(nix::unistd::getpid()).unwrap();
        assert!(me.live().unwrap().exec_since_fork);

        // SAFETY: the child only calls pause and _exit, both async-signal-safe.
        let child = match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => loop {
                // SAFETY: waits for the signal that ends it.
                unsafe { libc::pause() };
            },
            nix::unistd::ForkResult::Parent { child } => child,
        };
        let forked = ProcessIdentity::of(child).unwrap();
        let exec_since_fork = forked.live().unwrap().exec_since_fork;
        nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL).unwrap();
        nix::sys::wait::waitpid(child, None).unwrap();
        assert!(!exec_since_fork);
        assert!(!forked.is_alive());
    }
}
