//! systemd socket activation passed through to the container, as runc does: when
//! truman itself was activated (`LISTEN_PID` names it, `LISTEN_FDS` counts the sockets
//! from fd 3, see sd_listen_fds(3)), `create` and `run` hand those sockets to the
//! container's process at the same numbers, with `LISTEN_FDS` kept and `LISTEN_PID=1`,
//! the pid the process has in its namespace. `--preserve-fds` come after them.
//! `exec` passes none, as runc's does not.

/// Sockets systemd passed to this truman, at fds `3..3 + count`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListenFds {
    count: u32,
}

impl ListenFds {
    /// What this process's environment says, read as sd_listen_fds(3) does: nothing
    /// unless `LISTEN_PID` is this process's pid and `LISTEN_FDS` a count.
    pub fn inherited() -> ListenFds {
        let var = |name| std::env::var(name).ok();
        ListenFds::from_env(var("LISTEN_PID"), var("LISTEN_FDS"), std::process::id())
    }

    fn from_env(pid: Option<String>, fds: Option<String>, own_pid: u32) -> ListenFds {
        let for_us = pid.and_then(|p| p.parse::<u32>().ok()) == Some(own_pid);
        let count = fds.and_then(|n| n.parse::<u32>().ok()).unwrap_or(0);
        ListenFds {
            count: if for_us { count } else { 0 },
        }
    }

    pub fn count(self) -> u32 {
        self.count
    }

    /// The variables the container's process gets, appended to `process.env`.
    pub fn env(self) -> Vec<String> {
        match self.count {
            0 => Vec::new(),
            n => vec![format!("LISTEN_FDS={n}"), "LISTEN_PID=1".to_owned()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pid: &str, fds: &str, own: u32) -> ListenFds {
        ListenFds::from_env(Some(pid.into()), Some(fds.into()), own)
    }

    #[test]
    fn sockets_count_only_when_listen_pid_names_this_process() {
        assert_eq!(env("42", "2", 42).count(), 2);
        assert_eq!(env("41", "2", 42).count(), 0, "activated another process");
        assert_eq!(env("42", "two", 42).count(), 0);
        assert_eq!(ListenFds::from_env(None, Some("2".into()), 42).count(), 0);
    }

    #[test]
    fn the_container_sees_itself_as_the_activated_process() {
        assert_eq!(env("42", "2", 42).env(), ["LISTEN_FDS=2", "LISTEN_PID=1"]);
        assert!(ListenFds::default().env().is_empty());
    }
}
