//! Mount options beyond mount(2)'s flags, seen from inside the container: the
//! recursive attributes (`rro`, `rnosuid`, ... set on a bind mount and on every
//! mount below it), `nosymfollow`, `tmpcopyup`, a tmpfs keeping the mode of the
//! directory it covers, and the options that are refused by name because the
//! kernel would ignore them.
//!
//! The host directories with submounts are made in a private mount namespace of
//! the test (`in_private_mount_ns`), which the runtime inherits: the host's own
//! mount table is never touched.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use integration_tests::mountinfo::{in_private_mount_ns, mount_tmpfs, parse_mountinfo, MountLine};
use integration_tests::script::{field, run_script, EROFS};
use integration_tests::{assert_failed_cleanly, unique_id, Bundle, Output, Runtime};
use nix::mount::{mount, MsFlags};
use serde_json::{json, Value};
use tempfile::TempDir;

/// A host directory the test owns, readable by anyone.
fn host_dir() -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix("truman-mount-attrs-")
        .tempdir()
        .expect("create a host dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod the host dir");
    dir
}

fn bind(source: &Path, destination: &str, options: &[&str]) -> Value {
    json!({ "destination": destination, "type": "bind", "source": source, "options": options })
}

/// `host` with a tmpfs mounted at `host/sub` (in the test's private namespace),
/// bound at `/data` with `options`; the container runs `script` after printing
/// the mount lines of `/data` and `/data/sub`.
fn run_on_a_tree(
    host: &Path,
    options: &[&str],
    prepare: impl FnOnce(&Path),
    script: &str,
) -> Output {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let sub = host.join("sub");
    std::fs::create_dir(&sub).expect("mkdir sub");
    mount_tmpfs(&format!("sub-{id}"), &sub);
    prepare(host);
    let bundle = Bundle::new(&id).set("/mounts/-", bind(host, "/data", options));
    run_script(&runtime, &id, bundle, script)
}

/// The container's `/data` and `/data/sub` mount lines, from its mountinfo.
fn data_mounts(mountinfo: &str) -> (MountLine, MountLine) {
    let mut mounts = parse_mountinfo(mountinfo);
    let mut take = |point: &str| {
        let index = mounts
            .iter()
            .rposition(|m| m.mount_point == point)
            .unwrap_or_else(|| panic!("nothing at {point}:\n{mountinfo}"));
        mounts.swap_remove(index)
    };
    let data = take("/data");
    let sub = take("/data/sub");
    (data, sub)
}

fn has(m: &MountLine, option: &str) -> bool {
    m.options.iter().any(|o| o == option)
}

/// The mountinfo lines a script printed between two markers.
fn mountinfo_of(output: &Output) -> String {
    output
        .stdout
        .split("--mountinfo--\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no mountinfo printed: {output}"))
        .to_owned()
}

const PRINT_MOUNTINFO: &str = "echo --mountinfo--; cat /proc/self/mountinfo; echo --mountinfo--; ";

#[test]
fn rro_makes_a_bind_and_every_mount_below_it_read_only() {
    let host = host_dir();
    in_private_mount_ns(|| {
        let output = run_on_a_tree(
            host.path(),
            &["rbind", "rro"],
            |_| {},
            &format!(
                "{PRINT_MOUNTINFO}\
                 echo \"top: $(touch /data/top 2>&1)\"; \
                 echo \"below: $(touch /data/sub/below 2>&1)\""
            ),
        );
        output.assert_success();
        assert!(field(&output, "top").contains(EROFS), "{output}");
        assert!(field(&output, "below").contains(EROFS), "{output}");
        assert!(
            !host.path().join("top").exists(),
            "a write reached the host"
        );
        assert!(
            !host.path().join("sub/below").exists(),
            "a write reached the host"
        );
        let (data, sub) = data_mounts(&mountinfo_of(&output));
        assert!(has(&data, "ro") && has(&sub, "ro"), "{data:?}\n{sub:?}");
    });
}

#[test]
fn each_recursive_attribute_reaches_the_mounts_below() {
    let host = host_dir();
    in_private_mount_ns(|| {
        let output = run_on_a_tree(
            host.path(),
            &[
                "rbind",
                "rnosuid",
                "rnodev",
                "rnoexec",
                "rnosymfollow",
                "rnoatime",
                "rnodiratime",
            ],
            |host| {
                let program = host.join("sub/program");
                std::fs::write(&program, "#!/bin/sh\necho ran\n").expect("write a program");
                std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755))
                    .expect("chmod the program");
                std::os::unix::fs::symlink("/etc/passwd", host.join("sub/link")).expect("symlink");
            },
            &format!(
                "{PRINT_MOUNTINFO}\
                 echo \"exec: $(/data/sub/program 2>&1)\"; \
                 echo \"follow: $(cat /data/sub/link 2>&1 >/dev/null && echo followed)\""
            ),
        );
        output.assert_success();
        assert!(
            field(&output, "exec").contains("Permission denied"),
            "{output}"
        );
        assert!(
            field(&output, "follow").contains("Too many levels of symbolic links"),
            "{output}"
        );
        let (data, sub) = data_mounts(&mountinfo_of(&output));
        for m in [&data, &sub] {
            for option in [
                "nosuid",
                "nodev",
                "noexec",
                "nosymfollow",
                "noatime",
                "nodiratime",
            ] {
                assert!(has(m, option), "{option} missing on {m:?}");
            }
        }
    });
}

