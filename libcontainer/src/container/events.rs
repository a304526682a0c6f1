//! `events`: the container's resource usage, once or every interval, and the OOM
//! kills in its cgroup as they happen, until the container stops.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use serde::Serialize;

use super::status::status_of;
use crate::cgroups::stats::{NetworkInterface, Stats};
use crate::cgroups::Cgroup;
use crate::id::ContainerId;
use crate::intelrdt::IntelRdtStats;
use crate::process::pidfd::PidFd;
use crate::state::{StateRecord, StateStore, Status};
use crate::{Error, Result};

/// One line of `events` output, as runc prints it.
#[derive(Debug, Serialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Stats>,
}

/// With `interval` `None`, emits one `stats` event; otherwise a `stats` event every
/// interval and an `oom` event for each OOM kill, until the container's init ends.
pub fn events(
    store: &StateStore,
    id: &str,
    interval: Option<Duration>,
    emit: &mut dyn FnMut(&Event) -> std::io::Result<()>,
) -> Result<()> {
    let id = ContainerId::parse(id)?;
    let record = store.load(&id)?;
    if matches!(
        status_of(&record, &store.fifo_path(&id)),
        Status::Stopped | Status::Creating
    ) {
        return Err(Error::Usage(format!(
            "container with id {id} is not running"
        )));
    }
    let cgroup = super::members::cgroup_for(&record, "events")?;
    let write = |emit: &mut dyn FnMut(&Event) -> std::io::Result<()>, event: Event| {
        emit(&event).map_err(Error::sys("write event"))
    };
    let Some(interval) = interval else {
        return write(emit, stats_event(&record, &cgroup)?);
    };
    let init = record
        .init
        .as_ref()
        .and_then(PidFd::open)
        .ok_or(Error::NotRunning)?;
    // A host without a memory controller still gets its stats.
    let mut oom = cgroup.watch_oom().ok();
    let mut next = Instant::now();
    loop {
        let now = Instant::now();
        if now >= next {
            match stats_event(&record, &cgroup) {
                Ok(event) => write(emit, event)?,
                // As runc: a failed read skips one interval, it does not end the stream.
                Err(e) => tracing::error!("{e}"),
            }
            next = now + interval;
        }
        let wait = next.saturating_duration_since(Instant::now());
        let timeout = PollTimeout::try_from(wait.as_millis().min(i32::MAX as u128) as i32)
            .unwrap_or(PollTimeout::MAX);
        let mut fds = vec![PollFd::new(init.as_fd(), PollFlags::POLLIN)];
        if let Some(watch) = &oom {
            fds.push(PollFd::new(watch.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(Error::errno("poll")(e)),
        }
        let ready = |i: usize| {
            fds.get(i)
                .and_then(|f| f.revents())
                .is_some_and(|r| !r.is_empty())
        };
        let (init_ended, oom_ready) = (ready(0), ready(1));
        // Once the init has ended, the OOM kill that ended it may still be pending.
        if oom_ready || init_ended {
            if let Some(watch) = oom.as_mut() {
                for _ in 0..watch.take() {
                    let event = Event {
                        kind: "oom",
                        id: id.to_string(),
                        data: None,
                    };
                    write(emit, event)?;
                }
            }
        }
        if init_ended {
            return Ok(());
        }
    }
}

fn stats_event(record: &StateRecord, cgroup: &Cgroup) -> Result<Event> {
    let mut stats = cgroup.stats()?;
    if let Some(group) = &record.intel_rdt {
        stats.intel_rdt = IntelRdtStats::of(group);
    }
    if let Some(init) = &record.init {
        if has_own_network(init.pid) {
            stats.network_interfaces = Some(NetworkInterface::of_process(init.pid));
        }
    }
    Ok(Event {
        kind: "stats",
        id: record.id.clone(),
        data: Some(stats),
    })
}

fn has_own_network(pid: i32) -> bool {
    let ns = |p: String| std::fs::read_link(p).ok();
    match (
        ns(format!("/proc/{pid}/ns/net")),
        ns("/proc/self/ns/net".into()),
    ) {
        (Some(theirs), Some(ours)) => theirs != ours,
        _ => false,
    }
}
