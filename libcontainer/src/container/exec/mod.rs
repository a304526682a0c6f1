//! `exec`: one more process in a running (or created) container. truman clones it
//! into the init's pid and time namespaces, puts it in the container's cgroup, and
//! lets it join the init's other namespaces and root itself (see
//! [`crate::init::tenant`]). Detached, truman leaves once the program is exec'd; in
//! the foreground it waits and returns the program's exit code.

mod process;

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use nix::sched::{setns, CloneFlags};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use oci_spec::runtime::{LinuxNamespaceType, Process};

pub use process::{ExecArgs, ExecProcess};

use super::foreground::Foreground;
use super::pid_file;
use super::status::status_of;
use crate::cgroups::sub::SubCgroups;
use crate::cgroups::Cgroup;
use crate::console::{receive_master, Relay};
use crate::id::ContainerId;
use crate::init::sync::{FromInit, ToInit};
use crate::init::tenant::{self, TenantPlan};
use crate::process::channel::channel_pair;
use crate::process::child_namespaces::ChildNamespaces;
use crate::process::clone::{clone3, flags, Forked};
use crate::process::pidfd::PidFd;
use crate::process::send_fd::send_fd;
use crate::process::ProcessIdentity;
use crate::state::{StateRecord, StateStore, Status};
use crate::{Error, Result};

#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub id: String,
    pub process: ExecProcess,
    pub console_socket: Option<PathBuf>,
    /// Where to send a pidfd of the new process.
    pub pidfd_socket: Option<PathBuf>,
    /// Leave once the process runs, instead of waiting for it.
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: u32,
    /// `--cgroup` arguments: sub-cgroups to place the process in.
    pub cgroup: Vec<String>,
    /// Exec even into a paused container (where the process starts frozen).
    pub ignore_paused: bool,
}

/// The namespaces of the init, in the order `/proc/<pid>/ns` names them. pid and
/// time apply to children, so truman joins those before the clone.
const NAMESPACES: [(LinuxNamespaceType, &str); 8] = [
    (LinuxNamespaceType::User, "user"),
    (LinuxNamespaceType::Mount, "mnt"),
    (LinuxNamespaceType::Network, "net"),
    (LinuxNamespaceType::Ipc, "ipc"),
    (LinuxNamespaceType::Uts, "uts"),
    (LinuxNamespaceType::Cgroup, "cgroup"),
    (LinuxNamespaceType::Pid, "pid"),
    (LinuxNamespaceType::Time, "time"),
];

/// Returns truman's exit code: 0 once a detached process runs, else the process's.
pub fn exec(store: &StateStore, options: &ExecOptions) -> Result<i32> {
    let id = ContainerId::parse(&options.id)?;
    let record = store.load(&id)?;
    match status_of(&record, &store.fifo_path(&id)) {
        Status::Created | Status::Running => {}
        Status::Paused if options.ignore_paused => {}
        Status::Paused => {
            return Err(Error::Usage(
                "cannot exec in a paused container (use --ignore-paused to override)".into(),
            ))
        }
        Status::Stopped => return Err(Error::Usage("cannot exec in a stopped container".into())),
        Status::Creating => {
            return Err(Error::Usage(
                "cannot exec in a container that is still being created".into(),
            ))
        }
    }
    let container_process = container_process(&record)?;
    let process = process::build(&options.process, &container_process)?;
    let terminal = process.terminal().unwrap_or(false);
    let subs = SubCgroups::parse(&options.cgroup)?;
    let cgroup = Cgroup::of(&record)?;
    let init = record.init.ok_or(Error::NotRunning)?;
    // Held until the clone: the namespaces and root below are this very init's.
    let _init_pin = PidFd::open(&init).ok_or(Error::NotRunning)?;
    let namespaces = InitNamespaces::open(init.pid)?;
    let root = File::open(format!("/proc/{}/root", init.pid))
        .map_err(Error::sys(format!("open /proc/{}/root", init.pid)))?;

    let (console, local_console) = console_for(terminal, options)?;
    let (parent_end, child_end) = channel_pair().map_err(Error::sys("socketpair"))?;
    let clone_flags = if options.detach {
        // Its parent is then truman's caller, the subreaper that reaps it.
        flags::CLONE_PARENT
    } else {
        0
    };
    let own_for_children = ChildNamespaces::save()?;
    let child = clone_into(&namespaces.for_children, clone_flags);
    if !matches!(child, Ok(Forked::Child)) {
        own_for_children.restore()?;
    }
    let pid = match child? {
        Forked::Child => {
            drop(parent_end);
            tenant::run(TenantPlan {
                process: &process,
                channel: child_end,
                join: namespaces.for_tenant,
                root: root.into(),
                console,
                preserve_fds: options.preserve_fds,
                keyring: Some(format!("_ses.{id}")),
            })
        }
        Forked::Parent(pid) => pid,
    };
    drop(child_end);
    drop(console);

    let placed = if subs.is_empty() {
        cgroup.add(pid)
    } else {
        cgroup.add_to_sub(pid, &subs)
    };
    if let Err(e) = placed {
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        return Err(e.into());
    }
    parent_end
        .send(&ToInit::Go)
        .map_err(Error::sys("sync with the exec'd process"))?;
    // The channel closes when the program is exec'd (it is close-on-exec); before
    // that, the process says what failed.
    match parent_end.recv::<FromInit>() {
        Ok(Some(FromInit::Failed { error })) => {
            if !options.detach {
                let _ = nix::sys::wait::waitpid(pid, None);
            }
            return Err(Error::Init(error));
        }
        Ok(_) => {}
        Err(e) => return Err(Error::sys("sync with the exec'd process")(e)),
    }

    let identity = ProcessIdentity::of(pid);
    if let Some(path) = &options.pidfd_socket {
        let pidfd = identity
            .as_ref()
            .and_then(PidFd::open)
            .ok_or_else(|| Error::Init("the exec'd process exited at once".into()))?;
        let stream = UnixStream::connect(path).map_err(Error::sys(format!(
            "connect to pidfd socket {}",
            path.display()
        )))?;
        send_fd(&stream, pidfd.as_raw_fd(), "pidfd")
            .map_err(Error::sys(format!("send pidfd over {}", path.display())))?;
    }
    if let Some(path) = &options.pid_file {
        pid_file::write(path, pid)?;
    }
    if options.detach {
        return Ok(0);
    }
    let relay = match local_console {
        Some(socket) => Some(Relay::new(
            receive_master(&socket).map_err(Error::sys("receive the console master"))?,
        )),
        None => None,
    };
    Foreground::begin(relay)?.wait(pid)
}

