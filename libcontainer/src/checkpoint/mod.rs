//! Checkpoint and restore through CRIU: `checkpoint` dumps a running container's
//! processes into an image directory (and, unless it is left running, removes the
//! container as `delete` does); `restore` makes a new container from a bundle and has
//! CRIU bring the processes back into it, after which it is an ordinary container.

mod descriptors;
mod dump;
mod externals;
mod log;
mod options;
mod restore;
mod swrk;

pub use dump::checkpoint;
pub use options::{CgroupsMode, CheckpointOptions, CriuOptions, RestoreOptions};
pub(crate) use restore::restore_with;
pub use restore::{restore, Restored};

pub(crate) use descriptors::of as stdio_of;

/// The oldest CRIU truman drives, as crun and youki: external PID namespaces, the
/// `status-ready` notification and the cgroup2 freezer are all there from 3.15.
const OLDEST_CRIU: u32 = 31500;

/// CRIU's config file for this runtime: the annotation `org.criu.config` names one
/// (empty: none at all); otherwise `/etc/criu/truman.conf` if there is one, else
/// runc's, so that what a host set up for runc holds for truman too.
fn config_file(annotations: &std::collections::HashMap<String, String>) -> Option<String> {
    match annotations.get("org.criu.config") {
        Some(path) if path.is_empty() => None,
        Some(path) => Some(path.clone()),
        None if std::path::Path::new("/etc/criu/truman.conf").exists() => {
            Some("/etc/criu/truman.conf".into())
        }
        None => Some("/etc/criu/runc.conf".into()),
    }
}

/// The CRIU that knows `lsm_profile` and `lsm_mount_context`: an older one drops
/// them without a word, and the restored processes would run unlabelled.
const LSM_CRIU: u32 = 31600;

/// CRIU's version, refused below [`OLDEST_CRIU`].
fn check_version() -> crate::Result<u32> {
    let version = swrk::version()?;
    if version < OLDEST_CRIU {
        return Err(crate::Error::Usage(format!(
            "criu {}.{}.{} is too old: checkpoint and restore need 3.15 or newer",
            version / 10000,
            version / 100 % 100,
            version % 100
        )));
    }
    Ok(version)
}
