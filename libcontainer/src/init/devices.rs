//! `/dev` in the container: the devices every container has, the spec's
//! `linux.devices`, and the usual symlinks.

use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::error::{InitError, Step};
use super::rootfs_dir::RootfsDir;

/// (path, major, minor): what runc gives every container.
const DEFAULT_DEVICES: [(&str, i64, i64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

struct Node {
    path: PathBuf,
    kind: libc::mode_t,
    major: i64,
    minor: i64,
    mode: u32,
    uid: u32,
    gid: u32,
}

/// Creates the default devices and `linux.devices`. In a user namespace mknod is not
/// allowed, so each device is a bind mount of the host's node instead.
pub fn create_devices(
    rootfs: &RootfsDir,
    devices: &[LinuxDevice],
    in_userns: bool,
) -> Result<(), InitError> {
    let defaults = DEFAULT_DEVICES.iter().map(|(path, major, minor)| Node {
        path: PathBuf::from(path),
        kind: libc::S_IFCHR,
        major: *major,
        minor: *minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
    });
    let configured = devices.iter().map(|d| Node {
        path: d.path().clone(),
        kind: match d.typ() {
            LinuxDeviceType::B => libc::S_IFBLK,
            LinuxDeviceType::P => libc::S_IFIFO,
            _ => libc::S_IFCHR,
        },
        major: d.major(),
        minor: d.minor(),
        mode: d.file_mode().unwrap_or(0o666),
        uid: d.uid().unwrap_or(0),
        gid: d.gid().unwrap_or(0),
    });
    // A device in the spec replaces a default one at the same path.
    let configured: Vec<Node> = configured.collect();
    let defaults: Vec<Node> = defaults
        .filter(|d| !configured.iter().any(|c| c.path == d.path))
        .collect();
    let nodes = defaults.into_iter().chain(configured);
    for node in nodes {
        if in_userns {
            bind_host_device(rootfs, &node)?;
        } else {
            make_node(rootfs, &node)?;
        }
    }
    Ok(())
}

fn make_node(rootfs: &RootfsDir, node: &Node) -> Result<(), InitError> {
    rootfs.remove_file(&node.path);
    let dev = nix::sys::stat::makedev(node.major as u64, node.minor as u64);
    rootfs.mknod(&node.path, node.kind, node.mode & 0o7777, dev)?;
    if let Some(target) = rootfs.existing(&node.path) {
        // mknod obeys the umask; the spec's mode is exact.
        let path = target.proc_path();
        nix::sys::stat::fchmodat(
            None,
            &path,
            nix::sys::stat::Mode::from_bits_truncate(node.mode & 0o7777),
            nix::sys::stat::FchmodatFlags::FollowSymlink,
        )
        .step(format!("chmod {}", node.path.display()))?;
        nix::unistd::chown(
            &path,
            Some(nix::unistd::Uid::from_raw(node.uid)),
            Some(nix::unistd::Gid::from_raw(node.gid)),
        )
        .step(format!("chown {}", node.path.display()))?;
    }
    Ok(())
}

fn bind_host_device(rootfs: &RootfsDir, node: &Node) -> Result<(), InitError> {
    let target = rootfs.file(&node.path)?;
    mount(
        Some(&node.path),
        &target.proc_path(),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .step(format!("bind mount device {}", node.path.display()))
}

/// The symlinks programs expect in `/dev`.
pub fn create_dev_symlinks(rootfs: &RootfsDir) -> Result<(), InitError> {
    let mut links = vec![
        ("/proc/self/fd", "/dev/fd"),
        ("/proc/self/fd/0", "/dev/stdin"),
        ("/proc/self/fd/1", "/dev/stdout"),
        ("/proc/self/fd/2", "/dev/stderr"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "/dev/core"));
    }
    for (target, link) in links {
        rootfs.symlink(target, Path::new(link))?;
    }
    // /dev/ptmx must be the container's own devpts instance, not a host node.
    if rootfs.existing(Path::new("/dev/pts/ptmx")).is_some() {
        rootfs.remove_file(Path::new("/dev/ptmx"));
        rootfs.symlink("pts/ptmx", Path::new("/dev/ptmx"))?;
    }
    Ok(())
}

/// Points the init's fds 0-2 that are `/dev/null` (the caller's, on the host) at the
/// container's own `/dev/null`, as runc does: an fd left on a host mount is a file
/// the container cannot name, which CRIU refuses to checkpoint ("Can't lookup
/// mount"). Called once inside the new root.
pub fn reopen_dev_null() -> Result<(), InitError> {
    use nix::sys::stat::{fstat, major, minor, SFlag};
    let is_null = |st: &libc::stat| {
        SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT) == SFlag::S_IFCHR
            && major(st.st_rdev) == 1
            && minor(st.st_rdev) == 3
    };
    let nulls: Vec<i32> = (0..3)
        .filter(|&fd| fstat(fd).is_ok_and(|st| is_null(&st)))
        .collect();
    if nulls.is_empty() {
        return Ok(());
    }
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|source| InitError::Path {
            step: "reopen",
            path: "/dev/null".into(),
            source,
        })?;
    // The container's /dev/null is a device node truman made, or a bind of the
    // host's: anything else is not one to hand the process.
    let null_fd = std::os::fd::AsRawFd::as_raw_fd(&null);
    if !fstat(null_fd).is_ok_and(|st| is_null(&st)) {
        return Err(InitError::Other(
            "/dev/null in the container is not the null device".into(),
        ));
    }
    for fd in nulls {
        nix::unistd::dup2(null_fd, fd).step(format!("dup2 /dev/null onto fd {fd}"))?;
    }
    Ok(())
}
