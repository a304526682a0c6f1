//! `clone3` straight from truman's own (single-threaded) process: the container's init
//! is born with its namespaces, without re-executing any binary.

use std::io;

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::unistd::Pid;

use super::pidfd::PidFd;

/// Namespace and process flags for [`clone3`], as the kernel defines them.
pub mod flags {
    pub const CLONE_PARENT: u64 = libc::CLONE_PARENT as u64;
    pub const CLONE_NEWNS: u64 = libc::CLONE_NEWNS as u64;
    pub const CLONE_NEWCGROUP: u64 = libc::CLONE_NEWCGROUP as u64;
    pub const CLONE_NEWUTS: u64 = libc::CLONE_NEWUTS as u64;
    pub const CLONE_NEWIPC: u64 = libc::CLONE_NEWIPC as u64;
    pub const CLONE_NEWUSER: u64 = libc::CLONE_NEWUSER as u64;
    pub const CLONE_NEWPID: u64 = libc::CLONE_NEWPID as u64;
    pub const CLONE_NEWNET: u64 = libc::CLONE_NEWNET as u64;
    pub const CLONE_NEWTIME: u64 = 0x80;

    /// The time namespace as setns and unshare take it (nix has no name for it).
    pub fn time_namespace() -> nix::sched::CloneFlags {
        nix::sched::CloneFlags::from_bits_retain(CLONE_NEWTIME as i32)
    }
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Which side of the clone this is.
pub enum Forked {
    Child,
    Parent(Pid),
}

/// Clones the calling process like `fork` (copied memory, same stack address) with the
/// given flags. The child's exit is reported with SIGCHLD.
///
/// The caller must be single-threaded: the child holds a copy of only the calling
/// thread, so any lock another thread held would stay locked forever.
pub fn clone3(clone_flags: u64) -> io::Result<Forked> {
    clone3_in(clone_flags, None).map(|(forked, _)| forked)
}

/// [`clone3`] with the child born in the cgroup2 directory `cgroup`
/// (`CLONE_INTO_CGROUP`) where the kernel allows it: the second value says whether
/// it was. Where it does not (a cgroup with controllers for its children, clone3
/// answered with ENOSYS), the child is cloned where truman is.
pub fn clone3_in(clone_flags: u64, cgroup: Option<BorrowedFd<'_>>) -> io::Result<(Forked, bool)> {
    clone3_into(clone_flags, None, cgroup)
}

/// [`clone3_in`] that also returns, in the parent, a pidfd on the child, made by the
/// kernel with it: no window in which its pid could name another process.
pub fn clone3_with_pidfd(
    clone_flags: u64,
    cgroup: Option<BorrowedFd<'_>>,
) -> io::Result<(Forked, Option<PidFd>, bool)> {
    let mut fd: libc::c_int = -1;
    let (forked, placed) = clone3_into(clone_flags | CLONE_PIDFD, Some(&mut fd), cgroup)?;
    let pidfd = match forked {
        // SAFETY: the kernel stored a new pidfd here for the parent; we own it.
        Forked::Parent(_) => Some(PidFd::from_owned(unsafe { OwnedFd::from_raw_fd(fd) })),
        Forked::Child => None,
    };
    Ok((forked, pidfd, placed))
}

const CLONE_PIDFD: u64 = libc::CLONE_PIDFD as u64;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

fn clone3_into(
    clone_flags: u64,
    pidfd: Option<&mut libc::c_int>,
    cgroup: Option<BorrowedFd<'_>>,
) -> io::Result<(Forked, bool)> {
    // With CLONE_PARENT the kernel gives the child truman's own exit signal (SIGCHLD
    // for its caller) and refuses an explicit one.
    let exit_signal = if clone_flags & flags::CLONE_PARENT != 0 {
        0
    } else {
        libc::SIGCHLD as u64
    };
    let pidfd_ptr = pidfd.map_or(0, |fd| fd as *mut libc::c_int as u64);
    let mut args = CloneArgs {
        flags: clone_flags,
        exit_signal,
        pidfd: pidfd_ptr,
        ..Default::default()
    };
    if let Some(cgroup) = cgroup {
        let mut into = CloneArgs {
            flags: clone_flags | CLONE_INTO_CGROUP,
            cgroup: cgroup.as_raw_fd() as u64,
            ..args
        };
        let ret = raw_clone3(&mut into);
        if ret != -1 {
            return forked(ret).map(|f| (f, true));
        }
        // Refused (or clone3 missing): cloned as without a cgroup, whose caller then
        // places the child the ordinary way.
    }
    let ret = raw_clone3(&mut args);
    if ret == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
        // A seccomp profile of an outer container (docker's, podman's) answers clone3
        // with ENOSYS, so that callers fall back to clone: so does truman.
        return clone_legacy(clone_flags, exit_signal, pidfd_ptr).map(|f| (f, false));
    }
    forked(ret).map(|f| (f, false))
}

fn raw_clone3(args: &mut CloneArgs) -> libc::c_long {
    // SAFETY: clone3 without CLONE_VM and with a null stack duplicates the address
    // space like fork, so the child continues on its own copy of this stack; the
    // argument struct is valid for the duration of the call.
    unsafe {
        libc::syscall(
            libc::SYS_clone3,
            args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    }
}

/// clone(2), for where clone3 is refused. Its low byte is the exit signal, so a flag
/// there (CLONE_NEWTIME) cannot be passed: truman unshares time namespaces instead.
fn clone_legacy(clone_flags: u64, exit_signal: u64, pidfd_ptr: u64) -> io::Result<Forked> {
    if clone_flags & 0xff != 0 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let flags = (clone_flags | exit_signal) as libc::c_ulong;
    // s390 takes the stack first and the flags second (CLONE_BACKWARDS2).
    let (first, second) = if cfg!(target_arch = "s390x") {
        (0, flags)
    } else {
        (flags, 0)
    };
    // SAFETY: as for clone3: no CLONE_VM and a null stack make this a fork; with
    // CLONE_PIDFD the kernel stores the pidfd at the parent_tid pointer, which points
    // at the caller's int; child_tid and tls are unused (0), so their order, which
    // differs between the other architectures, does not matter.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            first,
            second,
            pidfd_ptr as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    forked(ret)
}

fn forked(ret: libc::c_long) -> io::Result<Forked> {
    match ret {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(Pid::from_raw(pid as i32))),
    }
}
