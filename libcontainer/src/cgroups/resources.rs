//! Applying `linux.resources` to the live cgroup: at `create`, before the user
//! process runs, and at `update`. libcgroups writes the controllers it knows; this
//! file adds what it lacks (rdma, per-device blkio weights, memory.use_hierarchy,
//! checkBeforeUpdate, hugetlb on a hybrid host's cgroup2 tree) and refuses, naming
//! the field, what the host cannot do.

use std::path::{Path, PathBuf};

use libcgroups::common::{CgroupManager, ControllerOpt};
use oci_spec::runtime::{
    LinuxDeviceCgroup, LinuxHugepageLimit, LinuxMemory, LinuxRdma, LinuxResources,
};

use super::hierarchy::{Hierarchy, Kind};
use super::{Cgroup, CgroupError};

/// The values of `resources` that become parts of file names below the container's
/// cgroup directory (`unified` keys, hugetlb page sizes) must not reach any other
/// file: checked when a spec is loaded and again for every `update`.
pub fn check_file_names(resources: &LinuxResources) -> Result<(), (String, String)> {
    if let Some(key) = resources
        .unified()
        .iter()
        .flat_map(|u| u.keys())
        .find(|k| k.is_empty() || k.contains('/') || *k == "." || *k == "..")
    {
        return Err((
            "linux.resources.unified".into(),
            format!("{key:?} is not the name of a cgroup file"),
        ));
    }
    for (i, limit) in resources.hugepage_limits().iter().flatten().enumerate() {
        let size = limit.page_size();
        let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let unit = &size[digits.len()..];
        let valid = !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit())
            && matches!(unit, "KB" | "MB" | "GB" | "TB" | "PB");
        if !valid {
            return Err((
                format!("linux.resources.hugepageLimits[{i}].pageSize"),
                format!("{size:?} is not a page size such as \"2MB\" or \"1GB\""),
            ));
        }
    }
    Ok(())
}

impl Cgroup {
    /// The v1 hierarchy that carries `controller`, if the host mounts one.
    pub(super) fn v1_hierarchy(&self, controller: &str) -> Option<&Hierarchy> {
        self.hierarchies
            .iter()
            .find(|h| h.kind == Kind::Controllers && h.options.split(',').any(|o| o == controller))
    }

    /// The container's directory for `controller`: its v1 hierarchy, or on cgroup v2
    /// (and a hybrid host's cgroup2 tree) the one directory where the controller is
    /// enabled. `None` when the host has no such controller.
    pub(super) fn controller_dir(&self, controller: &str) -> Option<PathBuf> {
        if let Some(h) = self.v1_hierarchy(controller) {
            return Some(h.dir_of(&self.dir));
        }
        let root = match self.hybrid_unified() {
            Some(h) => h.mount_point.clone(),
            None if self.hierarchies.is_empty() => self.unified_root.clone(),
            None => return None,
        };
        let available = std::fs::read_to_string(root.join("cgroup.controllers")).ok()?;
        available
            .split_whitespace()
            .any(|c| c == controller)
            .then(|| root.join(self.dir.strip_prefix("/").unwrap_or(&self.dir)))
    }

    /// Applies an `update`. As in runc, the device rules stay the container's own
    /// (`device_rules`, from its spec) whatever the update says: on v1 libcgroups
    /// then only re-adds its default allow rules, while on v2 it replaces the whole
    /// device program, which must be rebuilt from the same rules.
    pub fn update(
        &self,
        resources: &LinuxResources,
        device_rules: Option<&[LinuxDeviceCgroup]>,
    ) -> Result<(), CgroupError> {
        let mut resources = resources.clone();
        // containerd passes the container's whole resources, device rules included,
        // to every update: the same rules go unmentioned, other ones are not applied
        // (runc skips devices at update altogether) and the log says so.
        if let Some(asked) = resources.devices().as_deref() {
            let own = device_rules.map(super::devices::wildcards_resolved);
            if own.as_deref().unwrap_or_default() != super::devices::wildcards_resolved(asked) {
                tracing::warn!(
                    "linux.resources.devices: update cannot change a container's device rules (as runc); its own are kept"
                );
            }
        }
        let unified = self.hierarchies.is_empty();
        resources.set_devices(device_rules.filter(|_| unified).map(<[_]>::to_vec));
        self.apply(&resources)
    }

