//! Terminal sizes: read from one tty, set on another.

use std::os::fd::{AsRawFd, BorrowedFd};

nix::ioctl_read_bad!(get_window_size, libc::TIOCGWINSZ, libc::winsize);
nix::ioctl_write_ptr_bad!(set_window_size, libc::TIOCSWINSZ, libc::winsize);

/// The size of the terminal at `fd`, if it is one.
pub(crate) fn get(fd: BorrowedFd<'_>) -> Option<libc::winsize> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into memory valid for the call.
    unsafe { get_window_size(fd.as_raw_fd(), &mut size) }.ok()?;
    Some(size)
}

pub(crate) fn set(fd: BorrowedFd<'_>, size: &libc::winsize) -> nix::Result<()> {
    // SAFETY: TIOCSWINSZ reads one winsize from memory valid for the call.
    unsafe { set_window_size(fd.as_raw_fd(), size) }.map(drop)
}
