//! `maskedPaths` and `readonlyPaths`, applied inside the container after pivot_root.

use std::path::Path;

use nix::mount::{mount, MsFlags};

use super::error::{InitError, Step};
use super::mounts::locked_flags;

/// Hides a path: files are covered by `/dev/null`, directories by an empty read-only
/// tmpfs. A path that does not exist needs no hiding.
pub fn mask(path: &Path) -> Result<(), InitError> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    if meta.is_dir() {
        mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            None::<&str>,
        )
    } else {
        mount(
            Some("/dev/null"),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
    }
    .step(format!("mask {}", path.display()))
}

/// Makes a path read-only by bind-mounting it on itself and remounting that read-only.
pub fn make_readonly(path: &Path) -> Result<(), InitError> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    mount(
        Some(path),
        path,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .step(format!("bind mount {} read-only", path.display()))?;
    let flags = MsFlags::MS_BIND
        | MsFlags::MS_REMOUNT
        | MsFlags::MS_RDONLY
        | MsFlags::MS_REC
        | locked_flags(path);
    mount(None::<&str>, path, None::<&str>, flags, None::<&str>)
        .step(format!("remount {} read-only", path.display()))
}
