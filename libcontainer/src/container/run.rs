//! `run`: create and start in one call. Detached, truman leaves as after `create`. In
//! the foreground it stays as the init's parent: it forwards signals to the init,
//! reaps it, deletes the container, and returns the exit code a shell would show.

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::create::{create_with, CreateOptions, Reaper};
use super::start::start;
use crate::id::ContainerId;
use crate::state::StateStore;
use crate::{Error, Result};

/// Signals a foreground `run` passes on to the container, as runc does.
const FORWARDED: [Signal; 8] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
];

/// Returns the exit code for truman: 0 when detached, else the container's.
pub fn run(store: &StateStore, options: &CreateOptions, detach: bool) -> Result<i32> {
    if detach {
        let created = create_with(store, options, Reaper::Caller)?;
        start_or_remove(store, &created.id)?;
        return Ok(0);
    }
    // Blocked before the init exists, so no signal meant for it is lost; the init
    // unblocks its copy of the mask before it execs (std does, and the kernel keeps
    // the mask across exec otherwise), see `unblock_in_child`.
    let mut mask = SigSet::empty();
    for s in FORWARDED {
        mask.add(s);
    }
    mask.add(Signal::SIGCHLD);
    let created = create_with(store, options, Reaper::Truman)?;
    mask.thread_block().map_err(Error::errno("block signals"))?;
    // Processes that escape the init (no PID namespace) are re-parented to us.
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let signals =
        SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC).map_err(Error::errno("signalfd"))?;
    {
        let _span = tracing::debug_span!("start").entered();
        start_or_remove(store, &created.id)?;
    }

    let init = created.init.pid();
    let code = loop {
        if let Some(code) = reap(init)? {
            break code;
        }
        let Some(info) = signals
            .read_signal()
            .map_err(Error::errno("read signalfd"))?
        else {
            continue;
        };
        let signo = info.ssi_signo as i32;
        if signo != libc::SIGCHLD {
            if let Ok(signal) = Signal::try_from(signo) {
                let _ = nix::sys::signal::kill(init, signal);
            }
        }
    };
    let _ = super::delete::delete(store, created.id.as_str(), true);
    Ok(code)
}

fn start_or_remove(store: &StateStore, id: &ContainerId) -> Result<()> {
    if let Err(e) = start(store, id.as_str()) {
        let _ = super::delete::delete(store, id.as_str(), true);
        return Err(e);
    }
    Ok(())
}

/// Reaps every child that has exited; returns the init's exit code once it has.
fn reap(init: Pid) -> Result<Option<i32>> {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == init => return Ok(Some(code)),
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == init => {
                return Ok(Some(128 + signal as i32))
            }
            Ok(WaitStatus::StillAlive) => return Ok(None),
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(nix::errno::Errno::ECHILD) => {
                return Err(Error::Init(
                    "the container's init is not truman's child".into(),
                ))
            }
            Err(e) => return Err(Error::errno("waitpid")(e)),
        }
    }
}
