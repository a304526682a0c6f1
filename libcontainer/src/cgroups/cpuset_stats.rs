//! The `cpuset` block of `events --stats`, which libcgroups does not read: runc's
//! `types.CPUSet`, from the container's v1 cpuset cgroup. runc's cgroup v2 driver reads
//! no cpuset statistics, and prints the block with its zero values there; so does this.

use std::path::Path;

use serde::Serialize;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct CpuSet {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpus: Vec<u16>,
    pub cpu_exclusive: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mems: Vec<u16>,
    pub mem_hardwall: u64,
    pub mem_exclusive: u64,
    pub memory_migrate: u64,
    pub memory_spread_page: u64,
    pub memory_spread_slab: u64,
    pub memory_pressure: u64,
    pub sched_load_balance: u64,
    pub sched_relax_domain_level: i64,
}

impl CpuSet {
    /// The statistics of the v1 cpuset cgroup at `dir`; a file the kernel does not
    /// have (or a value it does not parse) reads as zero, as a file runc finds missing.
    pub fn of_v1(dir: &Path) -> CpuSet {
        let text = |name: &str| {
            std::fs::read_to_string(dir.join(format!("cpuset.{name}"))).unwrap_or_default()
        };
        let number = |name: &str| text(name).trim().parse().unwrap_or(0);
        CpuSet {
            cpus: parse_list(&text("cpus")),
            cpu_exclusive: number("cpu_exclusive"),
            mems: parse_list(&text("mems")),
            mem_hardwall: number("mem_hardwall"),
            mem_exclusive: number("mem_exclusive"),
            memory_migrate: number("memory_migrate"),
            memory_spread_page: number("memory_spread_page"),
            memory_spread_slab: number("memory_spread_slab"),
            memory_pressure: number("memory_pressure"),
            sched_load_balance: number("sched_load_balance"),
            sched_relax_domain_level: text("sched_relax_domain_level").trim().parse().unwrap_or(0),
        }
    }
}

/// A kernel list such as `0-3,8,10-11` as the numbers it names; an empty file (a
/// cpuset with no CPUs yet) names none.
fn parse_list(text: &str) -> Vec<u16> {
    let numbers = crate::kernel_list::parse(text).unwrap_or_default();
    numbers
        .into_iter()
        .filter_map(|n| n.try_into().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_name_every_cpu_of_their_ranges() {
        assert_eq!(parse_list("0-3,8,10-11\n"), [0, 1, 2, 3, 8, 10, 11]);
        assert_eq!(parse_list("0\n"), [0]);
        assert_eq!(parse_list("\n"), Vec::<u16>::new());
    }

    #[test]
    fn the_json_keys_and_types_are_runcs() {
        let dir = tempfile::tempdir().unwrap();
        for (file, value) in [
            ("cpus", "0-1\n"),
            ("mems", "0\n"),
            ("cpu_exclusive", "1\n"),
            ("sched_load_balance", "1\n"),
            ("sched_relax_domain_level", "-1\n"),
        ] {
            std::fs::write(dir.path().join(format!("cpuset.{file}")), value).unwrap();
        }

        let json = serde_json::to_value(CpuSet::of_v1(dir.path())).unwrap();

        assert_eq!(
            json,
            serde_json::json!({
                "cpus": [0, 1], "cpu_exclusive": 1, "mems": [0], "mem_hardwall": 0,
                "mem_exclusive": 0, "memory_migrate": 0, "memory_spread_page": 0,
                "memory_spread_slab": 0, "memory_pressure": 0, "sched_load_balance": 1,
                "sched_relax_domain_level": -1
            })
        );
        // Without cpus or mems (cgroup v2), the lists are left out, as runc's omitempty.
        let empty = serde_json::to_value(CpuSet::default()).unwrap();
        assert_eq!(empty.as_object().unwrap().len(), 9, "{empty}");
    }
}
