//! What truman hands to its caller about a container process it started, over the
//! sockets the caller names: the pty master (`--console-socket`) and a pidfd
//! (`--pidfd-socket`). Shared by `create`/`run` and `exec`.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

use crate::process::pidfd::PidFd;
use crate::process::send_fd::send_fd;
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
