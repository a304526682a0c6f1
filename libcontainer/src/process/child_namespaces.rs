//! The pid and time namespaces of truman's next children. Both apply to children
//! only, so truman joins (or creates) a container's before cloning its process, and
//! returns to its own right after: the hooks it forks must run in the runtime's.

use std::fs::File;

use nix::sched::{setns, CloneFlags};

use super::clone::flags;
use crate::{Error, Result};

/// The pid and time namespaces truman's children are born into, saved so that joining
/// or creating the container's (which apply to children only) can be undone.
pub(crate) struct ChildNamespaces {
    pid: File,
    time: Option<File>,
}

impl ChildNamespaces {
    pub fn save() -> Result<Self> {
        let open = |name: &str| File::open(format!("/proc/self/ns/{name}"));
        Ok(Self {
            pid: open("pid_for_children")
                .map_err(Error::sys("open /proc/self/ns/pid_for_children"))?,
            // Kernels without time namespaces have no such file.
            time: open("time_for_children").ok(),
        })
    }

    pub fn restore(&self) -> Result<()> {
        setns(&self.pid, CloneFlags::CLONE_NEWPID)
            .map_err(Error::errno("return to truman's pid namespace"))?;
        if let Some(time) = &self.time {
            setns(
                time,
                CloneFlags::from_bits_retain(flags::CLONE_NEWTIME as i32),
            )
            .map_err(Error::errno("return to truman's time namespace"))?;
        }
        Ok(())
    }
}
