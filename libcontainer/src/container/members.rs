//! A container's processes: its cgroup's members; without a cgroup
//! (`--cgroup-manager=disabled`, or rootless without one), the processes of the pid
//! namespace made for it, or, where it has none of its own, the init, the processes
//! `exec` started (recorded in the state), and their descendants. A namespace joined
//! by path is not the container's: others live in it too.

use std::fs;
use std::os::unix::fs::MetadataExt;

use nix::unistd::Pid;

use crate::cgroups::Cgroup;
use crate::process::ProcessIdentity;
use crate::state::StateRecord;
use crate::{Error, Result};

/// The host pids of the container's processes, unsorted.
pub(crate) fn of(record: &StateRecord) -> Result<Vec<Pid>> {
    if let Some(cgroup) = Cgroup::of(record)? {
        return Ok(cgroup.pids()?);
    }
    let init = record.init.filter(ProcessIdentity::is_alive);
    let processes = all_processes()?;
    if record.private_pid_ns {
        // Alive, the init holds its pid namespace, whose identity is then its own;
        // once it is gone, every process in that namespace is too.
        let Some(theirs) = init.and_then(|init| pid_namespace(init.pid)) else {
            return Ok(Vec::new());
        };
        return Ok(processes
            .iter()
            .filter(|p| pid_namespace(p.pid) == Some(theirs))
            .map(|p| Pid::from_raw(p.pid))
            .collect());
    }
    let roots: Vec<i32> = init
        .into_iter()
        .chain(
            record
                .exec_processes
                .iter()
                .copied()
                .filter(ProcessIdentity::is_alive),
        )
        .map(|p| p.pid)
        .collect();
    Ok(descendants(&processes, &roots))
}

/// Remembers a process `exec` started in a container without a cgroup (and forgets
/// those that have ended).
pub(crate) fn add_exec_process(
    store: &crate::state::StateStore,
    id: &crate::id::ContainerId,
    process: ProcessIdentity,
) -> Result<()> {
    let dir = store.open(id)?;
    let mut record = dir.load()?;
    record.exec_processes.retain(ProcessIdentity::is_alive);
    record.exec_processes.push(process);
    dir.save(&record)?;
    Ok(())
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

/// `pid`'s pid namespace, as (device, inode); none once the process is gone.
fn pid_namespace(pid: i32) -> Option<(u64, u64)> {
    let meta = fs::metadata(format!("/proc/{pid}/ns/pid")).ok()?;
    Some((meta.dev(), meta.ino()))
}

fn descendants(processes: &[Process], roots: &[i32]) -> Vec<Pid> {
    let mut found = roots.to_vec();
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        let children: Vec<i32> = processes
            .iter()
            .filter(|p| p.parent == parent && !found.contains(&p.pid))
            .map(|p| p.pid)
            .collect();
        found.extend(children);
        next += 1;
    }
    found.into_iter().map(Pid::from_raw).collect()
}
