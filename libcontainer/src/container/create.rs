//! `create`: claim the id, record what the container will own, clone the init into its
//! namespaces, put it in its cgroup, let it build its rootfs, run the host-side hooks,
//! and return once it waits for `start`.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use nix::unistd::mkfifo;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::handoff::{console_for, forward_seccomp_fd, send_pidfd};
use super::query::ContainerState;
use super::{pid_file, status::status_of};
use crate::cgroups::{self, Cgroup};
use crate::id::ContainerId;
use crate::init::sync::{FromInit, ToInit};
use crate::init::{self, InitPlan};
use crate::intelrdt::{self, RdtPlan};
use crate::process::channel::channel_pair;
use crate::process::child_namespaces::ChildNamespaces;
use crate::process::clone::{clone3, flags, Forked};
use crate::process::id_map;
use crate::process::pidfd::PidFd;
use crate::process::socket_activation::ListenFds;
use crate::process::task_attributes::TaskAttributes;
use crate::process::ProcessIdentity;
use crate::security::seccomp::SeccompFilter;
use crate::spec::{load_bundle, Bundle};
use crate::state::{ContainerDir, StateRecord, StateStore, Status};
use crate::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    /// Where to send a pidfd of the init once it exists (runc >= 1.2).
    pub pidfd_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// Sockets systemd activated truman with: they go first, the preserved fds after.
    pub listen_fds: ListenFds,
    pub systemd_cgroup: bool,
}

/// A container whose init waits for `start`.
#[derive(Debug)]
pub struct Created {
    pub id: ContainerId,
    pub init: ProcessIdentity,
    /// `process.terminal` was set: the pty master went to the console socket.
    pub terminal: bool,
}

/// Who will reap the init: the caller of truman (its subreaper), as containerd and
/// conmon expect; or truman itself, when `run` stays in the foreground.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaper {
    Caller,
    Truman,
}

pub fn create(store: &StateStore, options: &CreateOptions) -> Result<Created> {
    create_with(store, options, Reaper::Caller, None)
}

/// `local_console`: for a foreground `run` without `--console-socket`, the socket on
/// which the init sends its pty master to truman itself.
pub(crate) fn create_with(
    store: &StateStore,
    options: &CreateOptions,
    reaper: Reaper,
    local_console: Option<OwnedFd>,
) -> Result<Created> {
    let id = ContainerId::parse(&options.id)?;
    let bundle = {
        let _span = tracing::debug_span!("load bundle").entered();
        load_bundle(&options.bundle)?
    };
    let terminal = bundle
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    if let Some(process) = bundle.spec.process() {
        crate::security::lsm::check(process)?;
    }
    // Checked against the host's resctrl before anything exists.
    let intel_rdt = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.intel_rdt().as_ref())
        .map(|rdt| intelrdt::plan(rdt, &id, intelrdt::Resctrl::find().as_ref()))
        .transpose()?;
    let console = console_for(terminal, options.console_socket.as_deref(), local_console)?;
    // Built before anything exists: a filter libseccomp refuses fails here.
    let seccomp = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .map(SeccompFilter::build)
        .transpose()?;
    let task = match bundle.spec.process() {
        Some(process) => TaskAttributes::of_init(process, bundle.spec.linux().as_ref())
            .map_err(|refused| Error::Usage(refused.to_string()))?,
        None => TaskAttributes::default(),
    };
    let driver = match options.systemd_cgroup {
        true => cgroups::Driver::Systemd,
        false => cgroups::Driver::Cgroupfs,
    };
    let cgroup_path = cgroups::resolve(
        bundle
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.cgroups_path().as_deref()),
        &id,
        driver,
        cgroups::is_unified(),
    )?;
    crate::network::check_host(&bundle.spec)?;
    let dir = store.create(&id)?;
    let mut record = new_record(&id, &bundle, options, cgroup_path, driver);
    let bundle = with_listen_env(bundle, options.listen_fds);
    record.intel_rdt = intel_rdt.as_ref().map(|plan| plan.group.clone());
    let prepared = Prepared {
        console,
        seccomp: seccomp.as_ref(),
        intel_rdt: intel_rdt.as_ref(),
        task,
    };
    match build(&dir, &bundle, options, &mut record, reaper, prepared) {
        Ok(init) => Ok(Created { id, init, terminal }),
        Err(e) => {
            super::delete::destroy(dir, &record, reaper == Reaper::Truman);
            Err(e)
        }
    }
}

