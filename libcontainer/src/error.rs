//! The errors a libcontainer operation returns; the binary decides how to show them.
//! Where runc has a message for a case, the wording is runc's, because containerd and
//! podman match on it.

use std::io;

use crate::state::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    InvalidId(#[from] crate::id::InvalidId),
    #[error(transparent)]
    Signal(#[from] crate::signal::UnknownSignal),
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    #[error(transparent)]
    Store(#[from] crate::state::StoreError),
    #[error(transparent)]
    Cgroup(#[from] crate::cgroups::CgroupError),
    #[error(transparent)]
    Hook(#[from] hooks::HookError),
    #[error(transparent)]
    Seccomp(#[from] crate::security::seccomp::SeccompError),
    #[error(transparent)]
    Lsm(#[from] crate::security::lsm::LsmError),
    #[error(transparent)]
    IntelRdt(#[from] crate::intelrdt::IntelRdtError),
    #[error(transparent)]
    Network(#[from] crate::network::NetworkError),
    /// The init process failed during setup; the text is its own error.
    #[error("{0}")]
    Init(String),
    #[error("container not running")]
    NotRunning,
    #[error("container not paused")]
    NotPaused,
    #[error("cannot start a container that has stopped")]
    StartStopped,
    #[error("cannot start an already {0} container")]
    StartAgain(Status),
    #[error("cannot delete container {id} that is not stopped: {status}")]
    DeleteNotStopped { id: String, status: Status },
    #[error("{0}")]
    Usage(String),
    #[error("{op}: {source}")]
    Sys { op: String, source: io::Error },
}

impl Error {
    pub(crate) fn sys(op: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
        let op = op.into();
        move |source| Error::Sys { op, source }
    }

    pub(crate) fn errno(op: impl Into<String>) -> impl FnOnce(nix::errno::Errno) -> Error {
        let op = op.into();
        move |e| Error::Sys {
            op,
            source: e.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
