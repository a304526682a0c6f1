//! Paths inside the container's rootfs, resolved as if the rootfs were `/`: a symlink
//! planted in the image (`/proc -> /etc` or `/x -> ../../../host`) can redirect a mount
//! only to somewhere else inside the rootfs, never outside it.

use std::fs::Permissions;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pathrs::{flags::OpenFlags, Handle, InodeType, Root};

use super::error::InitError;

pub struct RootfsDir {
    root: Root,
    /// Where the rootfs is, as the kernel names it.
    path: PathBuf,
}

/// An O_PATH handle on a place inside the rootfs, usable as a mount target through
/// `/proc/self/fd/N`, which names exactly the resolved inode.
pub struct Target {
    handle: Handle,
}

impl Target {
    pub fn proc_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.handle.as_fd().as_raw_fd()))
    }

    /// The directory itself, opened for reading its entries: `.` of the handle, which
    /// names the same inode without resolving anything (pathrs' reopen goes through
    /// procfs, checked, at some 25 system calls).
    pub fn open_dir(&self) -> std::io::Result<std::fs::File> {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(self.handle.as_fd(), ".", flags, Mode::empty())?;
        Ok(fd.into())
    }
}

impl AsFd for Target {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.handle.as_fd()
    }
}

impl RootfsDir {
    pub fn open(path: &Path) -> Result<Self, InitError> {
        let root = Root::open(path).map_err(|source| InitError::Resolve {
            step: "open rootfs",
            path: path.to_owned(),
            source,
        })?;
        let path = std::fs::canonicalize(path).map_err(|source| InitError::Path {
            step: "open rootfs",
            path: path.to_owned(),
            source,
        })?;
        Ok(Self { root, path })
    }

