//! `run`: create and start in one call. Detached, truman leaves as after `create`. In
//! the foreground it stays as the init's parent: it forwards signals to the init,
//! reaps it, deletes the container, and returns the exit code a shell would show.

use std::os::fd::AsFd;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::create::{create_with, CreateOptions, Reaper};
use super::start::start;
use crate::console::{receive_master, Relay};
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

/// How `run` behaves once the container is started.
#[derive(Debug, Clone, Copy)]
pub struct RunMode {
    /// Leave at once, as after `create`, instead of waiting for the container.
    pub detach: bool,
    /// Keep the stopped container's state instead of deleting it (`--keep`).
    pub keep: bool,
    /// Adopt processes that escape the init (without a PID namespace).
    pub subreaper: bool,
}

/// Returns the exit code for truman: 0 when detached, else the container's.
pub fn run(store: &StateStore, options: &CreateOptions, mode: RunMode) -> Result<i32> {
    if mode.detach {
        let created = create_with(store, options, Reaper::Caller, None)?;
        start_or_remove(store, &created.id)?;
        return Ok(0);
    }
    // With `process.terminal` and no --console-socket, the init sends its pty master
    // to truman over this pair, and truman relays it to its own terminal.
    let (console_here, console_there) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(Error::errno("socketpair"))?;
    let created = create_with(store, options, Reaper::Truman, Some(console_there))?;
    let mut relay = match created.terminal && options.console_socket.is_none() {
        true => match receive_master(&console_here) {
            Ok(master) => Some(Relay::new(master)),
            Err(e) => {
                let _ = super::delete::delete(store, created.id.as_str(), true);
                return Err(Error::sys("receive the console master")(e));
            }
        },
        false => None,
    };
    drop(console_here);

    // The init was cloned with truman's signal mask; blocking only now keeps it out of
    // the container's mask. From here, signals arrive through the signalfd.
    let mut mask = SigSet::empty();
    for s in FORWARDED {
        mask.add(s);
    }
    mask.add(Signal::SIGCHLD);
    mask.thread_block().map_err(Error::errno("block signals"))?;
    // Processes that escape the init (no PID namespace) are re-parented to us.
    if mode.subreaper {
        let _ = nix::sys::prctl::set_child_subreaper(true);
    }
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
        let (signal_ready, stdin_ready, master_ready) = wait_for_events(&signals, relay.as_ref())?;
        if stdin_ready {
            if let Some(relay) = relay.as_mut() {
                relay.pump_stdin();
            }
        }
        if master_ready {
            if let Some(relay) = relay.as_mut() {
                relay.pump_master();
            }
        }
        if !signal_ready {
            continue;
        }
        let Some(info) = signals
            .read_signal()
            .map_err(Error::errno("read signalfd"))?
        else {
            continue;
        };
        match info.ssi_signo as i32 {
            libc::SIGCHLD => {}
            // A resized terminal resizes the container's; the kernel tells its
            // foreground process group.
            libc::SIGWINCH if relay.is_some() => {
                if let Some(relay) = &relay {
                    relay.resize();
                }
            }
            signo => {
                if let Ok(signal) = Signal::try_from(signo) {
                    let _ = nix::sys::signal::kill(init, signal);
                }
            }
        }
    };
    if let Some(relay) = relay.as_mut() {
        relay.drain();
    }
    drop(relay);
    if !mode.keep {
        let _ = super::delete::delete(store, created.id.as_str(), true);
    }
    Ok(code)
}

/// Waits until a signal arrives or, when relaying a console, stdin or the master has
/// something to read.
fn wait_for_events(signals: &SignalFd, relay: Option<&Relay>) -> Result<(bool, bool, bool)> {
    let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
    let stdin = relay.and_then(Relay::stdin);
    let master = relay.and_then(Relay::master);
    let stdin_at = stdin.map(|fd| {
        fds.push(PollFd::new(fd, PollFlags::POLLIN));
        fds.len() - 1
    });
    let master_at = master.map(|fd| {
        fds.push(PollFd::new(fd, PollFlags::POLLIN));
        fds.len() - 1
    });
    match poll(&mut fds, PollTimeout::NONE) {
        Ok(_) | Err(nix::errno::Errno::EINTR) => {}
        Err(e) => return Err(Error::errno("poll")(e)),
    }
    let ready = |at: Option<usize>| {
        at.and_then(|i| fds[i].revents())
            .is_some_and(|r| !r.is_empty())
    };
    Ok((ready(Some(0)), ready(stdin_at), ready(master_at)))
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
