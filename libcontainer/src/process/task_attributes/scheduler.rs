//! `process.scheduler`: sched_setattr(2), checked as runc checks it (a priority only
//! for the real-time policies, runtime/deadline/period only for SCHED_DEADLINE, nice
//! within -20..19), and against what Linux has (no SCHED_ISO, real-time priorities
//! 1..99).

use nix::errno::Errno;
use oci_spec::runtime::{LinuxSchedulerFlag, LinuxSchedulerPolicy, Scheduler};

use super::{called, Refused};

/// `struct sched_attr` as of Linux 5.3 (SCHED_ATTR_SIZE_VER1), with the
/// utilization clamps the UTIL_CLAMP flags read. Without those flags only the first
/// 48 bytes (VER0) are passed: an older kernel takes a larger struct only if the
/// bytes it does not know are zero.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

fn policy_number(policy: LinuxSchedulerPolicy) -> Result<u32, Refused> {
    Ok(match policy {
        LinuxSchedulerPolicy::SchedOther => 0,
        LinuxSchedulerPolicy::SchedFifo => 1,
        LinuxSchedulerPolicy::SchedRr => 2,
        LinuxSchedulerPolicy::SchedBatch => 3,
        LinuxSchedulerPolicy::SchedIso => {
            return Err(Refused::new(
                "process.scheduler.policy",
                "SCHED_ISO: Linux has no such policy",
            ))
        }
        LinuxSchedulerPolicy::SchedIdle => 5,
        LinuxSchedulerPolicy::SchedDeadline => 6,
    })
}

const SIZE_VER0: u32 = 48;
const SIZE_VER1: u32 = 56;
const UTIL_CLAMP_MIN: u64 = 0x20;
const UTIL_CLAMP_MAX: u64 = 0x40;

fn flag_bit(flag: LinuxSchedulerFlag) -> u64 {
    match flag {
        LinuxSchedulerFlag::SchedResetOnFork => 0x01,
        LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
        LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
        LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
        LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
        LinuxSchedulerFlag::SchedFlagUtilClampMin => UTIL_CLAMP_MIN,
        LinuxSchedulerFlag::SchedFlagUtilClampMax => UTIL_CLAMP_MAX,
    }
}

impl SchedAttr {
    pub fn plan(scheduler: &Scheduler) -> Result<SchedAttr, Refused> {
        let policy = *scheduler.policy();
        let number = policy_number(policy)?;
        let nice = scheduler.nice().unwrap_or(0);
        if !(-20..=19).contains(&nice) {
            return Err(Refused::new(
                "process.scheduler.nice",
                format!("{nice} is outside -20..19"),
            ));
        }
        let realtime = matches!(
            policy,
            LinuxSchedulerPolicy::SchedFifo | LinuxSchedulerPolicy::SchedRr
        );
        let priority = scheduler.priority().unwrap_or(0);
        if realtime && !(1..=99).contains(&priority) {
            return Err(Refused::new(
                "process.scheduler.priority",
                format!("{policy} takes a priority of 1 to 99, not {priority}"),
            ));
        }
        if !realtime && priority != 0 {
            return Err(Refused::new(
                "process.scheduler.priority",
                "only SCHED_FIFO and SCHED_RR take a priority",
            ));
        }
        let deadline_fields = [
            ("runtime", scheduler.runtime()),
            ("deadline", scheduler.deadline()),
            ("period", scheduler.period()),
        ];
        if policy != LinuxSchedulerPolicy::SchedDeadline {
            if let Some((name, _)) = deadline_fields.iter().find(|(_, v)| v.unwrap_or(0) != 0) {
                return Err(Refused::new(
                    format!("process.scheduler.{name}"),
                    "only SCHED_DEADLINE takes runtime, deadline and period",
                ));
            }
        }
        let flags = scheduler
            .flags()
            .iter()
            .flatten()
            .map(|f| flag_bit(*f))
            .fold(0, |a, b| a | b);
        let clamps = flags & (UTIL_CLAMP_MIN | UTIL_CLAMP_MAX) != 0;
        Ok(SchedAttr {
            size: if clamps { SIZE_VER1 } else { SIZE_VER0 },
            policy: number,
            flags,
            nice,
            priority: priority as u32,
            runtime: scheduler.runtime().unwrap_or(0),
            deadline: scheduler.deadline().unwrap_or(0),
            period: scheduler.period().unwrap_or(0),
            util_min: 0,
            util_max: if clamps { 1024 } else { 0 },
        })
    }

    pub fn apply(&self) -> Result<(), (String, Errno)> {
        // SAFETY: sched_setattr reads `size` bytes of a sched_attr we own, for this
        // thread (pid 0), the only one the process has.
        let rc = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, self as *const SchedAttr, 0) };
        called(rc, "process.scheduler: sched_setattr")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(value: serde_json::Value) -> Result<SchedAttr, Refused> {
        SchedAttr::plan(&serde_json::from_value(value).unwrap())
    }

    #[test]
    fn runcs_rules_name_the_field_they_refuse() {
        let field = |v| plan(v).unwrap_err().field;
        assert_eq!(
            field(json!({"policy": "SCHED_OTHER", "nice": 20})),
            "process.scheduler.nice"
        );
        assert_eq!(
            field(json!({"policy": "SCHED_OTHER", "priority": 5})),
            "process.scheduler.priority"
        );
        assert_eq!(
            field(json!({"policy": "SCHED_FIFO"})),
            "process.scheduler.priority"
        );
        assert_eq!(
            field(json!({"policy": "SCHED_RR", "priority": 5, "period": 10})),
            "process.scheduler.period"
        );
        assert_eq!(
            field(json!({"policy": "SCHED_ISO"})),
            "process.scheduler.policy"
        );
    }

    #[test]
    fn the_kernel_gets_the_numbers_of_sched_h() {
        let attr = plan(json!({
            "policy": "SCHED_FIFO", "priority": 10, "flags": ["SCHED_RESET_ON_FORK"]
        }))
        .unwrap();
        assert_eq!((attr.policy, attr.priority, attr.flags), (1, 10, 1));
        assert_eq!(
            attr.size, 48,
            "no clamp asked: the struct every kernel knows"
        );
        assert_eq!(std::mem::size_of::<SchedAttr>(), 56);
        let clamped =
            plan(json!({"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_UTIL_CLAMP_MAX"]}));
        assert_eq!(clamped.unwrap().size, 56);
        let attr = plan(json!({"policy": "SCHED_BATCH", "nice": -3})).unwrap();
        assert_eq!((attr.policy, attr.nice), (3, -3));
    }
}
