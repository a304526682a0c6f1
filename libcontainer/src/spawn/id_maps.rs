//! The id maps of a container's new user namespace, written as the plan says: by
//! truman, or by `newuidmap`/`newgidmap` for ranges only they may map (from
//! /etc/subuid and /etc/subgid), as runc does for a rootless caller.

use std::process::Command;

use nix::unistd::Pid;
use oci_spec::runtime::LinuxIdMapping;

use super::plan::{MapWriter, UserNamespace};
use crate::process::id_map;
use crate::{Error, Result};

/// Writes the maps of `pid`'s new user namespace (nothing for another kind).
pub(crate) fn write(
    user: UserNamespace,
    pid: Pid,
    uid: &[LinuxIdMapping],
    gid: &[LinuxIdMapping],
) -> Result<()> {
    let UserNamespace::Created {
        uid: uid_writer,
        gid: gid_writer,
        deny_setgroups,
    } = user
    else {
        return Ok(());
    };
    write_one(
        uid_writer,
        pid,
        "uid_map",
        "newuidmap",
        "linux.uidMappings",
        uid,
    )?;
    if deny_setgroups {
        let path = format!("/proc/{pid}/setgroups");
        std::fs::write(&path, "deny").map_err(Error::sys(format!("write {path}")))?;
    }
    write_one(
        gid_writer,
        pid,
        "gid_map",
        "newgidmap",
        "linux.gidMappings",
        gid,
    )
}

fn write_one(
    writer: MapWriter,
    pid: Pid,
    file: &str,
    helper: &str,
    field: &str,
    maps: &[LinuxIdMapping],
) -> Result<()> {
    if writer == MapWriter::Truman {
        return id_map::write(pid, file, maps);
    }
    let mut command = Command::new(helper);
    command.arg(pid.to_string());
    for m in maps {
        command.args([m.container_id(), m.host_id(), m.size()].map(|n| n.to_string()));
    }
    let output = command.output().map_err(|e| {
        Error::Usage(format!(
            "{field}: mapping more than the caller's own id needs {helper} (the uidmap package): {e}"
        ))
    })?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        return Err(Error::Usage(format!(
            "{field}: {helper} {pid}: {} ({})",
            said.trim(),
            output.status
        )));
    }
    Ok(())
}
