//! CPU affinity, as runc ≥ 1.2 sets it. An `exec`'d process runs on
//! `execCPUAffinity.initial` from before it joins the container's cgroup (the join,
//! and what the kernel does at it, then happen on those CPUs), and on `final` from
//! right after. A process that asks for neither, the init included, does not keep
//! the affinity it inherited from truman's caller (`taskset truman run ...`): it is
//! reset to every CPU, which the kernel narrows to the cgroup's cpuset.

use nix::errno::Errno;
use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;
use oci_spec::runtime::ExecCPUAffinity;

use super::Refused;

/// The affinity after the cgroup join.
#[derive(Debug, Clone, Default)]
enum AfterJoin {
    /// Every CPU (the cgroup's, once the kernel has narrowed it).
    #[default]
    Reset,
    /// What `initial` set, as the kernel left it at the join.
    Keep,
    Cpus(CpuSet),
}

#[derive(Debug, Clone, Default)]
pub struct CpuAffinity {
    initial: Option<CpuSet>,
    after_join: AfterJoin,
}

fn cpu_set(field: &str, list: &str) -> Result<CpuSet, Refused> {
    let cpus = crate::kernel_list::parse_below(list, CpuSet::count() as u32)
        .map_err(|why| Refused::new(field, format!("{why} a CPU set holds")))?;
    let mut set = CpuSet::new();
    for cpu in cpus {
        set.set(cpu as usize)
            .map_err(|_| Refused::new(field, format!("CPU {cpu} is past the CPU set")))?;
    }
    Ok(set)
}

fn every_cpu() -> CpuSet {
    let mut set = CpuSet::new();
    for cpu in 0..CpuSet::count() {
        let _ = set.set(cpu);
    }
    set
}

impl CpuAffinity {
    pub fn reset() -> CpuAffinity {
        CpuAffinity::default()
    }

    pub fn plan(asked: Option<&ExecCPUAffinity>) -> Result<CpuAffinity, Refused> {
        let list = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        let initial = asked.and_then(|a| list(a.initial()));
        let last = asked.and_then(|a| list(a.cpu_affinity_final()));
        let initial = initial
            .map(|l| cpu_set("process.execCPUAffinity.initial", &l))
            .transpose()?;
        let after_join = match (last, &initial) {
            (Some(l), _) => AfterJoin::Cpus(cpu_set("process.execCPUAffinity.final", &l)?),
            (None, Some(_)) => AfterJoin::Keep,
            (None, None) => AfterJoin::Reset,
        };
        Ok(CpuAffinity {
            initial,
            after_join,
        })
    }

    /// Whether an initial affinity is asked: the process must then be cloned outside
    /// its cgroup and join it after.
    pub fn has_initial(&self) -> bool {
        self.initial.is_some()
    }

    /// truman, on the new process: before its cgroup join.
    pub fn apply_initial(&self, pid: Pid) -> Result<(), (String, Errno)> {
        match &self.initial {
            Some(set) => sched_setaffinity(pid, set).map_err(|e| {
                (
                    "process.execCPUAffinity.initial: sched_setaffinity".into(),
                    e,
                )
            }),
            None => Ok(()),
        }
    }

    /// The process itself, in its cgroup.
    pub fn apply_final(&self) -> Result<(), (String, Errno)> {
        let (set, field) = match &self.after_join {
            AfterJoin::Keep => return Ok(()),
            AfterJoin::Reset => (every_cpu(), "reset CPU affinity"),
            AfterJoin::Cpus(set) => (*set, "process.execCPUAffinity.final"),
        };
        sched_setaffinity(Pid::from_raw(0), &set)
            .map_err(|e| (format!("{field}: sched_setaffinity"), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(value: serde_json::Value) -> Result<CpuAffinity, Refused> {
        CpuAffinity::plan(Some(&serde_json::from_value(value).unwrap()))
    }

    #[test]
    fn final_wins_and_initial_alone_is_kept_after_the_join() {
        let both = plan(json!({"initial": "0", "final": "1-2"})).unwrap();
        assert!(both.initial.unwrap().is_set(0).unwrap());
        let AfterJoin::Cpus(last) = both.after_join else {
            panic!("final ignored")
        };
        assert!(last.is_set(1).unwrap() && last.is_set(2).unwrap() && !last.is_set(0).unwrap());
        assert!(matches!(
            plan(json!({"initial": "0"})).unwrap().after_join,
            AfterJoin::Keep
        ));
        assert!(matches!(
            plan(json!({})).unwrap().after_join,
            AfterJoin::Reset
        ));
    }

    #[test]
    fn a_cpu_past_the_set_is_refused_by_name() {
        let refused = plan(json!({"final": "5000"})).unwrap_err();
        assert_eq!(refused.field, "process.execCPUAffinity.final");
    }
}
