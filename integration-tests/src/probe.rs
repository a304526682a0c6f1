//! `probes/syscall.c`, built once per test run as a static binary, to put in test root
//! filesystems: `syscall NR [ARG...]` prints `RESULT ERRNO` of one system call, which
//! is what a seccomp test checks.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The static syscall probe; panics (naming the compiler's words) if it cannot be built.
pub fn syscall_probe() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("probes/syscall.c");
        let out = std::env::temp_dir().join(format!("truman-syscall-probe-{}", std::process::id()));
        let status = Command::new("cc")
            .args(["-static", "-O2", "-o"])
            .arg(&out)
            .arg(&source)
            .output()
            .unwrap_or_else(|e| panic!("run cc for {}: {e}", source.display()));
        assert!(
            status.status.success(),
            "cc -static {}: {}",
            source.display(),
            String::from_utf8_lossy(&status.stderr)
        );
        out
    })
}
