//! Errors of the init process, each naming the step that failed. They cross back to
//! truman as text over the sync channel, so the user sees the init's own words.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{step}: {source}")]
    Sys {
        step: String,
        source: nix::errno::Errno,
    },
    #[error("{step} {path}: {source}")]
    Path {
        step: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{step} {path}: {source}")]
    Resolve {
        step: &'static str,
        path: PathBuf,
        source: pathrs::error::Error,
    },
    #[error("sync with truman: {0}")]
    Sync(io::Error),
    #[error("{0}")]
    Hook(#[from] hooks::HookError),
    #[error("capabilities: {0}")]
    Caps(#[from] caps::errors::CapsError),
    #[error("process.terminal is true but no --console-socket was given")]
    NoConsoleSocket,
    #[error("exec: {0:?}: executable file not found in $PATH")]
    NotFound(String),
    #[error("{0}")]
    Other(String),
}

/// Wraps an errno-returning call with the name of its step.
pub(crate) trait Step<T> {
    fn step(self, step: impl Into<String>) -> Result<T, InitError>;
}

impl<T> Step<T> for nix::Result<T> {
    fn step(self, step: impl Into<String>) -> Result<T, InitError> {
        self.map_err(|source| InitError::Sys {
            step: step.into(),
            source,
        })
    }
}
