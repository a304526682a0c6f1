//! `update`: new resource limits for a live container's cgroup, and new schemata for
//! its resctrl group.

use oci_spec::runtime::{LinuxIntelRdt, LinuxResources};

use super::status::status_of;
use crate::id::ContainerId;
use crate::intelrdt::{self, Resctrl};
use crate::state::{StateStore, Status};
use crate::{Error, Result};

/// `update --l3-cache-schema` and `--mem-bw-schema`: Intel RDT schemata, which runc
/// takes with `--resources` too.
#[derive(Debug, Clone, Default)]
pub struct RdtSchemas {
    pub l3_cache_schema: Option<String>,
    pub mem_bw_schema: Option<String>,
}

/// Applies `resources` (only the fields it sets) to the container's cgroup, and the
/// schemata given to its resctrl group. A paused container may be updated; a stopped
/// one has no cgroup left to change.
pub fn update(
    store: &StateStore,
    id: &str,
    resources: &LinuxResources,
    schemas: &RdtSchemas,
) -> Result<()> {
    let id = ContainerId::parse(id)?;
    let dir = store.open(&id)?;
    let mut record = dir.load()?;
    if matches!(
        status_of(&record, &dir.fifo_path()),
        Status::Stopped | Status::Creating
    ) {
        return Err(Error::NotRunning);
    }
    // Refused before anything changes, with runc's words.
    let given = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let (l3, mb) = (
        given(&schemas.l3_cache_schema),
        given(&schemas.mem_bw_schema),
    );
    let resctrl = Resctrl::find();
    if l3.is_some() && !resctrl.as_ref().is_some_and(Resctrl::has_cat) {
        return Err(Error::Usage(
            "Intel RDT/CAT: l3 cache schema is not enabled".into(),
        ));
    }
    if mb.is_some() && !resctrl.as_ref().is_some_and(Resctrl::has_mba) {
        return Err(Error::Usage(
            "Intel RDT/MBA: memory bandwidth schema is not enabled".into(),
        ));
    }
    super::members::cgroup_for(&record, "update")?
        .update(resources, record.device_rules.as_deref())?;
    if l3.is_none() && mb.is_none() {
        return Ok(());
    }
    let group = match &record.intel_rdt {
        Some(group) => group.clone(),
        None => {
            // As runc: a container made without intelRdt gets its own group now, with
            // its init in it (what the init forked before stays where it is).
            let init = record.init.as_ref().ok_or(Error::NotRunning)?;
            let plan = intelrdt::plan(&LinuxIntelRdt::default(), &id, resctrl.as_ref())?;
            record.intel_rdt = Some(plan.group.clone());
            dir.save(&record)?;
            plan.apply(init.pid)?;
            plan.group
        }
    };
    let text: Vec<String> = l3.into_iter().chain(mb).collect();
    group.write_schemata(&text.join("\n"))?;
    Ok(())
}

/// `update`'s single-value flags, each `None` when not given (runc's names in
/// comments where they differ).
#[derive(Debug, Clone, Default)]
pub struct ResourceFlags {
    pub blkio_weight: Option<u16>,
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_burst: Option<u64>,
    /// `--cpu-share`
    pub cpu_shares: Option<u64>,
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub cpu_idle: Option<i64>,
    pub memory: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub memory_swap: Option<i64>,
    pub pids_limit: Option<i64>,
}

impl ResourceFlags {
    /// The resources these flags set, and nothing else.
    pub fn to_resources(&self) -> LinuxResources {
        use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids};
        let mut resources = LinuxResources::default();
        if let Some(weight) = self.blkio_weight {
            let mut blkio = LinuxBlockIo::default();
            blkio.set_weight(Some(weight));
            resources.set_block_io(Some(blkio));
        }
        let cpu_given = self.cpu_period.is_some()
            || self.cpu_quota.is_some()
            || self.cpu_burst.is_some()
            || self.cpu_shares.is_some()
            || self.cpu_rt_period.is_some()
            || self.cpu_rt_runtime.is_some()
            || self.cpuset_cpus.is_some()
            || self.cpuset_mems.is_some()
            || self.cpu_idle.is_some();
        if cpu_given {
            let mut cpu = LinuxCpu::default();
            cpu.set_period(self.cpu_period);
            cpu.set_quota(self.cpu_quota);
            cpu.set_burst(self.cpu_burst);
            cpu.set_shares(self.cpu_shares);
            cpu.set_realtime_period(self.cpu_rt_period);
            cpu.set_realtime_runtime(self.cpu_rt_runtime);
            cpu.set_cpus(self.cpuset_cpus.clone());
            cpu.set_mems(self.cpuset_mems.clone());
            cpu.set_idle(self.cpu_idle);
            resources.set_cpu(Some(cpu));
        }
        if self.memory.is_some() || self.memory_reservation.is_some() || self.memory_swap.is_some()
        {
            let mut memory = LinuxMemory::default();
            memory.set_limit(self.memory);
            memory.set_reservation(self.memory_reservation);
            memory.set_swap(self.memory_swap);
            resources.set_memory(Some(memory));
        }
        if let Some(limit) = self.pids_limit {
            let mut pids = LinuxPids::default();
            pids.set_limit(limit);
            resources.set_pids(Some(pids));
        }
        resources
    }
}

/// A `LinuxResources` object from `update --resources`, refused with its parse error.
pub fn parse_resources(text: &str, source: &str) -> Result<LinuxResources> {
    serde_json::from_str(text)
        .map_err(|e| Error::Usage(format!("parse resources from {source}: {e}")))
}
