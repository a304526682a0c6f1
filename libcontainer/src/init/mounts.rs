//! The spec's `mounts`, each landing on a target resolved inside the rootfs.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::mount::{mount, MsFlags};
use oci_spec::runtime::Mount;

use super::copy_up;
use super::error::{InitError, Step};
use super::rootfs_dir::{RootfsDir, Target};
use crate::cgroups::hierarchy::{Hierarchy, Kind};
use crate::mount_attr;
use crate::spec::mount_options::{self, MountOptions};

/// What a mount needs to know of the container beyond the mount itself.
pub struct MountContext<'a> {
    pub bundle: &'a Path,
    pub rootfs: &'a RootfsDir,
    pub private_cgroupns: bool,
    pub in_userns: bool,
    pub cgroup_path: &'a Path,
    pub cgroup_hierarchies: &'a [Hierarchy],
    /// `linux.mountLabel`, where the host runs SELinux.
    pub mount_label: Option<&'a str>,
    /// The id-mapped trees truman cloned for the bind mounts that ask for one, by
    /// index in `mounts`: attached where a bind would be made.
    pub idmapped: &'a [(usize, OwnedFd)],
}

impl MountContext<'_> {
    fn idmapped(&self, index: usize) -> Option<BorrowedFd<'_>> {
        self.idmapped
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, fd)| fd.as_fd())
    }
}

pub fn mount_all(mounts: &[Mount], ctx: &MountContext<'_>) -> Result<(), InitError> {
    for (index, m) in mounts.iter().enumerate() {
        let _span = tracing::debug_span!("mount", dest = %m.destination().display()).entered();
        mount_one(index, m, ctx)?;
    }
    Ok(())
}

fn mount_one(index: usize, m: &Mount, ctx: &MountContext<'_>) -> Result<(), InitError> {
    let options = mount_options::parse(m.options().as_deref().unwrap_or_default());
    let typ = m.typ().as_deref().unwrap_or("");
    let dest = m.destination();
    if typ == "bind" || options.is_bind() {
        bind_mount(m, &options, ctx.idmapped(index), ctx)?;
    } else if typ == "cgroup" {
        mount_cgroup(dest, &options, ctx)?;
    } else {
        mount_filesystem(m, typ, &options, ctx)?;
    }
    let attrs = options.recursive;
    if !attrs.is_empty() {
        // After the remount and the propagation: the last word on the flags of the
        // mount and of everything below it (a plain remount reaches only the top).
        let target = ctx.rootfs.mounted(dest)?;
        mount_attr::set(target.as_fd(), true, attrs.set, attrs.clear).map_err(|source| {
            InitError::Path {
                step: "set recursive mount attributes on",
                path: dest.to_owned(),
                source,
            }
        })?;
    }
    Ok(())
}

