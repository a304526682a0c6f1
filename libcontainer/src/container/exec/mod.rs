//! `exec`: one more process in a running (or created) container. truman clones it
//! into the init's pid and time namespaces, puts it in the container's cgroup (and
//! resctrl group), and
//! lets it join the init's other namespaces and root itself (see
//! [`crate::init::tenant`]). Detached, truman leaves once the program is exec'd; in
//! the foreground it waits and returns the program's exit code.

mod process;

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use oci_spec::runtime::{LinuxNamespaceType, Process};

pub use process::{ExecArgs, ExecProcess};

use super::create::session_keyring;
use super::foreground::Foreground;
use super::handoff::{console_for, forward_seccomp_fd, send_pidfd};
use super::pid_file;
use super::query::ContainerState;
use super::status::status_of;
use crate::cgroups::sub::SubCgroups;
use crate::cgroups::Cgroup;
use crate::console::{receive_master, Relay};
use crate::id::ContainerId;
use crate::init::tenant::{self, TenantPlan};
use crate::intelrdt::RdtGroup;
use crate::process::channel::Channel;
use crate::process::pidfd::PidFd;
use crate::process::task_attributes::{ForProcess, TaskAttributes};
use crate::process::ProcessIdentity;
use crate::security::seccomp::SeccompFilter;
use crate::signal::SignalNumber;
use crate::spawn::conversation::{self, Host, Until};
use crate::spawn::plan::{self, Caller, Parent, TenantRequest};
use crate::spawn::{self as spawner, Joinable, Joining};
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
    crate::security::lsm::check(&process)?;
    let task = TaskAttributes::plan(
        &process,
        record.personality.as_ref(),
        record.memory_policy.as_ref(),
        ForProcess::Exec,
    )
    .map_err(|refused| Error::Usage(refused.to_string()))?;
    let terminal = process.terminal().unwrap_or(false);
    let subs = SubCgroups::parse(&options.cgroup)?;
    let seccomp = record
        .seccomp
        .as_ref()
        .map(SeccompFilter::build)
        .transpose()?;
    let cgroup = Cgroup::of(&record)?;
    if cgroup.is_none() && !subs.is_empty() {
        return Err(Error::Usage(format!(
            "exec --cgroup: container {id} has no cgroup (it was created with --cgroup-manager=disabled)"
        )));
    }
    let init = record.init.ok_or(Error::NotRunning)?;
    let init_pidfd = PidFd::open(&init).ok_or(Error::NotRunning)?;
    let namespaces = differing_namespaces(init.pid)?;
    // Where the container has no mount namespace of its own, it is a chroot.
    let chroot = match namespaces
        .iter()
        .any(|ns| ns.typ == LinuxNamespaceType::Mount)
    {
        true => None,
        false => Some(
            File::open(format!("/proc/{}/root", init.pid))
                .map_err(Error::sys(format!("open /proc/{}/root", init.pid)))?
                .into(),
        ),
    };
    // A pid is reused only once its process has ended and been reaped: while the
    // init runs, what was opened by its pid is the init's.
    if init_pidfd.has_exited() {
        return Err(Error::NotRunning);
    }

    let local_console = match (terminal, &options.console_socket, options.detach) {
        (true, None, false) => Some(
            socketpair(
                AddressFamily::Unix,
                SockType::Stream,
                None,
                SockFlag::SOCK_CLOEXEC,
            )
            .map_err(Error::errno("socketpair"))?,
        ),
        _ => None,
    };
    let (relay_end, process_end) = local_console.unzip();
    let console = console_for(terminal, options.console_socket.as_deref(), process_end)?;
    let types: Vec<LinuxNamespaceType> = namespaces.iter().map(|ns| ns.typ).collect();
    let plan = plan::for_tenant(&TenantRequest {
        namespaces: &types,
        // Detached, its parent is truman's caller, the subreaper that reaps it.
        parent: match options.detach {
            true => Parent::Caller,
            false => Parent::Truman,
        },
        caller: Caller::of_truman(),
    });
    let joinable: Vec<Option<Joinable>> = namespaces.into_iter().map(Some).collect();
    let joins = Joining::of(&plan.child.joins, &joinable)?;
    let setgroups = plan
        .setgroups()
        .unwrap_or_else(|| crate::init::setgroups_allowed(&init.pid.to_string()));
    // Into `--cgroup` sub-cgroups truman moves the process itself.
    let entrance = match &cgroup {
        Some(cgroup) if subs.is_empty() => cgroup.entrance(false)?,
        _ => None,
    };
    let into = entrance
        .as_ref()
        .filter(|_| !task.acts_before_cgroup())
        .and_then(crate::cgroups::Entrance::clone_into);
    let spawned = spawner::spawn(&plan, &joinable, "", into, |channel| {
        tenant::run(TenantPlan {
            process: &process,
            channel,
            joins,
            user: plan.user,
            setgroups,
            chroot,
            console,
            preserve_fds: options.preserve_fds,
            keyring: session_keyring(&id, record.no_new_keyring),
            seccomp: seccomp.as_ref(),
            task: task.clone(),
            cgroup: entrance.as_ref(),
        })
    })?;
    let (pid, pidfd, channel) = (spawned.pid, spawned.pidfd, spawned.channel);

    let placement = Placement {
        cgroup: cgroup.as_ref(),
        entrance: entrance.as_ref(),
        in_cgroup: spawned.in_cgroup,
        intel_rdt: record.intel_rdt.as_ref(),
        subs: &subs,
    };
    let mut host = TenantHost {
        record: &record,
        seccomp: seccomp.as_ref(),
        pid,
    };
    let started = start(&placement, &process, &task, &channel, pid, &mut host).and_then(|()| {
        // Without a cgroup, nothing else would find it: it is not the init's. (One
        // that has ended already needs no finding.)
        if let (None, Some(started)) = (&cgroup, ProcessIdentity::of(pid)) {
            super::members::add_exec_process(store, &id, started)?;
        }
        if let Some(path) = &options.pidfd_socket {
            send_pidfd(path, &pidfd)?;
        }
        if let Some(path) = &options.pid_file {
            pid_file::write(path, pid)?;
        }
        Ok(())
    });
    if let Err(e) = started {
        // Nothing may run that its caller was told failed.
        let _ = pidfd.signal(SignalNumber::KILL);
        if !options.detach {
            let _ = nix::sys::wait::waitpid(pid, None);
        }
        return Err(e);
    }
    if options.detach {
        return Ok(0);
    }
    let relay = match relay_end {
        Some(socket) => Some(Relay::new(
            receive_master(&socket).map_err(Error::sys("receive the console master"))?,
        )),
        None => None,
    };
    Foreground::begin(relay)?.wait(pid)
}

