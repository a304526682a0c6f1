//! The terminal of a container truman keeps in the foreground without
//! `--console-socket` (`run`, `restore`): its pty master comes to truman over a socket
//! pair, and truman relays it to its own terminal.

use std::os::fd::OwnedFd;

use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

use crate::console::{receive_master, Relay};
use crate::id::ContainerId;
use crate::state::StateStore;
use crate::{Error, Result};

/// truman's end of the pair.
pub(crate) struct LocalConsole {
    here: OwnedFd,
}

impl LocalConsole {
    /// The pair: truman's end, and the one to send the master over (the init's, or
    /// CRIU's for a restore).
    pub fn pair() -> Result<(Self, OwnedFd)> {
        let (here, there) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(Error::errno("socketpair"))?;
        Ok((Self { here }, there))
    }

    /// The relay of the master sent over the pair when `sent` (a terminal container
    /// without --console-socket), else none. A master that never comes removes the
    /// container `id`.
    pub fn relay(self, sent: bool, store: &StateStore, id: &ContainerId) -> Result<Option<Relay>> {
        if !sent {
            return Ok(None);
        }
        match receive_master(&self.here) {
            Ok(master) => Ok(Some(Relay::new(master))),
            Err(e) => {
                let _ = super::delete::delete(store, id.as_str(), true);
                Err(Error::sys("receive the console master")(e))
            }
        }
    }
}
