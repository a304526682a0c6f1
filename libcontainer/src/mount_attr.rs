//! mount_setattr(2), which neither nix nor rustix wraps: it changes the attributes of
//! a mount, or with `AT_RECURSIVE` of a mount and every mount below it, in one call.
//! `rro` needs the recursion (a remount reaches one mount, and a bind's submounts keep
//! their own flags), and an id-mapped mount needs `MOUNT_ATTR_IDMAP`, which only this
//! call sets.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Sets and clears `MOUNT_ATTR_*` on the mount `fd` is the root of (any fd on it, an
/// `O_PATH` one or an `open_tree` clone), and below it when `recursive`.
pub fn set(fd: BorrowedFd<'_>, recursive: bool, set: u64, clear: u64) -> io::Result<()> {
    setattr(
        fd,
        recursive,
        &libc::mount_attr {
            attr_set: set,
            attr_clr: clear,
            propagation: 0,
            userns_fd: 0,
        },
    )
}

/// Maps the ids of the detached mount tree `fd` (from `open_tree(OPEN_TREE_CLONE)`)
/// through the user namespace `userns`: a file owned by id N on disk shows as owned by
/// whatever N is mapped to in `userns`.
pub fn idmap(fd: BorrowedFd<'_>, recursive: bool, userns: BorrowedFd<'_>) -> io::Result<()> {
    setattr(
        fd,
        recursive,
        &libc::mount_attr {
            attr_set: libc::MOUNT_ATTR_IDMAP,
            attr_clr: 0,
            propagation: 0,
            userns_fd: userns.as_raw_fd() as u64,
        },
    )
}

fn setattr(fd: BorrowedFd<'_>, recursive: bool, attr: &libc::mount_attr) -> io::Result<()> {
    let mut flags = libc::AT_EMPTY_PATH;
    if recursive {
        flags |= libc::AT_RECURSIVE;
    }
    // SAFETY: the path is a valid empty C string, `attr` points to a live mount_attr
    // whose size is passed with it, and the kernel only reads both during the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags as libc::c_uint,
            attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
