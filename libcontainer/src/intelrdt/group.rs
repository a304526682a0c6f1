//! The container's resctrl group: checked against the host before anything exists,
//! made and joined by the init before it runs anything of the user's, joined by every
//! exec'd process, and removed with the container, as runc does it:
//!
//! - without `closID` the group is `<resctrl>/<container id>`, the container's own;
//! - with `closID` it is `<resctrl>/<closID>`, which other containers may share: it
//!   must exist already unless the config gives a schema to make it with, a schema
//!   it gives must be what an existing group holds (the spec's rule; runc leaves this
//!   to a TODO), and it is never removed;
//! - `enableMonitoring` adds the container's own monitoring group,
//!   `<group>/mon_groups/<container id>`.

use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxIntelRdt;
use serde::{Deserialize, Serialize};

use super::resctrl::Resctrl;
use super::{schemata, IntelRdtError};
use crate::id::ContainerId;

/// What the state record keeps of a container's place in resctrl.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RdtGroup {
    /// Where resctrl was mounted when the container was made.
    pub root: PathBuf,
    /// The group (CLOS) directory.
    pub path: PathBuf,
    /// truman made it for this container alone: it goes with the container.
    pub owned: bool,
    /// The container's monitoring group, with `enableMonitoring`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mon_group: Option<PathBuf>,
    /// `events --stats` reports the cache occupancy (`enableCMT`, or monitoring).
    #[serde(default)]
    pub report_cmt: bool,
    /// `events --stats` reports the memory bandwidth (`enableMBM`, or monitoring).
    #[serde(default)]
    pub report_mbm: bool,
}

/// What `create` does in resctrl for a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdtPlan {
    pub group: RdtGroup,
    /// The group is not there yet.
    make: bool,
    /// What to write to its `schemata`, one string per write.
    writes: Vec<String>,
}

fn refused(field: &'static str, why: impl Into<String>) -> IntelRdtError {
    IntelRdtError::Refused {
        field,
        why: why.into(),
    }
}

fn given(field: &Option<String>) -> Option<&str> {
    field.as_deref().filter(|s| !s.is_empty())
}

/// Checks `rdt` against the host's resctrl (`None`: none is mounted) and says what
/// to do there; refuses, naming the field, what the host cannot do. Nothing is
/// changed yet.
pub fn plan(
    rdt: &LinuxIntelRdt,
    id: &ContainerId,
    resctrl: Option<&Resctrl>,
) -> Result<RdtPlan, IntelRdtError> {
    let clos_id = given(rdt.clos_id());
    if let Some(clos) = clos_id {
        // A group is one directory right below the mount.
        if clos == "." || clos == ".." || clos.contains('/') {
            return Err(refused(
                "linux.intelRdt.closID",
                format!("invalid intelRdt.ClosID {clos:?}"),
            ));
        }
    }
    // runc's words.
    let resctrl = resctrl.ok_or_else(|| {
        refused(
            "linux.intelRdt",
            "intelRdt is specified in config, but Intel RDT is not enabled (no resctrl filesystem is mounted)",
        )
    })?;
    if given(rdt.l3_cache_schema()).is_some() && !resctrl.has_cat() {
        return Err(refused(
            "linux.intelRdt.l3CacheSchema",
            "intelRdt.l3CacheSchema is specified in config, but Intel RDT/CAT is not enabled",
        ));
    }
    if given(rdt.mem_bw_schema()).is_some() && !resctrl.has_mba() {
        return Err(refused(
            "linux.intelRdt.memBwSchema",
            "intelRdt.memBwSchema is specified in config, but Intel RDT/MBA is not enabled",
        ));
    }
    let features = resctrl.monitoring_features();
    let has = |feature: &str| features.iter().any(|f| f == feature);
    let monitoring = rdt.enable_monitoring().unwrap_or(false);
    #[allow(deprecated)] // runtime-spec 1.3 keeps them, in favour of enableMonitoring
    let (cmt, mbm) = (
        rdt.enable_cmt().unwrap_or(false),
        rdt.enable_mbm().unwrap_or(false),
    );
    if monitoring && features.is_empty() {
        return Err(refused(
            "linux.intelRdt.enableMonitoring",
            "intelRdt.enableMonitoring is specified in config, but Intel RDT monitoring is not enabled",
        ));
    }
    if cmt && !has("llc_occupancy") {
        return Err(refused(
            "linux.intelRdt.enableCMT",
            "intelRdt.enableCMT is specified in config, but Intel RDT/CMT is not enabled",
        ));
    }
    if mbm && !has("mbm_total_bytes") && !has("mbm_local_bytes") {
        return Err(refused(
            "linux.intelRdt.enableMBM",
            "intelRdt.enableMBM is specified in config, but Intel RDT/MBM is not enabled",
        ));
    }

    let path = resctrl.root().join(clos_id.unwrap_or(id.as_str()));
    let exists = path.is_dir();
    let mut writes = schemata::writes(rdt);
    if clos_id.is_some() {
        match (exists, writes.is_empty()) {
            (false, true) => {
                return Err(refused(
                    "linux.intelRdt.closID",
                    format!(
                        "clos dir not accessible (must be pre-created when l3CacheSchema, memBwSchema and schemata are empty): {}: {}",
                        path.display(),
                        io::Error::from_raw_os_error(libc::ENOENT)
                    ),
                ))
            }
            (true, false) => {
                let file = path.join("schemata");
                let existing = std::fs::read_to_string(&file)
                    .map_err(|e| IntelRdtError::io("read", &file, e, resctrl))?;
                if let Some(line) = schemata::first_mismatch(&existing, &writes) {
                    return Err(refused(
                        "linux.intelRdt.closID",
                        format!(
                            "the resctrl group {} exists with other schemata: {line:?} is not in its {existing:?}",
                            path.display()
                        ),
                    ));
                }
                // It holds what was asked for: a group others share is left as it is.
                writes.clear();
            }
            _ => {}
        }
    }
    let mon_group = monitoring.then(|| path.join("mon_groups").join(id.as_str()));
    Ok(RdtPlan {
        group: RdtGroup {
            root: resctrl.root().to_owned(),
            owned: clos_id.is_none() && !exists,
            path,
            mon_group,
            report_cmt: cmt || (monitoring && has("llc_occupancy")),
            report_mbm: mbm || (monitoring && (has("mbm_total_bytes") || has("mbm_local_bytes"))),
        },
        make: !exists,
        writes,
    })
}

