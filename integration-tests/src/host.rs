//! What the host sees: our own namespaces, cgroup directories.

use std::path::{Path, PathBuf};

/// Parent cgroup (relative to each hierarchy's root) of every container the
/// tests create, so a leftover is easy to find and never lands inside a
/// cgroup the tests did not create.
pub const CGROUP_TEST_PARENT: &str = "truman-test";

/// The `linux.cgroupsPath` a [`crate::Bundle`] made for container `id` uses.
pub fn test_cgroups_path(id: &str) -> String {
    format!("/{CGROUP_TEST_PARENT}/{id}")
}

/// Cgroup directories named after `id` that exist under any mounted
/// hierarchy (`/sys/fs/cgroup/<controller>/truman-test/<id>`, including the
/// v2 `unified` one). Empty once the runtime has cleaned up.
pub fn leftover_cgroups(id: &str) -> Vec<PathBuf> {
    let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") else {
        return Vec::new();
    };
    let mut leftovers: Vec<PathBuf> = hierarchies
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path().join(CGROUP_TEST_PARENT).join(id))
        .filter(|dir| dir.is_dir())
        .collect();
    // A pure cgroup2 host has the container's cgroup right below the mount.
    let unified = Path::new("/sys/fs/cgroup")
        .join(CGROUP_TEST_PARENT)
        .join(id);
    if unified.is_dir() && !leftovers.contains(&unified) {
        leftovers.push(unified);
    }
    leftovers.sort();
    leftovers
}

/// `readlink /proc/self/ns/<kind>` of the test process, e.g.
/// `host_ns("net")` is `net:[4026531840]`. `kind` is the name under
/// `/proc/self/ns` (`mnt`, `net`, ...), not the config's (`mount`, `network`).
pub fn host_ns(kind: &str) -> String {
    let link = format!("/proc/self/ns/{kind}");
    std::fs::read_link(&link)
        .unwrap_or_else(|e| panic!("readlink {link}: {e}"))
        .to_string_lossy()
        .into_owned()
}

/// Whether the host mounts a cgroup v1 hierarchy carrying `controller`. Asked of the
/// mount table, not of `/sys/fs/cgroup/<controller>`: podman leaves empty directories
/// there for controllers the host does not have.
pub fn host_has_v1_controller(controller: &str) -> bool {
    crate::mountinfo::own_mounts()
        .iter()
        .any(|m| m.fstype == "cgroup" && m.super_options.iter().any(|o| o == controller))
}

/// The host's uptime in whole seconds, as `/proc/uptime` gives it (and as a
/// container's `cut -d. -f1 /proc/uptime` prints it).
pub fn host_uptime_secs() -> u64 {
    let text = std::fs::read_to_string("/proc/uptime").expect("read /proc/uptime");
    text.split('.')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("/proc/uptime holds {text:?}"))
}
