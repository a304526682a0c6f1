//! What truman hands over about a container process it started, over the sockets
//! named for it: the pty master (`--console-socket`), a pidfd (`--pidfd-socket`), and
//! the seccomp notification fd (the filter's `listenerPath`). Shared by `create`/`run`
//! and `exec`.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

use super::query::ContainerState;
use crate::process::pidfd::PidFd;
use crate::process::send_fd::send_fd;
use crate::process::ProcessIdentity;
use crate::security::seccomp::SeccompFilter;
use crate::{Error, Result};

/// Where the process sends its pty master, checked as runc checks it: the connected
/// `--console-socket`, or `local`, truman's own socket when it relays the pty in the
/// foreground.
pub(crate) fn console_for(
    terminal: bool,
    console_socket: Option<&Path>,
    local: Option<OwnedFd>,
) -> Result<Option<OwnedFd>> {
    match (terminal, console_socket, local) {
        (true, Some(path), _) => {
            let stream = UnixStream::connect(path).map_err(Error::sys(format!(
                "connect to console socket {}",
                path.display()
            )))?;
            Ok(Some(stream.into()))
        }
        (true, None, Some(local)) => Ok(Some(local)),
        (true, None, None) => Err(Error::Usage(
            "cannot allocate tty if truman will detach without setting console socket".into(),
        )),
        (false, Some(_), _) => Err(Error::Usage(
            "cannot use console socket if truman will not detach or allocate tty".into(),
        )),
        (false, None, _) => Ok(None),
    }
}

/// Sends `pidfd` over the unix socket at `socket` (runc >= 1.2's `--pidfd-socket`).
pub(crate) fn send_pidfd(socket: &Path, pidfd: &PidFd) -> Result<()> {
    let stream = UnixStream::connect(socket).map_err(Error::sys(format!(
        "connect to pidfd socket {}",
        socket.display()
    )))?;
    send_fd(&stream, pidfd.as_raw_fd(), "pidfd")
        .map_err(Error::sys(format!("send pidfd over {}", socket.display())))
}

/// Takes the seccomp notification fd a container process reports (`fd`, its number
/// there) and sends it to the filter's agent with `state`.
pub(crate) fn forward_seccomp_fd(
    filter: Option<&SeccompFilter>,
    process: &ProcessIdentity,
    fd: i32,
    state: &ContainerState,
) -> Result<()> {
    let listener = filter
        .and_then(|f| f.listener.as_ref())
        .ok_or_else(|| Error::Init("seccomp listenerPath is not set".into()))?;
    let pidfd = PidFd::open(process)
        .ok_or_else(|| Error::Init("the container process exited during setup".into()))?;
    let copy = pidfd
        .get_fd(fd)
        .map_err(Error::sys("take the seccomp notify fd (pidfd_getfd)"))?;
    crate::security::seccomp_agent::send(listener, &copy, process.pid, state)
}