    fn err<'a>(
        step: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(pathrs::error::Error) -> InitError + 'a {
        move |source| InitError::Resolve {
            step,
            path: path.to_owned(),
            source,
        }
    }

    /// Resolves `dest`, creating it (and its parents) as a directory if missing.
    pub fn dir(&self, dest: &Path) -> Result<Target, InitError> {
        if let Some(target) = self.quick_dir(dest) {
            return Ok(target);
        }
        let dest = &self.expand_symlinks(dest)?;
        let handle = self
            .root
            .mkdir_all(dest, &Permissions::from_mode(0o755))
            .map_err(Self::err("create mount point", dest))?;
        Ok(Target { handle })
    }

    /// The common cases of [`Self::dir`] in a few system calls, without pathrs' checks
    /// through procfs for each component (some 25 calls each): `dest` is a directory
    /// already, or its parent is one and `dest` is missing. The parent is resolved in
    /// the root; below it, one component opened or made relative to its fd, never
    /// followed if a link, cannot lead anywhere else. Anything else (a link there, a
    /// parent missing) is left to the careful path.
    fn quick_dir(&self, dest: &Path) -> Option<Target> {
        use rustix::fs::{Mode, OFlags};
        let (parent, name) = self.parent_of(dest)?;
        let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let opened = match rustix::fs::openat(parent.as_fd(), name, flags, Mode::empty()) {
            Err(rustix::io::Errno::NOENT) => {
                rustix::fs::mkdirat(parent.as_fd(), name, Mode::from_raw_mode(0o755)).ok()?;
                rustix::fs::openat(parent.as_fd(), name, flags, Mode::empty())
            }
            other => other,
        };
        opened.ok().map(|fd| Target {
            handle: Handle::from_fd(fd),
        })
    }

    /// Resolves `dest`, creating it as an empty file (parents as directories) if missing.
    pub fn file(&self, dest: &Path) -> Result<Target, InitError> {
        if let Ok(handle) = self.root.resolve(dest) {
            return Ok(Target { handle });
        }
        let dest = &self.expand_symlinks(dest)?;
        if let Some(parent) = dest.parent() {
            self.root
                .mkdir_all(parent, &Permissions::from_mode(0o755))
                .map_err(Self::err("create mount point", dest))?;
        }
        self.root
            .create_file(dest, OpenFlags::O_CLOEXEC, &Permissions::from_mode(0o644))
            .map_err(Self::err("create mount point", dest))?;
        let handle = self
            .root
            .resolve(dest)
            .map_err(Self::err("resolve", dest))?;
        Ok(Target { handle })
    }

    /// `dest` with each symlink in it replaced by its target, read as if the rootfs
    /// were `/` (an absolute target or a `..` never leaves it). A mount point behind a
    /// link to a directory that does not exist yet (`/var/run -> /run/x`) is then
    /// created where the link points, as runc does; pathrs alone refuses to create
    /// through a dangling link. The result is still resolved by pathrs, in the root.
    fn expand_symlinks(&self, dest: &Path) -> Result<PathBuf, InitError> {
        const MAX_LINKS: usize = 40;
        let mut pending: Vec<std::ffi::OsString> = dest
            .components()
            .rev()
            .map(|c| c.as_os_str().to_owned())
            .collect();
        let mut resolved = PathBuf::from("/");
        let mut links = 0;
        while let Some(part) = pending.pop() {
            match part.to_str() {
                Some("/") | Some(".") => {}
                Some("..") => {
                    resolved.pop();
                }
                _ => {
                    let candidate = resolved.join(&part);
                    match self.link_at(&candidate) {
                        Some(target) => {
                            links += 1;
                            if links > MAX_LINKS {
                                return Err(InitError::Path {
                                    step: "resolve mount point",
                                    path: dest.to_owned(),
                                    source: std::io::Error::from_raw_os_error(libc::ELOOP),
                                });
                            }
                            if target.is_absolute() {
                                resolved = PathBuf::from("/");
                            }
                            pending.extend(
                                target.components().rev().map(|c| c.as_os_str().to_owned()),
                            );
                        }
                        None => resolved = candidate,
                    }
                }
            }
        }
        Ok(resolved)
    }

    /// What the symlink at `path` points to; `None` if nothing is there or it is no
    /// symlink (told by its mode: pathrs' readlink of a non-link fails, and its
    /// error path reads procfs).
    fn link_at(&self, path: &Path) -> Option<PathBuf> {
        let handle = self.root.resolve_nofollow(path).ok()?;
        let stat = rustix::fs::fstat(handle.as_fd()).ok()?;
        if stat.st_mode & libc::S_IFMT != libc::S_IFLNK {
            return None;
        }
        let target = rustix::fs::readlinkat(handle.as_fd(), "", Vec::new()).ok()?;
        use std::os::unix::ffi::OsStringExt;
        Some(PathBuf::from(std::ffi::OsString::from_vec(
            target.into_bytes(),
        )))
    }

    /// True if `target` is the rootfs's `dest` itself, not a place a symlink led to.
    pub fn is_at(&self, target: &Target, dest: &Path) -> bool {
        let plain = dest.strip_prefix("/").unwrap_or(dest);
        std::fs::read_link(target.proc_path()).is_ok_and(|real| real == self.path.join(plain))
    }

    /// True if a symlink stands anywhere on the way to `dest` in the rootfs.
    pub fn goes_through_symlink(&self, dest: &Path) -> Result<bool, InitError> {
        let plain: PathBuf = dest
            .components()
            .filter(|c| matches!(c, std::path::Component::Normal(_)))
            .fold(PathBuf::from("/"), |p, c| p.join(c));
        Ok(self.expand_symlinks(dest)? != plain)
    }

    /// Resolves `dest` again after something was mounted on it: a handle taken before
    /// the mount names the covered directory, and a remount through it fails.
    pub fn mounted(&self, dest: &Path) -> Result<Target, InitError> {
        let handle = self
            .root
            .resolve(dest)
            .map_err(Self::err("resolve mount", dest))?;
        Ok(Target { handle })
    }

    /// Resolves an existing path, or `None` if it does not exist.
    pub fn existing(&self, dest: &Path) -> Option<Target> {
        self.root.resolve(dest).ok().map(|handle| Target { handle })
    }

    /// The directory `dest` is in, resolved in the root, and `dest`'s last component:
    /// what the one-component calls below (`*at` on the parent's fd, never following
    /// a link at the end) take, with no walk of procfs.
    fn parent_of<'a>(&self, dest: &'a Path) -> Option<(Handle, &'a std::ffi::OsStr)> {
        let name = dest.file_name()?;
        let parent = self.root.resolve(dest.parent()?).ok()?;
        Some((parent, name))
    }

    /// Creates a symlink at `dest` unless something is already there.
    pub fn symlink(&self, target: &str, dest: &Path) -> Result<(), InitError> {
        if let Some((parent, name)) = self.parent_of(dest) {
            let flags = rustix::fs::AtFlags::SYMLINK_NOFOLLOW;
            if rustix::fs::statat(parent.as_fd(), name, flags).is_ok() {
                return Ok(());
            }
            return rustix::fs::symlinkat(target, parent.as_fd(), name).map_err(|e| {
                InitError::Path {
                    step: "create symlink",
                    path: dest.to_owned(),
                    source: e.into(),
                }
            });
        }
        self.root
            .create(dest, &InodeType::Symlink(PathBuf::from(target)))
            .map_err(Self::err("create symlink", dest))
    }

    /// Removes whatever is at `dest` (a file or symlink), if anything.
    pub fn remove_file(&self, dest: &Path) {
        if let Some((parent, name)) = self.parent_of(dest) {
            let _ = rustix::fs::unlinkat(parent.as_fd(), name, rustix::fs::AtFlags::empty());
        }
    }

    pub fn mknod(
        &self,
        dest: &Path,
        kind: libc::mode_t,
        mode: u32,
        dev: u64,
    ) -> Result<(), InitError> {
        let parent = dest.parent().unwrap_or(Path::new("/"));
        let name = dest.file_name().unwrap_or_default();
        let dir = match self.quick_dir(parent) {
            Some(dir) => dir,
            None => Target {
                handle: self
                    .root
                    .mkdir_all(parent, &Permissions::from_mode(0o755))
                    .map_err(Self::err("create device directory", dest))?,
            },
        };
        nix::sys::stat::mknodat(
            Some(dir.as_fd().as_raw_fd()),
            name,
            nix::sys::stat::SFlag::from_bits_truncate(kind),
            nix::sys::stat::Mode::from_bits_truncate(mode),
            dev,
        )
        .map_err(|source| InitError::Path {
            step: "mknod",
            path: dest.to_owned(),
            source: source.into(),
        })
    }
}
