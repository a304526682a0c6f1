//! Containers that run a shell script and print `name: value` lines.

use crate::{Bundle, Output, Runtime};

/// What the shell prints when a write hits a read-only mount (EROFS).
pub const EROFS: &str = "Read-only file system";

/// Runs `script` with `sh -c` in a container from `bundle` and returns what
/// the runtime reported.
pub fn run_script(runtime: &Runtime, id: &str, bundle: Bundle, script: &str) -> Output {
    let bundle = bundle.args(&["sh", "-c", script]).write();
    runtime.run(id, &bundle)
}

/// The value of the `name: value` line a script printed.
#[track_caller]
pub fn field<'a>(output: &'a Output, name: &str) -> &'a str {
    let prefix = format!("{name}: ");
    output
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name:?} line: {output}"))
}
