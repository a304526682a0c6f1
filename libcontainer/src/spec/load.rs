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
    /// `config.json` as it was read, to tell later whether it is still the same file.
    pub stamp: ConfigStamp,
}

/// The size and modification time of a `config.json`: what `checkpoint`, which reads
/// the bundle again, compares with the one the container was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConfigStamp {
    pub len: u64,
    pub modified_ns: i128,
}

impl ConfigStamp {
    fn of(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self {
            len: meta.len(),
            modified_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
        }
    }
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
    // Opened, stat'ed and read: the system calls of fs::read, with the stat kept.
    let (bytes, stamp) = read_with_stamp(&config).map_err(|source| SpecError::Read {
        path: config.clone(),
        source,
    })?;
    let spec: Spec = parse(&bytes).map_err(|source| SpecError::Parse {
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
    Ok(Bundle {
        dir,
        rootfs,
        spec,
        stamp,
    })
}

fn read_with_stamp(path: &Path) -> io::Result<(Vec<u8>, ConfigStamp)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    file.read_to_end(&mut bytes)?;
    Ok((bytes, ConfigStamp::of(&meta)))
}

/// `config.json` as a [`Spec`]. oci-spec 0.10 knows runtime-spec's (deprecated)
/// `linux.intelRdt.enableCMT` and `enableMBM` only as `enableCmt` and `enableMbm`,
/// and would drop them without a word: they are renamed first.
fn parse(bytes: &[u8]) -> serde_json::Result<Spec> {
    let mentions = |name: &[u8]| bytes.windows(name.len()).any(|w| w == name);
    if !mentions(b"\"enableCMT\"") && !mentions(b"\"enableMBM\"") {
        return serde_json::from_slice(bytes);
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes)?;
    if let Some(rdt) = value
        .pointer_mut("/linux/intelRdt")
        .and_then(|v| v.as_object_mut())
    {
        for (spec_name, oci_spec_name) in [("enableCMT", "enableCmt"), ("enableMBM", "enableMbm")] {
            if let Some(flag) = rdt.remove(spec_name) {
                rdt.insert(oci_spec_name.to_owned(), flag);
            }
        }
    }
    serde_json::from_value(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(deprecated)]
    fn intel_rdt_monitoring_flags_are_read_by_their_spec_names() {
        let config = serde_json::json!({
            "ociVersion": "1.3.0",
            "linux": { "intelRdt": { "enableCMT": true, "enableMBM": false, "closID": "gold" } }
        });
        let spec = parse(config.to_string().as_bytes()).unwrap();
        let rdt = spec.linux().as_ref().unwrap().intel_rdt().clone().unwrap();
        assert_eq!(*rdt.enable_cmt(), Some(true));
        assert_eq!(*rdt.enable_mbm(), Some(false));
        assert_eq!(rdt.clos_id().as_deref(), Some("gold"));
    }
}
