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
    // From here the container is running: let other commands (a `kill` of a
    // container whose startContainer hook hangs) in while we wait for the exec.
    let error_path = dir.exec_error_path();
    drop(dir);
    wait_for_exec(&fifo, &error_path)?;
    drop(fifo);

    if let Some(list) = record.hooks.as_ref().and_then(|h| h.poststart().clone()) {
        let state = hook_state(&record, Status::Running)?;
        hooks::run_hooks(hooks::HookPoint::Poststart, &list, state.as_bytes())?;
    }
    Ok(())
}

/// Returns once the init has exec'd the user program, so that poststart hooks run
/// after it, as the spec asks. The init holds the fifo's only read end, close-on-exec:
/// when it execs (or dies), the last reader is gone and our write end reports POLLERR.
fn wait_for_exec(fifo: &std::fs::File, error_path: &std::path::Path) -> Result<()> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    loop {
        let mut fds = [PollFd::new(fifo.as_fd(), PollFlags::empty())];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::errno("wait for the container process to start")(e)),
            Ok(_) => break,
        }
    }
    let error = std::fs::read_to_string(error_path).unwrap_or_default();
    if !error.is_empty() {
        return Err(Error::Init(error));
    }
    Ok(())
}