/// Joins the pid and time namespaces given for truman's next child, and clones it.
fn clone_into(namespaces: &[(LinuxNamespaceType, File)], clone_flags: u64) -> Result<Forked> {
    for (typ, ns) in namespaces {
        setns(ns, CloneFlags::from_bits_retain(*typ as i32)).map_err(Error::errno(format!(
            "join the container's {typ} namespace"
        )))?;
    }
    clone3(clone_flags).map_err(Error::sys("clone3"))
}

/// The container's own `process`, as recorded at `create`, or from the bundle's
/// config for a container made by an older truman.
fn container_process(record: &StateRecord) -> Result<Process> {
    if let Some(process) = &record.process {
        return Ok(process.clone());
    }
    let bundle = crate::spec::load_bundle(&record.bundle)?;
    bundle
        .spec
        .process()
        .clone()
        .ok_or_else(|| Error::Usage("the container's config has no process".into()))
}

/// Where the new process's pty master goes, checked as runc checks it: the connected
/// console socket for the process, and truman's own end when truman relays the pty.
fn console_for(
    terminal: bool,
    options: &ExecOptions,
) -> Result<(Option<OwnedFd>, Option<OwnedFd>)> {
    match (terminal, &options.console_socket) {
        (true, Some(path)) => {
            let stream = UnixStream::connect(path).map_err(Error::sys(format!(
                "connect to console socket {}",
                path.display()
            )))?;
            Ok((Some(stream.into()), None))
        }
        (true, None) if options.detach => Err(Error::Usage(
            "cannot allocate tty if truman will detach without setting console socket".into(),
        )),
        (true, None) => {
            let (here, there) = socketpair(
                AddressFamily::Unix,
                SockType::Stream,
                None,
                SockFlag::SOCK_CLOEXEC,
            )
            .map_err(Error::errno("socketpair"))?;
            Ok((Some(there), Some(here)))
        }
        (false, Some(_)) => Err(Error::Usage(
            "cannot use console socket if truman will not detach or allocate tty".into(),
        )),
        (false, None) => Ok((None, None)),
    }
}

/// The init's namespaces that are not truman's own (joining one's own would fail for
/// a user namespace, and is useless for the rest).
struct InitNamespaces {
    /// pid and time: joined by truman, for the clone to be born in.
    for_children: Vec<(LinuxNamespaceType, File)>,
    /// The others: joined by the new process itself.
    for_tenant: Vec<(LinuxNamespaceType, OwnedFd)>,
}

impl InitNamespaces {
    fn open(pid: i32) -> Result<Self> {
        let mut found = Self {
            for_children: Vec::new(),
            for_tenant: Vec::new(),
        };
        for (typ, name) in NAMESPACES {
            let path = format!("/proc/{pid}/ns/{name}");
            let ns = match File::open(&path) {
                Ok(ns) => ns,
                // A kernel without time (or cgroup) namespaces has no such file.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::sys(format!("open {path}"))(e)),
            };
            let theirs = ns.metadata().map_err(Error::sys(format!("stat {path}")))?;
            let ours = std::fs::metadata(format!("/proc/self/ns/{name}"))
                .map_err(Error::sys(format!("stat /proc/self/ns/{name}")))?;
            if (theirs.dev(), theirs.ino()) == (ours.dev(), ours.ino()) {
                continue;
            }
            match typ {
                LinuxNamespaceType::Pid | LinuxNamespaceType::Time => {
                    found.for_children.push((typ, ns))
                }
                _ => found.for_tenant.push((typ, ns.into())),
            }
        }
        Ok(found)
    }
}
