//! What runs inside the new namespaces, in order: join namespaces, hostname, rootfs
//! and mounts, devices, hooks, pivot_root, console, sysctl, read-only and masked paths,
//! rlimits, user and capabilities; then tell truman it is ready, wait for `start`,
//! and exec.
//!
//! This runs in the child of a `clone3` from truman, on a copy of truman's memory: it
//! gets everything it needs in the [`InitPlan`] built before the clone, and reports
//! back only through the sync channel.

mod console;
mod copy_up;
mod credentials;
mod devices;
mod error;
mod exec;
mod mounts;
mod paths;
mod rootfs;
mod rootfs_dir;
mod seccomp;
pub(crate) mod sync;
pub(crate) mod tenant;

use std::os::fd::{OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use nix::unistd::{setresgid, setresuid, Gid, Uid};
use oci_spec::runtime::{LinuxNamespaceType, Process};

pub use error::InitError;
use error::Step;
pub(crate) use rootfs_dir::RootfsDir;
use sync::{FromInit, ToInit};

use crate::process::channel::Channel;
use crate::process::task_attributes::TaskAttributes;
use crate::security::seccomp::SeccompFilter;
use crate::spawn::plan::{ChildSteps, UserNamespace};
use crate::spawn::Joining;
use crate::spec::Bundle;

/// Everything the init needs, decided by truman before the clone.
pub(crate) struct InitPlan<'a> {
    pub bundle: &'a Bundle,
    pub channel: &'a Channel,
    /// Read end of the exec fifo; `start` writes one byte into it.
    pub fifo: OwnedFd,
    /// Where the init writes why it failed after `create` returned (a startContainer
    /// hook, the exec), for `start` to report. Opened by truman, so the init can write
    /// it whatever user it has become.
    pub exec_error: OwnedFd,
    /// The connected `--console-socket`, when `process.terminal` is set.
    pub console: Option<OwnedFd>,
    /// truman's descriptors the init must not keep (the container lock).
    pub close_first: Vec<RawFd>,
    pub preserve_fds: u32,
    pub no_pivot: bool,
    /// The session keyring to join (`_ses.<id>`), unless `--no-new-keyring`.
    pub keyring: Option<String>,
    /// The init's user namespace: made by its clone, joined, or truman's.
    pub user: UserNamespace,
    /// The namespaces the init joins itself, in order (pid and time are joined or
    /// made before the clone: they only apply to children).
    pub joins: Joining<'a>,
    /// What the init makes itself, after the joins.
    pub steps: &'a ChildSteps,
    /// It ends in a user namespace other than the host's.
    pub in_userns: bool,
    /// Whether it may call setgroups, where the plan knows.
    pub setgroups: Option<bool>,
    /// `linux.timeOffsets`, as `/proc/self/timens_offsets` takes them.
    pub time_offsets: &'a str,
    /// The container's cgroup directory below each hierarchy's root.
    pub cgroup_path: PathBuf,
    /// The host's v1 and hybrid cgroup hierarchies, read once by truman.
    pub cgroup_hierarchies: Vec<crate::cgroups::hierarchy::Hierarchy>,
    /// The container's cgroup, for the init to enter itself after `Go`.
    pub cgroup: Option<&'a crate::cgroups::Entrance>,
    /// `linux.seccomp`, built by truman.
    pub seccomp: Option<&'a SeccompFilter>,
    /// Scheduling, I/O priority, CPU affinity, personality and memory policy.
    pub task: TaskAttributes,
    /// `linux.mountLabel`, where the host runs SELinux (elsewhere ignored, as by runc).
    pub mount_label: Option<String>,
    /// The id-mapped trees truman made for the bind mounts that ask for one, by index
    /// in `mounts`.
    pub idmapped_mounts: Vec<(usize, OwnedFd)>,
}

