//! Building hooks for the tests: most are `/bin/sh -c SCRIPT`.

#![allow(dead_code)] // each test file uses its own subset

use std::path::Path;

use oci_spec::runtime::{Hook, HookBuilder};

/// A hook that runs `script` with `/bin/sh -c`.
pub fn sh(script: &str) -> Hook {
    hook("/bin/sh", &["sh", "-c", script])
}

pub fn hook(path: &str, args: &[&str]) -> Hook {
    HookBuilder::default()
        .path(path)
        .args(args.iter().map(|arg| arg.to_string()).collect::<Vec<_>>())
        .build()
        .expect("build hook")
}

/// `path` quoted for a shell script.
pub fn quoted(path: &Path) -> String {
    format!("'{}'", path.display())
}

pub const STATE: &[u8] =
    br#"{"ociVersion":"1.2.0","id":"c1","status":"creating","pid":42,"bundle":"/b"}"#;
