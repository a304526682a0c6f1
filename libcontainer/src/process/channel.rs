//! A message channel between truman and a process it cloned: a SOCK_SEQPACKET pair,
//! so packet boundaries come from the kernel. A JSON message goes in as many packets
//! as it needs, each led by one byte saying whether more follow: a message carries
//! the container's state, annotations and all, which may be far larger than the
//! biggest packet a socket takes (runc accepts configs with 100,000 annotations).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::sys::socket::{recv, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The data in one packet: well below the smallest limit a SOCK_SEQPACKET socket has
/// (its send buffer, `net.core.wmem_default`, 208 KiB by default).
const PACKET_DATA: usize = 32 * 1024;

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
    /// Another handle on the same end (close-on-exec, as the original).
    pub fn try_clone(&self) -> io::Result<Channel> {
        Ok(Channel {
            fd: self.fd.try_clone()?,
        })
    }

    pub fn send<T: Serialize>(&self, message: &T) -> io::Result<()> {
        let bytes = serde_json::to_vec(message).map_err(io::Error::other)?;
        let mut chunks = bytes.chunks(PACKET_DATA).peekable();
        let mut packet = Vec::with_capacity(PACKET_DATA.min(bytes.len()) + 1);
        while let Some(chunk) = chunks.next() {
            packet.clear();
            packet.push(u8::from(chunks.peek().is_some()));
            packet.extend_from_slice(chunk);
            let written = loop {
                match nix::unistd::write(&self.fd, &packet) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    other => break other?,
                }
            };
            if written != packet.len() {
                return Err(io::Error::new(io::ErrorKind::WriteZero, "short packet"));
            }
        }
        Ok(())
    }

    /// Receives one message; `None` when the other side has closed its end (it exited).
    pub fn recv<T: DeserializeOwned>(&self) -> io::Result<Option<T>> {
        let mut message = Vec::new();
        loop {
            let Some(packet) = self.recv_packet()? else {
                if message.is_empty() {
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the other side closed in the middle of a message",
                ));
            };
            let (more, data) = packet.split_first().unwrap_or((&0, &[]));
            message.extend_from_slice(data);
            if *more == 0 {
                break;
            }
        }
        serde_json::from_slice(&message)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// One packet, whole; `None` once the other side has closed.
    fn recv_packet(&self) -> io::Result<Option<Vec<u8>>> {
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
        buf.truncate(n);
        Ok(Some(buf))
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_larger_than_any_packet_arrives_whole() {
        let (a, b) = channel_pair().unwrap();
        let big: Vec<String> = (0..100_000).map(|i| format!("annotation-{i}")).collect();
        let sent = big.clone();
        let sender = std::thread::spawn(move || a.send(&sent).unwrap());
        let got: Vec<String> = b.recv().unwrap().expect("a message");
        sender.join().unwrap();
        assert_eq!(got, big);
    }

    #[test]
    fn messages_keep_their_boundaries_and_a_close_ends_the_stream() {
        let (a, b) = channel_pair().unwrap();
        // The second message is more than the socket buffers: it is read as it is sent.
        let sender = std::thread::spawn(move || {
            a.send(&"one").unwrap();
            a.send(&vec![7u8; 3 * PACKET_DATA]).unwrap();
        });
        assert_eq!(b.recv::<String>().unwrap().as_deref(), Some("one"));
        assert_eq!(
            b.recv::<Vec<u8>>().unwrap(),
            Some(vec![7u8; 3 * PACKET_DATA])
        );
        sender.join().unwrap();
        assert!(b.recv::<String>().unwrap().is_none());
    }
}