/// The init's entry point: never returns. Setup errors go to truman as text.
pub(crate) fn run(mut plan: InitPlan<'_>) -> ! {
    for fd in &plan.close_first {
        let _ = nix::unistd::close(*fd);
    }
    if !plan.steps.hide_after_go {
        hide_from_the_container();
    }
    exec::close_on_exec_from(3 + plan.preserve_fds);
    match setup(&mut plan) {
        Err(error) => {
            let _ = plan.channel.send(&FromInit::Failed {
                error: error.to_string(),
            });
        }
        Ok(ready) => {
            let Err(error) = finish(ready, &plan);
            // truman's create has returned by now; `start` reads this file.
            let _ = nix::unistd::write(&plan.exec_error, error.to_string().as_bytes());
        }
    }
    // SAFETY: _exit ends this process at once, without running truman's atexit or
    // destructors, which belong to the parent's copy of this memory.
    unsafe { libc::_exit(1) }
}

/// What `setup` leaves for the last steps.
struct Ready<'a> {
    program: exec::Program,
    state_for_hooks: String,
    /// The seccomp filter, when it is to be loaded right before exec.
    seccomp_last: Option<&'a SeccompFilter>,
}

fn setup<'a>(plan: &mut InitPlan<'a>) -> Result<Ready<'a>, InitError> {
    let spec = &plan.bundle.spec;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| InitError::Other("process: required".into()))?;
    let linux = spec.linux().clone().unwrap_or_default();

    begin(plan.channel, plan.cgroup)?;
    let new_time = plan.steps.new_time.then_some(plan.time_offsets);
    enter_namespaces(plan.user, &plan.joins, plan.steps.unshare, new_time)?;
    if plan.steps.hide_after_go {
        hide_from_the_container();
    }
    // Else read while /proc is still the host's, where "self" is this process.
    let setgroups = plan.setgroups.unwrap_or_else(|| setgroups_allowed("self"));
    let namespaces = linux.namespaces().clone().unwrap_or_default();
    let has_ns = |t| namespaces.iter().any(|n| n.typ() == t);
    let new_ns = |t| {
        namespaces
            .iter()
            .any(|n| n.typ() == t && n.path().is_none())
    };
    // As runc: `lo` comes up in a network namespace of the container's own only.
    if new_ns(LinuxNamespaceType::Network) {
        crate::network::bring_up_loopback().map_err(|e| InitError::Other(e.to_string()))?;
    }
    if plan.steps.new_cgroupns {
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP).step("unshare cgroup namespace")?;
    }
    if let Some(name) = &plan.keyring {
        join_new_session_keyring(name)?;
    }
    if has_ns(LinuxNamespaceType::Uts) {
        if let Some(hostname) = spec.hostname() {
            nix::unistd::sethostname(hostname).step("sethostname")?;
        }
        if let Some(domainname) = spec.domainname() {
            set_domainname(domainname)?;
        }
    }

    // Where mknod is refused (bind-mount the devices instead): in any user namespace
    // but the host's, the caller's own included (rootless podman runs truman in one).
    let in_userns = plan.in_userns;
    let rootfs_path = &plan.bundle.rootfs;
    let propagation = linux.rootfs_propagation().as_deref();
    {
        let _span = tracing::debug_span!("rootfs").entered();
        rootfs::prepare(rootfs_path, propagation, has_ns(LinuxNamespaceType::Mount))?;
        let rootfs = rootfs_dir::RootfsDir::open(rootfs_path)?;
        let ctx = mounts::MountContext {
            bundle: &plan.bundle.dir,
            rootfs: &rootfs,
            private_cgroupns: has_ns(LinuxNamespaceType::Cgroup),
            in_userns,
            cgroup_path: &plan.cgroup_path,
            cgroup_hierarchies: &plan.cgroup_hierarchies,
            mount_label: plan.mount_label.as_deref(),
            idmapped: &plan.idmapped_mounts,
        };
        let spec_mounts = spec.mounts().clone().unwrap_or_default();
        mounts::mount_all(&spec_mounts, &ctx)?;
        let dev_is_bind = spec_mounts
            .iter()
            .any(|m| m.destination() == Path::new("/dev") && m.typ().as_deref() == Some("bind"));
        // runc creates a missing cwd (as root, before the root may become read-only).
        // Not below /proc or /sys, where the paths are the kernel's (and
        // /proc/self/fd/N leads to truman's own descriptors, CVE-2024-21626).
        let cwd = process.cwd();
        if !cwd.starts_with("/proc") && !cwd.starts_with("/sys") {
            rootfs
                .dir(cwd)
                .map_err(|e| InitError::Other(format!("create cwd {}: {e}", cwd.display())))?;
        }
        if !dev_is_bind {
            devices::create_devices(
                &rootfs,
                linux.devices().as_deref().unwrap_or_default(),
                in_userns,
            )?;
            devices::create_dev_symlinks(&rootfs)?;
        }
    }

    // prestart and createRuntime run in truman, in the runtime's namespaces.
    plan.channel
        .send(&FromInit::RunHooks)
        .map_err(InitError::Sync)?;
    let (state_creating, state_created) =
        match plan.channel.recv::<ToInit>().map_err(InitError::Sync)? {
            Some(ToInit::HooksDone { creating, created }) => (creating, created),
            other => {
                return Err(InitError::Other(format!(
                    "sync: expected HooksDone, got {other:?}"
                )))
            }
        };
    if let Some(list) = spec
        .hooks()
        .as_ref()
        .and_then(|h| h.create_container().clone())
    {
        hooks::run_hooks(
            hooks::HookPoint::CreateContainer,
            &list,
            state_creating.as_bytes(),
        )?;
    }

    // Without a mount namespace of its own, only a chroot: moving or pivoting would
    // change the caller's mount tree.
    let entry = if !has_ns(LinuxNamespaceType::Mount) {
        rootfs::Entry::Chroot
    } else if plan.no_pivot {
        rootfs::Entry::MoveAndChroot
    } else {
        rootfs::Entry::PivotRoot
    };
    rootfs::enter(rootfs_path, entry, propagation)?;
    devices::reopen_dev_null()?;
    if process.terminal().unwrap_or(false) {
        // Taken, so that the connection closes once the master is sent: the caller
        // may wait for the end of the stream.
        let socket = plan.console.take().ok_or(InitError::NoConsoleSocket)?;
        console::setup(&socket, process)?;
    }
    let sysctls = linux.sysctl().clone().unwrap_or_default();
    if !sysctls.is_empty() {
        write_sysctls(&sysctls)?;
    }
    // Read-only first, as runc: a masked path inside a read-only one is still masked.
    for path in linux.readonly_paths().iter().flatten() {
        paths::make_readonly(Path::new(path))?;
    }
    for path in linux.masked_paths().iter().flatten() {
        paths::mask(Path::new(path))?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        rootfs::make_readonly()?;
    }
    if has_ns(LinuxNamespaceType::Mount) {
        rootfs::make_unbindable(propagation)?;
    }

    let program =
        credentials_and_seccomp(process, &plan.task, plan.seccomp, plan.channel, setgroups)?;
    Ok(Ready {
        program,
        state_for_hooks: state_created,
        seccomp_last: plan
            .seccomp
            .filter(|f| seccomp::moment(f, nnp(process)) == seccomp::Moment::BeforeExec),
    })
}