impl RdtPlan {
    /// Makes the group, writes its schemata and moves `pid` (the init, before it runs
    /// anything of the user's) into it; its children follow by themselves.
    pub fn apply(&self, pid: i32) -> Result<(), IntelRdtError> {
        let group = &self.group;
        if self.make {
            make_dir(&group.path, group)?;
        }
        // Before the process joins, so that it never runs with the default allocation.
        for text in &self.writes {
            write(&group.path.join("schemata"), text, group)?;
        }
        group.join(pid)
    }
}

impl RdtGroup {
    /// Moves `pid` into the group, and into the container's monitoring group (made
    /// here the first time).
    pub fn join(&self, pid: i32) -> Result<(), IntelRdtError> {
        write(&self.path.join("tasks"), &pid.to_string(), self)?;
        if let Some(mon) = &self.mon_group {
            if !mon.is_dir() {
                make_dir(mon, self)?;
            }
            write(&mon.join("tasks"), &pid.to_string(), self)?;
        }
        Ok(())
    }

    /// Writes `text` to the group's `schemata` (an `update`).
    pub fn write_schemata(&self, text: &str) -> Result<(), IntelRdtError> {
        write(&self.path.join("schemata"), text, self)
    }

    /// Removes the container's monitoring group, and the group if it is the
    /// container's own. Once the container's processes are gone; a directory that is
    /// gone already is fine.
    pub fn remove(&self) -> Result<(), IntelRdtError> {
        let owned = self.owned.then_some(&self.path);
        for dir in self.mon_group.iter().chain(owned) {
            match std::fs::remove_dir(dir) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(IntelRdtError::io(
                        "remove",
                        dir,
                        e,
                        &Resctrl::at(&self.root),
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn make_dir(dir: &Path, group: &RdtGroup) -> Result<(), IntelRdtError> {
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(IntelRdtError::io(
            "create",
            dir,
            e,
            &Resctrl::at(&group.root),
        )),
        _ => Ok(()),
    }
}

fn write(file: &Path, text: &str, group: &RdtGroup) -> Result<(), IntelRdtError> {
    // One line-terminated write: the kernel parses the lines of a write together.
    std::fs::write(file, format!("{text}\n")).map_err(|e| {
        IntelRdtError::io(
            &format!("write {text:?} to"),
            file,
            e,
            &Resctrl::at(&group.root),
        )
    })
}