    /// Applies `resources` to the cgroup, which must exist (see [`Cgroup::add`]).
    pub fn apply(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        let v1 = !self.hierarchies.is_empty();
        let unified_map = resources.unified().as_ref().filter(|u| !u.is_empty());
        if v1 && unified_map.is_some() {
            // As runc: the unified map names cgroup v2 files.
            return Err(self.refused(
                "linux.resources.unified",
                "cannot be used on a cgroup v1 host",
            ));
        }
        if let Err((field, why)) = check_file_names(resources) {
            return Err(self.refused(&field, &why));
        }
        self.check_memory_before_update(resources)?;
        if v1 {
            self.check_blkio_weights(resources)?;
        }
        check_kernel_memory(resources, v1).map_err(|(field, why)| self.refused(field, why))?;

        let mut for_libcgroups = resources.clone();
        let devices = resources
            .devices()
            .as_deref()
            .map(super::devices::wildcards_resolved);
        for_libcgroups.set_devices(devices.clone());
        // libcgroups has no rdma controller, its v1 manager finds hugetlb only on a
        // v1 mount, and it asks for both net_cls and net_prio whichever of the two a
        // network limit needs: those are written here.
        for_libcgroups.set_rdma(None);
        for_libcgroups.set_network(None);
        for_libcgroups.set_memory(resources.memory().as_ref().map(without_zero_kernel_limits));
        let hugepages = resources
            .hugepage_limits()
            .as_ref()
            .filter(|l| !l.is_empty());
        let hugetlb_elsewhere = v1 && self.v1_hierarchy("hugetlb").is_none();
        if hugetlb_elsewhere {
            for_libcgroups.set_hugepage_limits(None);
        }
        let disable_oom_killer = resources
            .memory()
            .as_ref()
            .and_then(|m| m.disable_oom_killer())
            .unwrap_or(false);
        let devices_v1 = self
            .v1_hierarchy("devices")
            .filter(|_| self.driver == super::Driver::Cgroupfs);
        if let (Some(rules), Some(hierarchy)) = (&devices, devices_v1) {
            let dir = hierarchy.dir_of(&self.dir);
            super::devices::apply_v1(&dir, rules).map_err(|e| {
                CgroupError::new(&dir, "apply linux.resources.devices", e.to_string())
            })?;
            for_libcgroups.set_devices(None);
        }
        if devices_v1.is_none() || needs_v1_manager(&for_libcgroups) {
            self.manager()?
                .apply(&ControllerOpt {
                    resources: &for_libcgroups,
                    disable_oom_killer,
                    oom_score_adj: None,
                    freezer_state: None,
                })
                .map_err(self.manager_error("apply linux.resources"))?;
        }
        if self.driver == super::Driver::Systemd {
            // libcgroups' systemd manager sets no device policy: without this, the
            // scope would allow every device.
            libcgroups::v2::devices::Devices::apply_devices(&self.unified_dir(), &devices)
                .map_err(|e| {
                    CgroupError::new(&self.path, "apply linux.resources.devices", e.to_string())
                })?;
        }

        if v1 {
            self.apply_v1_extras(resources)?;
        }
        if let Some(limits) = hugepages.filter(|_| hugetlb_elsewhere) {
            self.apply_hybrid_hugetlb(limits)?;
        }
        if let Some(rdma) = resources.rdma().as_ref().filter(|r| !r.is_empty()) {
            let dir = self.controller_dir("rdma").ok_or_else(|| {
                self.refused(
                    "linux.resources.rdma",
                    "this host has no rdma cgroup controller",
                )
            })?;
            // The kernel takes one device per write.
            for line in rdma_max(rdma) {
                write(&dir.join("rdma.max"), &line)?;
            }
        }
        Ok(())
    }

    fn refused(&self, field: &str, why: &str) -> CgroupError {
        CgroupError::new(
            &self.path,
            "apply linux.resources",
            format!("{field}: {why}"),
        )
    }