fn nnp(process: &Process) -> bool {
    process.no_new_privileges().unwrap_or(false)
}

/// The task's attributes, then [`become_process`], with the seccomp filter loaded
/// before or after it as [`seccomp::moment`] says (or left for right before exec).
fn credentials_and_seccomp(
    process: &Process,
    task: &TaskAttributes,
    filter: Option<&SeccompFilter>,
    channel: &Channel,
    setgroups: bool,
) -> Result<exec::Program, InitError> {
    // With every capability still held, and before a filter that may forbid the calls.
    task.apply()
        .map_err(|(step, source)| InitError::Sys { step, source })?;
    let moment = filter.map(|f| seccomp::moment(f, nnp(process)));
    let mut in_cwd = false;
    if let (Some(f), Some(seccomp::Moment::BeforeCredentials)) = (filter, moment) {
        // The cwd is entered and checked first: the filter may forbid getcwd, and
        // the check must not read its refusal as an escape.
        in_cwd = enter_cwd(process.cwd(), CwdAttempt::AsRoot)?;
        seccomp::load(f, channel)?;
    }
    let program = become_process(process, in_cwd, setgroups)?;
    if let (Some(f), Some(seccomp::Moment::AfterCredentials)) = (filter, moment) {
        seccomp::load(f, channel)?;
    }
    Ok(program)
}

