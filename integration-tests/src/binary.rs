//! Which runtime binary the tests drive.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The runtime under test: `$TRUMAN_BIN` if set (e.g. `/usr/sbin/runc`),
/// otherwise truman built from this workspace, once per test process, with
/// the same profile as the tests themselves. That keeps a plain
/// `cargo test --workspace` self-sufficient.
pub fn runtime_under_test() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("TRUMAN_BIN") {
        Some(bin) if !bin.is_empty() => PathBuf::from(bin),
        _ => build_truman(),
    })
    .clone()
}

/// Runs `cargo build -p truman --bin truman` from the workspace root and
/// returns the executable cargo reports, so a custom target dir or profile
/// layout needs no guessing.
fn build_truman() -> PathBuf {
    let workspace = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(&workspace)
        .args(["build", "-p", "truman", "--bin", "truman"])
        // Human-readable diagnostics go to stderr, artifacts as JSON to stdout.
        .arg("--message-format=json-render-diagnostics")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let output = build
        .output()
        .unwrap_or_else(|e| panic!("run {build:?}: {e}"));
    assert!(
        output.status.success(),
        "{build:?} failed ({}); set TRUMAN_BIN to test another runtime",
        output.status
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == "truman")
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("{build:?} reported no truman executable"))
}