/// A mount of a filesystem (tmpfs, proc, mqueue...), not a bind.
fn mount_filesystem(
    m: &Mount,
    typ: &str,
    options: &MountOptions,
    ctx: &MountContext<'_>,
) -> Result<(), InitError> {
    let dest = m.destination();
    // An image whose /proc (or /sys) is a symlink would have the kernel's files
    // mounted elsewhere, where the masked and read-only paths do not reach, and a
    // fake /proc in their place: refused, as runc refuses it (CVE-2019-16884).
    let kernel_tree = matches!(typ, "proc" | "sysfs");
    let symlinked = || {
        InitError::Other(format!(
            "mount {typ} on {}: the destination must be a directory of the rootfs, not reached through a symlink",
            dest.display()
        ))
    };
    if kernel_tree && ctx.rootfs.goes_through_symlink(dest)? {
        return Err(symlinked());
    }
    let mut data = options.data.clone();
    let mut flags = options.flags;
    let mut copy_from = None;
    if typ == "tmpfs" {
        if let Some(covered) = ctx.rootfs.existing(dest) {
            // As runc: a tmpfs keeps the mode of the directory it covers (a /tmp
            // stays 1777), unless its own mode= (later, so it wins) says otherwise.
            if let Ok(stat) = rustix::fs::fstat(&covered) {
                data.insert(0, format!("mode={:04o}", stat.st_mode & 0o7777));
            }
            if options.copy_up {
                let dir = covered.open_dir().map_err(|source| InitError::Path {
                    step: "tmpcopyup: open",
                    path: dest.to_owned(),
                    source,
                })?;
                copy_from = Some(dir);
                // Written to first, made read-only after.
                flags -= MsFlags::MS_RDONLY;
            }
        }
    }
    let data = (!data.is_empty()).then(|| data.join(","));
    let target = ctx.rootfs.dir(dest)?;
    // Checked again on what was opened: the path may have been swapped meanwhile.
    if kernel_tree && !ctx.rootfs.is_at(&target, dest) {
        return Err(symlinked());
    }
    let source = m.source().as_deref().unwrap_or(Path::new(typ));
    let data = match ctx.mount_label {
        // The kernel's own trees take no context; an mqueue superblock is shared by
        // the ipc namespace and refuses a second one (runc leaves it unlabelled too).
        Some(label) if !matches!(typ, "proc" | "sysfs" | "mqueue") => Some(
            crate::security::selinux::labeled_mount_data(data.as_deref(), label),
        ),
        _ => data,
    };
    let mounted_fs = mount(
        Some(source),
        &target.proc_path(),
        Some(typ),
        flags,
        data.as_deref(),
    );
    let bound_sys = match mounted_fs {
        // A sysfs shows a network namespace's devices, and takes privilege over the
        // user namespace that owns it: in a user namespace beside one it does not
        // own (the host's, for a pod with hostUsers: false), the host's /sys is
        // bound instead, with the same flags, as runc does.
        Err(nix::errno::Errno::EPERM) if typ == "sysfs" && ctx.in_userns => {
            mount(
                Some("/sys"),
                &target.proc_path(),
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .step(format!(
                "bind mount /sys on {} (sysfs is refused here)",
                dest.display()
            ))?;
            true
        }
        other => {
            other.step(format!("mount {typ} on {}", dest.display()))?;
            false
        }
    };
    let mounted = ctx.rootfs.mounted(dest)?;
    if bound_sys {
        mount_attr::set(mounted.as_fd(), true, mount_attrs(flags), 0).map_err(|source| {
            InitError::Path {
                step: "set the flags of the bound /sys on",
                path: dest.to_owned(),
                source,
            }
        })?;
    }
    if let Some(from) = copy_from {
        let to = mounted.open_dir().map_err(|source| InitError::Path {
            step: "tmpcopyup: open",
            path: dest.to_owned(),
            source,
        })?;
        copy_up::copy_tree(from.as_fd(), to.as_fd()).map_err(|e| {
            InitError::Other(format!("mount tmpfs on {}: tmpcopyup: {e}", dest.display()))
        })?;
        if options.flags.contains(MsFlags::MS_RDONLY) {
            mount_attr::set(mounted.as_fd(), false, libc::MOUNT_ATTR_RDONLY, 0).map_err(
                |source| InitError::Path {
                    step: "make read-only",
                    path: dest.to_owned(),
                    source,
                },
            )?;
        }
    }
    propagate(&mounted, dest, options)
}

/// The `MOUNT_ATTR_*` of `flags`' read-only, nosuid, nodev and noexec.
fn mount_attrs(flags: MsFlags) -> u64 {
    [
        (MsFlags::MS_RDONLY, libc::MOUNT_ATTR_RDONLY),
        (MsFlags::MS_NOSUID, libc::MOUNT_ATTR_NOSUID),
        (MsFlags::MS_NODEV, libc::MOUNT_ATTR_NODEV),
        (MsFlags::MS_NOEXEC, libc::MOUNT_ATTR_NOEXEC),
    ]
    .into_iter()
    .filter(|(flag, _)| flags.contains(*flag))
    .fold(0, |attrs, (_, attr)| attrs | attr)
}

/// A bind mount of `m.source`, or the attachment of the id-mapped clone of it that
/// truman made (`idmapped`).
fn bind_mount(
    m: &Mount,
    options: &MountOptions,
    idmapped: Option<BorrowedFd<'_>>,
    ctx: &MountContext<'_>,
) -> Result<(), InitError> {
    let dest = m.destination();
    let source = m.source().as_deref().ok_or_else(|| {
        InitError::Other(format!(
            "mount {}: a bind mount needs a source",
            dest.display()
        ))
    })?;
    let source = if source.is_absolute() {
        source.to_owned()
    } else {
        ctx.bundle.join(source)
    };
    let meta = std::fs::metadata(&source).map_err(|e| InitError::Path {
        step: "bind mount source",
        path: source.clone(),
        source: e,
    })?;
    let target = if meta.is_dir() {
        ctx.rootfs.dir(dest)?
    } else {
        ctx.rootfs.file(dest)?
    };
    let what = format!("bind mount {} on {}", source.display(), dest.display());
    if let Some(tree) = idmapped {
        use rustix::mount::MoveMountFlags;
        rustix::mount::move_mount(
            tree,
            "",
            &target,
            "",
            MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
        )
        .map_err(|e| InitError::Other(format!("{what} (id-mapped): {e}")))?;
    } else {
        let recursive = options.flags & MsFlags::MS_REC;
        mount(
            Some(&source),
            &target.proc_path(),
            None::<&str>,
            MsFlags::MS_BIND | recursive,
            None::<&str>,
        )
        .step(&what)?;
    }
    let target = ctx.rootfs.mounted(dest)?;
    let extra = options.remount_flags();
    if !extra.is_empty() {
        // A bind mount ignores every flag but MS_REC on creation; ro, nosuid and friends
        // take a remount. Flags the kernel locked on the source (in a user namespace)
        // must be kept, or the remount fails with EPERM.
        let locked = locked_flags(&target.proc_path());
        mount(
            None::<&str>,
            &target.proc_path(),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | extra | locked,
            None::<&str>,
        )
        .step(format!("remount {} with {:?}", dest.display(), extra))?;
    }
    propagate(&target, dest, options)
}

/// The flags of the mount at `path` that an unprivileged remount may not clear.
pub fn locked_flags(path: &Path) -> MsFlags {
    use nix::sys::statvfs::{statvfs, FsFlags};
    let Ok(stat) = statvfs(path) else {
        return MsFlags::empty();
    };
    let f = stat.flags();
    let mut flags = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs) {
            flags |= ms;
        }
    }
    flags
}

