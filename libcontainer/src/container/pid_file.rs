//! `--pid-file`: written last, atomically, only on success, with no trailing newline,
//! because containerd parses it with a strict `Atoi`.

use std::io::Write;
use std::path::Path;

use nix::unistd::Pid;

use crate::{Error, Result};

pub fn write(path: &Path, pid: Pid) -> Result<()> {
    let path =
        std::path::absolute(path).map_err(Error::sys(format!("pid file {}", path.display())))?;
    let dir = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(Error::sys(format!("create pid file {}", tmp.display())))?;
    let written = file
        .write_all(pid.as_raw().to_string().as_bytes())
        .and_then(|_| std::fs::rename(&tmp, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Sys {
            op: format!("write pid file {}", path.display()),
            source: e,
        });
    }
    Ok(())
}
