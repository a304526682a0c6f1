//! `process.terminal`: a pty allocated inside the container, its master sent to the
//! caller over `--console-socket`, its peer made the process's controlling terminal
//! (the init's, which also gets it as `/dev/console`, or an exec'd process's).

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::mount::{mount, MsFlags};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use oci_spec::runtime::Process;

use super::error::{InitError, Step};

/// The init's console: a new pty as its terminal and stdio, and bound on
/// `/dev/console`. Must run after pivot_root, so that the pty comes from the
/// container's devpts.
pub fn setup(socket: &OwnedFd, process: &Process) -> Result<(), InitError> {
    let peer_name = attach_new_pty(socket, process)?;
    let console = Path::new("/dev/console");
    if !console.exists() {
        std::fs::File::create(console).map_err(|source| InitError::Path {
            step: "create",
            path: console.to_owned(),
            source,
        })?;
    }
    mount(
        Some(Path::new(&peer_name)),
        console,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .step("bind mount the console on /dev/console")
}

/// Allocates a pty in the container's devpts, sends its master over `socket`, and
/// makes its peer the calling process's controlling terminal and stdio. Returns the
/// peer's path. The caller must lead a session of its own, without a terminal.
pub fn attach_new_pty(socket: &OwnedFd, process: &Process) -> Result<String, InitError> {
    let size = process
        .console_size()
        .as_ref()
        .map(|b| (b.height() as u32, b.width() as u32));
    let master =
        posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).step("open /dev/ptmx")?;
    grantpt(&master).step("grantpt")?;
    unlockpt(&master).step("unlockpt")?;
    let peer_name = ptsname_r(&master).step("ptsname")?;
    if let Some((height, width)) = size {
        let ws = libc::winsize {
            ws_row: height as u16,
            ws_col: width as u16,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: the master stays open for this whole function.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(master.as_raw_fd()) };
        crate::console::size::set(fd, &ws).step("set console size")?;
    }
    let peer = nix::fcntl::open(
        Path::new(&peer_name),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .step(format!("open {peer_name}"))?;

    // runc sends the master's name as the payload.
    crate::process::send_fd::send_fd(socket, master.as_raw_fd(), "/dev/ptmx").map_err(|e| {
        InitError::Path {
            step: "send console master over",
            path: "--console-socket".into(),
            source: e,
        }
    })?;
    drop(master);

    // SAFETY: TIOCSCTTY takes an integer argument, no memory.
    if unsafe { libc::ioctl(peer, libc::TIOCSCTTY, 0) } < 0 {
        return Err(nix::errno::Errno::last()).step("make the console the controlling terminal");
    }
    for fd in 0..3 {
        nix::unistd::dup2(peer, fd).step("dup console onto stdio")?;
    }
    if peer > 2 {
        let _ = nix::unistd::close(peer);
    }
    Ok(peer_name)
}
