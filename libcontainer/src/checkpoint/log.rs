//! CRIU's own account of a failure: its log (`dump.log`, `restore.log`) in the work
//! directory, of which the error lines say what went wrong.

use std::path::{Path, PathBuf};

/// The error CRIU logged, if its log has one: the first `Error (...)` line, without
/// its timestamp, and the log's path for the rest.
pub(crate) fn explain(failure: crate::Error, log: &Path) -> crate::Error {
    match first_error(log) {
        Some(line) => crate::Error::Usage(format!("{failure}: {line} (see {})", log.display())),
        None => crate::Error::Usage(format!("{failure} (see {})", log.display())),
    }
}

fn first_error(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    // A host without CAP_SYS_RESOURCE logs this on every run; it is not the failure.
    let line = text
        .lines()
        .find(|l| l.contains("Error (") && !l.contains("Can't setup RLIMIT_NOFILE"))?;
    // "(00.012345) Error (criu/mount.c:123): ..." -> "Error (criu/mount.c:123): ..."
    let from = line.find("Error (").unwrap_or(0);
    Some(line[from..].trim().to_owned())
}

/// The directory CRIU writes its log into: the work directory if there is one, else
/// the image directory.
pub(crate) fn dir(images: &Path, work: Option<&Path>) -> PathBuf {
    work.unwrap_or(images).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_real_error_of_the_log_is_the_explanation() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("dump.log");
        std::fs::write(
            &log,
            "(00.000100) Version: 4.2\n\
             (00.000200) Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted\n\
             (00.010000) Error (criu/tty.c:100): tty: Found dangling tty with sid 1 pgid 1 (pts) on peer fd 0.\n\
             (00.020000) Error (criu/cr-dump.c:2000): Dumping FAILED.\n",
        )
        .unwrap();
        let explained = explain(crate::Error::Usage("criu dump failed".into()), &log).to_string();
        assert!(
            explained
                .starts_with("criu dump failed: Error (criu/tty.c:100): tty: Found dangling tty"),
            "{explained}"
        );
        assert!(
            explained.ends_with(&format!("(see {})", log.display())),
            "{explained}"
        );
    }
}