fn new_record(
    id: &ContainerId,
    bundle: &Bundle,
    options: &CreateOptions,
    cgroup_path: PathBuf,
    cgroup_driver: cgroups::Driver,
) -> StateRecord {
    let spec = &bundle.spec;
    let linux = spec.linux().as_ref();
    let namespaces = linux
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    let hooks = spec.hooks().clone();
    StateRecord {
        oci_version: spec.version().clone(),
        id: id.to_string(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: chrono::Utc::now(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        cgroup_path,
        cgroup_driver,
        creator: ProcessIdentity::of(nix::unistd::getpid()),
        init: None,
        private_pid_ns: namespaces
            .iter()
            .any(|n| n.typ() == LinuxNamespaceType::Pid),
        hooks,
        process: spec.process().clone(),
        device_rules: linux
            .and_then(|l| l.resources().as_ref())
            .and_then(|r| r.devices().clone()),
        no_new_keyring: options.no_new_keyring,
        cgroup_preexisted: false,
        seccomp: linux.and_then(|l| l.seccomp().clone()),
        intel_rdt: None,
        personality: linux.and_then(|l| l.personality().clone()),
        memory_policy: linux.and_then(|l| l.memory_policy().clone()),
    }
}

/// The init's environment names the activation sockets; the state's copy of the
/// process, which `exec` starts from, does not (runc adds them to the init alone).
fn with_listen_env(mut bundle: Bundle, listen: ListenFds) -> Bundle {
    let env = listen.env();
    if let (false, Some(process)) = (env.is_empty(), bundle.spec.process_mut()) {
        let mut all = process.env().clone().unwrap_or_default();
        all.extend(env);
        process.set_env(Some(all));
    }
    bundle
}

/// Marks the `count` fds from 3 close-on-exec in truman once the init has its copies:
/// as runc's, the hooks truman runs do not get the container's sockets and fds.
fn keep_from_truman_hooks(count: u32) {
    for fd in 3..3 + count as i32 {
        // An fd the caller did not pass is simply not there (EBADF).
        let _ = nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
    }
}

/// What was made or checked before anything existed, for [`build`] to use.
struct Prepared<'a> {
    console: Option<OwnedFd>,
    seccomp: Option<&'a SeccompFilter>,
    intel_rdt: Option<&'a RdtPlan>,
    task: TaskAttributes,
}

fn build(
    dir: &ContainerDir,
    bundle: &Bundle,
    options: &CreateOptions,
    record: &mut StateRecord,
    reaper: Reaper,
    prepared: Prepared<'_>,
) -> Result<ProcessIdentity> {
    let Prepared {
        console,
        seccomp,
        intel_rdt,
        task,
    } = prepared;
    let _span = tracing::debug_span!("create", id = %record.id).entered();
    let id = ContainerId::parse(&record.id)?;
    let cgroup = {
        let _span = tracing::debug_span!("cgroup manager").entered();
        Cgroup::open(&record.cgroup_path, record.cgroup_driver, &id)?
    };
    // A cgroup that is there already is someone else's too: the container will not
    // remove it, nor kill what runs in it, when it goes.
    record.cgroup_preexisted = cgroup.exists();
    // Written before anything exists, so that `delete --force` after a crash at any
    // later point knows which cgroup to remove.
    dir.save(record)?;

    let fifo_path = dir.fifo_path();
    mkfifo(&fifo_path, Mode::from_bits_truncate(0o600))
        .map_err(Error::errno(format!("mkfifo {}", fifo_path.display())))?;
    // The init keeps the fifo open for reading and writing: as its own writer it
    // never sees a hang-up when a `start` opens and closes it without writing (it
    // would spin), and opening never waits for a peer.
    let fifo: OwnedFd = File::options()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo_path)
        .map_err(Error::sys(format!("open {}", fifo_path.display())))?
        .into();

    let namespaces = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    let mut clone_flags = if reaper == Reaper::Caller {
        flags::CLONE_PARENT
    } else {
        0
    };
    let mut join = Vec::new();
    // Before any namespace of the container is joined: the user namespaces these are
    // mapped through are made by children of truman's.
    let idmapped_mounts = super::idmapped_mounts::prepare(bundle)?;
    // truman's own pid and time namespaces for its next children, restored right after
    // the clone: the hooks truman forks must run in the runtime's namespaces.
    let mut for_children = ChildNamespaces::unchanged();
    for ns in &namespaces {
        match (ns.typ(), ns.path()) {
            // pid and time namespaces apply to children only, so truman joins them
            // itself and the init is born inside.
            (LinuxNamespaceType::Pid | LinuxNamespaceType::Time, Some(path)) => {
                let file = File::open(path)
                    .map_err(Error::sys(format!("open namespace {}", path.display())))?;
                for_children.join(
                    &file,
                    CloneFlags::from_bits_retain(ns.typ() as i32),
                    &format!("{} namespace {}", ns.typ(), path.display()),
                )?;
            }
            (LinuxNamespaceType::Time, None) => {
                // A new time namespace only takes its offsets before a process enters
                // it: unshare here, write the offsets, and let the clone enter it.
                for_children.unshare_time()?;
                write_time_offsets(&bundle.spec)?;
            }
            (typ, Some(path)) => join.push((typ, path.clone())),
            // The cgroup namespace is unshared by the init once it is in its cgroup:
            // created at clone, its root would be truman's cgroup, not the container's.
            (LinuxNamespaceType::Cgroup, None) => {}
            (typ, None) => clone_flags |= typ as u64,
        }
    }
    let new_userns = clone_flags & flags::CLONE_NEWUSER != 0;
    let mut unshare = 0;
    if join.iter().any(|(t, _)| *t == LinuxNamespaceType::User) {
        let parent = clone_flags & flags::CLONE_PARENT;
        unshare = clone_flags & !parent;
        clone_flags = parent;
        if unshare & flags::CLONE_NEWPID != 0 {
            return Err(Error::Usage(
                "linux.namespaces: a new pid namespace inside a joined user namespace is not supported yet; join a pid namespace by path or share the host's".into(),
            ));
        }
    }

    let error_path = dir.exec_error_path();
    let exec_error: OwnedFd = File::options()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(&error_path)
        .map_err(Error::sys(format!("create {}", error_path.display())))?
        .into();
    let (parent_end, child_end) = channel_pair().map_err(Error::sys("socketpair"))?;

    // The LISTEN_FDS sockets, then the preserved fds, from fd 3.
    let handed_over = options.listen_fds.count() + options.preserve_fds;
    let child = {
        let _span = tracing::debug_span!("clone").entered();
        clone3(clone_flags).map_err(Error::sys("clone3"))?
    };
    let pid = match child {
        Forked::Child => {
            for_children.keep_in_child();
            drop(parent_end);
            init::run(InitPlan {
                bundle,
                channel: child_end,
                fifo,
                exec_error,
                console,
                close_first: vec![dir.lock_fd()],
                preserve_fds: handed_over,
                no_pivot: options.no_pivot,
                keyring: session_keyring(&id, options.no_new_keyring),
                new_userns,
                unshare,
                join,
                cgroup_path: cgroup.dir().to_owned(),
                cgroup_hierarchies: cgroup.hierarchies().to_vec(),
                seccomp,
                task,
                idmapped_mounts,
                mount_label: bundle
                    .spec
                    .linux()
                    .as_ref()
                    .and_then(|l| l.mount_label().clone())
                    .filter(|_| crate::security::selinux::enabled()),
            })
        }
        Forked::Parent(pid) => {
            for_children.restore()?;
            keep_from_truman_hooks(handed_over);
            pid
        }
    };
    drop(child_end);
    drop(idmapped_mounts);
    drop(fifo);
    drop(exec_error);
    drop(console);

    let init = ProcessIdentity::of(pid)
        .ok_or_else(|| Error::Init("init process exited during setup".into()))?;
    record.init = Some(init);
    dir.save(record)?;
    // Before Go: a new cgroup namespace, which the init unshares after Go, takes the
    // init's cgroup at that moment as its root.
    {
        let _span = tracing::debug_span!("cgroup").entered();
        cgroup.add(pid)?;
        // Before the init goes on: no process of the container runs unlimited.
        if let Some(resources) = bundle
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.resources().as_ref())
        {
            cgroup.apply(resources)?;
        }
    }
    if let Some(plan) = intel_rdt {
        let _span = tracing::debug_span!("intelRdt").entered();
        plan.apply(pid.as_raw())?;
    }
    if let Some(process) = bundle.spec.process() {
        crate::process::limits::apply(pid, process)?;
    }
    if new_userns {
        let linux = bundle.spec.linux().as_ref();
        let uid = linux.map(|l| id_map::listed(l.uid_mappings()));
        let gid = linux.map(|l| id_map::listed(l.gid_mappings()));
        id_map::write(pid, "uid_map", uid.unwrap_or_default())?;
        id_map::write(pid, "gid_map", gid.unwrap_or_default())?;
    }
    parent_end
        .send(&ToInit::Go)
        .map_err(Error::sys("sync with init"))?;

    // Moved back to the host if create fails from here on.
    let mut net_devices = None;
    loop {
        match parent_end
            .recv::<FromInit>()
            .map_err(Error::sys("sync with init"))?
        {
            Some(FromInit::RunHooks) => {
                // The init is in all its namespaces now; the hooks see the links moved.
                net_devices = crate::network::move_into(&bundle.spec, pid)?;
                let state = hook_state(record, Status::Creating)?;
                if let Some(hooks) = bundle.spec.hooks() {
                    let _span = tracing::debug_span!("hooks", point = "createRuntime").entered();
                    for (point, list) in [
                        (hooks::HookPoint::Prestart, hooks.prestart()),
                        (hooks::HookPoint::CreateRuntime, hooks.create_runtime()),
                    ] {
                        hooks::run_hooks(
                            point,
                            list.as_deref().unwrap_or_default(),
                            state.as_bytes(),
                        )?;
                    }
                }
                let created = hook_state(record, Status::Created)?;
                parent_end
                    .send(&ToInit::HooksDone {
                        creating: state,
                        created,
                    })
                    .map_err(Error::sys("sync with init"))?;
            }
            Some(FromInit::SeccompFd { fd }) => {
                let state = ContainerState::from_record(record, Status::Creating);
                forward_seccomp_fd(seccomp, &init, fd, &state)?;
                parent_end
                    .send(&ToInit::SeccompFdSent)
                    .map_err(Error::sys("sync with init"))?;
            }
            Some(FromInit::Ready) => break,
            Some(FromInit::Failed { error }) => return Err(Error::Init(error)),
            None => return Err(Error::Init("init process exited during setup".into())),
        }
    }

    record.creator = None;
    dir.save(record)?;
    if let Some(path) = &options.pidfd_socket {
        let pidfd = PidFd::open(&init)
            .ok_or_else(|| Error::Init("init process exited during setup".into()))?;
        send_pidfd(path, &pidfd)?;
    }
    if let Some(path) = &options.pid_file {
        pid_file::write(path, pid)?;
    }
    debug_assert_eq!(status_of(record, &dir.fifo_path()), Status::Created);
    if let Some(devices) = net_devices {
        devices.keep();
    }
    Ok(init)
}

/// The session keyring a container's processes share, unless `--no-new-keyring`.
pub(crate) fn session_keyring(id: &ContainerId, no_new_keyring: bool) -> Option<String> {
    (!no_new_keyring).then(|| format!("_ses.{id}"))
}

/// The OCI state handed to hooks on stdin.
pub(crate) fn hook_state(record: &StateRecord, status: Status) -> Result<String> {
    let state = ContainerState::from_record(record, status);
    serde_json::to_string(&state).map_err(|e| Error::Sys {
        op: "serialize state".into(),
        source: e.into(),
    })
}

fn write_time_offsets(spec: &Spec) -> Result<()> {
    let Some(offsets) = spec.linux().as_ref().and_then(|l| l.time_offsets().clone()) else {
        return Ok(());
    };
    let mut text = String::new();
    for (clock, offset) in offsets {
        let secs = offset.secs().unwrap_or(0);
        let nanos = offset.nanosecs().unwrap_or(0);
        text.push_str(&format!("{clock} {secs} {nanos}\n"));
    }
    std::fs::write("/proc/self/timens_offsets", text)
        .map_err(Error::sys("write /proc/self/timens_offsets"))
}
