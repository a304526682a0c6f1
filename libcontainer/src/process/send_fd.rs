//! Handing a descriptor to another process over a unix socket, the way runc's callers
//! receive the console master and the pidfd: one message, one SCM_RIGHTS fd, and a
//! short non-empty payload (go-runc and conmon refuse anything else).

use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, RawFd};

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

pub fn send_fd(socket: &impl AsRawFd, fd: RawFd, payload: &str) -> io::Result<()> {
    let fds = [fd];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &[IoSlice::new(payload.as_bytes())],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )?;
    Ok(())
}
