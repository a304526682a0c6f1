//! Reading `<bundle>/config.json` into a checked [`Bundle`].

use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use super::validate::validate;

/// A bundle whose `config.json` parsed and passed validation, with absolute paths.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The bundle directory, absolute.
    pub dir: PathBuf,
    /// The root filesystem, absolute and free of symlinks.
    pub rootfs: PathBuf,
    pub spec: Spec,
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("bundle {path}: {source}")]
    Bundle { path: PathBuf, source: io::Error },
    #[error("open {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("parse {path}: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: {field}: {reason}")]
    Invalid {
        path: PathBuf,
        field: String,
        reason: String,
    },
    #[error("{path}: root.path: rootfs {rootfs}: {source}")]
    Rootfs {
        path: PathBuf,
        rootfs: PathBuf,
        source: io::Error,
    },
}

/// Loads and validates `config.json` from `dir`.
pub fn load_bundle(dir: &Path) -> Result<Bundle, SpecError> {
    let dir = std::path::absolute(dir).map_err(|source| SpecError::Bundle {
        path: dir.to_owned(),
        source,
    })?;
    let config = dir.join("config.json");
    let bytes = std::fs::read(&config).map_err(|source| SpecError::Read {
        path: config.clone(),
        source,
    })?;
    let spec: Spec = serde_json::from_slice(&bytes).map_err(|source| SpecError::Parse {
        path: config.clone(),
        source,
    })?;
    validate(&spec).map_err(|(field, reason)| SpecError::Invalid {
        path: config.clone(),
        field,
        reason,
    })?;
    let root = spec.root().as_ref().map(|r| r.path().clone());
    let root = root.ok_or_else(|| SpecError::Invalid {
        path: config.clone(),
        field: "root".into(),
        reason: "required".into(),
    })?;
    let rootfs = dir.join(&root);
    let rootfs = match std::fs::canonicalize(&rootfs) {
        Ok(path) if path.is_dir() => path,
        Ok(path) => {
            return Err(SpecError::Rootfs {
                path: config,
                rootfs: path,
                source: io::Error::from_raw_os_error(libc::ENOTDIR),
            })
        }
        Err(source) => {
            return Err(SpecError::Rootfs {
                path: config,
                rootfs,
                source,
            })
        }
    };
    Ok(Bundle { dir, rootfs, spec })
}
