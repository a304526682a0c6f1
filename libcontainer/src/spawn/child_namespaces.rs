//! The pid and time namespaces of truman's next children. Both apply to children
//! only, so truman joins (or creates) a container's before cloning its process, and
//! must return to its own right after: the hooks it forks (poststop after a failed
//! `create` among them) must run in the runtime's.
//!
//! [`ChildNamespaces`] remembers what it changed and changes it back on every path,
//! a failed join or clone included (on drop), and only what it changed: an
//! unprivileged truman may not setns back into a pid namespace it never left.

use std::fs::File;

use nix::sched::{setns, unshare, CloneFlags};

use super::Joinable;
use crate::process::clone::flags::time_namespace;
use crate::{Error, Result};

/// The originals of the pid and time namespaces for children, once changed.
#[derive(Default)]
pub(crate) struct ChildNamespaces {
    pid: Option<File>,
    time: Option<File>,
}

impl ChildNamespaces {
    /// Nothing changed yet.
    pub fn unchanged() -> ChildNamespaces {
        ChildNamespaces::default()
    }

    /// Saves what `typ`'s namespace for children is now, once, before it changes.
    fn save(&mut self, typ: CloneFlags) -> Result<()> {
        let (slot, name) = if typ == CloneFlags::CLONE_NEWPID {
            (&mut self.pid, "pid_for_children")
        } else {
            (&mut self.time, "time_for_children")
        };
        if slot.is_none() {
            let path = format!("/proc/self/ns/{name}");
            *slot = Some(File::open(&path).map_err(Error::sys(format!("open {path}")))?);
        }
        Ok(())
    }

    /// Makes `ns` (a pid or time namespace) the one truman's next child is born in.
    pub fn join(&mut self, ns: &Joinable) -> Result<()> {
        self.save(ns.flag())?;
        ns.join().map_err(Error::errno(format!("join {}", ns.what)))
    }

    /// A new time namespace for the next child (its offsets are written before a
    /// process enters it).
    pub fn unshare_time(&mut self) -> Result<()> {
        self.save(time_namespace())?;
        unshare(time_namespace()).map_err(Error::errno("unshare time namespace"))
    }

    /// Back to truman's own, for what changed.
    pub fn restore(mut self) -> Result<()> {
        self.undo()
    }

    /// In the cloned child: its namespaces are the container's, and stay so.
    pub fn keep_in_child(mut self) {
        // Closed, not left to the container's process: they are truman's namespaces.
        self.pid.take();
        self.time.take();
    }

    fn undo(&mut self) -> Result<()> {
        if let Some(pid) = self.pid.take() {
            setns(&pid, CloneFlags::CLONE_NEWPID)
                .map_err(Error::errno("return to truman's pid namespace"))?;
        }
        if let Some(time) = self.time.take() {
            setns(&time, time_namespace())
                .map_err(Error::errno("return to truman's time namespace"))?;
        }
        Ok(())
    }
}

impl Drop for ChildNamespaces {
    fn drop(&mut self) {
        if let Err(e) = self.undo() {
            tracing::error!("{e}");
        }
    }
}
