//! Relaying a container's pty to truman's own terminal.

use std::io::{self, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};

/// Receives the pty master the init sends over the console socket (one SCM_RIGHTS fd).
pub(crate) fn receive_master(socket: &OwnedFd) -> io::Result<OwnedFd> {
    let mut payload = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut payload)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    for cmsg in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this fd for us; we own it now.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "the init sent no console master",
    ))
}

/// Copies stdin to the master and the master to stdout; puts the caller's terminal
/// in raw mode meanwhile, so that keys like ^C reach the container's terminal.
pub(crate) struct Relay {
    master: OwnedFd,
    stdin_open: bool,
    master_open: bool,
    saved: Option<Termios>,
}

impl Relay {
    pub fn new(master: OwnedFd) -> Self {
        let stdin = io::stdin();
        let saved = tcgetattr(stdin.as_fd()).ok();
        if let Some(original) = &saved {
            let mut raw = original.clone();
            cfmakeraw(&mut raw);
            let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        }
        let relay = Self {
            master,
            stdin_open: true,
            master_open: true,
            saved,
        };
        relay.resize();
        relay
    }

    /// Gives the container's terminal the size of ours (on start and on SIGWINCH).
    pub fn resize(&self) {
        if let Some(size) = super::size::get(io::stdin().as_fd()) {
            let _ = super::size::set(self.master.as_fd(), &size);
        }
    }

    pub fn stdin(&self) -> Option<BorrowedFd<'_>> {
        // SAFETY: fd 0 stays open for the whole life of truman.
        self.stdin_open
            .then(|| unsafe { BorrowedFd::borrow_raw(libc::STDIN_FILENO) })
    }

    pub fn master(&self) -> Option<BorrowedFd<'_>> {
        self.master_open.then(|| self.master.as_fd())
    }

    /// Moves what stdin has to the container; at EOF, stops reading it.
    pub fn pump_stdin(&mut self) {
        if !copy(libc::STDIN_FILENO, self.master.as_raw_fd()) {
            self.stdin_open = false;
        }
    }

    /// Moves what the container wrote to stdout; when its side closes (EIO), stops.
    pub fn pump_master(&mut self) {
        if !copy(self.master.as_raw_fd(), libc::STDOUT_FILENO) {
            self.master_open = false;
        }
    }

    /// Whatever the container wrote before it exited, without blocking.
    pub fn drain(&mut self) {
        while self.master_open {
            let mut fds = [nix::poll::PollFd::new(
                self.master.as_fd(),
                nix::poll::PollFlags::POLLIN,
            )];
            match nix::poll::poll(&mut fds, nix::poll::PollTimeout::ZERO) {
                Ok(n) if n > 0 => self.pump_master(),
                _ => break,
            }
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(original) = &self.saved {
            let _ = tcsetattr(io::stdin().as_fd(), SetArg::TCSANOW, original);
        }
    }
}

/// One read and a full write; false at EOF or on a read error.
fn copy(from: i32, to: i32) -> bool {
    let mut buf = [0u8; 8192];
    let n = match nix::unistd::read(from, &mut buf) {
        Ok(0) | Err(_) => return false,
        Ok(n) => n,
    };
    let mut rest = &buf[..n];
    // SAFETY: `to` is one of truman's open stdio or pty descriptors.
    let to = unsafe { BorrowedFd::borrow_raw(to) };
    while !rest.is_empty() {
        match nix::unistd::write(to, rest) {
            Ok(written) => rest = &rest[written..],
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
    true
}