    /// What libcgroups' v1 manager leaves out of `blockIO`, `memory` and `network`.
    /// (cgroup v2 has no network controllers; runc ignores `network` there too.)
    fn apply_v1_extras(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        if let Some(network) = resources.network() {
            let dir = |controller: &str, field: &str| {
                self.v1_hierarchy(controller)
                    .map(|h| h.dir_of(&self.dir))
                    .ok_or_else(|| {
                        self.refused(
                            field,
                            &format!("this host has no {controller} cgroup controller"),
                        )
                    })
            };
            if let Some(class_id) = network.class_id().filter(|id| *id != 0) {
                let dir = dir("net_cls", "linux.resources.network.classID")?;
                write(&dir.join("net_cls.classid"), &class_id.to_string())?;
            }
            let priorities = network.priorities().as_deref().unwrap_or_default();
            if !priorities.is_empty() {
                let dir = dir("net_prio", "linux.resources.network.priorities")?;
                for p in priorities {
                    let line = format!("{} {}", p.name(), p.priority());
                    write(&dir.join("net_prio.ifpriomap"), &line)?;
                }
            }
        }
        if let Some(blkio) = resources.block_io() {
            let dir = self.v1_hierarchy("blkio").map(|h| h.dir_of(&self.dir));
            let needs_dir = blkio.leaf_weight().is_some()
                || blkio
                    .weight_device()
                    .as_ref()
                    .is_some_and(|d| !d.is_empty());
            if let (Some(dir), true) = (&dir, needs_dir) {
                if let Some(weight) = blkio.leaf_weight() {
                    write(&dir.join("blkio.leaf_weight"), &weight.to_string())?;
                }
                // Without CFQ, the BFQ scheduler has the per-device weights.
                let file = ["blkio.weight_device", "blkio.bfq.weight_device"]
                    .into_iter()
                    .map(|f| dir.join(f))
                    .find(|f| f.exists())
                    .unwrap_or_else(|| dir.join("blkio.weight_device"));
                for device in blkio.weight_device().iter().flatten() {
                    if let Some(weight) = device.weight() {
                        let line = format!("{}:{} {weight}", device.major(), device.minor());
                        write(&file, &line)?;
                    }
                    if let Some(weight) = device.leaf_weight() {
                        let line = format!("{}:{} {weight}", device.major(), device.minor());
                        write(&dir.join("blkio.leaf_weight_device"), &line)?;
                    }
                }
            } else if needs_dir {
                return Err(self.refused(
                    "linux.resources.blockIO",
                    "this host has no blkio cgroup controller",
                ));
            }
        }
        let use_hierarchy = resources.memory().as_ref().and_then(|m| m.use_hierarchy());
        let memory_dir = self.v1_hierarchy("memory").map(|h| h.dir_of(&self.dir));
        if let (Some(on), Some(dir)) = (use_hierarchy, memory_dir) {
            let file = dir.join("memory.use_hierarchy");
            let current = std::fs::read_to_string(&file).unwrap_or_default();
            let wanted = if on { "1" } else { "0" };
            // Recent kernels are always hierarchical and refuse "0"; runc never writes
            // this file, so a spec asking for flat accounting must not fail here either.
            if current.trim() != wanted {
                if let Err(e) = write(&file, wanted) {
                    tracing::warn!("linux.resources.memory.useHierarchy: {e}");
                }
            }
        }
        Ok(())
    }

    /// A blkio weight needs a proportional-weight I/O scheduler: CFQ (gone since Linux
    /// 5.0) gave `blkio.weight`, BFQ gives `blkio.bfq.weight`, and a host with neither
    /// has no file to write. The kernel's ENOENT would name a file; this names the field.
    fn check_blkio_weights(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        let Some(blkio) = resources.block_io() else {
            return Ok(());
        };
        let Some(dir) = self.v1_hierarchy("blkio").map(|h| h.dir_of(&self.dir)) else {
            return Ok(());
        };
        let has = |files: &[&str]| files.iter().any(|f| dir.join(f).exists());
        let devices = blkio.weight_device().as_deref().unwrap_or_default();
        let wanted = [
            (
                "linux.resources.blockIO.weight",
                blkio.weight().is_some_and(|w| w != 0),
                &["blkio.weight", "blkio.bfq.weight"][..],
            ),
            (
                "linux.resources.blockIO.weightDevice",
                devices.iter().any(|d| d.weight().is_some()),
                &["blkio.weight_device", "blkio.bfq.weight_device"][..],
            ),
            (
                "linux.resources.blockIO.leafWeight",
                blkio.leaf_weight().is_some(),
                &["blkio.leaf_weight"][..],
            ),
            (
                "linux.resources.blockIO.weightDevice",
                devices.iter().any(|d| d.leaf_weight().is_some()),
                &["blkio.leaf_weight_device"][..],
            ),
        ];
        match wanted
            .iter()
            .find(|(_, asked, files)| *asked && !has(files))
        {
            Some((field, _, files)) => Err(self.refused(
                field,
                &format!(
                    "this host's blkio cgroup has no {} (no CFQ or BFQ I/O scheduler)",
                    files.join(" or ")
                ),
            )),
            None => Ok(()),
        }
    }

