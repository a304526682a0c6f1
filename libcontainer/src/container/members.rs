//! A container's processes: its cgroup's members; without a cgroup
//! (`--cgroup-manager=disabled`), the processes in its init's pid namespace, or, where
//! that is the host's, in its init's mount namespace (an exec'd process joins it),
//! or else the init and its descendants.

use std::fs;
use std::os::unix::fs::MetadataExt;

use nix::unistd::Pid;

use crate::cgroups::Cgroup;
use crate::state::StateRecord;
use crate::{Error, Result};

/// The host pids of the container's processes, unsorted.
pub(crate) fn of(record: &StateRecord) -> Result<Vec<Pid>> {
    if let Some(cgroup) = Cgroup::of(record)? {
        return Ok(cgroup.pids()?);
    }
    let Some(init) = record.init.filter(|init| init.is_alive()) else {
        return Ok(Vec::new());
    };
    let processes = all_processes()?;
    for ns in ["pid", "mnt"] {
        if let Some(theirs) = namespace(init.pid, ns).filter(|n| Some(*n) != namespace_of_self(ns))
        {
            return Ok(processes
                .iter()
                .filter(|p| namespace(p.pid, ns) == Some(theirs))
                .map(|p| Pid::from_raw(p.pid))
                .collect());
        }
    }
    Ok(descendants(&processes, init.pid))
}

/// The container's cgroup, for a command that cannot do without one.
pub(crate) fn cgroup_for(record: &StateRecord, command: &str) -> Result<Cgroup> {
    Cgroup::of(record)?.ok_or_else(|| {
        Error::Usage(format!(
            "container {} has no cgroup (made with --cgroup-manager=disabled, or rootless without a cgroup it may write): {command} needs one",
            record.id
        ))
    })
}

struct Process {
    pid: i32,
    parent: i32,
}

fn all_processes() -> Result<Vec<Process>> {
    let entries = fs::read_dir("/proc").map_err(Error::sys("read /proc"))?;
    Ok(entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The name may hold spaces and parentheses: the fields follow the last ')'.
            let after_name = stat.get(stat.rfind(')')? + 2..)?;
            let parent = after_name.split(' ').nth(1)?.parse().ok()?;
            Some(Process { pid, parent })
        })
        .collect())
}

/// The namespace `ns` of `pid`, as (device, inode); none once the process is gone.
fn namespace(pid: i32, ns: &str) -> Option<(u64, u64)> {
    let meta = fs::metadata(format!("/proc/{pid}/ns/{ns}")).ok()?;
    Some((meta.dev(), meta.ino()))
}

fn namespace_of_self(ns: &str) -> Option<(u64, u64)> {
    let meta = fs::metadata(format!("/proc/self/ns/{ns}")).ok()?;
    Some((meta.dev(), meta.ino()))
}

fn descendants(processes: &[Process], root: i32) -> Vec<Pid> {
    let mut found = vec![root];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        found.extend(
            processes
                .iter()
                .filter(|p| p.parent == parent)
                .map(|p| p.pid),
        );
        next += 1;
    }
    found.into_iter().map(Pid::from_raw).collect()
}
