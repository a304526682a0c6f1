//! `start`: one byte into the exec fifo lets the waiting init exec the user program.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use super::create::hook_state;
use super::status::status_of;
use crate::id::ContainerId;
use crate::state::{StateStore, Status};
use crate::{Error, Result};

pub fn start(store: &StateStore, id: &str) -> Result<()> {
    let id = ContainerId::parse(id)?;
    let dir = store.open(&id)?;
    let record = dir.load()?;
    let fifo_path = dir.fifo_path();
    match status_of(&record, &fifo_path) {
        Status::Created => {}
        Status::Stopped => return Err(Error::StartStopped),
        other => return Err(Error::StartAgain(other)),
    }
    // O_NONBLOCK: if the init is no longer reading, the open fails with ENXIO at once
    // instead of hanging.
    let mut fifo = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo_path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENXIO) => Error::NotRunning,
            _ => Error::sys(format!("open {}", fifo_path.display()))(e),
        })?;
    // Unlinked before the byte is written: once the init may run, `state` says running.
    std::fs::remove_file(&fifo_path)
        .map_err(Error::sys(format!("remove {}", fifo_path.display())))?;
    fifo.write_all(&[0])
        .map_err(Error::sys("write exec fifo"))?;
    drop(fifo);

    if let Some(list) = record.hooks.as_ref().and_then(|h| h.poststart().clone()) {
        let state = hook_state(&record, Status::Running)?;
        hooks::run_hooks(hooks::HookPoint::Poststart, &list, state.as_bytes())?;
    }
    Ok(())
}
