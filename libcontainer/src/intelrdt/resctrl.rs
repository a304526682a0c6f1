//! The host's resctrl filesystem: where it is mounted (found in mountinfo by its
//! filesystem type, as runc finds it) and which Intel RDT features the kernel turned
//! on there (each has a directory under `info/`).

use std::path::{Path, PathBuf};

/// A mounted resctrl filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resctrl {
    root: PathBuf,
}

impl Resctrl {
    /// The first resctrl mount of truman's mount namespace, if there is one.
    pub fn find() -> Option<Resctrl> {
        let mounts = procfs::process::Process::myself()
            .and_then(|p| p.mountinfo())
            .ok()?;
        mounts
            .into_iter()
            .find(|m| m.fs_type == "resctrl")
            .map(|m| Resctrl::at(m.mount_point))
    }

    /// The resctrl filesystem mounted at `root` (a directory laid out like one, in tests).
    pub fn at(root: impl Into<PathBuf>) -> Resctrl {
        Resctrl { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Cache Allocation Technology: `L3:` lines in `schemata`.
    pub fn has_cat(&self) -> bool {
        self.root.join("info/L3").is_dir()
    }

    /// Memory Bandwidth Allocation: `MB:` lines in `schemata`.
    pub fn has_mba(&self) -> bool {
        self.root.join("info/MB").is_dir()
    }

    /// The monitoring events the kernel counts (`llc_occupancy`, `mbm_total_bytes`,
    /// `mbm_local_bytes`); none where it has no monitoring, and then no `mon_groups`.
    pub fn monitoring_features(&self) -> Vec<String> {
        std::fs::read_to_string(self.root.join("info/L3_MON/mon_features"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// What the kernel said of the last command that failed, to add to its errno
    /// (`mask f3 has non-consecutive 1-bits`, `out of CLOSIDs`).
    pub fn last_cmd_status(&self) -> Option<String> {
        std::fs::read_to_string(self.root.join("info/last_cmd_status"))
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty() && s != "ok")
    }
}