fn finish(ready: Ready<'_>, plan: &InitPlan<'_>) -> Result<std::convert::Infallible, InitError> {
    plan.channel
        .send(&FromInit::Ready)
        .map_err(InitError::Sync)?;
    let fifo = plan
        .fifo
        .try_clone()
        .map_err(|e| InitError::Other(format!("dup exec fifo: {e}")))?;
    exec::wait_for_start(fifo)?;
    // Before the startContainer hooks, which run binaries of the container's: they
    // are the container's processes too.
    if let Some(filter) = ready.seccomp_last {
        seccomp::load(filter, plan.channel)?;
    }
    if let Some(list) = plan
        .bundle
        .spec
        .hooks()
        .as_ref()
        .and_then(|h| h.start_container().clone())
    {
        hooks::run_hooks(
            hooks::HookPoint::StartContainer,
            &list,
            ready.state_for_hooks.as_bytes(),
        )?;
    }
    Err(ready.program.exec(plan.preserve_fds))
}

/// The sysctls, through a procfs instance of truman's own (the container's namespaces
/// are already the process's): the image could have put something else on `/proc`.
fn write_sysctls(sysctls: &std::collections::HashMap<String, String>) -> Result<(), InitError> {
    use std::io::Write;
    let procfs = pathrs::procfs::ProcfsHandleBuilder::new()
        .unmasked()
        .build()
        .map_err(|source| InitError::Resolve {
            step: "open procfs",
            path: "/proc".into(),
            source,
        })?;
    for (key, value) in sysctls {
        // Validated when the bundle was loaded: a key names a file below /proc/sys.
        let relative = crate::spec::sysctl::proc_sys_path(key).unwrap_or_default();
        let path = PathBuf::from("sys").join(relative);
        let flags = pathrs::flags::OpenFlags::O_WRONLY | pathrs::flags::OpenFlags::O_CLOEXEC;
        let file = procfs
            .open(pathrs::procfs::ProcfsBase::ProcRoot, &path, flags)
            .map_err(|source| InitError::Resolve {
                step: "write sysctl",
                path: Path::new("/proc").join(&path),
                source,
            })?;
        let mut file = file;
        file.write_all(value.as_bytes())
            .map_err(|source| InitError::Path {
                step: "write sysctl",
                path: Path::new("/proc").join(&path),
                source,
            })?;
    }
    Ok(())
}

/// Until it execs the user's program, a container process is a copy of truman: not
/// dumpable, the container's other processes cannot open its `/proc/<pid>/exe` (the
/// runtime's binary), fds or memory (CVE-2019-5736). The exec makes it dumpable again.
fn hide_from_the_container() {
    let _ = nix::sys::prctl::set_dumpable(false);
}

