//! `process.ioPriority`: ioprio_set(2) for the process, a class and, for the
//! real-time and best-effort classes, a level of 0 (highest) to 7.

use nix::errno::Errno;
use oci_spec::runtime::{IOPriorityClass, LinuxIOPriority};

use super::{called, Refused};

const IOPRIO_WHO_PROCESS: libc::c_int = 1;
const IOPRIO_CLASS_SHIFT: u32 = 13;

#[derive(Debug, Clone, Copy)]
pub struct IoPriority(u32);

impl IoPriority {
    pub fn plan(priority: LinuxIOPriority) -> Result<IoPriority, Refused> {
        let level = priority.priority();
        if !(0..=7).contains(&level) {
            return Err(Refused::new(
                "process.ioPriority.priority",
                format!("{level} is outside 0..7"),
            ));
        }
        let class = match priority.class() {
            IOPriorityClass::IoprioClassRt => 1,
            IOPriorityClass::IoprioClassBe => 2,
            IOPriorityClass::IoprioClassIdle => 3,
        };
        Ok(IoPriority((class << IOPRIO_CLASS_SHIFT) | level as u32))
    }

    pub fn apply(self) -> Result<(), (String, Errno)> {
        // SAFETY: ioprio_set takes three integers and touches no memory of ours.
        let rc = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, self.0) };
        called(rc, "process.ioPriority: ioprio_set")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(value: serde_json::Value) -> Result<IoPriority, Refused> {
        IoPriority::plan(serde_json::from_value(value).unwrap())
    }

    #[test]
    fn class_and_level_make_the_kernels_value() {
        let best_effort = plan(json!({"class": "IOPRIO_CLASS_BE", "priority": 3})).unwrap();
        assert_eq!(best_effort.0, (2 << 13) | 3);
        let idle = plan(json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0})).unwrap();
        assert_eq!(idle.0, 3 << 13);
    }

    #[test]
    fn a_level_outside_0_to_7_is_refused_by_name() {
        let refused = plan(json!({"class": "IOPRIO_CLASS_RT", "priority": 8})).unwrap_err();
        assert_eq!(refused.field, "process.ioPriority.priority");
    }
}
