//! `truman features`: what this build of truman can do, as runtime-spec's
//! `features.md` words it. containerd decides from it whether a pod may have a user
//! namespace (`namespaces` has "user" and `mountExtensions.idmap.enabled`) and whether
//! to ask for recursive read-only mounts (`mountOptions` has "rro"), so everything
//! listed here is something truman really does; the integration tests run a container
//! for each claim.

use std::collections::HashMap;

use oci_spec::runtime::{
    Apparmor, Cgroup, Features, IDMap, IntelRdt, LinuxFeature, LinuxNamespaceType, MemoryPolicy,
    MountExtensions, NetDevices, Selinux,
};

use crate::process::task_attributes::memory_policy as mempolicy;
use crate::spec::mount_options;

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// The oldest and newest runtime-spec versions whose configs truman runs.
pub const OCI_VERSION_MIN: &str = "1.0.0";
pub const OCI_VERSION_MAX: &str = "1.3.0";

pub fn features() -> Features {
    let mut linux = LinuxFeature::default();
    let mut cgroup = Cgroup::default();
    cgroup
        .set_v1(Some(true))
        .set_v2(Some(true))
        .set_systemd(Some(true))
        // A user's systemd manager is not talked to (rootless cgroups).
        .set_systemd_user(Some(false))
        .set_rdma(Some(true));
    let mut idmap = IDMap::default();
    idmap.set_enabled(Some(true));
    let mut mount_extensions = MountExtensions::default();
    mount_extensions.set_idmap(Some(idmap));
    let mut net_devices = NetDevices::default();
    net_devices.set_enabled(Some(true));
    let mut apparmor = Apparmor::default();
    apparmor.set_enabled(Some(true));
    let mut selinux = Selinux::default();
    selinux.set_enabled(Some(true));
    // What truman writes where the host mounts resctrl (a host without it refuses
    // `linux.intelRdt` by name).
    let mut intel_rdt = IntelRdt::default();
    intel_rdt
        .set_enabled(Some(true))
        .set_schemata(Some(true))
        .set_monitoring(Some(true));
    let mut memory_policy = MemoryPolicy::default();
    memory_policy
        .set_modes(Some(strings(&mempolicy::modes())))
        .set_flags(Some(strings(&mempolicy::FLAGS)));
    linux
        .set_namespaces(Some(namespaces()))
        .set_capabilities(Some(capabilities()))
        .set_cgroup(Some(cgroup))
        .set_seccomp(Some(crate::security::seccomp::features()))
        .set_apparmor(Some(apparmor))
        .set_selinux(Some(selinux))
        .set_net_devices(Some(net_devices))
        .set_intel_rdt(Some(intel_rdt))
        .set_memory_policy(Some(memory_policy))
        .set_mount_extensions(Some(mount_extensions));

    let mut annotations = HashMap::new();
    if let Some(version) = crate::security::seccomp::libseccomp_version() {
        annotations.insert("io.github.seccomp.libseccomp.version".to_owned(), version);
    }
    let mut features = Features::default();
    features
        .set_oci_version_min(OCI_VERSION_MIN.to_owned())
        .set_oci_version_max(OCI_VERSION_MAX.to_owned())
        .set_hooks(Some(
            hooks::HookPoint::ALL
                .iter()
                .map(|point| point.to_string())
                .collect(),
        ))
        .set_mount_options(Some(
            mount_options::supported()
                .into_iter()
                .map(String::from)
                .collect(),
        ))
        .set_linux(Some(linux))
        .set_annotations(Some(annotations));
    features
}

/// Every kind of namespace, but time where the kernel has none.
fn namespaces() -> Vec<LinuxNamespaceType> {
    use LinuxNamespaceType::*;
    let mut kinds = vec![Cgroup, Ipc, Mount, Network, Pid, User, Uts];
    if std::path::Path::new("/proc/self/ns/time").exists() {
        kinds.push(Time);
    }
    kinds
}

/// The capabilities the running kernel has, by name.
fn capabilities() -> Vec<String> {
    let mut names: Vec<String> = caps::runtime::thread_all_supported()
        .into_iter()
        .map(|c| c.to_string())
        .collect();
    names.sort();
    names
}
