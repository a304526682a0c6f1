//! The container's root filesystem: read-only or not, masked and read-only
//! paths, the device nodes and symlinks in /dev, `rootfsPropagation`, and
//! `--no-pivot`. Every check is what a process inside sees.

use std::os::unix::fs::MetadataExt;

use integration_tests::mountinfo::{
    in_private_mount_ns, make_shared_mount, own_mounts, parse_mountinfo, MountLine,
};
use integration_tests::script::{field, run_script, EROFS};
use integration_tests::{unique_id, wait_exit, Bundle, Output, Runtime};
use nix::mount::{mount, MsFlags};
use serde_json::json;

// ---------------------------------------------------------------- root.readonly

#[test]
fn a_readonly_root_refuses_writes() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).set("/root/readonly", json!(true));
    let rootfs = bundle.rootfs();

    let output = run_script(&runtime, &id, bundle, "touch /written-by-container");

    output.assert_failure();
    assert!(output.stderr.contains(EROFS), "{output}");
    assert!(
        !rootfs.join("written-by-container").exists(),
        "the write reached the bundle's rootfs"
    );
}

#[test]
fn a_writable_root_keeps_writes_in_the_bundle_rootfs() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).set("/root/readonly", json!(false));
    let rootfs = bundle.rootfs();

    let output = run_script(
        &runtime,
        &id,
        bundle,
        &format!("echo {id} > /written-by-container"),
    );

    output.assert_success();
    let written = std::fs::read_to_string(rootfs.join("written-by-container"))
        .unwrap_or_else(|e| panic!("the file is not in the bundle's rootfs ({e}): {output}"));
    assert_eq!(written, format!("{id}\n"));
}

// ---------------------------------------------------------------- maskedPaths, readonlyPaths

#[test]
fn masked_files_read_empty() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id);
    // The default masked files this kernel has, and that have something to
    // hide: reading them on the host gives content.
    let masked: Vec<String> = bundle.config()["linux"]["maskedPaths"]
        .as_array()
        .expect("default maskedPaths")
        .iter()
        .filter_map(|path| path.as_str())
        .filter(|path| std::fs::read(path).is_ok_and(|content| !content.is_empty()))
        .map(String::from)
        .collect();
    assert!(
        !masked.is_empty(),
        "no default masked file has content on this host"
    );
    let script: String = masked
        .iter()
        .map(|path| format!("echo \"{path}: $(wc -c < {path})\"; "))
        .collect();

    let output = run_script(&runtime, &id, bundle, &script);

    output.assert_success();
    for path in &masked {
        assert_eq!(field(&output, path), "0", "{path} is not masked: {output}");
    }
}

#[test]
fn a_masked_directory_is_empty() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let masked = "/sys/firmware";
    let on_host = std::fs::read_dir(masked).map_or(0, |entries| entries.count());
    assert!(
        on_host > 0,
        "{masked} is empty on the host: nothing to mask"
    );
    let bundle = Bundle::new(&id).set("/linux/maskedPaths", json!([masked]));

    let output = run_script(&runtime, &id, bundle, &format!("ls -A {masked}"));

    output.assert_success();
    assert_eq!(output.stdout, "", "{masked} is not masked: {output}");
}

#[test]
fn writing_under_a_readonly_path_fails_with_erofs() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).set("/linux/readonlyPaths", json!(["/proc/sys"]));

    let output = run_script(
        &runtime,
        &id,
        bundle,
        "echo read-only-test > /proc/sys/kernel/hostname",
    );

    output.assert_failure();
    assert!(output.stderr.contains(EROFS), "{output}");
}

