//! What AppArmor and SELinux share: the check, before anything is created, that the
//! host has the LSM a config asks for, and writing a process's own `/proc/self/attr`
//! through a procfs truman knows is real (a container could mount a fake `/proc`
//! where the labels would go astray, CVE-2019-16884).

use std::io::Write;

use oci_spec::runtime::Process;
use pathrs::flags::OpenFlags;
use pathrs::procfs::{ProcfsBase, ProcfsHandle};

use super::{apparmor, selinux};

#[derive(Debug, thiserror::Error)]
pub enum LsmError {
    // runc's words for both.
    #[error(
        "apparmor profile {0:?} is set in the config, but apparmor is not enabled on this host"
    )]
    NoAppArmor(String),
    #[error("selinux label is specified in config, but selinux is disabled or not supported")]
    NoSelinux,
    #[error("apply {what}: {source}")]
    Apply {
        what: String,
        source: std::io::Error,
    },
}

/// Refuses a process that asks for an LSM the host does not run.
pub fn check(process: &Process) -> Result<(), LsmError> {
    if let Some(profile) = process
        .apparmor_profile()
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        if !apparmor::enabled() {
            return Err(LsmError::NoAppArmor(profile.to_owned()));
        }
    }
    if process
        .selinux_label()
        .as_deref()
        .is_some_and(|l| !l.is_empty())
        && !selinux::enabled()
    {
        return Err(LsmError::NoSelinux);
    }
    Ok(())
}

/// Sets the labels `process` asks for on the calling process's next exec.
pub fn apply(process: &Process) -> Result<(), LsmError> {
    if let Some(profile) = process
        .apparmor_profile()
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        apparmor::apply(profile)?;
    }
    if let Some(label) = process.selinux_label().as_deref().filter(|l| !l.is_empty()) {
        selinux::apply(label)?;
    }
    Ok(())
}

/// Writes `text` to `/proc/self/<file>` of a procfs pathrs vouches for.
pub(super) fn write_attr(file: &str, text: &str) -> std::io::Result<()> {
    let procfs = ProcfsHandle::new().map_err(std::io::Error::other)?;
    let mut attr = procfs
        .open(
            ProcfsBase::ProcSelf,
            file,
            OpenFlags::O_WRONLY | OpenFlags::O_CLOEXEC,
        )
        .map_err(|e| match e.kind() {
            pathrs::error::ErrorKind::OsError(Some(errno)) => {
                std::io::Error::from_raw_os_error(errno)
            }
            _ => std::io::Error::other(e),
        })?;
    attr.write_all(text.as_bytes())
}
