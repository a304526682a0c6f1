//! Who the container process is: user and groups, capabilities, umask, no_new_privs.
//! Order matters and is explained where it does. (Its rlimits and oom_score_adj are
//! truman's to set, from outside: see `process::limits`.)

use std::collections::HashSet;

use caps::{CapSet, Capability as Cap};
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
use oci_spec::runtime::{Capabilities, LinuxCapabilities, User};

use super::error::{InitError, Step};

fn to_caps(set: &Option<Capabilities>) -> Result<HashSet<Cap>, InitError> {
    set.iter()
        .flatten()
        .map(|c| {
            format!("CAP_{c}").parse::<Cap>().map_err(|_| {
                InitError::Other(format!("process.capabilities: unknown capability {c}"))
            })
        })
        .collect()
}

/// Drops the bounding set first, while truman's init still has CAP_SETPCAP; changes
/// uid and gid with PR_SET_KEEPCAPS so that the permitted set survives the switch;
/// then sets the other sets exactly. `setgroups`: false where it is denied (a user
/// namespace that maps only its rootless creator's gid; the plan refused additional
/// gids there), so the groups are left as they are.
pub fn set_user_and_capabilities(
    user: &User,
    capabilities: Option<&LinuxCapabilities>,
    setgroups_allowed: bool,
) -> Result<(), InitError> {
    if let Some(c) = capabilities {
        let bounding = to_caps(c.bounding())?;
        // Dropped without asking first (one call per capability, not two): a failed
        // drop matters only if the capability is still there; one the kernel does
        // not know, or already gone, is not.
        for cap in caps::all().into_iter().filter(|c| !bounding.contains(c)) {
            if let Err(e) = caps::drop(None, CapSet::Bounding, cap) {
                if caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
                    return Err(e.into());
                }
            }
        }
    }
    nix::sys::prctl::set_keepcaps(true).step("prctl PR_SET_KEEPCAPS")?;
    let gids: Vec<Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .copied()
        .map(Gid::from_raw)
        .collect();
    match (setgroups_allowed, gids.is_empty()) {
        (true, _) => setgroups(&gids).step("setgroups")?,
        (false, true) => {}
        (false, false) => return Err(InitError::Other(
            "process.user.additionalGids: setgroups is denied in the container's user namespace"
                .into(),
        )),
    }
    let gid = Gid::from_raw(user.gid());
    setresgid(gid, gid, gid).step(format!("setresgid {}", user.gid()))?;
    let uid = Uid::from_raw(user.uid());
    setresuid(uid, uid, uid).step(format!("setresuid {}", user.uid()))?;
    nix::sys::prctl::set_keepcaps(false).step("prctl PR_SET_KEEPCAPS")?;
    if let Some(c) = capabilities {
        // capset demands effective ⊆ permitted at every step: shrink effective first.
        caps::set(None, CapSet::Inheritable, &to_caps(c.inheritable())?)?;
        caps::set(None, CapSet::Effective, &to_caps(c.effective())?)?;
        caps::set(None, CapSet::Permitted, &to_caps(c.permitted())?)?;
        caps::clear(None, CapSet::Ambient)?;
        // The kernel raises an ambient capability only if it is also permitted and
        // inheritable; runc's own default spec asks for ambient ones without the
        // inheritable set, and runc only warns. So do we.
        for cap in to_caps(c.ambient())? {
            if let Err(e) = caps::raise(None, CapSet::Ambient, cap) {
                tracing::warn!("cannot raise ambient {cap}: {e}");
            }
        }
    }
    if let Some(mask) = user.umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    Ok(())
}

pub fn set_no_new_privs() -> Result<(), InitError> {
    nix::sys::prctl::set_no_new_privs().step("prctl PR_SET_NO_NEW_PRIVS")
}