#[test]
fn an_access_time_attribute_replaces_the_setting_of_every_mount_below() {
    let host = host_dir();
    in_private_mount_ns(|| {
        let output = run_on_a_tree(
            host.path(),
            &["rbind", "rstrictatime"],
            |_| {},
            PRINT_MOUNTINFO,
        );
        output.assert_success();
        let (data, sub) = data_mounts(&mountinfo_of(&output));
        // strictatime is the absence of both in mountinfo.
        for m in [&data, &sub] {
            assert!(!has(m, "relatime") && !has(m, "noatime"), "{m:?}");
        }
    });
}

#[test]
fn rrw_makes_a_read_only_submount_writable() {
    let host = host_dir();
    in_private_mount_ns(|| {
        let output = run_on_a_tree(
            host.path(),
            &["rbind", "rrw"],
            |host| {
                let sub = host.join("sub");
                let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
                mount(None::<&str>, &sub, None::<&str>, flags, None::<&str>)
                    .expect("make sub read-only");
            },
            "touch /data/sub/written && echo written",
        );
        output.assert_success();
        assert!(output.stdout.contains("written"), "{output}");
    });
}

#[test]
fn nosymfollow_without_r_stays_on_the_top_mount() {
    let host = host_dir();
    in_private_mount_ns(|| {
        let output = run_on_a_tree(
            host.path(),
            &["rbind", "nosymfollow"],
            |host| std::os::unix::fs::symlink("/etc/passwd", host.join("link")).expect("symlink"),
            &format!(
                "{PRINT_MOUNTINFO}echo \"follow: $(cat /data/link 2>&1 >/dev/null && echo followed)\""
            ),
        );
        output.assert_success();
        assert!(
            field(&output, "follow").contains("Too many levels of symbolic links"),
            "{output}"
        );
        let (data, sub) = data_mounts(&mountinfo_of(&output));
        assert!(has(&data, "nosymfollow"), "{data:?}");
        assert!(!has(&sub, "nosymfollow"), "{sub:?}");
    });
}

#[test]
fn a_recursive_attribute_applies_to_a_filesystem_mount_too() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).set(
        "/mounts/-",
        json!({ "destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["rro"] }),
    );
    let output = run_script(
        &runtime,
        &id,
        bundle,
        "echo \"write: $(touch /scratch/x 2>&1)\"",
    );
    output.assert_success();
    assert!(field(&output, "write").contains(EROFS), "{output}");
}

// ---------------------------------------------------------------- tmpfs

/// A bundle whose image has an `/etc` worth copying: a file with its own mode
/// and owner, a symlink, a subdirectory, and the directory's own mode.
fn bundle_with_an_etc(id: &str) -> Bundle {
    let bundle = Bundle::new(id);
    let etc = bundle.rootfs().join("etc");
    std::fs::write(etc.join("hosts"), "127.0.0.1 localhost\n").expect("write hosts");
    std::fs::set_permissions(etc.join("hosts"), std::fs::Permissions::from_mode(0o604))
        .expect("chmod hosts");
    nix::unistd::chown(&etc.join("hosts"), Some(1000.into()), Some(1001.into())).expect("chown");
    std::os::unix::fs::symlink("../usr/share/zoneinfo/UTC", etc.join("localtime"))
        .expect("symlink");
    std::fs::create_dir(etc.join("conf.d")).expect("mkdir conf.d");
    std::fs::write(etc.join("conf.d/a.conf"), "a=1\n").expect("write a.conf");
    std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o751)).expect("chmod etc");
    bundle
}

fn tmpfs_at_etc(options: &[&str]) -> Value {
    json!({ "destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": options })
}

