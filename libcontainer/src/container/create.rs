//! `create`: claim the id, record what the container will own, clone the init into its
//! namespaces, put it in its cgroup, let it build its rootfs, run the host-side hooks,
//! and return once it waits for `start`.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use nix::sys::stat::Mode;
use nix::unistd::mkfifo;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::handoff::{console_for, forward_seccomp_fd, send_pidfd};
use super::query::ContainerState;
use super::{pid_file, status::status_of};
use crate::cgroups::{self, Cgroup};
use crate::id::ContainerId;
use crate::init::sync::ToInit;
use crate::init::{self, InitPlan};
use crate::intelrdt::{self, RdtPlan};
use crate::process::id_map;
use crate::process::socket_activation::ListenFds;
use crate::process::task_attributes::TaskAttributes;
use crate::process::ProcessIdentity;
use crate::security::seccomp::SeccompFilter;
use crate::spawn::conversation::{self, Host, Until};
use crate::spawn::plan::{self, Caller, InitRequest, Origin, Parent, SpawnPlan, Wanted};
use crate::spawn::{self as spawner, Joinable, Joining};
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
    /// cgroupfs, systemd, or none at all.
    pub cgroup_driver: cgroups::Driver,
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
    let caller = Caller::of_truman();
    let mut driver = options.cgroup_driver;
    let configured_cgroup = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_deref());
    let mut cgroup_path = cgroups::resolve(configured_cgroup, &id, driver, cgroups::is_unified())?;
    // As runc: rootless, a cgroup it may not write is done without, unless a limit
    // is asked for (a v1 host never delegates one; v2 may), or the config names the
    // cgroup: then its error is the answer.
    let named = configured_cgroup.is_some_and(|p| !p.as_os_str().is_empty());
    if driver == cgroups::Driver::Cgroupfs
        && !named
        && !caller.is_real_root()
        && !cgroups::writable(&cgroup_path)
    {
        refuse_limits_without_cgroup(&bundle.spec, NoCgroup::NotWritable)?;
        driver = cgroups::Driver::Disabled;
        cgroup_path = PathBuf::new();
    } else if driver == cgroups::Driver::Disabled {
        refuse_limits_without_cgroup(&bundle.spec, NoCgroup::Disabled)?;
    }
    crate::network::check_host(&bundle.spec)?;
    let (spawn_plan, namespaces) = plan_the_init(&bundle.spec, reaper, caller)?;
    let dir = store.create(&id)?;
    let mut record = new_record(&id, &bundle, options, cgroup_path, driver);
    let bundle = with_listen_env(bundle, options.listen_fds);
    record.intel_rdt = intel_rdt.as_ref().map(|plan| plan.group.clone());
    let prepared = Prepared {
        console,
        seccomp: seccomp.as_ref(),
        intel_rdt: intel_rdt.as_ref(),
        task,
        plan: spawn_plan,
        namespaces,
    };
    match build(&dir, &bundle, options, &mut record, prepared) {
        Ok(init) => Ok(Created { id, init, terminal }),
        Err(e) => {
            // Also when no init got them: the poststop hooks must not.
            keep_from_truman_hooks(options.listen_fds.count() + options.preserve_fds);
            super::delete::destroy(dir, &record, reaper == Reaper::Truman);
            Err(e)
        }
    }
}

pub(crate) fn new_record(
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
            .any(|n| n.typ() == LinuxNamespaceType::Pid && n.path().is_none()),
        exec_processes: Vec::new(),
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
        stdio: None,
        config_stamp: Some(bundle.stamp),
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
    plan: SpawnPlan,
    /// The config's namespaces, opened where they are joined, by index.
    namespaces: Vec<Option<Joinable>>,
}

/// Who joins and makes which of the config's namespaces, and the ones it joins,
/// opened: a path that is not there is refused before anything exists.
fn plan_the_init(
    spec: &Spec,
    reaper: Reaper,
    caller: Caller,
) -> Result<(SpawnPlan, Vec<Option<Joinable>>)> {
    let linux = spec.linux().as_ref();
    let listed = linux
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    let wanted: Vec<Wanted> = listed
        .iter()
        .map(|ns| Wanted {
            typ: ns.typ(),
            origin: match ns.path() {
                Some(_) => Origin::Joined,
                None => Origin::New,
            },
        })
        .collect();
    let additional_gids = spec
        .process()
        .as_ref()
        .and_then(|p| p.user().additional_gids().as_ref())
        .is_some_and(|gids| !gids.is_empty());
    let (uid_mappings, gid_mappings) = id_map::of_container(linux);
    let planned = plan::for_init(&InitRequest {
        namespaces: &wanted,
        uid_mappings,
        gid_mappings,
        additional_gids,
        parent: match reaper {
            Reaper::Caller => Parent::Caller,
            Reaper::Truman => Parent::Truman,
        },
        caller,
    })
    .map_err(|refused| Error::Usage(refused.to_string()))?;
    let opened = listed
        .iter()
        .map(|ns| {
            ns.path()
                .as_ref()
                .map(|path| spawner::open_joinable(ns.typ(), path))
                .transpose()
        })
        .collect::<Result<_>>()?;
    Ok((planned, opened))
}

