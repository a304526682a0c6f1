//! `probes/syscall.c`, built once per test run as a static binary, to put in test root
//! filesystems: `syscall NR [ARG...]` prints `RESULT ERRNO` of one system call, which
//! is what a seccomp test checks.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The static syscall probe; panics (naming the compiler's words) if it cannot be built.
pub fn syscall_probe() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| build("syscall", &[]))
}

/// `probes/no-clone3.c` for `runtime`: runs it with clone3 answering ENOSYS.
pub fn without_clone3(runtime: &Path) -> &'static Path {
    static WRAPPER: OnceLock<PathBuf> = OnceLock::new();
    WRAPPER.get_or_init(|| {
        build(
            "no-clone3",
            &[format!("-DRUNTIME={:?}", runtime.display().to_string())],
        )
    })
}

/// Builds `probes/NAME.c` as a static binary; panics (naming the compiler's words) if
/// it cannot.
fn build(name: &str, defines: &[String]) -> PathBuf {
    {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("probes/{name}.c"));
        let out = std::env::temp_dir().join(format!("truman-{name}-probe-{}", std::process::id()));
        let status = Command::new("cc")
            .args(["-static", "-O2", "-o"])
            .arg(&out)
            .args(defines)
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
    }
}