#[test]
fn tmpcopyup_starts_the_tmpfs_with_the_images_files() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = bundle_with_an_etc(&id).set("/mounts/-", tmpfs_at_etc(&["tmpcopyup", "nosuid"]));
    let image_passwd = std::fs::read_to_string(bundle.rootfs().join("etc/passwd")).unwrap();
    let image_etc = bundle.rootfs().join("etc");

    let output = run_script(
        &runtime,
        &id,
        bundle,
        "echo \"fs: $(awk '$5 == \"/etc\" { print $9 }' /proc/self/mountinfo)\"; \
         echo \"passwd: $(tr '\\n' '|' < /etc/passwd)\"; \
         echo \"hosts: $(stat -c '%a %u:%g' /etc/hosts) $(cat /etc/hosts)\"; \
         echo \"link: $(readlink /etc/localtime)\"; \
         echo \"conf: $(cat /etc/conf.d/a.conf)\"; \
         echo \"dir: $(stat -c %a /etc)\"; \
         echo new > /etc/new && echo \"new: $(cat /etc/new)\"",
    );

    output.assert_success();
    assert_eq!(field(&output, "fs"), "tmpfs", "{output}");
    assert_eq!(
        field(&output, "passwd"),
        image_passwd.replace('\n', "|"),
        "{output}"
    );
    assert_eq!(
        field(&output, "hosts"),
        "604 1000:1001 127.0.0.1 localhost",
        "{output}"
    );
    assert_eq!(
        field(&output, "link"),
        "../usr/share/zoneinfo/UTC",
        "{output}"
    );
    assert_eq!(field(&output, "conf"), "a=1", "{output}");
    assert_eq!(field(&output, "dir"), "751", "{output}");
    assert_eq!(field(&output, "new"), "new", "{output}");
    assert!(
        !image_etc.join("new").exists(),
        "the write reached the image"
    );
}

#[test]
fn a_read_only_tmpcopyup_has_the_files_and_refuses_writes() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = bundle_with_an_etc(&id).set("/mounts/-", tmpfs_at_etc(&["tmpcopyup", "ro"]));

    let output = run_script(
        &runtime,
        &id,
        bundle,
        "echo \"conf: $(cat /etc/conf.d/a.conf)\"; echo \"write: $(touch /etc/x 2>&1)\"",
    );

    output.assert_success();
    assert_eq!(field(&output, "conf"), "a=1", "{output}");
    assert!(field(&output, "write").contains(EROFS), "{output}");
}

#[test]
fn a_tmpfs_keeps_the_mode_of_the_directory_it_covers_unless_told_otherwise() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id);
    for (dir, mode) in [("covered", 0o710), ("told", 0o710)] {
        let path = bundle.rootfs().join(dir);
        std::fs::create_dir(&path).expect("mkdir");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let tmpfs = |dest: &str, options: &[&str]| json!({ "destination": dest, "type": "tmpfs", "source": "tmpfs", "options": options });
    let bundle = bundle
        .set("/mounts/-", tmpfs("/covered", &["nosuid"]))
        .set("/mounts/-", tmpfs("/told", &["mode=1777"]))
        .set("/mounts/-", tmpfs("/fresh", &[]));

    let output = run_script(
        &runtime,
        &id,
        bundle,
        "for d in covered told fresh; do echo \"$d: $(stat -c %a /$d)\"; done",
    );

    output.assert_success();
    assert_eq!(field(&output, "covered"), "710", "{output}");
    assert_eq!(field(&output, "told"), "1777", "{output}");
    // A destination the image lacks is made: the tmpfs's own default.
    assert_eq!(field(&output, "fresh"), "1777", "{output}");
}

// ---------------------------------------------------------------- refused

#[track_caller]
fn assert_refused(mount: Value, mentions: &[&[&str]]) {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = Bundle::new(&id).set("/mounts/-", mount).write();
    let index = bundle.config()["mounts"].as_array().expect("mounts").len() - 1;
    let field = format!("mounts[{index}]");

    let output = runtime.create(&id, &bundle, &[]);

    let named = [field.as_str()];
    let mut all: Vec<&[&str]> = vec![&named];
    all.extend_from_slice(mentions);
    assert_failed_cleanly(&runtime, &output, &id, &all);
}

#[test]
fn a_bind_mount_with_an_option_the_kernel_would_ignore_is_refused() {
    let host = host_dir();
    assert_refused(
        bind(host.path(), "/data", &["rbind", "nosiud"]),
        &[&["\"nosiud\""]],
    );
    assert_refused(
        bind(host.path(), "/data", &["rbind", "size=1m"]),
        &[&["\"size=1m\""]],
    );
}

#[test]
fn tmpcopyup_on_anything_but_a_tmpfs_is_refused() {
    let host = host_dir();
    assert_refused(
        bind(host.path(), "/data", &["rbind", "tmpcopyup"]),
        &[&["tmpcopyup"]],
    );
}

#[test]
fn a_host_file_bound_read_only_recursively_stays_unchanged() {
    // rro on a single file: the bind of a file has no submounts, and is read-only.
    let host = host_dir();
    let file = host.path().join("f");
    std::fs::write(&file, "host\n").unwrap();
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).set("/mounts/-", bind(&file, "/f", &["bind", "rro"]));
    let output = run_script(&runtime, &id, bundle, "echo \"write: $(echo x 2>&1 > /f)\"");
    output.assert_success();
    assert!(field(&output, "write").contains(EROFS), "{output}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "host\n");
}
