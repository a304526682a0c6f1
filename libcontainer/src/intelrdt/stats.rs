//! The `intel_rdt` block of `events --stats`, in runc's shape (`types.IntelRdt`):
//! what the host's resctrl offers, the schemata of its root and of the container's
//! group, and the monitoring counters per cache domain where the config asked for them.
//! Empty (`{}`) for a container without `intelRdt`.

use std::path::Path;

use serde::Serialize;

use super::group::RdtGroup;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct IntelRdtStats {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l3_cache_info: Option<L3CacheInfo>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub l3_cache_schema_root: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub l3_cache_schema: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_bw_info: Option<MemBwInfo>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mem_bw_schema_root: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mem_bw_schema: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mbm_stats: Option<Vec<MbmNumaNodeStats>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmt_stats: Option<Vec<CmtNumaNodeStats>>,
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct L3CacheInfo {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cbm_mask: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub min_cbm_bits: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub num_closids: u64,
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct MemBwInfo {
    #[serde(skip_serializing_if = "is_zero")]
    pub bandwidth_gran: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub delay_linear: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub min_bandwidth: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub num_closids: u64,
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct MbmNumaNodeStats {
    pub mbm_total_bytes: u64,
    pub mbm_local_bytes: u64,
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct CmtNumaNodeStats {
    pub llc_occupancy: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn text(file: &Path) -> String {
    std::fs::read_to_string(file)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn number(file: &Path) -> u64 {
    text(file).parse().unwrap_or(0)
}

/// The last line of `schemata` (in `dir`) that mentions `resource`, trimmed.
fn schema_line(dir: &Path, resource: &str) -> String {
    text(&dir.join("schemata"))
        .lines()
        .rev()
        .find(|l| l.contains(resource))
        .map(|l| l.trim().to_owned())
        .unwrap_or_default()
}

impl IntelRdtStats {
    pub fn of(group: &RdtGroup) -> IntelRdtStats {
        let root = &group.root;
        let mut stats = IntelRdtStats::default();
        let l3 = root.join("info/L3");
        if l3.is_dir() {
            stats.l3_cache_info = Some(L3CacheInfo {
                cbm_mask: text(&l3.join("cbm_mask")),
                min_cbm_bits: number(&l3.join("min_cbm_bits")),
                num_closids: number(&l3.join("num_closids")),
            });
            stats.l3_cache_schema_root = schema_line(root, "L3");
            stats.l3_cache_schema = schema_line(&group.path, "L3");
        }
        let mb = root.join("info/MB");
        if mb.is_dir() {
            stats.mem_bw_info = Some(MemBwInfo {
                bandwidth_gran: number(&mb.join("bandwidth_gran")),
                delay_linear: number(&mb.join("delay_linear")),
                min_bandwidth: number(&mb.join("min_bandwidth")),
                num_closids: number(&mb.join("num_closids")),
            });
            stats.mem_bw_schema_root = schema_line(root, "MB");
            stats.mem_bw_schema = schema_line(&group.path, "MB");
        }
        if group.report_cmt || group.report_mbm {
            // The container's own monitoring group counts only its processes; without
            // one, the group's counters (shared with whoever else is in its CLOS).
            let counted = group.mon_group.as_deref().unwrap_or(&group.path);
            let mut domains: Vec<_> = std::fs::read_dir(counted.join("mon_data"))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect();
            domains.sort();
            if group.report_mbm {
                stats.mbm_stats = Some(
                    domains
                        .iter()
                        .map(|d| MbmNumaNodeStats {
                            mbm_total_bytes: number(&d.join("mbm_total_bytes")),
                            mbm_local_bytes: number(&d.join("mbm_local_bytes")),
                        })
                        .collect(),
                );
            }
            if group.report_cmt {
                stats.cmt_stats = Some(
                    domains
                        .iter()
                        .map(|d| CmtNumaNodeStats {
                            llc_occupancy: number(&d.join("llc_occupancy")),
                        })
                        .collect(),
                );
            }
        }
        stats
    }
}
