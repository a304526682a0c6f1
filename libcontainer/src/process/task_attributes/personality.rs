//! `linux.personality`: the execution domain, personality(2). LINUX32 makes the
//! container's `uname -m` say i686 on x86_64 (linux32(1)). The spec defines no flag
//! names; runc takes none either, so flags are refused by name.

use nix::errno::Errno;
use oci_spec::runtime::{LinuxPersonality, LinuxPersonalityDomain};

use super::Refused;

const PER_LINUX: libc::c_ulong = 0x0000;
const PER_LINUX32: libc::c_ulong = 0x0008;

#[derive(Debug, Clone, Copy)]
pub struct Personality(libc::c_ulong);

impl Personality {
    pub fn plan(asked: &LinuxPersonality) -> Result<Personality, Refused> {
        if let Some(flags) = asked.flags().as_ref().filter(|f| !f.is_empty()) {
            return Err(Refused::new(
                "linux.personality.flags",
                format!("{flags:?}: no personality flag is supported"),
            ));
        }
        Ok(Personality(match asked.domain() {
            LinuxPersonalityDomain::PerLinux => PER_LINUX,
            LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
        }))
    }

    pub fn apply(self) -> Result<(), (String, Errno)> {
        // SAFETY: personality takes a number and touches no memory of ours.
        match unsafe { libc::personality(self.0) } {
            -1 => Err(("linux.personality: personality".into(), Errno::last())),
            _ => Ok(()),
        }
    }
}
