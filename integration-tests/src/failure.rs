//! How a refused command must fail: telling the caller why, and leaving nothing.

use std::path::PathBuf;

use crate::{is_alive, leftover_cgroups, Output, Runtime};

/// Asserts a failed `create`/`run` told the caller why and left nothing
/// behind: a non-zero exit, `mentions` (any one of each group, in any
/// case) on stderr and in the last `error` line of the `--log`, no state
/// under `--root`, no cgroup, no live process from the pid file.
#[track_caller]
pub fn assert_failed_cleanly(runtime: &Runtime, output: &Output, id: &str, mentions: &[&[&str]]) {
    output.assert_failure();
    assert_eq!(
        output.stderr.trim_end().lines().count(),
        1,
        "one line on stderr: {output}"
    );
    let log = runtime.log_lines();
    let last_error = log
        .iter()
        .rev()
        .find(|line| line["level"] == "error")
        .unwrap_or_else(|| panic!("no error line in --log after a failure: {output}"));
    let msg = last_error["msg"].as_str().unwrap_or_default();
    // Case-insensitive, as podman's matching of runtime errors is.
    let contains = |text: &str, m: &str| text.to_lowercase().contains(&m.to_lowercase());
    for alternatives in mentions {
        assert!(
            alternatives.iter().any(|m| contains(&output.stderr, m)),
            "stderr mentions none of {alternatives:?}: {output}"
        );
        assert!(
            alternatives.iter().any(|m| contains(msg, m)),
            "the log's error mentions none of {alternatives:?}: {last_error}"
        );
    }

    let state_dirs: Vec<PathBuf> = std::fs::read_dir(runtime.root())
        .expect("read --root")
        .map(|entry| entry.expect("read --root").path())
        .collect();
    assert_eq!(state_dirs, Vec::<PathBuf>::new(), "state left under --root");
    assert_eq!(leftover_cgroups(id), Vec::<PathBuf>::new(), "cgroups left");
    if let Ok(pid) = std::fs::read_to_string(runtime.pid_file(id)) {
        let pid: i32 = pid.trim().parse().unwrap_or(0);
        assert!(
            pid <= 0 || !is_alive(pid),
            "a failed create wrote a pid file for live process {pid}"
        );
    }
}
