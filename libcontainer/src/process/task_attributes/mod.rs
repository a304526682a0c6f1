//! What the kernel keeps per task that a config sets, besides credentials and
//! limits: the scheduling policy (`process.scheduler`), the I/O priority
//! (`process.ioPriority`), the CPU affinity (`process.execCPUAffinity`, and runc's
//! reset of an inherited one), the execution domain (`linux.personality`) and the
//! NUMA memory policy (`linux.memoryPolicy`).
//!
//! Everything is checked and turned into the kernel's values in truman, before
//! anything exists, so that a field the kernel cannot take is refused by name; the
//! container's process applies it on itself once it is in the container's cgroup,
//! before it drops its capabilities (a negative nice and a real-time policy need
//! CAP_SYS_NICE).

mod cpu_affinity;
mod io_priority;
pub mod memory_policy;
mod personality;
mod scheduler;

use std::fmt;

use nix::errno::Errno;
use nix::unistd::Pid;
use oci_spec::runtime::{Linux, Process};

pub use cpu_affinity::CpuAffinity;
use io_priority::IoPriority;
use memory_policy::MemoryPolicy;
use personality::Personality;
use scheduler::SchedAttr;

/// A field the kernel would not take, found before anything was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub field: String,
    pub why: String,
}

impl Refused {
    fn new(field: impl Into<String>, why: impl Into<String>) -> Refused {
        Refused {
            field: field.into(),
            why: why.into(),
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.why)
    }
}

/// A raw syscall's return as the `(step, errno)` the apply functions give.
fn called(rc: libc::c_long, step: &str) -> Result<(), (String, Errno)> {
    Errno::result(rc)
        .map(drop)
        .map_err(|e| (step.to_owned(), e))
}

/// Which process of the container the attributes are for: `execCPUAffinity` applies
/// to `exec`'d processes only (runtime-spec: "not applicable to the container's
/// init process"), whose affinity runc resets like the init's when it asks nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForProcess {
    Init,
    Exec,
}

#[derive(Debug, Clone, Default)]
pub struct TaskAttributes {
    scheduler: Option<SchedAttr>,
    io_priority: Option<IoPriority>,
    affinity: CpuAffinity,
    personality: Option<Personality>,
    memory_policy: Option<MemoryPolicy>,
}

impl TaskAttributes {
    /// `linux` gives the container-wide fields (personality, memory policy): the
    /// config's for the init, the ones recorded at create for an `exec`.
    pub fn plan(
        process: &Process,
        personality: Option<&oci_spec::runtime::LinuxPersonality>,
        memory_policy: Option<&oci_spec::runtime::LinuxMemoryPolicy>,
        which: ForProcess,
    ) -> Result<TaskAttributes, Refused> {
        Ok(TaskAttributes {
            scheduler: process
                .scheduler()
                .as_ref()
                .map(SchedAttr::plan)
                .transpose()?,
            io_priority: process.io_priority().map(IoPriority::plan).transpose()?,
            affinity: {
                // Checked for the init too: `exec` takes the config's by default.
                let asked = CpuAffinity::plan(process.exec_cpu_affinity().as_ref())?;
                match which {
                    ForProcess::Init => CpuAffinity::reset(),
                    ForProcess::Exec => asked,
                }
            },
            personality: personality.map(Personality::plan).transpose()?,
            memory_policy: memory_policy
                .map(|p| MemoryPolicy::plan(p, &memory_policy::host_nodes()))
                .transpose()?,
        })
    }

    /// The attributes of a config's init.
    pub fn of_init(process: &Process, linux: Option<&Linux>) -> Result<TaskAttributes, Refused> {
        TaskAttributes::plan(
            process,
            linux.and_then(|l| l.personality().as_ref()),
            linux.and_then(|l| l.memory_policy().as_ref()),
            ForProcess::Init,
        )
    }

    /// Run by truman on the new process before it joins the container's cgroup.
    /// Whether something must happen before the process joins its cgroup: it is then
    /// not born in it.
    pub fn acts_before_cgroup(&self) -> bool {
        self.affinity.has_initial()
    }

    pub fn before_cgroup(&self, pid: Pid) -> Result<(), (String, Errno)> {
        self.affinity.apply_initial(pid)
    }

    /// Run by the container's process on itself, in the container's cgroup, while it
    /// still has its capabilities. The error names the field and the call.
    pub fn apply(&self) -> Result<(), (String, Errno)> {
        self.affinity.apply_final()?;
        if let Some(policy) = &self.memory_policy {
            policy.apply()?;
        }
        if let Some(personality) = self.personality {
            personality.apply()?;
        }
        if let Some(priority) = self.io_priority {
            priority.apply()?;
        }
        if let Some(attr) = &self.scheduler {
            attr.apply()?;
        }
        Ok(())
    }
}
