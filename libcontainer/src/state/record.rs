//! What truman remembers of one container, in `<root>/<id>/state.json`.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use oci_spec::runtime::{Hooks, LinuxDeviceCgroup, LinuxSeccomp, Process};
use serde::{Deserialize, Serialize};

use crate::process::ProcessIdentity;

/// Everything needed to find and undo what a container owns, even after truman was
/// killed half-way through `create`: the record is written before the cgroup or the
/// init exist, and updated as each appears.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateRecord {
    pub oci_version: String,
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
    /// The cgroup path as given to the cgroup manager (relative to each hierarchy root),
    /// resolved at `create`.
    pub cgroup_path: PathBuf,
    /// Who manages that cgroup: truman through cgroupfs, or systemd.
    #[serde(default)]
    pub cgroup_driver: crate::cgroups::Driver,
    /// The cgroup existed before the container: it is not the container's to remove.
    #[serde(default)]
    pub cgroup_preexisted: bool,
    /// The `create` (or `run`) process while it is still setting the container up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<ProcessIdentity>,
    /// The container's init, once it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<ProcessIdentity>,
    /// The processes `exec` started in a container without a cgroup, which nothing
    /// else finds once they are not the init's (their parent is exec's caller).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exec_processes: Vec<ProcessIdentity>,
    /// Whether the init has a PID namespace made for it (joined by path is not its
    /// own, as runc counts it): without one, stopping the container
    /// means signalling every process of its cgroup, not only the init.
    #[serde(default)]
    pub private_pid_ns: bool,
    /// The hooks that run after `create` returns (poststart, poststop), kept here because
    /// the bundle may be gone by then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Hooks>,
    /// The container's `process`: what `exec` starts from (its capabilities, rlimits,
    /// user, environment), kept for the same reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    /// `linux.seccomp`: exec'd processes get the container's filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<LinuxSeccomp>,
    /// Created with `--no-new-keyring`: exec'd processes join no keyring either.
    #[serde(default)]
    pub no_new_keyring: bool,
    /// `linux.resources.devices`: an `update` on cgroup v2 rebuilds the device
    /// program from them, since it cannot change the rest of a program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_rules: Option<Vec<LinuxDeviceCgroup>>,
    /// `linux.intelRdt`: the container's resctrl group, removed with the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intel_rdt: Option<crate::intelrdt::RdtGroup>,
    /// `linux.personality` and `linux.memoryPolicy`: container-wide, so an `exec`'d
    /// process gets them too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personality: Option<oci_spec::runtime::LinuxPersonality>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_policy: Option<oci_spec::runtime::LinuxMemoryPolicy>,
    /// What the init's fds 0, 1 and 2 were as it started (their `/proc/<pid>/fd`
    /// links): a checkpoint's `descriptors.json`, from which podman and containerd
    /// wire new pipes on restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdio: Option<Vec<String>>,
    /// The bundle's `config.json` as `create` read it: `checkpoint` reads the bundle
    /// again, and refuses one that changed since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_stamp: Option<crate::spec::ConfigStamp>,
}
