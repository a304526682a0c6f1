//! Limits truman sets on a container process from outside, before letting it go on:
//! its rlimits and its `oom_score_adj`. From outside, as runc does, because raising
//! either needs CAP_SYS_RESOURCE in the host's user namespace, which a process that
//! is (or has joined) a container's user namespace never has.

use nix::sys::resource::Resource;
use nix::unistd::Pid;
use oci_spec::runtime::{PosixRlimitType, Process};

use crate::{Error, Result};

pub fn apply(pid: Pid, process: &Process) -> Result<()> {
    if let Some(adj) = process.oom_score_adj() {
        let path = format!("/proc/{pid}/oom_score_adj");
        std::fs::write(&path, adj.to_string())
            .map_err(Error::sys(format!("write oomScoreAdj to {path}")))?;
    }
    for limit in process.rlimits().iter().flatten() {
        let new = libc::rlimit64 {
            rlim_cur: limit.soft(),
            rlim_max: limit.hard(),
        };
        // SAFETY: prlimit64 reads `new`, valid for the call, and writes nothing
        // (a null old-limit pointer).
        let ret = unsafe {
            libc::prlimit64(
                pid.as_raw(),
                resource_of(limit.typ()) as libc::__rlimit_resource_t,
                &new,
                std::ptr::null_mut(),
            )
        };
        if ret != 0 {
            return Err(Error::sys(format!(
                "setrlimit {} soft {} hard {}",
                limit.typ(),
                limit.soft(),
                limit.hard()
            ))(std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

fn resource_of(typ: PosixRlimitType) -> Resource {
    match typ {
        PosixRlimitType::RlimitCpu => Resource::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => Resource::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => Resource::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => Resource::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => Resource::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => Resource::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => Resource::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => Resource::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => Resource::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => Resource::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => Resource::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => Resource::RLIMIT_RTTIME,
    }
}
