//! The part of a container's record that `state` and `list` print and derive its
//! status from. Read alone, the rest of the record (its process with capabilities
//! and rlimits, hooks, seccomp) is skipped unparsed: parsing it was more than half of
//! `list`'s own work (callgrind, 100 containers).

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::StateRecord;
use crate::process::ProcessIdentity;

/// The fields of [`StateRecord`] of the same names, with the same meaning.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateSummary {
    pub oci_version: String,
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: DateTime<Utc>,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    pub cgroup_path: PathBuf,
    #[serde(default)]
    pub cgroup_driver: crate::cgroups::Driver,
    #[serde(default)]
    pub creator: Option<ProcessIdentity>,
    #[serde(default)]
    pub init: Option<ProcessIdentity>,
}

impl StateRecord {
    pub fn summary(&self) -> StateSummary {
        StateSummary {
            oci_version: self.oci_version.clone(),
            id: self.id.clone(),
            bundle: self.bundle.clone(),
            rootfs: self.rootfs.clone(),
            created: self.created,
            annotations: self.annotations.clone(),
            cgroup_path: self.cgroup_path.clone(),
            cgroup_driver: self.cgroup_driver,
            creator: self.creator,
            init: self.init,
        }
    }
}