/// Where the exec'd process goes: the container's cgroup (or the `--cgroup`
/// sub-cgroups of it), unless it has none, and resctrl group.
struct Placement<'a> {
    cgroup: Option<&'a Cgroup>,
    /// The cgroup as the process enters it itself, on v1 after `Go`.
    entrance: Option<&'a crate::cgroups::Entrance>,
    /// Whether the clone put it in the container's cgroup2 directory already.
    in_cgroup: bool,
    intel_rdt: Option<&'a RdtGroup>,
    subs: &'a SubCgroups,
}

/// Lets the cloned process go: sets its initial CPU affinity, puts it in its
/// [`Placement`], sets its limits, and waits until it has exec'd its program (its end
/// of the channel, close-on-exec, then closes after `Ready`) or says what failed.
fn start(
    placement: &Placement<'_>,
    process: &Process,
    task: &TaskAttributes,
    channel: &Channel,
    pid: nix::unistd::Pid,
    host: &mut TenantHost<'_>,
) -> Result<()> {
    task.before_cgroup(pid).map_err(|(op, e)| Error::Sys {
        op,
        source: e.into(),
    })?;
    match placement.cgroup {
        Some(cgroup) if placement.subs.is_empty() => match placement.entrance {
            Some(entrance) => entrance.finish(pid, placement.in_cgroup)?,
            None => cgroup.add(pid)?,
        },
        Some(cgroup) => cgroup.add_to_sub(pid, placement.subs)?,
        None => {}
    }
    if let Some(group) = placement.intel_rdt {
        group.join(pid.as_raw())?;
    }
    crate::process::limits::apply(pid, process)?;
    conversation::converse(channel, Until::Exec, host)
}

/// What truman does for the exec'd process while it sets itself up.
struct TenantHost<'a> {
    record: &'a StateRecord,
    seccomp: Option<&'a SeccompFilter>,
    pid: nix::unistd::Pid,
}

impl Host for TenantHost<'_> {
    fn seccomp_fd(&mut self, fd: i32) -> Result<()> {
        let exec_process = ProcessIdentity::of(self.pid)
            .ok_or_else(|| Error::Init("the exec'd process died while it was set up".into()))?;
        let state = ContainerState::from_record(self.record, Status::Running);
        forward_seccomp_fd(self.seccomp, &exec_process, fd, &state)
    }
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

/// The init's namespaces that are not truman's own (joining one's own would fail for
/// a user namespace, and is useless for the rest), in `/proc/<pid>/ns` order.
fn differing_namespaces(pid: i32) -> Result<Vec<Joinable>> {
    let mut found = Vec::new();
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
        if (theirs.dev(), theirs.ino()) != (ours.dev(), ours.ino()) {
            found.push(Joinable {
                typ,
                file: ns,
                what: format!("the container's {typ} namespace"),
            });
        }
    }
    Ok(found)
}
