//! A container's resource usage in the shape `runc events` prints it (runc's
//! `types.Stats`), read through libcgroups.

use std::collections::HashMap;

use libcgroups::common::CgroupManager;
use serde::Serialize;

pub use super::cpuset_stats::CpuSet;
use super::hierarchy::Kind;
use super::{Cgroup, CgroupError};

#[derive(Debug, Default, Serialize)]
pub struct Stats {
    pub cpu: Cpu,
    pub cpuset: CpuSet,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
    pub hugetlb: HashMap<String, Hugetlb>,
    /// Empty unless the container has `linux.intelRdt` (filled by `events`).
    pub intel_rdt: crate::intelrdt::IntelRdtStats,
    /// The container's own interfaces when it has a network namespace of its own
    /// (runc lists the veths it made; truman makes none, so it reads the namespace).
    pub network_interfaces: Option<Vec<NetworkInterface>>,
}

/// runc's Go struct has no JSON tags, hence the capitalised keys.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkInterface {
    pub name: String,
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

impl NetworkInterface {
    /// The interfaces of `/proc/<pid>/net/dev` (the network namespace of `pid`), but
    /// the loopback.
    pub fn of_process(pid: i32) -> Vec<NetworkInterface> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
        parse_net_dev(&text)
    }
}

fn parse_net_dev(text: &str) -> Vec<NetworkInterface> {
    // Two header lines, then `name: rx_bytes packets errs drop fifo frame compressed
    // multicast tx_bytes packets errs drop ...`.
    text.lines()
        .skip(2)
        .filter_map(|line| {
            let (name, counters) = line.split_once(':')?;
            let name = name.trim();
            let n: Vec<u64> = counters
                .split_whitespace()
                .map(|v| v.parse().unwrap_or(0))
                .collect();
            (name != "lo" && n.len() >= 12).then(|| NetworkInterface {
                name: name.to_owned(),
                rx_bytes: n[0],
                rx_packets: n[1],
                rx_errors: n[2],
                rx_dropped: n[3],
                tx_bytes: n[8],
                tx_packets: n[9],
                tx_errors: n[10],
                tx_dropped: n[11],
            })
        })
        .collect()
}