#[test]
fn masked_and_readonly_paths_that_do_not_exist_are_ignored() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let missing = [
        "/no-such-dir/masked",
        "/proc/no-such-masked",
        "/no-such-readonly",
        "/proc/no-such-readonly",
    ];
    let bundle = Bundle::new(&id)
        .set("/root/readonly", json!(false))
        .set("/linux/maskedPaths", json!([missing[0], missing[1]]))
        .set("/linux/readonlyPaths", json!([missing[2], missing[3]]));
    let rootfs = bundle.rootfs();
    let script: String = missing
        .iter()
        .map(|path| format!("test -e {path} && echo 'created: {path}'; "))
        .collect();

    let output = run_script(&runtime, &id, bundle, &format!("{script}true"));

    output.assert_success();
    assert_eq!(output.stdout, "", "{output}");
    for path in ["no-such-dir", "no-such-readonly"] {
        assert!(
            !rootfs.join(path).exists(),
            "the runtime created {path} in the rootfs"
        );
    }
}

// ---------------------------------------------------------------- /dev

/// `stat` of a device node: type, `major:minor` in hex, mode, owner.
fn stat_device(path: &str) -> String {
    format!("echo \"{path}: $(stat -c '%F %t:%T %a %u:%g' {path})\"; ")
}

#[test]
fn the_default_devices_are_world_writable_char_devices() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    // The kernel's fixed numbers (Documentation/admin-guide/devices.txt).
    let devices = [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ];
    let script: String = devices.iter().map(|(path, ..)| stat_device(path)).collect();

    let output = run_script(&runtime, &id, Bundle::new(&id), &script);

    output.assert_success();
    for (path, major, minor) in devices {
        assert_eq!(
            field(&output, path),
            format!("character special file {major:x}:{minor:x} 666 0:0"),
            "{output}"
        );
    }
}

#[test]
fn configured_devices_appear_with_their_mode_and_owner() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let devices = json!([
        { "path": "/dev/custom-null", "type": "c", "major": 1, "minor": 3,
          "fileMode": 0o600, "uid": 1000, "gid": 1000 },
        { "path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
          "fileMode": 0o666, "uid": 0, "gid": 0 },
        // A node in a directory /dev does not have yet.
        { "path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200,
          "fileMode": 0o640, "uid": 0, "gid": 5 }
    ]);
    let bundle = Bundle::new(&id).set("/linux/devices", devices.clone());
    let script: String = devices
        .as_array()
        .unwrap()
        .iter()
        .map(|device| stat_device(device["path"].as_str().unwrap()))
        .collect();

    let output = run_script(&runtime, &id, bundle, &script);

    output.assert_success();
    for device in devices.as_array().unwrap() {
        let number = |name: &str| device[name].as_u64().unwrap();
        let expected = format!(
            "character special file {:x}:{:x} {:o} {}:{}",
            number("major"),
            number("minor"),
            number("fileMode"),
            number("uid"),
            number("gid")
        );
        let path = device["path"].as_str().unwrap();
        assert_eq!(field(&output, path), expected, "{output}");
    }
}

#[test]
fn dev_has_the_standard_symlinks() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let links = [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
        ("/dev/ptmx", "pts/ptmx"),
    ];
    let script: String = links
        .iter()
        .map(|(link, _)| format!("echo \"{link}: $(readlink {link})\"; "))
        .collect();

    let output = run_script(&runtime, &id, Bundle::new(&id), &script);

    output.assert_success();
    for (link, target) in links {
        assert_eq!(field(&output, link), target, "{output}");
    }
}

// ---------------------------------------------------------------- rootfsPropagation

/// What a container run with `rootfsPropagation` set to `propagation` saw,
/// when its rootfs is a shared mount in the caller's namespace, as an
/// overlay mounted by containerd under a shared /run is.
struct PropagationSeen {
    /// The `/` line inside the container.
    root: MountLine,
    /// The rootfs mount's peer group in the caller's namespace.
    caller_group: String,
    /// Whether a mount the caller made under the rootfs after `create`
    /// showed up inside.
    sees_callers_later_mount: bool,
}

