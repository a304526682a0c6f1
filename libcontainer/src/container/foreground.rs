//! A container process truman waits for in the foreground (`run`, and `exec` without
//! `--detach`): signals forwarded to it, its pty relayed to truman's own terminal,
//! and its end turned into the exit code a shell would show.

use std::os::fd::AsFd;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::console::Relay;
use crate::{Error, Result};

/// Signals passed on to the container process, as runc does.
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

pub(crate) struct Foreground {
    signals: SignalFd,
    relay: Option<Relay>,
}

impl Foreground {
    /// Blocks the forwarded signals and SIGCHLD: from here they arrive through a
    /// signalfd. Called once the container process exists, so that it does not
    /// inherit the blocked mask.
    pub fn begin(relay: Option<Relay>) -> Result<Self> {
        let mut mask = SigSet::empty();
        for s in FORWARDED {
            mask.add(s);
        }
        mask.add(Signal::SIGCHLD);
        mask.thread_block().map_err(Error::errno("block signals"))?;
        let signals =
            SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC).map_err(Error::errno("signalfd"))?;
        Ok(Self { signals, relay })
    }

    /// Waits for `pid`, a child of truman, to end, forwarding signals and relaying
    /// the pty meanwhile; reaps every other child that ends. Returns its exit code,
    /// or 128 + the signal that killed it.
    pub fn wait(mut self, pid: Pid) -> Result<i32> {
        let code = loop {
            if let Some(code) = reap(pid)? {
                break code;
            }
            let (signal_ready, stdin_ready, master_ready) = self.wait_for_events()?;
            if let Some(relay) = self.relay.as_mut() {
                if stdin_ready {
                    relay.pump_stdin();
                }
                if master_ready {
                    relay.pump_master();
                }
            }
            if !signal_ready {
                continue;
            }
            let Some(info) = self
                .signals
                .read_signal()
                .map_err(Error::errno("read signalfd"))?
            else {
                continue;
            };
            match info.ssi_signo as i32 {
                libc::SIGCHLD => {}
                // A resized terminal resizes the container's; the kernel tells its
                // foreground process group.
                libc::SIGWINCH if self.relay.is_some() => {
                    if let Some(relay) = &self.relay {
                        relay.resize();
                    }
                }
                signo => {
                    if let Ok(signal) = Signal::try_from(signo) {
                        let _ = nix::sys::signal::kill(pid, signal);
                    }
                }
            }
        };
        if let Some(relay) = self.relay.as_mut() {
            relay.drain();
        }
        Ok(code)
    }

    /// Waits until a signal arrives or, when relaying a console, stdin or the master
    /// has something to read.
    fn wait_for_events(&self) -> Result<(bool, bool, bool)> {
        let mut fds = vec![PollFd::new(self.signals.as_fd(), PollFlags::POLLIN)];
        let stdin = self.relay.as_ref().and_then(Relay::stdin);
        let master = self.relay.as_ref().and_then(Relay::master);
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
}

/// Reaps every child that has ended; returns the exit code of `pid` once it has.
fn reap(pid: Pid) -> Result<Option<i32>> {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, code)) if p == pid => return Ok(Some(code)),
            Ok(WaitStatus::Signaled(p, signal, _)) if p == pid => {
                return Ok(Some(128 + signal as i32))
            }
            Ok(WaitStatus::StillAlive) => return Ok(None),
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(nix::errno::Errno::ECHILD) => {
                return Err(Error::Init(
                    "the container process is not truman's child".into(),
                ))
            }
            Err(e) => return Err(Error::errno("waitpid")(e)),
        }
    }
}