#[derive(Debug, Default, Serialize)]
pub struct Cpu {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

#[derive(Debug, Default, Serialize)]
pub struct CpuUsage {
    #[serde(skip_serializing_if = "is_zero")]
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    #[serde(skip_serializing_if = "is_zero")]
    pub periods: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Memory {
    #[serde(skip_serializing_if = "is_zero")]
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub raw: HashMap<String, u64>,
}

#[derive(Debug, Default, Serialize)]
pub struct MemoryEntry {
    pub limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Pids {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blkio {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_queue_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_service_time_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_wait_time_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_merged_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_time_recursive: Vec<BlkioEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sectors_recursive: Vec<BlkioEntry>,
}

#[derive(Debug, Default, Serialize)]
pub struct BlkioEntry {
    #[serde(skip_serializing_if = "is_zero")]
    pub major: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub minor: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub op: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub value: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Hugetlb {
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Cgroup {
    pub fn stats(&self) -> Result<Stats, CgroupError> {
        let raw = self
            .manager()?
            .stats()
            .map_err(self.manager_error("read statistics"))?;
        let mut stats = convert(raw, self.hierarchies.is_empty());
        if let Some(cpuset) = self.v1_hierarchy("cpuset") {
            stats.cpuset = CpuSet::of_v1(&cpuset.dir_of(&self.dir));
        }
        // On a hybrid host hugetlb may be on the cgroup2 tree, out of the v1 manager's
        // sight.
        let hugetlb_on_v1 = self
            .hierarchies
            .iter()
            .any(|h| h.kind == Kind::Controllers && h.options.split(',').any(|o| o == "hugetlb"));
        if let (false, Some(unified)) = (hugetlb_on_v1, self.hybrid_unified()) {
            stats.hugetlb = v2_hugetlb(&unified.dir_of(&self.dir));
        }
        Ok(stats)
    }
}

/// runc's numbers: CPU times in nanoseconds, where libcgroups gives clock ticks (v1
/// `cpuacct.stat`) or microseconds (v2 `cpu.stat`).
fn convert(raw: libcgroups::stats::Stats, unified: bool) -> Stats {
    let ticks_to_ns = |ticks: u64| {
        let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .filter(|t| *t > 0)
            .unwrap_or(100) as u64;
        ticks.saturating_mul(1_000_000_000 / per_second)
    };
    let (total, user, kernel, throttled_time) = if unified {
        (
            raw.cpu.usage.usage_total.saturating_mul(1000),
            raw.cpu.usage.usage_user.saturating_mul(1000),
            raw.cpu.usage.usage_kernel.saturating_mul(1000),
            raw.cpu.throttling.throttled_time.saturating_mul(1000),
        )
    } else {
        (
            raw.cpu.usage.usage_total,
            ticks_to_ns(raw.cpu.usage.usage_user),
            ticks_to_ns(raw.cpu.usage.usage_kernel),
            raw.cpu.throttling.throttled_time,
        )
    };
    let entry = |d: &libcgroups::stats::MemoryData| MemoryEntry {
        limit: d.limit,
        usage: d.usage,
        max: d.max_usage,
        failcnt: d.fail_count,
    };
    let blkio = |list: &[libcgroups::stats::BlkioDeviceStat]| -> Vec<BlkioEntry> {
        list.iter()
            .map(|s| BlkioEntry {
                major: s.major,
                minor: s.minor,
                op: s.op_type.clone().unwrap_or_default(),
                value: s.value,
            })
            .collect()
    };
    let usage = &raw.cpu.usage;
    Stats {
        cpu: Cpu {
            usage: CpuUsage {
                total,
                percpu: usage.per_core_usage_total.clone(),
                percpu_kernel: usage.per_core_usage_kernel.clone(),
                percpu_user: usage.per_core_usage_user.clone(),
                kernel,
                user,
            },
            throttling: Throttling {
                periods: raw.cpu.throttling.periods,
                throttled_periods: raw.cpu.throttling.throttled_periods,
                throttled_time,
            },
        },
        memory: Memory {
            cache: raw.memory.cache,
            usage: entry(&raw.memory.memory),
            swap: entry(&raw.memory.memswap),
            kernel: entry(&raw.memory.kernel),
            kernel_tcp: entry(&raw.memory.kernel_tcp),
            raw: raw.memory.stats.clone(),
        },
        pids: Pids {
            current: raw.pids.current,
            limit: raw.pids.limit,
        },
        blkio: Blkio {
            io_service_bytes_recursive: blkio(&raw.blkio.service_bytes),
            io_serviced_recursive: blkio(&raw.blkio.serviced),
            io_queue_recursive: blkio(&raw.blkio.queued),
            io_service_time_recursive: blkio(&raw.blkio.service_time),
            io_wait_time_recursive: blkio(&raw.blkio.wait_time),
            io_merged_recursive: blkio(&raw.blkio.merged),
            io_time_recursive: blkio(&raw.blkio.time),
            sectors_recursive: blkio(&raw.blkio.sectors),
        },
        hugetlb: raw
            .hugetlb
            .iter()
            .map(|(size, h)| {
                (
                    size.clone(),
                    Hugetlb {
                        usage: h.usage,
                        max: h.max_usage,
                        failcnt: h.fail_count,
                    },
                )
            })
            .collect(),
        cpuset: CpuSet::default(),
        intel_rdt: Default::default(),
        network_interfaces: None,
    }
}

/// hugetlb usage from a cgroup2 directory: `hugetlb.<size>.current`, and the `max`
/// count of `hugetlb.<size>.events` as the failure count, as runc reads them.
fn v2_hugetlb(dir: &std::path::Path) -> HashMap<String, Hugetlb> {
    let sizes = libcgroups::stats::supported_page_sizes().unwrap_or_default();
    let read = |file: String| std::fs::read_to_string(dir.join(file)).unwrap_or_default();
    sizes
        .into_iter()
        .map(|size| {
            let usage = read(format!("hugetlb.{size}.current"))
                .trim()
                .parse()
                .unwrap_or(0);
            let failcnt = read(format!("hugetlb.{size}.events"))
                .lines()
                .find_map(|l| l.strip_prefix("max "))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0);
            (
                size,
                Hugetlb {
                    usage,
                    max: 0,
                    failcnt,
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_counters_are_read_per_interface_without_the_loopback() {
        let text = "Inter-|   Receive                                                |  Transmit\n \
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0\n  \
eth0:    5000      40    1    2    0     0          0         0     3000      30    3    4    0     0       0          0\n";
        assert_eq!(
            parse_net_dev(text),
            vec![NetworkInterface {
                name: "eth0".into(),
                rx_bytes: 5000,
                rx_packets: 40,
                rx_errors: 1,
                rx_dropped: 2,
                tx_bytes: 3000,
                tx_packets: 30,
                tx_errors: 3,
                tx_dropped: 4,
            }]
        );
    }

    #[test]
    fn the_json_keys_are_runcs() {
        let json = serde_json::to_value(Stats::default()).unwrap();
        for key in [
            "cpu",
            "cpuset",
            "memory",
            "pids",
            "blkio",
            "hugetlb",
            "intel_rdt",
            "network_interfaces",
        ] {
            assert!(json.get(key).is_some(), "{key} missing in {json}");
        }
        assert!(json["memory"].get("kernelTCP").is_some());
        assert_eq!(json["cpu"]["usage"]["kernel"], 0);
        let throttled = Throttling {
            throttled_periods: 1,
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(throttled).unwrap(),
            serde_json::json!({"throttledPeriods": 1})
        );
    }
}
