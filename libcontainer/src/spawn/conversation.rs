//! The one exchange between truman and a container process it spawned: truman says
//! `Go` once the process is placed (cgroup, limits, id maps), then answers what the
//! process asks (the host-side hooks, a seccomp notification fd) until it is done.

use crate::init::sync::{FromInit, ToInit};
use crate::process::channel::Channel;
use crate::{Error, Result};

/// Where the exchange ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Until {
    /// The init says `Ready`: it waits for `start`.
    Waiting,
    /// An exec'd process said `Ready` and its exec closed the channel.
    Exec,
}

impl Until {
    fn died(self) -> &'static str {
        match self {
            Until::Waiting => "init process exited during setup",
            Until::Exec => "the exec'd process died while it was set up",
        }
    }

    fn sync(self) -> impl FnOnce(std::io::Error) -> Error {
        Error::sys(match self {
            Until::Waiting => "sync with init",
            Until::Exec => "sync with the exec'd process",
        })
    }
}

/// What truman does when the process asks.
pub(crate) trait Host {
    /// prestart and createRuntime, in truman's namespaces; the reply carries the
    /// state for the container-side hooks. Only an init asks.
    fn run_hooks(&mut self) -> Result<ToInit> {
        Err(Error::Init(
            "sync: a process other than the init asked for the hooks".into(),
        ))
    }
    /// The process's seccomp notification fd, by its number there, for the agent.
    fn seccomp_fd(&mut self, fd: i32) -> Result<()>;
}

/// Lets the process go, and serves it until `until`.
pub(crate) fn converse(channel: &Channel, until: Until, host: &mut impl Host) -> Result<()> {
    channel.send(&ToInit::Go).map_err(until.sync())?;
    let mut ready = false;
    loop {
        match channel.recv::<FromInit>().map_err(until.sync())? {
            Some(FromInit::RunHooks) if until == Until::Waiting => {
                let reply = host.run_hooks()?;
                channel.send(&reply).map_err(until.sync())?;
            }
            Some(FromInit::SeccompFd { fd }) => {
                host.seccomp_fd(fd)?;
                channel.send(&ToInit::SeccompFdSent).map_err(until.sync())?;
            }
            Some(FromInit::Ready) if until == Until::Waiting => return Ok(()),
            Some(FromInit::Ready) if !ready => ready = true,
            Some(FromInit::Failed { error }) => return Err(Error::Init(error)),
            // Closed by the exec, after Ready.
            None if ready => return Ok(()),
            None => return Err(Error::Init(until.died().into())),
            Some(other) => return Err(Error::Init(format!("sync: unexpected {other:?}"))),
        }
    }
}