fn build(
    dir: &ContainerDir,
    bundle: &Bundle,
    options: &CreateOptions,
    record: &mut StateRecord,
    prepared: Prepared<'_>,
) -> Result<ProcessIdentity> {
    let Prepared {
        console,
        seccomp,
        intel_rdt,
        task,
        plan,
        namespaces,
    } = prepared;
    let _span = tracing::debug_span!("create", id = %record.id).entered();
    let id = ContainerId::parse(&record.id)?;
    let cgroup = match record.cgroup_driver {
        cgroups::Driver::Disabled => None,
        driver => {
            let _span = tracing::debug_span!("cgroup manager").entered();
            Some(Cgroup::open(&record.cgroup_path, driver, &id)?)
        }
    };
    // A cgroup that is there already is someone else's too: the container will not
    // remove it, nor kill what runs in it, when it goes.
    record.cgroup_preexisted = cgroup.as_ref().is_some_and(Cgroup::exists);
    // What the container's /sys/fs/cgroup shows: its cgroup, or truman's own, which
    // it then stays in.
    let (cgroup_path, cgroup_hierarchies) = match &cgroup {
        Some(cgroup) => (cgroup.dir().to_owned(), cgroup.hierarchies().to_vec()),
        None => {
            let unified = cgroups::is_unified();
            let hierarchies = cgroups::hierarchy::of_layout(unified);
            (cgroups::path::own(unified), hierarchies)
        }
    };
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

    // Before any namespace of the container is joined: the user namespaces these are
    // mapped through are made by children of truman's.
    let idmapped_mounts = super::idmapped_mounts::prepare(bundle)?;
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

    // The LISTEN_FDS sockets, then the preserved fds, from fd 3.
    let handed_over = options.listen_fds.count() + options.preserve_fds;
    let joins = Joining::of(&plan.child.joins, &namespaces)?;
    let offsets = time_offsets(&bundle.spec);
    let entrance = match &cgroup {
        Some(cgroup) => cgroup.entrance(true)?,
        None => None,
    };
    let into = entrance.as_ref().and_then(cgroups::Entrance::clone_into);
    let spawned = spawner::spawn(&plan, &namespaces, &offsets, into, |channel| {
        init::run(InitPlan {
            bundle,
            channel,
            fifo,
            exec_error,
            console,
            close_first: vec![dir.lock_fd()],
            preserve_fds: handed_over,
            no_pivot: options.no_pivot,
            keyring: session_keyring(&id, options.no_new_keyring),
            user: plan.user,
            joins,
            steps: &plan.child,
            in_userns: plan.in_userns,
            setgroups: plan.setgroups(),
            time_offsets: &offsets,
            cgroup_path,
            cgroup_hierarchies,
            cgroup: entrance.as_ref(),
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
    })?;
    keep_from_truman_hooks(handed_over);
    let pid = spawned.pid;

    let init = ProcessIdentity::of(pid)
        .ok_or_else(|| Error::Init("init process exited during setup".into()))?;
    record.init = Some(init);
    // Before the container's program can move them: what a checkpoint names.
    record.stdio = Some(crate::checkpoint::stdio_of(pid.as_raw()));
    dir.save(record)?;
    // The init enters its cgroup first thing after Go (on cgroup2 the clone put it
    // there already), before it unshares a new cgroup namespace, which takes the
    // init's cgroup at that moment as its root.
    {
        let _span = tracing::debug_span!("cgroup").entered();
        if let Some(cgroup) = &cgroup {
            match &entrance {
                Some(entrance) => entrance.finish(pid, spawned.in_cgroup)?,
                None => cgroup.add(pid)?,
            }
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
    }
    if let Some(plan) = intel_rdt {
        let _span = tracing::debug_span!("intelRdt").entered();
        plan.apply(pid.as_raw())?;
    }
    if let Some(process) = bundle.spec.process() {
        crate::process::limits::apply(pid, process)?;
    }
    let (uid_mappings, gid_mappings) = id_map::of_container(bundle.spec.linux().as_ref());
    spawner::id_maps::write(plan.user, pid, uid_mappings, gid_mappings)?;
    let mut host = InitHost {
        bundle,
        record,
        init: &init,
        seccomp,
        net_devices: None,
    };
    let conversed = conversation::converse(&spawned.channel, Until::Waiting, &mut host);
    // Moved back to the host if create fails from here on.
    let net_devices = host.net_devices.take();
    conversed?;

    record.creator = None;
    dir.save(record)?;
    if let Some(path) = &options.pidfd_socket {
        send_pidfd(path, &spawned.pidfd)?;
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

/// Why a container has no cgroup.
#[derive(Clone, Copy)]
enum NoCgroup {
    Disabled,
    NotWritable,
}

/// Without a cgroup no limit can be set: one asked for is refused by name. Device
/// rules are not limits: podman writes its default list for every container, and
/// only the nodes `linux.devices` names are made, so they are logged as not enforced.
fn refuse_limits_without_cgroup(spec: &Spec, why: NoCgroup) -> Result<()> {
    let why = match why {
        NoCgroup::Disabled => "without a cgroup (--cgroup-manager=disabled)",
        NoCgroup::NotWritable => {
            "without a cgroup: rootless, truman may not write the container's cgroup (none is delegated to this user)"
        }
    };
    let Some(r) = spec.linux().as_ref().and_then(|l| l.resources().as_ref()) else {
        return Ok(());
    };
    let asked = [
        ("memory", r.memory().is_some()),
        ("cpu", r.cpu().is_some()),
        ("pids", r.pids().is_some()),
        ("blockIO", r.block_io().is_some()),
        (
            "hugepageLimits",
            r.hugepage_limits().as_ref().is_some_and(|l| !l.is_empty()),
        ),
        ("network", r.network().is_some()),
        ("rdma", r.rdma().as_ref().is_some_and(|l| !l.is_empty())),
        (
            "unified",
            r.unified().as_ref().is_some_and(|l| !l.is_empty()),
        ),
    ];
    if let Some((field, _)) = asked.iter().find(|(_, set)| *set) {
        return Err(Error::Usage(format!(
            "linux.resources.{field}: cannot be applied {why}"
        )));
    }
    if r.devices().as_ref().is_some_and(|d| !d.is_empty()) {
        tracing::warn!("linux.resources.devices: not enforced {why}");
    }
    Ok(())
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

/// The text of `/proc/self/timens_offsets` for `linux.timeOffsets`.
fn time_offsets(spec: &Spec) -> String {
    let offsets = spec.linux().as_ref().and_then(|l| l.time_offsets().clone());
    let mut text = String::new();
    for (clock, offset) in offsets.unwrap_or_default() {
        let secs = offset.secs().unwrap_or(0);
        let nanos = offset.nanosecs().unwrap_or(0);
        text.push_str(&format!("{clock} {secs} {nanos}\n"));
    }
    text
}

/// What truman does for the init while it sets itself up.
struct InitHost<'a> {
    bundle: &'a Bundle,
    record: &'a StateRecord,
    init: &'a ProcessIdentity,
    seccomp: Option<&'a SeccompFilter>,
    net_devices: Option<crate::network::MovedDevices>,
}

impl Host for InitHost<'_> {
    fn run_hooks(&mut self) -> Result<ToInit> {
        // The init is in all its namespaces now; the hooks see the links moved.
        self.net_devices = crate::network::move_into(&self.bundle.spec, self.init.pid())?;
        let state = hook_state(self.record, Status::Creating)?;
        if let Some(hooks) = self.bundle.spec.hooks() {
            let _span = tracing::debug_span!("hooks", point = "createRuntime").entered();
            for (point, list) in [
                (hooks::HookPoint::Prestart, hooks.prestart()),
                (hooks::HookPoint::CreateRuntime, hooks.create_runtime()),
            ] {
                hooks::run_hooks(point, list.as_deref().unwrap_or_default(), state.as_bytes())?;
            }
        }
        let created = hook_state(self.record, Status::Created)?;
        Ok(ToInit::HooksDone {
            creating: state,
            created,
        })
    }

    fn seccomp_fd(&mut self, fd: i32) -> Result<()> {
        let state = ContainerState::from_record(self.record, Status::Creating);
        forward_seccomp_fd(self.seccomp, self.init, fd, &state)
    }
}
