//! Making the rootfs the container's `/`: propagation, the rootfs bind mount, and
//! `pivot_root` (or `MS_MOVE` + `chroot` with `--no-pivot`).

use std::path::{Path, PathBuf};

use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, chroot, fchdir, pivot_root};

use super::error::{InitError, Step};
use super::mounts::locked_flags;
use crate::spec::mount_options::propagation_flag;

/// Stops mount events from flowing back to the host, then makes the rootfs a mount
/// point of its own (pivot_root needs one).
///
/// Without a mount namespace of its own the init shares the caller's mounts: their
/// propagation is not ours to change, and only the rootfs bind is made.
pub fn prepare(
    rootfs: &Path,
    propagation: Option<&str>,
    own_namespace: bool,
) -> Result<(), InitError> {
    let flags = match propagation {
        Some(name) => propagation_flag(name).ok_or_else(|| {
            InitError::Other(format!("linux.rootfsPropagation: unknown value {name:?}"))
        })?,
        None => MsFlags::MS_SLAVE | MsFlags::MS_REC,
    };
    if own_namespace {
        if flags.contains(MsFlags::MS_SHARED) {
            // The copied namespace's mounts are peers of the caller's, which is what a
            // shared root is for: a volume bound from a shared mount stays in its peer
            // group (Kubernetes' Bidirectional propagation). Only `/` itself must not
            // be shared, or pivot_root refuses; the rootfs's own mount is made private
            // below, so the container's mounts do not reach the caller.
            if is_shared(Path::new("/"))? {
                mount(
                    None::<&str>,
                    "/",
                    None::<&str>,
                    MsFlags::MS_SLAVE,
                    None::<&str>,
                )
                .step("make / a slave")?;
            }
        } else {
            // An unbindable `/` would refuse the rootfs bind below: the container's
            // tree is first made private, and unbindable once it is the root.
            let early = if flags.contains(MsFlags::MS_UNBINDABLE) {
                MsFlags::MS_PRIVATE | (flags & MsFlags::MS_REC)
            } else {
                flags
            };
            mount(None::<&str>, "/", None::<&str>, early, None::<&str>)
                .step("set propagation of /")?;
        }
        // A non-recursive propagation ("private", "slave") leaves the mount holding the
        // rootfs shared with the caller's namespace: every mount below would leak there,
        // and pivot_root refuses a shared parent. Make that one mount private first.
        make_parent_mount_private(rootfs)?;
        // A mount point of its own, for pivot_root. Not without a mount namespace
        // (a chroot needs none): the bind would stay in the caller's after the
        // container is gone.
        mount(
            Some(rootfs),
            rootfs,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .step(format!("bind mount rootfs {}", rootfs.display()))?;
    }
    Ok(())
}

/// Makes `rootfs` the root of this mount namespace and lets go of the host's tree.
/// How the init makes the rootfs its `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    PivotRoot,
    /// `--no-pivot`: for roots on ramfs, where pivot_root is refused.
    MoveAndChroot,
    /// No mount namespace of its own: pivot_root would move the root of every process
    /// sharing the namespace, truman included, so only the init changes its root.
    Chroot,
}

