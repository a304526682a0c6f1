//! Who runs truman, read once per command for the [`super::plan`].

use caps::{CapSet, Capability};

use super::plan::Caller;

impl Caller {
    /// The running truman.
    pub fn of_truman() -> Caller {
        let uid = nix::unistd::geteuid().as_raw();
        let has = |cap| caps::has_cap(None, CapSet::Effective, cap).unwrap_or(false);
        Caller {
            uid,
            gid: nix::unistd::getegid().as_raw(),
            capable: uid == 0
                && [
                    Capability::CAP_SYS_ADMIN,
                    Capability::CAP_SETUID,
                    Capability::CAP_SETGID,
                ]
                .into_iter()
                .all(has),
            in_initial_userns: in_initial_user_namespace(),
        }
    }
}

impl Caller {
    /// The host's root: capable in the initial user namespace.
    pub fn is_real_root(&self) -> bool {
        self.capable && self.in_initial_userns
    }
}

/// Whether truman runs in the host's initial user namespace, the one whose map is
/// the identity over every id. Rootless podman runs its runtime as root of a user
/// namespace of its own.
pub fn in_initial_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .map(|map| map.split_whitespace().eq(["0", "0", "4294967295"]))
        .unwrap_or(true)
}
