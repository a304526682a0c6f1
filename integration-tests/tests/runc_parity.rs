//! The same bundle run by runc and by the runtime under test: the process
//! inside must see the same credentials, environment and filesystem.
//!
//! Skipped (with a message) where runc is not installed.

use std::collections::BTreeMap;
use std::path::Path;

use integration_tests::{unique_id, Bundle, Runtime};
use serde_json::json;

const RUNC: &str = "/usr/sbin/runc";

/// Prints what the process sees, one `== section` at a time.
const OBSERVE: &str = r#"
echo '== status'; grep -E '^(Cap|NoNewPrivs|Uid|Gid|Groups)' /proc/self/status
echo '== env'; env | sort
echo '== id'; id
echo '== umask'; umask
echo '== hostname'; hostname
echo '== cwd'; pwd
echo '== limits'; cat /proc/self/limits
echo '== mountinfo'; cat /proc/self/mountinfo
echo '== dev'; for f in $(ls -A /dev); do stat -c '%n %F %a %u:%g %t:%T' "/dev/$f"; done
"#;

/// Splits the observation into sections, normalising what legitimately
/// differs from one run to the next.
fn sections(stdout: &str) -> BTreeMap<String, String> {
    let mut sections = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in stdout.lines() {
        if let Some(name) = line.strip_prefix("== ") {
            sections.extend(current.take());
            current = Some((name.to_string(), String::new()));
        } else if let Some((name, text)) = current.as_mut() {
            let line = if name == "mountinfo" {
                normalise_mount(line)
            } else {
                line.to_string()
            };
            text.push_str(&line);
            text.push('\n');
        }
    }
    sections.extend(current);
    sections
}

/// A `/proc/self/mountinfo` line without the mount and parent ids, the
/// device number and the peer-group tags (all allocated by the kernel per
/// mount): `root mountpoint options - fstype source super-options`.
fn normalise_mount(line: &str) -> String {
    let (mount, fs) = line
        .split_once(" - ")
        .unwrap_or_else(|| panic!("mountinfo line {line:?}"));
    let fields: Vec<&str> = mount.split(' ').collect();
    let [_id, _parent, _dev, root, mountpoint, options, ..] = fields[..] else {
        panic!("mountinfo line {line:?}");
    };
    format!("{root} {mountpoint} {options} - {fs}")
}

/// Runs `bundle` with [`OBSERVE`] under `runtime`; the container's view.
fn observe(runtime: &Runtime, id: &str, bundle: &Bundle) -> BTreeMap<String, String> {
    let output = runtime.run(id, bundle);
    output.assert_success();
    sections(&output.stdout)
}

/// Runs the bundle under runc and under the runtime under test (each with
/// its own `--root`, same id, one after the other) and compares every
/// section of what the process saw.
fn assert_same_view_as_runc(edit: impl Fn(Bundle) -> Bundle) {
    if !Path::new(RUNC).exists() {
        eprintln!("skipped: {RUNC} is not installed");
        return;
    }
    let id = unique_id();
    let bundle = edit(Bundle::new(&id)).args(&["sh", "-c", OBSERVE]).write();

    let expected = observe(&Runtime::at(RUNC), &id, &bundle);
    let under_test = Runtime::under_test();
    let seen = observe(&under_test, &id, &bundle);

    assert!(
        expected.len() >= 9,
        "runc's observation is incomplete: {expected:#?}"
    );
    let differences: Vec<String> = expected
        .iter()
        .filter(|(name, text)| seen.get(*name) != Some(text))
        .map(|(name, text)| {
            let seen = seen.get(name).map_or("(missing)", String::as_str);
            format!(
                "== {name}\n-- runc:\n{text}-- {}:\n{seen}",
                under_test.bin().display()
            )
        })
        .collect();
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn the_default_process_sees_what_it_sees_under_runc() {
    assert_same_view_as_runc(|bundle| bundle);
}

#[test]
fn an_unprivileged_user_sees_what_it_sees_under_runc() {
    assert_same_view_as_runc(|bundle| {
        bundle
            .set(
                "/process/user",
                json!({ "uid": 1000, "gid": 1000, "umask": 0o027, "additionalGids": [5] }),
            )
            .set("/process/cwd", json!("/tmp"))
            .set("/process/env/-", json!("GREETING=hello"))
    });
}

#[test]
fn a_writable_root_with_extra_capabilities_looks_like_runc() {
    assert_same_view_as_runc(|bundle| {
        let caps = json!([
            "CAP_CHOWN",
            "CAP_KILL",
            "CAP_NET_BIND_SERVICE",
            "CAP_SYS_ADMIN"
        ]);
        bundle
            .set("/root/readonly", json!(false))
            .set("/process/noNewPrivileges", json!(false))
            .set("/process/capabilities/bounding", caps.clone())
            .set("/process/capabilities/effective", caps.clone())
            .set("/process/capabilities/permitted", caps.clone())
            .set("/process/capabilities/inheritable", caps.clone())
            .set("/process/capabilities/ambient", caps)
    });
}
