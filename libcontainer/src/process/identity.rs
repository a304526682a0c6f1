//! A process as the kernel names it over time: a PID alone can be recycled, so every
//! process truman remembers is stored with its start time.

use std::path::Path;

use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessIdentity {
    pub pid: i32,
    /// Field 22 of `/proc/<pid>/stat`: clock ticks after boot.
    #[serde(rename = "startTime")]
    pub start_time: u64,
}

impl ProcessIdentity {
    /// Reads the identity of a live process, or `None` if it is gone.
    pub fn of(pid: Pid) -> Option<Self> {
        let stat = read_stat(pid.as_raw())?;
        Some(Self {
            pid: pid.as_raw(),
            start_time: stat.starttime,
        })
    }

    /// True while this very process exists and has not exited: a zombie has finished,
    /// and a PID with another start time is another process.
    pub fn is_alive(&self) -> bool {
        self.live_state().is_some()
    }

    /// The run state `/proc` reports (`R`, `S`, `D`, `T`, ...) while this very process
    /// is alive, as `is_alive` means it; `None` once it is not.
    pub fn live_state(&self) -> Option<char> {
        let stat = read_stat(self.pid)?;
        (stat.starttime == self.start_time && !matches!(stat.state, 'Z' | 'X'))
            .then_some(stat.state)
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.pid)
    }
}

fn read_stat(pid: i32) -> Option<procfs::process::Stat> {
    use procfs::FromRead;
    let bytes = crate::small_file::read(Path::new(&format!("/proc/{pid}/stat"))).ok()?;
    procfs::process::Stat::from_read(&bytes[..]).ok()
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
}