    /// `memory.checkBeforeUpdate`: a limit below what the container already uses is
    /// refused instead of making the kernel reclaim or OOM-kill to reach it.
    fn check_memory_before_update(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        let Some(memory) = resources.memory() else {
            return Ok(());
        };
        let (Some(true), Some(limit)) = (memory.check_before_update(), memory.limit()) else {
            return Ok(());
        };
        if limit <= 0 {
            return Ok(());
        }
        let Some(dir) = self.controller_dir("memory") else {
            return Ok(());
        };
        let usage = ["memory.current", "memory.usage_in_bytes"]
            .iter()
            .find_map(|f| std::fs::read_to_string(dir.join(f)).ok())
            .and_then(|s| s.trim().parse::<u64>().ok());
        match usage {
            Some(usage) if (limit as u64) <= usage => Err(self.refused(
                "linux.resources.memory.checkBeforeUpdate",
                &format!("rejecting memory limit {limit} <= usage {usage}"),
            )),
            _ => Ok(()),
        }
    }

    /// On a hybrid host hugetlb may live on the cgroup2 tree alone. Its limits are
    /// written there, after the controller is enabled for every ancestor of the
    /// container's cgroup (a cgroup2 controller reaches a child only that way).
    fn apply_hybrid_hugetlb(&self, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
        let no_hugetlb = || {
            self.refused(
                "linux.resources.hugepageLimits",
                "this host has no hugetlb cgroup controller",
            )
        };
        let unified = self.hybrid_unified().ok_or_else(no_hugetlb)?;
        let root = &unified.mount_point;
        let available =
            std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
        if !available.split_whitespace().any(|c| c == "hugetlb") {
            return Err(no_hugetlb());
        }
        let relative = self.dir.strip_prefix("/").unwrap_or(&self.dir);
        let mut dir = root.clone();
        for component in relative.components() {
            enable_controller(&dir, "hugetlb")?;
            dir.push(component);
        }
        // Written here rather than through libcgroups' v2 manager, whose apply also
        // loads a device program, which a hybrid host's v1 devices cgroup already does.
        for limit in limits {
            let size = limit.page_size();
            let max = dir.join(format!("hugetlb.{size}.max"));
            if !max.exists() {
                return Err(self.refused(
                    "linux.resources.hugepageLimits",
                    &format!("page size {size:?} is not one this host supports"),
                ));
            }
            write(&max, &limit.limit().to_string())?;
            let reserved = dir.join(format!("hugetlb.{size}.rsvd.max"));
            if reserved.exists() {
                write(&reserved, &limit.limit().to_string())?;
            }
        }
        Ok(())
    }
}

/// A kernel memory limit of 0 is no limit, as runc reads it: docker's `update` sends
/// `"kernel": 0` whatever was asked, and libcgroups would write the 0.
/// Whether libcgroups' v1 manager has anything to write for `resources` beyond the
/// device rules (written without it): the controllers it handles that this file
/// does not. Its own default device rules need no manager at `create`, where they
/// go with the spec's.
fn needs_v1_manager(resources: &LinuxResources) -> bool {
    resources.devices().is_some()
        || resources.memory().is_some()
        || resources.cpu().is_some()
        || resources.pids().is_some()
        || resources.block_io().is_some()
        || resources
            .hugepage_limits()
            .as_ref()
            .is_some_and(|l| !l.is_empty())
}

fn without_zero_kernel_limits(memory: &LinuxMemory) -> LinuxMemory {
    let mut memory = *memory;
    memory.set_kernel(memory.kernel().filter(|&k| k != 0));
    memory.set_kernel_tcp(memory.kernel_tcp().filter(|&k| k != 0));
    memory
}

