//! What an `exec`'d process does before it becomes the user's program: it enters the
//! namespaces and the root of the container's init, takes a terminal if asked, and
//! becomes the process's user with its capabilities and limits.
//!
//! Like the init, this runs in a child cloned from truman (already in the container's
//! pid and time namespaces, and placed in its cgroup by truman), with everything it
//! needs decided beforehand in a [`TenantPlan`].

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sched::{setns, CloneFlags};
use oci_spec::runtime::{LinuxNamespaceType, Process};

use super::error::{InitError, Step};
use super::sync::{FromInit, ToInit};
use super::{console, credentials, dedup_env, exec, home_of, join_new_session_keyring};
use crate::process::channel::Channel;

pub(crate) struct TenantPlan<'a> {
    pub process: &'a Process,
    pub channel: Channel,
    /// The init's namespaces that differ from truman's, opened by truman from
    /// `/proc/<init>/ns` (pid and time excepted: the clone was born in those).
    pub join: Vec<(LinuxNamespaceType, OwnedFd)>,
    /// The init's root directory (`/proc/<init>/root`), entered once in its mount
    /// namespace: right for pivot_root, `--no-pivot` and chroot containers alike.
    pub root: OwnedFd,
    /// The connected console socket when `process.terminal` is set.
    pub console: Option<OwnedFd>,
    pub preserve_fds: u32,
    /// The session keyring to join, unless the container was made without one.
    pub keyring: Option<String>,
}

/// The tenant's entry point: never returns. Errors go to truman as text.
pub(crate) fn run(plan: TenantPlan<'_>) -> ! {
    let error = match setup(&plan) {
        Ok(program) => program.exec(plan.preserve_fds),
        Err(error) => error,
    };
    let _ = plan.channel.send(&FromInit::Failed {
        error: error.to_string(),
    });
    // SAFETY: _exit ends this process at once, without running truman's atexit or
    // destructors, which belong to the parent's copy of this memory.
    unsafe { libc::_exit(255) }
}

fn setup(plan: &TenantPlan<'_>) -> Result<exec::Program, InitError> {
    match plan.channel.recv::<ToInit>().map_err(InitError::Sync)? {
        Some(ToInit::Go) => {}
        other => {
            return Err(InitError::Other(format!(
                "sync: expected Go, got {other:?}"
            )))
        }
    }
    // Every other namespace first, while this process is still root of the host's
    // user namespace and may enter any of them; the user namespace last.
    let (user, others): (Vec<_>, Vec<_>) = plan
        .join
        .iter()
        .partition(|(t, _)| *t == LinuxNamespaceType::User);
    for (typ, fd) in others.into_iter().chain(user) {
        setns(fd, CloneFlags::from_bits_retain(*typ as i32))
            .step(format!("join the container's {typ} namespace"))?;
    }
    nix::unistd::fchdir(plan.root.as_raw_fd()).step("enter the container's root")?;
    nix::unistd::chroot(".").step("chroot to the container's root")?;

    let process = plan.process;
    if let Some(name) = &plan.keyring {
        join_new_session_keyring(name)?;
    }
    if process.terminal().unwrap_or(false) {
        let socket = plan.console.as_ref().ok_or_else(|| {
            InitError::Other("process.terminal is true but no --console-socket was given".into())
        })?;
        let size = process
            .console_size()
            .as_ref()
            .map(|b| (b.height() as u32, b.width() as u32));
        console::attach_new_pty(socket, size)?;
    }
    if let Some(adj) = process.oom_score_adj() {
        credentials::set_oom_score_adj(adj)?;
    }
    credentials::set_rlimits(process.rlimits().as_deref().unwrap_or_default())?;
    credentials::set_user_and_capabilities(process.user(), process.capabilities().as_ref())?;
    let cwd = process.cwd();
    nix::unistd::chdir(cwd).map_err(|e| {
        InitError::Other(format!(
            "chdir to cwd ({:?}) set in config.json failed: {e}",
            cwd.display()
        ))
    })?;
    let mut env = dedup_env(process.env().as_deref().unwrap_or_default());
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", home_of(process.user().uid())));
    }
    let program = exec::Program::resolve(process.args().as_deref().unwrap_or_default(), &env)?;
    if process.no_new_privileges().unwrap_or(false) {
        credentials::set_no_new_privs()?;
    }
    Ok(program)
}
