//! User namespace id maps: written for a container's new user namespace, and for the
//! namespaces that carry an id-mapped mount's mappings.

use std::fs::File;

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{Linux, LinuxIdMapping};

use super::clone::{clone3, flags, Forked};
use crate::{Error, Result};

/// The text of a `uid_map` or `gid_map`: one `inside outside count` line per mapping.
pub fn map_text(mappings: &[LinuxIdMapping]) -> String {
    mappings
        .iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// The mappings of an optional list (none when absent).
pub fn listed(mappings: &Option<Vec<LinuxIdMapping>>) -> &[LinuxIdMapping] {
    mappings.as_deref().unwrap_or_default()
}

/// A spec's `linux.uidMappings` and `linux.gidMappings` (none where absent).
pub fn of_container(linux: Option<&Linux>) -> (&[LinuxIdMapping], &[LinuxIdMapping]) {
    match linux {
        Some(l) => (listed(l.uid_mappings()), listed(l.gid_mappings())),
        None => (&[], &[]),
    }
}

/// Writes `/proc/<pid>/<file>` (`uid_map` or `gid_map`) of a process in a new user
/// namespace.
pub fn write(pid: Pid, file: &str, mappings: &[LinuxIdMapping]) -> Result<()> {
    let path = format!("/proc/{pid}/{file}");
    std::fs::write(&path, map_text(mappings)).map_err(Error::sys(format!("write {path}")))
}

/// A new user namespace holding `uid` and `gid` maps, owned by truman's: what an
/// id-mapped mount is mapped through. A child is cloned into it and waits; once the
/// maps are written and the namespace is open, it is killed and reaped.
pub fn new_user_namespace(uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<File> {
    let child = clone3(flags::CLONE_NEWUSER).map_err(Error::sys("clone a user namespace"))?;
    let pid = match child {
        Forked::Child => loop {
            // SAFETY: pause only waits for the SIGKILL the parent sends.
            unsafe { libc::pause() };
        },
        Forked::Parent(pid) => pid,
    };
    let opened = write(pid, "uid_map", uid)
        .and_then(|()| write(pid, "gid_map", gid))
        .and_then(|()| {
            let path = format!("/proc/{pid}/ns/user");
            File::open(&path).map_err(Error::sys(format!("open {path}")))
        });
    let _ = kill(pid, Signal::SIGKILL);
    let _ = waitpid(pid, None);
    opened
}
