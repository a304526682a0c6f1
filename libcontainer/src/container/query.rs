//! `state` and `list`: what callers read about containers, as runc prints it.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

use super::status::{status_with, StatusDirs};
use crate::id::ContainerId;
use crate::state::{StateRecord, StateStore, StateSummary, Status};
use crate::Result;

/// The OCI state of a container, plus runc's `owner`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: Status,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339 with nanoseconds, as Go's time.Time marshals.
    pub created: String,
    pub owner: String,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
}

impl ContainerState {
    pub(crate) fn from_record(record: &StateRecord, status: Status) -> Self {
        Self::from_summary(record.summary(), status)
    }

    fn from_summary(summary: StateSummary, status: Status) -> Self {
        let pid = match status {
            Status::Stopped => 0,
            _ => summary.init.map(|i| i.pid).unwrap_or(0),
        };
        Self {
            oci_version: summary.oci_version,
            id: summary.id,
            pid,
            status,
            bundle: summary.bundle,
            rootfs: summary.rootfs,
            created: summary
                .created
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            owner: String::new(),
            annotations: summary.annotations,
        }
    }
}

pub fn state(store: &StateStore, id: &str) -> Result<ContainerState> {
    let id = ContainerId::parse(id)?;
    let summary = store.load_summary(&id)?;
    let fifo = store.fifo_path(&id);
    let status = status_with(&summary, || fifo.exists(), None);
    Ok(ContainerState::from_summary(summary, status))
}

/// Every container under the root; one that vanished while listing is skipped.
pub fn list(store: &StateStore) -> Result<Vec<ContainerState>> {
    let Some(reader) = store.reader()? else {
        return Ok(Vec::new());
    };
    let mut states = Vec::new();
    // Each lookup reads the user database: once per owner, not per container.
    let mut names = HashMap::new();
    let dirs = StatusDirs::open();
    for id in store.ids()? {
        let Ok(summary) = reader.load(&id) else {
            continue;
        };
        let status = status_with(&summary, || reader.has_fifo(&id), Some(&dirs));
        let mut state = ContainerState::from_summary(summary, status);
        // runc names the owner in `list` only; `state` leaves it empty.
        if let Ok(uid) = reader.owner(&id) {
            state.owner = names.entry(uid).or_insert_with(|| user_name(uid)).clone();
        }
        states.push(state);
    }
    Ok(states)
}

fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => user.name,
        _ => format!("#{uid}"),
    }
}
