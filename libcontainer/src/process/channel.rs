//! A message channel between truman and a process it cloned: a SOCK_SEQPACKET pair,
//! one JSON message per packet, so message boundaries come from the kernel.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::sys::socket::{recv, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Debug)]
pub struct Channel {
    fd: OwnedFd,
}

/// Two connected ends; each side of a clone keeps one and drops the other.
pub fn channel_pair() -> io::Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    pub fn send<T: Serialize>(&self, message: &T) -> io::Result<()> {
        let bytes = serde_json::to_vec(message).map_err(io::Error::other)?;
        let written = nix::unistd::write(&self.fd, &bytes)?;
        if written != bytes.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short packet"));
        }
        Ok(())
    }

    /// Receives one message; `None` when the other side has closed its end (it exited).
    pub fn recv<T: DeserializeOwned>(&self) -> io::Result<Option<T>> {
        // A packet larger than the buffer would be cut silently: ask its size first.
        let size = loop {
            match recv(
                self.fd.as_raw_fd(),
                &mut [],
                MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => break other?,
            }
        };
        let mut buf = vec![0u8; size.max(1)];
        let n = loop {
            match nix::unistd::read(self.fd.as_raw_fd(), &mut buf) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => break other?,
            }
        };
        if n == 0 {
            return Ok(None);
        }
        serde_json::from_slice(&buf[..n])
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