/// Runs a container whose rootfs is a shared mount of the caller's mount
/// namespace. Fails if any of the container's mounts propagated back into
/// the caller's namespace.
fn propagation_seen(propagation: Option<&str>) -> PropagationSeen {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let mut bundle = Bundle::new(&id).args(&["cat", "/proc/self/mountinfo"]);
    if let Some(propagation) = propagation {
        bundle = bundle.set("/linux/rootfsPropagation", json!(propagation));
    }
    // Outlives the namespace, so that it is removed once its mounts are gone.
    let bundle = bundle.write();
    in_private_mount_ns(|| {
        let rootfs = bundle.rootfs();
        let later = rootfs.join("mnt");
        std::fs::create_dir(&later).expect("mkdir rootfs/mnt");
        let caller_group = make_shared_mount(&rootfs);
        let later_source = format!("later-{id}");

        let (created, mut stdout) = runtime.create_piped(&id, &bundle, &[]);
        // Whatever happened, none of the container's mounts may show up
        // under the rootfs in the caller's namespace.
        let rootfs_prefix = format!("{}/", rootfs.display());
        let leaked: Vec<String> = own_mounts()
            .into_iter()
            .filter(|m| m.mount_point.starts_with(&rootfs_prefix))
            .map(|m| m.mount_point)
            .collect();
        assert_eq!(
            leaked,
            Vec::<String>::new(),
            "the container's mounts propagated into the caller's namespace; {created}"
        );
        created.assert_success();
        let pid = runtime.init_pid(&id);
        // The container's mount namespace is complete once create returns:
        // this mount can only reach it through propagation.
        mount(
            Some(later_source.as_str()),
            &later,
            Some("tmpfs"),
            MsFlags::empty(),
            Some("size=64k"),
        )
        .unwrap_or_else(|e| panic!("mount tmpfs on {}: {e}", later.display()));
        runtime.start(&id).assert_success();
        let mountinfo = stdout.read_to_end();
        assert_eq!(wait_exit(pid), 0, "{mountinfo}");

        let mut inside = parse_mountinfo(&mountinfo);
        let sees_callers_later_mount = inside.iter().any(|m| m.source == later_source);
        let root = inside
            .iter()
            .rposition(|m| m.mount_point == "/")
            .map(|index| inside.swap_remove(index))
            .unwrap_or_else(|| panic!("no / in the container's mountinfo:\n{mountinfo}"));
        PropagationSeen {
            root,
            caller_group,
            sees_callers_later_mount,
        }
    })
}

#[track_caller]
fn assert_slave_of_the_caller(propagation: Option<&str>) {
    let seen = propagation_seen(propagation);

    assert_eq!(
        seen.root.tag("master"),
        Some(seen.caller_group.as_str()),
        "/ must be a slave of the rootfs mount's peer group; tags {:?}",
        seen.root.tags
    );
    assert_eq!(seen.root.tag("shared"), None, "tags {:?}", seen.root.tags);
    assert!(
        seen.sees_callers_later_mount,
        "a slave must receive the caller's mounts"
    );
}

#[track_caller]
fn assert_private(propagation: &str) {
    let seen = propagation_seen(Some(propagation));

    assert_eq!(seen.root.tags, Vec::<String>::new(), "/ must be private");
    assert!(
        !seen.sees_callers_later_mount,
        "a private / must not receive the caller's mounts"
    );
}

#[track_caller]
fn assert_shared(propagation: &str) {
    let seen = propagation_seen(Some(propagation));

    let group = seen.root.tag("shared");
    assert!(
        group.is_some(),
        "/ must be shared; tags {:?}",
        seen.root.tags
    );
    assert_ne!(
        group,
        Some(seen.caller_group.as_str()),
        "/ must not be a peer of the caller's mount: the container's mounts would reach it"
    );
}

#[test]
fn rootfs_propagation_defaults_to_rslave() {
    assert_slave_of_the_caller(None);
}

#[test]
fn rootfs_propagation_rslave_receives_the_callers_mounts() {
    assert_slave_of_the_caller(Some("rslave"));
}

#[test]
fn rootfs_propagation_rprivate_isolates_the_root() {
    assert_private("rprivate");
}

#[test]
fn rootfs_propagation_private_isolates_the_root() {
    assert_private("private");
}

