//! The init's stdio as `descriptors.json` in a checkpoint names it (runc's format: a
//! JSON array of what `/proc/<pid>/fd/0`, `1` and `2` link to, `pipe:[123]`,
//! `/dev/null`, `/dev/pts/0`). podman and containerd read it to wire new pipes on
//! restore; truman's restore gives CRIU its own stdio in place of each pipe named.

use std::path::Path;

use crate::{Error, Result};

pub(crate) const FILE: &str = "descriptors.json";

/// What fds 0, 1 and 2 of `pid` are; an fd that cannot be read is `""`, as runc
/// leaves it. Read by `create` as soon as the init exists, before the container's
/// program can move them, as runc reads them.
pub(crate) fn of(pid: i32) -> Vec<String> {
    (0..3)
        .map(|fd| {
            std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
                .map(|target| target.display().to_string())
                .unwrap_or_default()
        })
        .collect()
}

pub(crate) fn write(images: &Path, descriptors: &[String]) -> Result<()> {
    let path = images.join(FILE);
    let text = serde_json::to_vec(descriptors).map_err(|e| Error::Sys {
        op: format!("encode {}", path.display()),
        source: e.into(),
    })?;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    // 0600, as runc writes it.
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(&text))
        .map_err(Error::sys(format!("write {}", path.display())))
}

/// The descriptors a checkpoint holds. runc refuses a checkpoint without them.
pub(crate) fn read(images: &Path) -> Result<Vec<String>> {
    let path = images.join(FILE);
    let text = std::fs::read(&path).map_err(Error::sys(format!("read {}", path.display())))?;
    serde_json::from_slice(&text).map_err(|e| {
        Error::Usage(format!(
            "{}: not a JSON list of strings: {e}",
            path.display()
        ))
    })
}

/// The pipes among them, by fd: CRIU makes each again from its own fd of that number.
pub(crate) fn pipes(descriptors: &[String]) -> impl Iterator<Item = (i32, &str)> {
    descriptors
        .iter()
        .enumerate()
        .filter(|(_, d)| d.starts_with("pipe:"))
        .map(|(fd, d)| (fd as i32, d.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_s_descriptors_read_back_and_name_their_pipes() {
        let dir = tempfile::tempdir().unwrap();
        let written = vec![
            "/dev/null".to_owned(),
            "pipe:[123]".to_owned(),
            "pipe:[124]".to_owned(),
        ];
        write(dir.path(), &written).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join(FILE)).unwrap(),
            r#"["/dev/null","pipe:[123]","pipe:[124]"]"#
        );
        let read_back = read(dir.path()).unwrap();
        assert_eq!(read_back, written);
        assert_eq!(
            pipes(&read_back).collect::<Vec<_>>(),
            vec![(1, "pipe:[123]"), (2, "pipe:[124]")]
        );
    }

    #[test]
    fn this_process_s_stdio_is_named() {
        let mine = of(std::process::id() as i32);
        assert_eq!(mine.len(), 3);
        assert!(mine.iter().any(|d| !d.is_empty()), "{mine:?}");
    }
}
