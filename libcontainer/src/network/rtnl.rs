//! A synchronous rtnetlink socket: the few link and address requests truman makes.
//! The messages are `netlink-packet-route`'s; the socket is nix's. A socket acts on
//! the network namespace it was created in, whatever namespace its user is in later.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP,
    NLM_F_DUMP_INTR, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use nix::sched::{setns, CloneFlags};
use nix::sys::socket::{
    recv, send, socket, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType,
};

/// Large enough for any datagram the kernel sends a dump in (it fills at most 32 KiB).
const RECV_BUFFER: usize = 64 * 1024;
/// A dump the kernel flags as interrupted (the table changed meanwhile) is retried.
const DUMP_TRIES: usize = 3;

pub(super) struct Rtnl {
    fd: OwnedFd,
    sequence: u32,
}

impl Rtnl {
    /// A socket in the calling thread's network namespace.
    pub fn open() -> io::Result<Rtnl> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )?;
        Ok(Rtnl { fd, sequence: 0 })
    }

    /// A socket in the network namespace `netns`: the thread enters it just long enough
    /// to create the socket, then returns to `own`.
    pub fn open_in(netns: BorrowedFd<'_>, own: BorrowedFd<'_>) -> io::Result<Rtnl> {
        setns(netns, CloneFlags::CLONE_NEWNET)?;
        let opened = Rtnl::open();
        setns(own, CloneFlags::CLONE_NEWNET)?;
        opened
    }

    /// The link called `name`, if there is one.
    pub fn link_by_name(&mut self, name: &str) -> io::Result<Option<LinkMessage>> {
        let mut query = LinkMessage::default();
        query
            .attributes
            .push(LinkAttribute::IfName(name.to_owned()));
        match self.request(RouteNetlinkMessage::GetLink(query), 0) {
            Ok(replies) => Ok(replies.into_iter().find_map(|reply| match reply {
                RouteNetlinkMessage::NewLink(link) => Some(link),
                _ => None,
            })),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The indexes of every link.
    pub fn link_indexes(&mut self) -> io::Result<Vec<u32>> {
        let replies = self.dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))?;
        Ok(replies
            .into_iter()
            .filter_map(|reply| match reply {
                RouteNetlinkMessage::NewLink(link) => Some(link.header.index),
                _ => None,
            })
            .collect())
    }

    /// The addresses of link `index`, of every family.
    pub fn addresses_of(&mut self, index: u32) -> io::Result<Vec<AddressMessage>> {
        let replies = self.dump(RouteNetlinkMessage::GetAddress(AddressMessage::default()))?;
        Ok(replies
            .into_iter()
            .filter_map(|reply| match reply {
                RouteNetlinkMessage::NewAddress(address) if address.header.index == index => {
                    Some(address)
                }
                _ => None,
            })
            .collect())
    }

    pub fn set_up(&mut self, index: u32) -> io::Result<()> {
        let mut link = LinkMessage::default();
        link.header.index = index;
        link.header.flags = LinkFlags::Up;
        link.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::NewLink(link), 0)
            .map(drop)
    }

    /// Moves link `index` into the network namespace `netns` and names it `name` there,
    /// in one request: the name never has to be free in this namespace, nor the old
    /// one in the other.
    pub fn move_link(&mut self, index: u32, name: &str, netns: BorrowedFd<'_>) -> io::Result<()> {
        let mut link = LinkMessage::default();
        link.header.index = index;
        link.attributes.push(LinkAttribute::IfName(name.to_owned()));
        link.attributes
            .push(LinkAttribute::NetNsFd(netns.as_raw_fd()));
        self.request(RouteNetlinkMessage::NewLink(link), 0)
            .map(drop)
    }

    /// Gives link `index` the address `original` describes: its address, local address,
    /// prefix, family, scope, broadcast, route metric and the flags a user sets
    /// (`nodad`, `noprefixroute`...); not its label, which names the old link, nor
    /// the flags the kernel keeps (tentative, deprecated...).
    pub fn add_address(&mut self, index: u32, original: &AddressMessage) -> io::Result<()> {
        let settable = AddressFlags::Nodad
            | AddressFlags::Optimistic
            | AddressFlags::Homeaddress
            | AddressFlags::Managetempaddr
            | AddressFlags::Noprefixroute
            | AddressFlags::Mcautojoin;
        let mut address = AddressMessage::default();
        address.header.family = original.header.family;
        address.header.prefix_len = original.header.prefix_len;
        address.header.scope = original.header.scope;
        address.header.index = index;
        address.attributes = original
            .attributes
            .iter()
            .filter_map(|a| match a {
                AddressAttribute::Address(_)
                | AddressAttribute::Local(_)
                | AddressAttribute::Broadcast(_)
                | AddressAttribute::RoutePriority(_) => Some(a.clone()),
                AddressAttribute::Flags(flags) => Some(AddressAttribute::Flags(*flags & settable)),
                _ => None,
            })
            .collect();
        self.request(
            RouteNetlinkMessage::NewAddress(address),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
    }

    /// Sends a request that the kernel acknowledges, and returns what it answered
    /// before the acknowledgement.
    fn request(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        let sequence = self.send(message, NLM_F_REQUEST | NLM_F_ACK | flags)?;
        let mut replies = Vec::new();
        loop {
            for reply in self.receive(sequence)? {
                match reply.payload {
                    NetlinkPayload::InnerMessage(inner) => replies.push(inner),
                    NetlinkPayload::Error(e) if e.code.is_some() => return Err(e.to_io()),
                    // The acknowledgement: an error message without an error.
                    NetlinkPayload::Error(_) => return Ok(replies),
                    _ => {}
                }
            }
        }
    }

    /// Sends a dump request and returns every answer.
    fn dump(&mut self, message: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
        for _ in 1..DUMP_TRIES {
            let (replies, interrupted) = self.dump_once(message.clone())?;
            if !interrupted {
                return Ok(replies);
            }
        }
        self.dump_once(message).map(|(replies, _)| replies)
    }

    fn dump_once(
        &mut self,
        message: RouteNetlinkMessage,
    ) -> io::Result<(Vec<RouteNetlinkMessage>, bool)> {
        let sequence = self.send(message, NLM_F_REQUEST | NLM_F_DUMP)?;
        let mut replies = Vec::new();
        let mut interrupted = false;
        loop {
            for reply in self.receive(sequence)? {
                interrupted |= reply.header.flags & NLM_F_DUMP_INTR != 0;
                match reply.payload {
                    NetlinkPayload::InnerMessage(inner) => replies.push(inner),
                    NetlinkPayload::Error(e) if e.code.is_some() => return Err(e.to_io()),
                    NetlinkPayload::Done(done) if done.code != 0 => {
                        return Err(io::Error::from_raw_os_error(done.code.abs()))
                    }
                    NetlinkPayload::Done(_) => return Ok((replies, interrupted)),
                    _ => {}
                }
            }
        }
    }

    fn send(&mut self, message: RouteNetlinkMessage, flags: u16) -> io::Result<u32> {
        self.sequence = self.sequence.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.sequence;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
        packet.finalize();
        let mut buffer = vec![0; packet.buffer_len()];
        packet.serialize(&mut buffer);
        // To the kernel (port 0): an unconnected netlink socket's default peer.
        let sent = send(self.fd.as_raw_fd(), &buffer, MsgFlags::empty())?;
        if sent != buffer.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "short netlink send",
            ));
        }
        Ok(self.sequence)
    }

    /// The messages of one datagram that answer request `sequence`.
    fn receive(&mut self, sequence: u32) -> io::Result<Vec<NetlinkMessage<RouteNetlinkMessage>>> {
        let mut buffer = vec![0; RECV_BUFFER];
        // MSG_TRUNC: the datagram's real length, to notice one that did not fit.
        let length = recv(self.fd.as_raw_fd(), &mut buffer, MsgFlags::MSG_TRUNC)?;
        if length > buffer.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("netlink answer of {length} bytes truncated"),
            ));
        }
        let mut messages = Vec::new();
        let mut offset = 0;
        while offset < length {
            let message =
                NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buffer[offset..length])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            let size = message.header.length as usize;
            if size == 0 {
                break;
            }
            // Messages in a datagram start on 4-byte boundaries.
            offset += size.next_multiple_of(4);
            if message.header.sequence_number == sequence {
                messages.push(message);
            }
        }
        Ok(messages)
    }
}