/// The first steps of every container process, the init's and an exec'd one's: it
/// waits until truman has set up its cgroup (and set its limits and id maps), enters
/// that cgroup before anything else, and takes a session of its own, as runc gives
/// every container process: no signal of the caller's terminal reaches it, and it
/// may take a terminal of its own.
fn begin(channel: &Channel, cgroup: Option<&crate::cgroups::Entrance>) -> Result<(), InitError> {
    match channel.recv::<ToInit>().map_err(InitError::Sync)? {
        Some(ToInit::Go) => {}
        other => {
            return Err(InitError::Other(format!(
                "sync: expected Go, got {other:?}"
            )))
        }
    }
    if let Some(cgroup) = cgroup {
        cgroup
            .enter_self()
            .map_err(|e| InitError::Other(e.to_string()))?;
    }
    nix::unistd::setsid().step("setsid")?;
    Ok(())
}

/// Who enters the cwd: root before the credentials change (as runc first tries), or
/// the process's user after.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CwdAttempt {
    AsRoot,
    AsUser,
}

/// Enters `cwd` and checks it is inside the root. As root, a directory only the
/// process's user may enter is left for later: `Ok(false)`.
fn enter_cwd(cwd: &Path, attempt: CwdAttempt) -> Result<bool, InitError> {
    match nix::unistd::chdir(cwd) {
        Ok(()) => {}
        Err(nix::errno::Errno::EACCES | nix::errno::Errno::EPERM)
            if attempt == CwdAttempt::AsRoot =>
        {
            return Ok(false)
        }
        Err(e) => return Err(e).step(format!("chdir to cwd {}", cwd.display())),
    }
    // A cwd reached through a descriptor of the host (`/proc/self/fd/N`) lies outside
    // the root, and getcwd says so (CVE-2024-21626): refuse to run there. Any other
    // failure of getcwd is not that answer, and is reported as itself.
    match nix::unistd::getcwd() {
        Ok(dir) if dir.is_absolute() => Ok(true),
        Ok(_) | Err(nix::errno::Errno::ENOENT) => Err(InitError::Other(format!(
            "cwd {}: not inside the container's root",
            cwd.display()
        ))),
        Err(e) => Err(e).step(format!(
            "cwd {}: check that it is inside the container's root: getcwd",
            cwd.display()
        )),
    }
}

/// The last steps of every container process, the init's and an exec'd one's: it
/// becomes the process's user with its capabilities, enters its cwd (unless it did
/// already: `in_cwd`), and finds its program in the environment it will have.
fn become_process(
    process: &Process,
    in_cwd: bool,
    setgroups: bool,
) -> Result<exec::Program, InitError> {
    // Before the capabilities go: changing one's exec label may need them.
    crate::security::lsm::apply(process).map_err(|e| InitError::Other(e.to_string()))?;
    credentials::set_user_and_capabilities(
        process.user(),
        process.capabilities().as_ref(),
        setgroups,
    )?;
    if !in_cwd {
        enter_cwd(process.cwd(), CwdAttempt::AsUser)?;
    }
    let mut env = dedup_env(process.env().as_deref().unwrap_or_default());
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        // Programs expect HOME; runc takes it from the container's /etc/passwd.
        env.push(format!("HOME={}", home_of(process.user().uid())));
    }
    let program = exec::Program::resolve(process.args().as_deref().unwrap_or_default(), &env)?;
    if process.no_new_privileges().unwrap_or(false) {
        credentials::set_no_new_privs()?;
    }
    // A change of uid makes a process dumpable again where fs.suid_dumpable allows.
    hide_from_the_container();
    Ok(program)
}

/// Root of the user namespace the init is in, now that its id maps exist.
pub(crate) fn become_root_of_userns() -> Result<(), InitError> {
    setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
        .step("setresgid 0 in user namespace")?;
    setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
        .step("setresuid 0 in user namespace")
}

