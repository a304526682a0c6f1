//! `tmpcopyup`: a tmpfs mounted over a directory of the image starts with the image's
//! files in it, as runc and crun give it (a tmpfs over `/etc` would otherwise hide the
//! image's passwd, hosts...). The copy keeps each entry's kind, mode and owner, and its
//! symlinks as symlinks; it works between two directory descriptors, so nothing it
//! follows can lead out of either tree.

use std::ffi::CStr;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{self as fs, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// Why a copy-up failed: the entry, relative to the tmpfs's root, and the error.
#[derive(Debug, thiserror::Error)]
#[error("copy {path} into the tmpfs: {source}")]
pub struct CopyUpError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Copies what is in directory `from` into directory `to`, recursively.
pub fn copy_tree(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Result<(), CopyUpError> {
    copy_dir(from, to, Path::new("/"))
}

fn copy_dir(from: BorrowedFd<'_>, to: BorrowedFd<'_>, at: &Path) -> Result<(), CopyUpError> {
    let fail = |e: Errno| CopyUpError {
        path: at.to_owned(),
        source: e.into(),
    };
    for entry in fs::Dir::read_from(from).map_err(fail)? {
        let entry = entry.map_err(fail)?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let path = at.join(std::ffi::OsStr::from_bytes(name.to_bytes()));
        copy_entry(from, to, name, &path)?;
    }
    Ok(())
}

/// Copies the entry `name` of `from` into `to`; `path` names it in errors.
fn copy_entry(
    from: BorrowedFd<'_>,
    to: BorrowedFd<'_>,
    name: &CStr,
    path: &Path,
) -> Result<(), CopyUpError> {
    let fail = |e: Errno| CopyUpError {
        path: path.to_owned(),
        source: e.into(),
    };
    let stat = fs::statat(from, name, AtFlags::SYMLINK_NOFOLLOW).map_err(fail)?;
    let mode = Mode::from_raw_mode(stat.st_mode & 0o7777);
    let (uid, gid) = owner(&stat);
    let nofollow = OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::Directory => {
            fs::mkdirat(to, name, Mode::RWXU).map_err(fail)?;
            let dir = OFlags::RDONLY | OFlags::DIRECTORY | nofollow;
            let source = fs::openat(from, name, dir, Mode::empty()).map_err(fail)?;
            let copy = fs::openat(to, name, dir, Mode::empty()).map_err(fail)?;
            copy_dir(source.as_fd(), copy.as_fd(), path)?;
            // Owner first: a chown clears the set-id bits the chmod then restores.
            fs::fchown(&copy, Some(uid), Some(gid)).map_err(fail)?;
            fs::fchmod(&copy, mode).map_err(fail)?;
        }
        FileType::RegularFile => {
            let source =
                fs::openat(from, name, OFlags::RDONLY | nofollow, Mode::empty()).map_err(fail)?;
            let create = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | nofollow;
            let copy = fs::openat(to, name, create, Mode::RUSR | Mode::WUSR).map_err(fail)?;
            let (mut source, mut copy) = (File::from(source), File::from(copy));
            std::io::copy(&mut source, &mut copy).map_err(|source| CopyUpError {
                path: path.to_owned(),
                source,
            })?;
            fs::fchown(&copy, Some(uid), Some(gid)).map_err(fail)?;
            fs::fchmod(&copy, mode).map_err(fail)?;
        }
        FileType::Symlink => {
            let target = fs::readlinkat(from, name, Vec::new()).map_err(fail)?;
            fs::symlinkat(target.as_c_str(), to, name).map_err(fail)?;
            fs::chownat(to, name, Some(uid), Some(gid), AtFlags::SYMLINK_NOFOLLOW).map_err(fail)?;
        }
        kind => {
            // Device nodes, fifos and sockets: the node itself, as `cp -a` makes it.
            fs::mknodat(to, name, kind, mode, stat.st_rdev).map_err(fail)?;
            fs::chownat(to, name, Some(uid), Some(gid), AtFlags::SYMLINK_NOFOLLOW).map_err(fail)?;
            fs::chmodat(to, name, mode, AtFlags::empty()).map_err(fail)?;
        }
    }
    Ok(())
}

fn owner(stat: &fs::Stat) -> (fs::Uid, fs::Gid) {
    (
        fs::Uid::from_raw(stat.st_uid),
        fs::Gid::from_raw(stat.st_gid),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::OwnedFd;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn open_dir(path: &Path) -> OwnedFd {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        fs::open(path, flags, Mode::empty()).unwrap()
    }

    #[test]
    fn files_directories_and_symlinks_keep_their_kind_mode_and_contents() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        std::fs::create_dir(from.path().join("sub")).unwrap();
        std::fs::write(
            from.path().join("sub/passwd"),
            "root:x:0:0::/root:/bin/sh\n",
        )
        .unwrap();
        std::fs::set_permissions(
            from.path().join("sub/passwd"),
            std::fs::Permissions::from_mode(0o4751),
        )
        .unwrap();
        std::fs::set_permissions(
            from.path().join("sub"),
            std::fs::Permissions::from_mode(0o1770),
        )
        .unwrap();
        std::os::unix::fs::symlink("../elsewhere", from.path().join("link")).unwrap();
        nix::unistd::mkfifo(
            &from.path().join("fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o640),
        )
        .unwrap();

        let (a, b) = (open_dir(from.path()), open_dir(to.path()));
        copy_tree(a.as_fd(), b.as_fd()).unwrap();

        let copied = to.path().join("sub/passwd");
        assert_eq!(
            std::fs::read_to_string(&copied).unwrap(),
            "root:x:0:0::/root:/bin/sh\n"
        );
        assert_eq!(std::fs::metadata(&copied).unwrap().mode() & 0o7777, 0o4751);
        let sub = std::fs::metadata(to.path().join("sub")).unwrap();
        assert_eq!(sub.mode() & 0o7777, 0o1770);
        assert_eq!(
            std::fs::read_link(to.path().join("link")).unwrap(),
            Path::new("../elsewhere")
        );
        let fifo = std::fs::symlink_metadata(to.path().join("fifo")).unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&fifo.file_type()));
        assert_eq!(fifo.mode() & 0o7777, 0o640);
    }

    #[test]
    fn a_name_already_in_the_target_is_an_error_naming_it() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        std::fs::write(from.path().join("hosts"), "x").unwrap();
        std::fs::write(to.path().join("hosts"), "y").unwrap();
        let (a, b) = (open_dir(from.path()), open_dir(to.path()));
        let err = copy_tree(a.as_fd(), b.as_fd()).unwrap_err();
        assert_eq!(err.path, Path::new("/hosts"));
    }
}