/// runc makes only the namespace's `/` a slave, then privatises the rootfs
/// mount to be able to pivot: the container's root ends up private. The
/// contract is weaker: it starts, and its mounts do not reach the caller.
#[test]
fn rootfs_propagation_slave_keeps_the_containers_mounts_from_the_caller() {
    let seen = propagation_seen(Some("slave"));

    assert_eq!(seen.root.tag("shared"), None, "tags {:?}", seen.root.tags);
}

/// runc 1.1 ignores `shared` (opencontainers/runc#1755, fixed by #4724): it
/// fails this test.
#[test]
fn rootfs_propagation_rshared_makes_the_root_a_new_peer_group() {
    assert_shared("rshared");
}

/// As for `rshared`, a runc without opencontainers/runc#4724 fails this test.
#[test]
fn rootfs_propagation_shared_makes_the_root_a_new_peer_group() {
    assert_shared("shared");
}

#[track_caller]
fn assert_unbindable(propagation: &str) {
    let seen = propagation_seen(Some(propagation));

    assert!(
        seen.root.tags.iter().any(|t| t == "unbindable"),
        "/ must be unbindable; tags {:?}",
        seen.root.tags
    );
    assert!(
        !seen.sees_callers_later_mount,
        "an unbindable / is private too"
    );
}

#[test]
fn rootfs_propagation_runbindable_makes_the_root_unbindable() {
    assert_unbindable("runbindable");
}

#[test]
fn rootfs_propagation_unbindable_makes_the_root_unbindable() {
    assert_unbindable("unbindable");
}

// ---------------------------------------------------------------- --no-pivot

/// A script that prints what `/` is: its device and inode, those of `/..`,
/// and a file the test put in the bundle's rootfs.
const WHAT_IS_ROOT: &str = "echo \"root: $(stat -c '%d:%i' /)\"; \
                            echo \"parent: $(stat -c '%d:%i' /..)\"; \
                            echo \"marker: $(cat /marker)\"";

/// Asserts the output of [`WHAT_IS_ROOT`] describes `bundle`'s rootfs.
#[track_caller]
fn assert_root_is_the_rootfs(output: &Output, bundle: &Bundle, marker: &str) {
    output.assert_success();
    let rootfs = std::fs::metadata(bundle.rootfs()).expect("stat rootfs");
    let rootfs = format!("{}:{}", rootfs.dev(), rootfs.ino());
    assert_eq!(field(output, "root"), rootfs, "/ is not the rootfs");
    assert_eq!(field(output, "parent"), rootfs, "/.. leaves the rootfs");
    assert_eq!(field(output, "marker"), marker, "{output}");
}

fn no_pivot_bundle(id: &str) -> Bundle {
    let bundle = Bundle::new(id).args(&["sh", "-c", WHAT_IS_ROOT]).write();
    std::fs::write(bundle.rootfs().join("marker"), id).expect("write marker");
    bundle
}

#[test]
fn create_with_no_pivot_sees_the_rootfs_as_root() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = no_pivot_bundle(&id);

    let (created, mut stdout) = runtime.create_piped(&id, &bundle, &["--no-pivot"]);
    created.assert_success();
    let pid = runtime.init_pid(&id);
    runtime.start(&id).assert_success();
    let output = Output {
        stdout: stdout.read_to_end(),
        status: wait_exit(pid),
        ..created
    };

    assert_root_is_the_rootfs(&output, &bundle, &id);
}

/// Force-deletes a container the harness does not know about (one started
/// with [`Runtime::cmd`]) when dropped.
struct DeleteOnDrop<'a>(&'a Runtime, &'a str);

impl Drop for DeleteOnDrop<'_> {
    fn drop(&mut self) {
        let output = self.0.delete(self.1, true);
        if !output.success() {
            eprintln!("cleanup: {output}");
        }
    }
}

#[test]
fn run_with_no_pivot_sees_the_rootfs_as_root() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = no_pivot_bundle(&id);
    let _cleanup = DeleteOnDrop(&runtime, &id);
    let bundle_path = bundle.path().to_str().expect("UTF-8 bundle path");

    let output = runtime.cmd(&["run", "--no-pivot", "--bundle", bundle_path, &id]);

    assert_root_is_the_rootfs(&output, &bundle, &id);
}
