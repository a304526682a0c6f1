//! `linux.intelRdt`: Intel Resource Director Technology through the resctrl
//! filesystem (cache and memory bandwidth allocation, and their monitoring), as runc
//! does it. See [`group`] for where a container goes and when.

mod group;
mod resctrl;
mod schemata;
mod stats;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use group::{plan, RdtGroup, RdtPlan};
pub use resctrl::Resctrl;
pub use stats::IntelRdtStats;

#[derive(Debug, thiserror::Error)]
pub enum IntelRdtError {
    /// What the host cannot do, refused before anything is made.
    #[error("{field}: {why}")]
    Refused { field: &'static str, why: String },
    #[error("intelRdt: {op} {}: {source}{detail}", .path.display())]
    Io {
        op: String,
        path: PathBuf,
        source: std::io::Error,
        /// The kernel's `last_cmd_status`, which says more than its errno.
        detail: String,
    },
}

impl IntelRdtError {
    fn io(op: &str, path: &Path, source: std::io::Error, resctrl: &Resctrl) -> Self {
        IntelRdtError::Io {
            op: op.to_owned(),
            path: path.to_owned(),
            source,
            detail: resctrl
                .last_cmd_status()
                .map(|s| format!(", last_cmd_status: {s}"))
                .unwrap_or_default(),
        }
    }
}
