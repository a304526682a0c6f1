//! What an `exec`'d process does before it becomes the user's program: it enters the
//! namespaces (and, without a mount namespace of the container's, the root) of the
//! container's init, takes a terminal if asked, and becomes the process's user.
//!
//! Like the init, this runs in a child cloned from truman, already in the container's
//! pid and time namespaces; truman has put it in the container's cgroup and set its
//! rlimits before it goes on. Everything it needs is decided beforehand, in a
//! [`TenantPlan`].

use std::os::fd::{AsRawFd, OwnedFd};

use oci_spec::runtime::Process;

use super::error::{InitError, Step};
use super::sync::FromInit;
use super::{
    begin, console, credentials_and_seccomp, enter_namespaces, exec, hide_from_the_container,
    join_new_session_keyring, seccomp,
};
use crate::process::channel::Channel;
use crate::process::task_attributes::TaskAttributes;
use crate::security::seccomp::SeccompFilter;
use crate::spawn::plan::UserNamespace;
use crate::spawn::Joining;

pub(crate) struct TenantPlan<'a> {
    pub process: &'a Process,
    pub channel: &'a Channel,
    /// The init's namespaces that differ from truman's and that it joins itself, in
    /// order, opened by truman from `/proc/<init>/ns` (pid and time excepted: the
    /// clone was born in those).
    pub joins: Joining<'a>,
    /// Whether one of them (or one it was born in) is a user namespace.
    pub user: UserNamespace,
    /// Whether setgroups is allowed in the container's user namespace.
    pub setgroups: bool,
    /// The init's root (`/proc/<init>/root`), for a container without a mount
    /// namespace of its own (a chroot); joining one sets the root to its own.
    pub chroot: Option<OwnedFd>,
    /// The connected console socket when `process.terminal` is set.
    pub console: Option<OwnedFd>,
    pub preserve_fds: u32,
    /// The container's session keyring, unless it was made without one.
    pub keyring: Option<String>,
    /// The container's seccomp filter, built by truman.
    pub seccomp: Option<&'a SeccompFilter>,
    /// Scheduling, I/O priority, CPU affinity, personality and memory policy.
    pub task: TaskAttributes,
    /// The container's cgroup, for the process to enter itself after `Go`.
    pub cgroup: Option<&'a crate::cgroups::Entrance>,
}

/// The tenant's entry point: never returns. It reports `Ready` right before the exec
/// and what failed otherwise; a successful exec closes the channel (close-on-exec).
pub(crate) fn run(plan: TenantPlan<'_>) -> ! {
    hide_from_the_container();
    exec::close_on_exec_from(3 + plan.preserve_fds);
    let error = match setup(&plan).and_then(|program| {
        plan.channel
            .send(&FromInit::Ready)
            .map_err(InitError::Sync)?;
        let last = plan.seccomp.filter(|f| {
            seccomp::moment(f, plan.process.no_new_privileges().unwrap_or(false))
                == seccomp::Moment::BeforeExec
        });
        if let Some(filter) = last {
            seccomp::load(filter, plan.channel)?;
        }
        Ok(program)
    }) {
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
    begin(plan.channel, plan.cgroup)?;
    enter_namespaces(plan.user, &plan.joins, 0, None)?;
    if let Some(root) = &plan.chroot {
        nix::unistd::fchdir(root.as_raw_fd()).step("enter the container's root")?;
        nix::unistd::chroot(".").step("chroot to the container's root")?;
    }

    let process = plan.process;
    if let Some(name) = &plan.keyring {
        join_new_session_keyring(name)?;
    }
    if process.terminal().unwrap_or(false) {
        let socket = plan.console.as_ref().ok_or(InitError::NoConsoleSocket)?;
        console::attach_new_pty(socket, process)?;
    }
    credentials_and_seccomp(
        process,
        &plan.task,
        plan.seccomp,
        plan.channel,
        plan.setgroups,
    )
}
