//! `linux.netDevices`: host links moved into the container's network namespace, as
//! runc 1.3 moves them. Each link is renamed and moved in one request, gets back its
//! permanent addresses of global scope (the kernel drops addresses on a move) and is
//! brought up.
//!
//! What a config asks that cannot be done is refused before the first link moves:
//! names the kernel would refuse, two links given one name, and no network namespace
//! of the container's when the bundle is loaded; a missing link, or a namespace
//! joined by path that is the runtime's own, before `create` makes anything; a name
//! taken in the container's namespace before the first move. Should `create` fail
//! after links moved, they are moved back to the host as they were.
//!
//! `delete` leaves them to the kernel, as runtime-spec 1.3 requires ("the runtime MUST
//! NOT attempt to move the interface out of the namespace before deletion"): when the
//! namespace goes, a physical link returns to the host's initial namespace and a
//! virtual one (veth, dummy, macvlan) is destroyed. A namespace joined by path keeps
//! its links.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{LinkFlags, LinkHeader};
use nix::unistd::Pid;
use oci_spec::runtime::{Linux, LinuxNamespaceType, Spec};

use super::ifname;
use super::rtnl::Rtnl;
use super::NetworkError;

/// One entry of `linux.netDevices`.
struct Entry<'a> {
    /// The link's name on the host: the entry's key.
    host: &'a str,
    /// Its name in the container, when given (an empty one means the host's, as in runc).
    name: Option<&'a str>,
}

impl Entry<'_> {
    fn target(&self) -> &str {
        self.name.unwrap_or(self.host)
    }

    fn field(&self) -> String {
        format!("linux.netDevices[{:?}]", self.host)
    }

    /// The field that decides the name in the container.
    fn target_field(&self) -> String {
        match self.name {
            Some(_) => format!("{}.name", self.field()),
            None => self.field(),
        }
    }
}

/// The entries, in the order of their host names (the config's map has none).
fn entries(linux: Option<&Linux>) -> Vec<Entry<'_>> {
    let mut entries: Vec<Entry> = linux
        .and_then(|l| l.net_devices().as_ref())
        .into_iter()
        .flatten()
        .map(|(host, device)| Entry {
            host,
            name: device.name().as_deref().filter(|n| !n.is_empty()),
        })
        .collect();
    entries.sort_by_key(|e| e.host);
    entries
}

/// The `linux.namespaces` entry of the network namespace.
fn network_namespace(linux: &Linux) -> Option<&oci_spec::runtime::LinuxNamespace> {
    linux
        .namespaces()
        .iter()
        .flatten()
        .find(|n| n.typ() == LinuxNamespaceType::Network)
}

/// The checks of the config alone, when the bundle is loaded: (field, reason).
pub(crate) fn check_spec(linux: &Linux) -> Result<(), (String, String)> {
    let entries = entries(Some(linux));
    if entries.is_empty() {
        return Ok(());
    }
    if network_namespace(linux).is_none() {
        return Err((
            "linux.netDevices".into(),
            "needs a network namespace in linux.namespaces: without one the devices would not leave the host".into(),
        ));
    }
    let mut targets: HashMap<&str, &str> = HashMap::new();
    for entry in &entries {
        if let Some(reason) = ifname::invalid(entry.host) {
            return Err((
                entry.field(),
                format!("interface name {:?} {reason}", entry.host),
            ));
        }
        if ifname::is_template(entry.host) {
            return Err((
                entry.field(),
                "a host link is named exactly, not by a \"%d\" template".into(),
            ));
        }
        let target = entry.target();
        if let Some(reason) = ifname::invalid(target) {
            return Err((
                entry.target_field(),
                format!("interface name {target:?} {reason}"),
            ));
        }
        if ifname::is_template(target) {
            // The kernel picks a free name: no two can clash.
            continue;
        }
        if target == "lo" {
            return Err((
                entry.target_field(),
                "\"lo\" is the loopback link every network namespace has".into(),
            ));
        }
        if let Some(other) = targets.insert(target, entry.host) {
            return Err((
                entry.target_field(),
                format!(
                    "{target:?} is also the name linux.netDevices[{other:?}] gets in the container"
                ),
            ));
        }
    }
    Ok(())
}