/// Kernel memory limits are gone: cgroup v2 never had them, v1 has no TCP one there,
/// and since Linux 6.1 a v1 `memory.kmem.limit_in_bytes` takes any value and ignores
/// it. runc ignores both fields with a warning; here they are refused by name.
fn check_kernel_memory(
    resources: &LinuxResources,
    v1: bool,
) -> Result<(), (&'static str, &'static str)> {
    let Some(memory) = resources.memory().as_ref().map(without_zero_kernel_limits) else {
        return Ok(());
    };
    if memory.kernel().is_some() {
        if !v1 {
            return Err((
                "linux.resources.memory.kernel",
                "cgroup v2 has no kernel memory limit",
            ));
        }
        if crate::kernel_version::at_least(6, 1) {
            return Err((
                "linux.resources.memory.kernel",
                "Linux 6.1 and later ignore kernel memory limits (memory.kmem.limit_in_bytes)",
            ));
        }
    }
    if memory.kernel_tcp().is_some() && !v1 {
        return Err((
            "linux.resources.memory.kernelTCP",
            "cgroup v2 has no kernel TCP memory limit",
        ));
    }
    Ok(())
}

/// Adds `controller` to `dir/cgroup.subtree_control` unless it is already there.
fn enable_controller(dir: &Path, controller: &str) -> Result<(), CgroupError> {
    let file = dir.join("cgroup.subtree_control");
    let enabled = std::fs::read_to_string(&file).unwrap_or_default();
    if enabled.split_whitespace().any(|c| c == controller) {
        return Ok(());
    }
    write(&file, &format!("+{controller}"))
}

/// The `rdma.max` lines, one per device, naming only the limits given, as runc writes
/// them (v1 and v2 share the format).
fn rdma_max(rdma: &std::collections::HashMap<String, LinuxRdma>) -> Vec<String> {
    let mut devices: Vec<_> = rdma.iter().collect();
    devices.sort_by(|a, b| a.0.cmp(b.0));
    devices
        .into_iter()
        .map(|(device, limits)| {
            let mut line = device.clone();
            if let Some(n) = limits.hca_handles() {
                line.push_str(&format!(" hca_handle={n}"));
            }
            if let Some(n) = limits.hca_objects() {
                line.push_str(&format!(" hca_object={n}"));
            }
            line
        })
        .collect()
}

fn write(file: &Path, value: &str) -> Result<(), CgroupError> {
    std::fs::write(file, value)
        .map_err(|e| CgroupError::new(file, "write", format!("{value:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxRdmaBuilder;

    #[test]
    fn names_that_would_leave_the_cgroup_directory_are_refused() {
        let parse = |v: serde_json::Value| -> LinuxResources { serde_json::from_value(v).unwrap() };
        let ok = parse(serde_json::json!({
            "unified": { "memory.max": "1" },
            "hugepageLimits": [{ "pageSize": "2MB", "limit": 1 }, { "pageSize": "64KB", "limit": 1 }]
        }));
        assert_eq!(check_file_names(&ok), Ok(()));
        for (bad, field) in [
            (
                serde_json::json!({ "unified": { "../cpu.max": "1" } }),
                "linux.resources.unified",
            ),
            (
                serde_json::json!({ "unified": { "..": "1" } }),
                "linux.resources.unified",
            ),
            (
                serde_json::json!({ "hugepageLimits": [{ "pageSize": "2MB/../../x", "limit": 1 }] }),
                "linux.resources.hugepageLimits[0].pageSize",
            ),
            (
                serde_json::json!({ "hugepageLimits": [{ "pageSize": "MB", "limit": 1 }] }),
                "linux.resources.hugepageLimits[0].pageSize",
            ),
        ] {
            let (got, _) = check_file_names(&parse(bad.clone())).unwrap_err();
            assert_eq!(got, field, "{bad}");
        }
    }

    #[test]
    fn rdma_limits_are_one_line_per_device_naming_the_limits_given() {
        let mut rdma = std::collections::HashMap::new();
        rdma.insert(
            "mlx5_1".to_owned(),
            LinuxRdmaBuilder::default()
                .hca_handles(3u32)
                .build()
                .unwrap(),
        );
        rdma.insert(
            "mlx4_0".to_owned(),
            LinuxRdmaBuilder::default()
                .hca_handles(2u32)
                .hca_objects(2000u32)
                .build()
                .unwrap(),
        );
        assert_eq!(
            rdma_max(&rdma),
            ["mlx4_0 hca_handle=2 hca_object=2000", "mlx5_1 hca_handle=3"]
        );
    }
}