pub fn enter(rootfs: &Path, entry: Entry, propagation: Option<&str>) -> Result<(), InitError> {
    if entry == Entry::Chroot {
        chroot(rootfs).step(format!("chroot {}", rootfs.display()))?;
    } else if entry == Entry::MoveAndChroot {
        detach_host_proc_and_sys(rootfs)?;
        chdir(rootfs).step(format!("chdir {}", rootfs.display()))?;
        mount(
            Some(rootfs),
            "/",
            None::<&str>,
            MsFlags::MS_MOVE,
            None::<&str>,
        )
        .step("move rootfs onto /")?;
        chroot(".").step("chroot")?;
    } else {
        let old_root = open(
            "/",
            OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .step("open /")?;
        let new_root = open(
            rootfs,
            OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .step(format!("open {}", rootfs.display()))?;
        fchdir(new_root).step("chdir rootfs")?;
        // pivot_root(".", ".") stacks the old root under the new one, so no directory
        // for it has to exist in the image.
        pivot_root(".", ".").step("pivot_root")?;
        fchdir(old_root).step("chdir old root")?;
        // The old root must not propagate its unmount back to the host.
        mount(
            None::<&str>,
            ".",
            None::<&str>,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None::<&str>,
        )
        .step("make old root slave")?;
        umount2(".", MntFlags::MNT_DETACH).step("unmount old root")?;
        let _ = nix::unistd::close(old_root);
        let _ = nix::unistd::close(new_root);
    }
    chdir("/").step("chdir /")?;
    if let Some(flag) = propagation.and_then(propagation_flag) {
        // What `prepare` could not set before the root was in place.
        if flag.contains(MsFlags::MS_SHARED) {
            mount(None::<&str>, "/", None::<&str>, flag, None::<&str>)
                .step("set propagation of /")?;
        }
    }
    Ok(())
}

/// An unbindable root, the last step of the rootfs: once set, nothing in it can be
/// bound any more, not even onto itself as a read-only path is.
pub fn make_unbindable(propagation: Option<&str>) -> Result<(), InitError> {
    match propagation.and_then(propagation_flag) {
        Some(flag) if flag.contains(MsFlags::MS_UNBINDABLE) => {
            mount(None::<&str>, "/", None::<&str>, flag, None::<&str>).step("make / unbindable")
        }
        _ => Ok(()),
    }
}

/// `root.readonly`: remounts `/` read-only, keeping the flags the kernel locked.
pub fn make_readonly() -> Result<(), InitError> {
    let flags =
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | locked_flags(Path::new("/"));
    mount(None::<&str>, "/", None::<&str>, flags, None::<&str>).step("remount / read-only")
}

fn mounts() -> Result<Vec<procfs::process::MountInfo>, InitError> {
    procfs::process::Process::myself()
        .and_then(|p| p.mountinfo())
        .map(|m| m.into_iter().collect())
        .map_err(|e| InitError::Other(format!("read /proc/self/mountinfo: {e}")))
}

/// The mount on top at `path` or holding it: the last, longest mount point that
/// contains it.
fn holder_of(path: &Path) -> Result<Option<procfs::process::MountInfo>, InitError> {
    Ok(mounts()?
        .into_iter()
        .filter(|m| path.starts_with(&m.mount_point))
        .reduce(|best, m| {
            if m.mount_point.as_os_str().len() >= best.mount_point.as_os_str().len() {
                m
            } else {
                best
            }
        }))
}

fn is_shared(path: &Path) -> Result<bool, InitError> {
    Ok(holder_of(path)?.is_some_and(|m| shared(&m)))
}

fn shared(mount: &procfs::process::MountInfo) -> bool {
    mount
        .opt_fields
        .iter()
        .any(|f| matches!(f, procfs::process::MountOptFields::Shared(_)))
}

/// Makes the mount that holds `path` private, if it is shared.
fn make_parent_mount_private(path: &Path) -> Result<(), InitError> {
    let Some(holder) = holder_of(path)?.filter(shared) else {
        return Ok(());
    };
    let point = &holder.mount_point;
    mount(
        None::<&str>,
        point,
        None::<&str>,
        MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .step(format!("make {} private", point.display()))
}

/// Without pivot_root the host's tree stays below the chroot, reachable by a chroot
/// escape. Its /proc and /sys would hand a container root the host's kernel knobs, so
/// they are detached first (from this mount namespace only), as runc does.
fn detach_host_proc_and_sys(rootfs: &Path) -> Result<(), InitError> {
    let mut targets: Vec<PathBuf> = mounts()?
        .into_iter()
        .filter(|m| {
            matches!(m.fs_type.as_str(), "proc" | "sysfs") && !m.mount_point.starts_with(rootfs)
        })
        .map(|m| m.mount_point)
        .collect();
    // Deepest first; a detached parent takes its submounts with it anyway.
    targets.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    for point in targets {
        match umount2(&point, MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
            Err(e) => return Err(e).step(format!("detach host {}", point.display())),
        }
    }
    Ok(())
}