/// The checks that ask the host, before `create` makes anything: every link exists in
/// the runtime's network namespace, and a namespace joined by path is another one.
pub(crate) fn check_host(spec: &Spec) -> Result<(), NetworkError> {
    let linux = spec.linux().as_ref();
    let entries = entries(linux);
    if entries.is_empty() {
        return Ok(());
    }
    if let Some(path) = linux
        .and_then(network_namespace)
        .and_then(|n| n.path().as_deref())
    {
        // A path that cannot be read fails the join itself, with its own error.
        if is_own_netns(path).unwrap_or(false) {
            return Err(NetworkError::Refused {
                field: "linux.netDevices".into(),
                reason: format!(
                    "the network namespace {} in linux.namespaces is the runtime's own: the devices would not leave the host",
                    path.display()
                ),
            });
        }
    }
    let mut host = Rtnl::open().map_err(NetworkError::sys("open an rtnetlink socket"))?;
    for entry in &entries {
        host_link(&mut host, entry)?;
    }
    Ok(())
}

/// Moves the links into the network namespace of the container's init, which has
/// entered or created every namespace. The returned value moves them back when it is
/// dropped, unless [`MovedDevices::keep`] says the container was made.
pub(crate) fn move_into(spec: &Spec, init: Pid) -> Result<Option<MovedDevices>, NetworkError> {
    let entries = entries(spec.linux().as_ref());
    if entries.is_empty() {
        return Ok(None);
    }
    let _span = tracing::debug_span!("net devices").entered();
    let own_path = "/proc/thread-self/ns/net";
    let own = File::open(own_path).map_err(NetworkError::sys(format!("open {own_path}")))?;
    let container_path = format!("/proc/{init}/ns/net");
    let container =
        File::open(&container_path).map_err(NetworkError::sys(format!("open {container_path}")))?;
    if same_file(&own, &container).map_err(NetworkError::sys(format!("stat {container_path}")))? {
        return Err(NetworkError::Refused {
            field: "linux.netDevices".into(),
            reason: "the container's network namespace is the runtime's own".into(),
        });
    }
    let host = Rtnl::open().map_err(NetworkError::sys("open an rtnetlink socket"))?;
    // Held until the links are placed for good: a socket keeps its network namespace
    // alive, so the links can be moved back even if the init dies meanwhile.
    let inside = Rtnl::open_in(container.as_fd(), own.as_fd()).map_err(NetworkError::sys(
        format!("open an rtnetlink socket in {container_path}"),
    ))?;
    let mut moved = MovedDevices {
        host,
        inside,
        own,
        devices: Vec::new(),
    };

    // Everything that can refuse is asked before the first link moves.
    let mut links = Vec::with_capacity(entries.len());
    for entry in &entries {
        links.push(host_link(&mut moved.host, entry)?);
        let target = entry.target();
        if !ifname::is_template(target) {
            let taken = moved
                .inside
                .link_by_name(target)
                .map_err(NetworkError::sys(format!(
                    "{}: look up {target:?} in the container",
                    entry.field()
                )))?;
            if taken.is_some() {
                return Err(NetworkError::Refused {
                    field: entry.target_field(),
                    reason: format!(
                        "{target:?} exists already in the container's network namespace"
                    ),
                });
            }
        }
    }
    for (entry, link) in entries.iter().zip(&links) {
        moved
            .move_one(entry, link, container.as_fd())
            .map_err(NetworkError::sys(format!(
                "{}: move into the container's network namespace as {:?}",
                entry.field(),
                entry.target()
            )))?;
    }
    Ok(Some(moved))
}

/// The host link an entry names, or its refusal.
fn host_link(host: &mut Rtnl, entry: &Entry) -> Result<LinkHeader, NetworkError> {
    host.link_by_name(entry.host)
        .map_err(NetworkError::sys(format!(
            "{}: look up the link",
            entry.field()
        )))?
        .ok_or_else(|| NetworkError::Refused {
            field: entry.field(),
            reason: "no such network device in the runtime's network namespace".into(),
        })
}

