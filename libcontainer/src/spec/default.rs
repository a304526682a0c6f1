//! `truman spec`: the default `config.json`, runc's defaults with our hostname.

use std::io;
use std::path::Path;

use oci_spec::runtime::Spec;

use crate::{Error, Result};

pub fn default_spec(rootless: bool) -> Spec {
    let mut spec = if rootless {
        Spec::rootless(
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )
    } else {
        Spec::default()
    };
    spec.set_hostname(Some("truman".into()));
    spec
}

/// Writes the default spec to `<bundle>/config.json`, refusing to overwrite one.
pub fn write_default(bundle: &Path, rootless: bool) -> Result<()> {
    let path = bundle.join("config.json");
    let json = serde_json::to_vec_pretty(&default_spec(rootless)).map_err(|e| Error::Sys {
        op: "serialize default spec".into(),
        source: e.into(),
    })?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path);
    match file {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(Error::Usage(format!(
            "file {} exists, remove it first",
            path.display()
        ))),
        Err(e) => Err(Error::sys(format!("create {}", path.display()))(e)),
        Ok(mut file) => io::Write::write_all(&mut file, &json)
            .map_err(Error::sys(format!("write {}", path.display()))),
    }
}
