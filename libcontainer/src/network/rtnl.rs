//! A synchronous rtnetlink socket: the few link and address requests truman makes.
//! The framing and attribute encoding are `netlink-packet-core`'s, the link header and
//! address messages `netlink-packet-route`'s, the socket nix's. A socket acts on the
//! network namespace it was created in, whatever namespace its user is in later.
//!
//! Link messages carry only the attributes truman sends (raw) and are read only up
//! to their header: `netlink-packet-route`'s own link message type parses and emits
//! every attribute of every kind of link: with it the release binary grew by 915 KB,
//! this way by 72 KB.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, NetlinkDeserializable, NetlinkHeader, NetlinkMessage,
    NetlinkPayload, NetlinkSerializable, Parseable, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP,
    NLM_F_DUMP_INTR, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::link::{LinkFlags, LinkHeader};
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
    /// to create the socket, then returns to `own` (which, being the namespace it came
    /// from, root can always enter again).
    pub fn open_in(netns: BorrowedFd<'_>, own: BorrowedFd<'_>) -> io::Result<Rtnl> {
        setns(netns, CloneFlags::CLONE_NEWNET)?;
        let opened = Rtnl::open();
        setns(own, CloneFlags::CLONE_NEWNET)?;
        opened
    }

    /// The header of the link called `name` (its index and flags), if there is one.
    pub fn link_by_name(&mut self, name: &str) -> io::Result<Option<LinkHeader>> {
        let query = Request::link(libc::RTM_GETLINK, LinkHeader::default()).name(name);
        match self.request(query, 0) {
            Ok(replies) => Ok(replies.into_iter().find_map(|reply| match reply {
                Reply::Link(link) => Some(link),
                _ => None,
            })),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The indexes of every link.
    pub fn link_indexes(&mut self) -> io::Result<Vec<u32>> {
        let replies = self.dump(Request::link(libc::RTM_GETLINK, LinkHeader::default()))?;
        Ok(replies
            .into_iter()
            .filter_map(|reply| match reply {
                Reply::Link(link) => Some(link.index),
                _ => None,
            })
            .collect())
    }

    /// The addresses of link `index`, of every family.
    pub fn addresses_of(&mut self, index: u32) -> io::Result<Vec<AddressMessage>> {
        let query = Request::Address(libc::RTM_GETADDR, AddressMessage::default());
        Ok(self
            .dump(query)?
            .into_iter()
            .filter_map(|reply| match reply {
                Reply::Address(address) if address.header.index == index => Some(address),
                _ => None,
            })
            .collect())
    }

    pub fn set_up(&mut self, index: u32) -> io::Result<()> {
        let link = LinkHeader {
            index,
            flags: LinkFlags::Up,
            change_mask: LinkFlags::Up,
            ..Default::default()
        };
        self.request(Request::link(libc::RTM_NEWLINK, link), 0)
            .map(drop)
    }

    /// Moves link `index` into the network namespace `netns` and names it `name` there,
    /// in one request: the name never has to be free in this namespace, nor the old
    /// one in the other.
    pub fn move_link(&mut self, index: u32, name: &str, netns: BorrowedFd<'_>) -> io::Result<()> {
        let link = LinkHeader {
            index,
            ..Default::default()
        };
        // IFLA_NET_NS_FD: the descriptor as a native-endian u32.
        let fd = netns.as_raw_fd() as u32;
        let request = Request::link(libc::RTM_NEWLINK, link)
            .name(name)
            .attribute(libc::IFLA_NET_NS_FD, fd.to_ne_bytes().to_vec());
        self.request(request, 0).map(drop)
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
            Request::Address(libc::RTM_NEWADDR, address),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
    }

    /// Sends a request that the kernel acknowledges, and returns what it answered
    /// before the acknowledgement.
    fn request(&mut self, message: Request, flags: u16) -> io::Result<Vec<Reply>> {
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
    fn dump(&mut self, message: Request) -> io::Result<Vec<Reply>> {
        for _ in 1..DUMP_TRIES {
            let (replies, interrupted) = self.dump_once(message.clone())?;
            if !interrupted {
                return Ok(replies);
            }
        }
        self.dump_once(message).map(|(replies, _)| replies)
    }

    fn dump_once(&mut self, message: Request) -> io::Result<(Vec<Reply>, bool)> {
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

    fn send(&mut self, message: Request, flags: u16) -> io::Result<u32> {
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
    fn receive(&mut self, sequence: u32) -> io::Result<Vec<NetlinkMessage<Reply>>> {
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
            let message = NetlinkMessage::<Reply>::deserialize(&buffer[offset..length])
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

/// What truman asks the kernel: a link message (its header and raw attributes) or an
/// address message, with its rtnetlink type (`RTM_*`).
#[derive(Clone)]
enum Request {
    Link(u16, LinkHeader, Vec<DefaultNla>),
    Address(u16, AddressMessage),
}

impl Request {
    fn link(message_type: u16, header: LinkHeader) -> Request {
        Request::Link(message_type, header, Vec::new())
    }

    fn attribute(mut self, kind: u16, value: Vec<u8>) -> Request {
        if let Request::Link(_, _, attributes) = &mut self {
            attributes.push(DefaultNla::new(kind, value));
        }
        self
    }

    /// `IFLA_IFNAME`: a NUL-terminated string.
    fn name(self, name: &str) -> Request {
        let mut value = name.as_bytes().to_vec();
        value.push(0);
        self.attribute(libc::IFLA_IFNAME, value)
    }
}

impl NetlinkSerializable for Request {
    fn message_type(&self) -> u16 {
        match self {
            Request::Link(message_type, ..) | Request::Address(message_type, _) => *message_type,
        }
    }

    fn buffer_len(&self) -> usize {
        match self {
            Request::Link(_, header, attributes) => {
                header.buffer_len() + attributes.as_slice().buffer_len()
            }
            Request::Address(_, message) => message.buffer_len(),
        }
    }

    fn serialize(&self, buffer: &mut [u8]) {
        match self {
            Request::Link(_, header, attributes) => {
                header.emit(buffer);
                attributes
                    .as_slice()
                    .emit(&mut buffer[header.buffer_len()..]);
            }
            Request::Address(_, message) => message.emit(buffer),
        }
    }
}

/// What the kernel answers: a link's header, an address, or something truman does
/// not read.
enum Reply {
    Link(LinkHeader),
    Address(AddressMessage),
    Other,
}

impl NetlinkDeserializable for Reply {
    type Error = DecodeError;

    fn deserialize(header: &NetlinkHeader, payload: &[u8]) -> Result<Reply, DecodeError> {
        Ok(match header.message_type {
            libc::RTM_NEWLINK => Reply::Link(LinkHeader::parse(payload)?),
            libc::RTM_NEWADDR => Reply::Address(AddressMessage::parse(payload)?),
            _ => Reply::Other,
        })
    }
}