/// Links moved into a container that is still being created.
pub(crate) struct MovedDevices {
    host: Rtnl,
    inside: Rtnl,
    /// The runtime's network namespace, where links go back.
    own: File,
    devices: Vec<Moved>,
}

/// What it takes to put a moved link back as it was.
struct Moved {
    host_name: String,
    /// Its index in the container's namespace (a move may change it).
    index: u32,
    addresses: Vec<AddressMessage>,
    was_up: bool,
}

impl MovedDevices {
    /// The container was created: the links stay in it.
    pub(crate) fn keep(mut self) {
        self.devices.clear();
    }

    fn move_one(&mut self, entry: &Entry, link: &LinkHeader, netns: BorrowedFd) -> io::Result<()> {
        let index = link.index;
        let target = entry.target();
        // As runc: only the addresses the user gave for good, valid anywhere. Read
        // before the move, which drops them all.
        let addresses: Vec<AddressMessage> = self
            .host
            .addresses_of(index)?
            .into_iter()
            .filter(is_permanent_and_global)
            .collect();
        let before = match ifname::is_template(target) {
            true => Some(self.inside.link_indexes()?),
            false => None,
        };
        self.host.move_link(index, target, netns)?;
        let inside_index = match before {
            None => self.inside.link_by_name(target)?.map(|l| l.index),
            // The kernel chose the name: the moved link is the one that was not there.
            Some(before) => self
                .inside
                .link_indexes()?
                .into_iter()
                .find(|i| !before.contains(i)),
        };
        let inside_index = inside_index.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "the link is not in the container's namespace after the move",
            )
        })?;
        self.devices.push(Moved {
            host_name: entry.host.to_owned(),
            index: inside_index,
            addresses: addresses.clone(),
            was_up: link.flags.contains(LinkFlags::Up),
        });
        for address in &addresses {
            self.inside.add_address(inside_index, address)?;
        }
        // runtime-spec: "The runtime MUST set the network device state to "up"".
        self.inside.set_up(inside_index)
    }

    /// Puts a link back on the host under its name, with its addresses and state.
    fn restore(&mut self, device: &Moved) -> io::Result<()> {
        self.inside
            .move_link(device.index, &device.host_name, self.own.as_fd())?;
        let link = self
            .host
            .link_by_name(&device.host_name)?
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV))?;
        for address in &device.addresses {
            self.host.add_address(link.index, address)?;
        }
        if device.was_up {
            self.host.set_up(link.index)?;
        }
        Ok(())
    }
}

impl Drop for MovedDevices {
    /// `create` failed after links moved: each goes back to the host, or would be
    /// destroyed (a virtual link) with the container's namespace.
    fn drop(&mut self) {
        let devices = std::mem::take(&mut self.devices);
        for device in devices.iter().rev() {
            if let Err(e) = self.restore(device) {
                tracing::warn!(
                    "linux.netDevices[{:?}]: move back to the host after the failed create: {e}",
                    device.host_name
                );
            }
        }
    }
}

fn is_permanent_and_global(address: &AddressMessage) -> bool {
    // IFA_FLAGS carries all the flags; the header only their first byte.
    let permanent = address
        .attributes
        .iter()
        .find_map(|a| match a {
            AddressAttribute::Flags(flags) => Some(flags.contains(AddressFlags::Permanent)),
            _ => None,
        })
        .unwrap_or_else(|| address.header.flags.contains(AddressHeaderFlags::Permanent));
    permanent && address.header.scope == AddressScope::Universe
}

fn is_own_netns(path: &Path) -> io::Result<bool> {
    same_file(&File::open("/proc/thread-self/ns/net")?, &File::open(path)?)
}

fn same_file(a: &File, b: &File) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (a.metadata()?, b.metadata()?);
    Ok(a.dev() == b.dev() && a.ino() == b.ino())
}
