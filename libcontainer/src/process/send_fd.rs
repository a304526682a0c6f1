//! Handing a descriptor to another process over a unix socket, the way runc's callers
//! receive the console master and the pidfd: one message, one SCM_RIGHTS fd, and a
//! short non-empty payload (go-runc and conmon refuse anything else).

use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, RawFd};

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

pub fn send_fd(socket: &impl AsRawFd, fd: RawFd, payload: &str) -> io::Result<()> {
    let fds = [fd];
    let bytes = payload.as_bytes();
    let mut sent = sendmsg::<()>(
        socket.as_raw_fd(),
        &[IoSlice::new(bytes)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )?;
    // A stream socket may take a large payload (a seccomp agent's state, with every
    // annotation) in parts; the fd went with the first.
    while sent < bytes.len() {
        // SAFETY: the caller's socket stays open for the duration of the call.
        let socket = unsafe { std::os::fd::BorrowedFd::borrow_raw(socket.as_raw_fd()) };
        match nix::unistd::write(socket, &bytes[sent..]) {
            Ok(n) => sent += n,
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