fn propagate(target: &Target, dest: &Path, options: &MountOptions) -> Result<(), InitError> {
    for flag in &options.propagation {
        mount(
            None::<&str>,
            &target.proc_path(),
            None::<&str>,
            *flag,
            None::<&str>,
        )
        .step(format!("set propagation of {}", dest.display()))?;
    }
    Ok(())
}

/// `/sys/fs/cgroup` in the container. On a cgroup v2 host that is a cgroup2 mount; on
/// a v1 or hybrid host, a tmpfs holding one mount per host hierarchy, each showing the
/// container's own cgroup as its root.
fn mount_cgroup(
    dest: &Path,
    options: &MountOptions,
    ctx: &MountContext<'_>,
) -> Result<(), InitError> {
    let target = ctx.rootfs.dir(dest)?;
    if crate::cgroups::is_unified() {
        if ctx.private_cgroupns {
            return mount(
                Some("cgroup2"),
                &target.proc_path(),
                Some("cgroup2"),
                options.flags,
                None::<&str>,
            )
            .step(format!("mount cgroup2 on {}", dest.display()));
        }
        return bind_host_cgroup(Path::new("/sys/fs/cgroup"), &target, dest, options, ctx);
    }
    mount(
        Some("tmpfs"),
        &target.proc_path(),
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=755"),
    )
    .step(format!("mount tmpfs on {}", dest.display()))?;
    // The unified hierarchy of a hybrid host is left out, as runc does.
    for h in ctx
        .cgroup_hierarchies
        .iter()
        .filter(|h| h.kind != Kind::Unified)
    {
        let sub = dest.join(&h.name);
        let sub_target = ctx.rootfs.dir(&sub)?;
        if ctx.private_cgroupns && !ctx.in_userns {
            // The source names a named hierarchy by its name, as runc's mounts do.
            let source = h.options.strip_prefix("none,name=").unwrap_or("cgroup");
            mount(
                Some(source),
                &sub_target.proc_path(),
                Some("cgroup"),
                options.flags,
                Some(h.options.as_str()),
            )
            .step(format!("mount cgroup {} on {}", h.name, sub.display()))?;
        } else {
            bind_host_cgroup(&h.mount_point, &sub_target, &sub, options, ctx)?;
        }
    }
    Ok(())
}

fn bind_host_cgroup(
    host_mount: &Path,
    target: &Target,
    dest: &Path,
    options: &MountOptions,
    ctx: &MountContext<'_>,
) -> Result<(), InitError> {
    let relative = ctx.cgroup_path.strip_prefix("/").unwrap_or(ctx.cgroup_path);
    let source = host_mount.join(relative);
    mount(
        Some(&source),
        &target.proc_path(),
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .step(format!(
        "bind mount {} on {}",
        source.display(),
        dest.display()
    ))?;
    let target = ctx.rootfs.mounted(dest)?;
    let flags = options.flags - (MsFlags::MS_BIND | MsFlags::MS_REC);
    mount(
        None::<&str>,
        &target.proc_path(),
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags | locked_flags(&target.proc_path()),
        None::<&str>,
    )
    .step(format!("remount {}", dest.display()))
}