/// Into the container's namespaces, as the plan says: root of a user namespace the
/// clone made; the joins, in order; root of a joined user namespace (the others were
/// joined with the privilege it gives); the namespaces made inside a joined one.
pub(crate) fn enter_namespaces(
    user: UserNamespace,
    joins: &Joining<'_>,
    unshare: u64,
    new_time: Option<&str>,
) -> Result<(), InitError> {
    // Before the change of uid, after which the process is not dumpable and its
    // /proc files (the offsets) belong to root, out of a rootless init's reach.
    if let Some(offsets) = new_time {
        enter_new_time_namespace(offsets)?;
    }
    if matches!(user, UserNamespace::Created { .. }) {
        become_root_of_userns()?;
    }
    joins.enter().map_err(|f| InitError::Sys {
        step: f.what,
        source: f.errno,
    })?;
    if user == UserNamespace::Joined {
        become_root_of_userns()?;
    }
    if unshare != 0 {
        nix::sched::unshare(CloneFlags::from_bits_retain(unshare as i32))
            .step("unshare namespaces in the joined user namespace")?;
    }
    Ok(())
}

/// A new time namespace, made and entered by the init itself (rootless, in the user
/// namespace its clone made): its offsets are written before any process is in it.
fn enter_new_time_namespace(offsets: &str) -> Result<(), InitError> {
    let time = crate::process::clone::flags::time_namespace();
    nix::sched::unshare(time).step("unshare time namespace")?;
    crate::spawn::write_time_offsets(offsets).map_err(|source| InitError::Path {
        step: "write",
        path: "/proc/self/timens_offsets".into(),
        source,
    })?;
    let ns = std::fs::File::open("/proc/self/ns/time_for_children").map_err(|source| {
        InitError::Path {
            step: "open",
            path: "/proc/self/ns/time_for_children".into(),
            source,
        }
    })?;
    nix::sched::setns(ns, time).step("enter the new time namespace")
}

/// Whether processes of `pid`'s user namespace may call setgroups: not where it was
/// denied before the gid map was written (by a rootless creator that mapped only
/// its own gid, as truman does and podman may have for a pod).
pub(crate) fn setgroups_allowed(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/setgroups"))
        .map_or(true, |text| text.trim() != "deny")
}

/// A session keyring of the container's, so that it cannot read the keys of the host
/// session it was started from (runc does the same unless --no-new-keyring). The
/// processes exec'd into the container join the same one, by name.
fn join_new_session_keyring(name: &str) -> Result<(), InitError> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    let name = std::ffi::CString::new(name).unwrap_or_default();
    // SAFETY: keyctl reads the NUL-terminated name, valid for the duration of the call.
    let ret =
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    match ret {
        // Kernels without keyrings, or with keyctl blocked, are not an error (as runc).
        -1 if matches!(
            nix::errno::Errno::last(),
            nix::errno::Errno::ENOSYS | nix::errno::Errno::EPERM
        ) =>
        {
            Ok(())
        }
        -1 => Err(nix::errno::Errno::last()).step("join a new session keyring"),
        _ => Ok(()),
    }
}

/// Keeps the last value of a variable given twice, as runc (and Go's exec) does; a
/// program would otherwise see whichever its libc finds first.
fn dedup_env(env: &[String]) -> Vec<String> {
    let key = |e: &String| e.split_once('=').map_or(e.clone(), |(k, _)| k.to_owned());
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<String> = env
        .iter()
        .rev()
        .filter(|e| seen.insert(key(e)))
        .cloned()
        .collect();
    kept.reverse();
    kept
}

/// The home directory of `uid` in the container's `/etc/passwd`, or `/`.
fn home_of(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 6 && f[2].parse() == Ok(uid))
        .map(|f| f[5].to_owned())
        .unwrap_or_else(|| "/".to_owned())
}

fn set_domainname(name: &str) -> Result<(), InitError> {
    // SAFETY: the pointer and length describe `name`'s bytes, valid for the call.
    let ret = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    if ret < 0 {
        return Err(nix::errno::Errno::last()).step("setdomainname");
    }
    Ok(())
}
