//! `mounts` in config.json: tmpfs options, bind mounts (read-write,
//! read-only, recursive, of a file, from a relative source, with a
//! propagation), destinations that try to leave the rootfs, mounts that
//! cannot be made, and the cgroup mount. Every check is what a process
//! inside, or the host, sees.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use integration_tests::mountinfo::{
    host_mounts_under, in_private_mount_ns, make_shared_mount, mount_at, mount_tmpfs,
    parse_mountinfo, MountLine,
};
use integration_tests::script::{field, run_script, EROFS};
use integration_tests::{
    is_alive, leftover_cgroups, test_cgroups_path, unique_id, wait_exit, Bundle, Output, Runtime,
    CGROUP_TEST_PARENT,
};
use serde_json::{json, Value};
use tempfile::TempDir;

/// A directory on the host that the test owns and removes.
fn host_dir(prefix: &str) -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .unwrap_or_else(|e| panic!("create a host dir: {e}"));
    // Readable by a container user too.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap_or_else(|e| panic!("chmod {}: {e}", dir.path().display()));
    dir
}

fn bind(source: &Path, destination: &str, options: &[&str]) -> Value {
    json!({
        "destination": destination,
        "type": "bind",
        "source": source,
        "options": options,
    })
}

// ---------------------------------------------------------------- tmpfs

#[test]
fn a_tmpfs_mount_has_the_configured_options() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let (flags, data) = (["nosuid", "noexec", "nodev"], ["size=2048k", "mode=1770"]);
    let options: Vec<&str> = flags.iter().chain(&data).copied().collect();
    let bundle = Bundle::new(&id).set(
        "/mounts/-",
        json!({ "destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": options }),
    );

    let output = run_script(
        &runtime,
        &id,
        bundle,
        "cat /proc/self/mountinfo; echo \"mode: $(stat -c %a /scratch)\"",
    );

    output.assert_success();
    let mounts = parse_mountinfo(&output.stdout);
    let scratch = mount_at(&mounts, "/scratch", &output.stdout);
    assert_eq!(scratch.fstype, "tmpfs", "{scratch:?}");
    for flag in flags {
        assert!(scratch.options.iter().any(|o| o == flag), "{scratch:?}");
    }
    for option in data {
        assert!(
            scratch.super_options.iter().any(|o| o == option),
            "{scratch:?}"
        );
    }
    assert_eq!(field(&output, "mode"), "1770", "{output}");
}

#[test]
fn noexec_on_a_tmpfs_stops_a_copied_binary_from_running() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let tmpfs = |destination: &str, options: &[&str]| json!({ "destination": destination, "type": "tmpfs", "source": "tmpfs", "options": options });
    let bundle = Bundle::new(&id)
        .set("/mounts/-", tmpfs("/exec", &["nosuid", "nodev"]))
        .set(
            "/mounts/-",
            tmpfs("/noexec", &["nosuid", "nodev", "noexec"]),
        );
    let try_exec =
        |dir: &str| format!("cp /bin/busybox {dir}/ && {dir}/busybox true; echo \"{dir}: $?\"; ");

    let output = run_script(
        &runtime,
        &id,
        bundle,
        &(try_exec("/exec") + &try_exec("/noexec")),
    );

    output.assert_success();
    assert_eq!(field(&output, "/exec"), "0", "{output}");
    // The shell's status for a command found but not executable.
    assert_eq!(field(&output, "/noexec"), "126", "{output}");
    assert!(output.stderr.contains("Permission denied"), "{output}");
}

// ---------------------------------------------------------------- bind mounts

#[test]
fn a_bind_mount_shares_a_host_directory_both_ways() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let host = host_dir("truman-bind-");
    std::fs::write(host.path().join("from-host"), &id).expect("write from-host");
    let bundle = Bundle::new(&id).set("/mounts/-", bind(host.path(), "/data", &["rbind"]));

    let output = run_script(
        &runtime,
        &id,
        bundle,
        &format!("echo \"read: $(cat /data/from-host)\"; echo {id} > /data/from-container"),
    );

    output.assert_success();
    assert_eq!(field(&output, "read"), id, "{output}");
    let written = std::fs::read_to_string(host.path().join("from-container"))
        .unwrap_or_else(|e| panic!("the container's file is not on the host ({e}): {output}"));
    assert_eq!(written, format!("{id}\n"));
}

#[test]
fn a_read_only_bind_mount_refuses_writes() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let host = host_dir("truman-bind-ro-");
    std::fs::write(host.path().join("from-host"), &id).expect("write from-host");
    let bundle = Bundle::new(&id).set("/mounts/-", bind(host.path(), "/data", &["rbind", "ro"]));

    let output = run_script(
        &runtime,
        &id,
        bundle,
        "echo \"read: $(cat /data/from-host)\"; touch /data/from-container",
    );

    output.assert_failure();
    assert_eq!(field(&output, "read"), id, "{output}");
    assert!(output.stderr.contains(EROFS), "{output}");
    assert!(
        !host.path().join("from-container").exists(),
        "the write reached the host"
    );
}

/// Runs a container that bind-mounts a host directory with a tmpfs mounted
/// on its `sub/`, with bind `options`, and returns what it saw at
/// `/data/sub`: the mount there (if any) and the file listing.
fn bind_over_a_submount(options: &[&str]) -> (Option<MountLine>, String, String) {
    let runtime = Runtime::under_test();
    let id = unique_id();
    // Outlives the namespace, so that it is removed once its mounts are gone.
    let host = host_dir("truman-rbind-");
    in_private_mount_ns(|| {
        let sub = host.path().join("sub");
        std::fs::create_dir(&sub).expect("mkdir sub");
        std::fs::write(sub.join("under-the-submount"), "").expect("write under-the-submount");
        let submount = format!("submount-{id}");
        mount_tmpfs(&submount, &sub);
        std::fs::write(sub.join("in-the-submount"), "").expect("write in-the-submount");
        let bundle = Bundle::new(&id).set("/mounts/-", bind(host.path(), "/data", options));

        let output = run_script(
            &runtime,
            &id,
            bundle,
            "cat /proc/self/mountinfo; echo \"ls: $(ls /data/sub)\"",
        );

        output.assert_success();
        let mut mounts = parse_mountinfo(&output.stdout);
        let at_sub = mounts
            .iter()
            .rposition(|m| m.mount_point == "/data/sub")
            .map(|index| mounts.swap_remove(index));
        (at_sub, field(&output, "ls").to_string(), submount)
    })
}

#[test]
fn rbind_brings_submounts_along() {
    let (at_sub, listing, submount) = bind_over_a_submount(&["rbind"]);

    let at_sub = at_sub.unwrap_or_else(|| panic!("no mount at /data/sub; ls: {listing}"));
    assert_eq!(at_sub.source, submount, "{at_sub:?}");
    assert_eq!(listing, "in-the-submount");
}

#[test]
fn a_plain_bind_leaves_submounts_behind() {
    let (at_sub, listing, _) = bind_over_a_submount(&["bind"]);

    assert!(at_sub.is_none(), "{at_sub:?}");
    assert_eq!(listing, "under-the-submount");
}

#[test]
fn a_single_file_can_be_bind_mounted() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let host = host_dir("truman-bind-file-");
    let file = host.path().join("config-file");
    std::fs::write(&file, &id).expect("write config-file");
    // A destination the rootfs does not have: the runtime creates it.
    let bundle = Bundle::new(&id).set("/mounts/-", bind(&file, "/etc/from-host", &["bind"]));

    let output = run_script(
        &runtime,
        &id,
        bundle,
        "test -f /etc/from-host && echo \"read: $(cat /etc/from-host)\"",
    );

    output.assert_success();
    assert_eq!(field(&output, "read"), id, "{output}");
}

#[test]
fn a_relative_bind_source_is_relative_to_the_bundle() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).set(
        "/mounts/-",
        json!({ "destination": "/data", "type": "bind", "source": "bundle-data", "options": ["rbind"] }),
    );
    let data = bundle.rootfs().with_file_name("bundle-data");
    std::fs::create_dir(&data).expect("mkdir bundle-data");
    std::fs::write(data.join("from-bundle"), &id).expect("write from-bundle");
    let cwd = std::env::current_dir().expect("cwd");
    assert!(
        !cwd.join("bundle-data").exists(),
        "the test's cwd has a bundle-data"
    );

    let output = run_script(
        &runtime,
        &id,
        bundle,
        "echo \"read: $(cat /data/from-bundle)\"",
    );

    output.assert_success();
    assert_eq!(field(&output, "read"), id, "{output}");
}

// ---------------------------------------------------------------- bind propagation

/// What a container saw of a host directory bind-mounted at `/data` with
/// `propagation`, the host directory being a shared mount of the caller's
/// namespace.
struct BindPropagation {
    data: MountLine,
    caller_group: String,
    /// Whether a mount the caller made in the directory after `create`
    /// showed up inside.
    sees_callers_later_mount: bool,
}

fn bind_propagation(propagation: &str) -> BindPropagation {
    let runtime = Runtime::under_test();
    let id = unique_id();
    // Outlives the namespace, so that it is removed once its mounts are gone.
    let host = host_dir("truman-bind-propagation-");
    in_private_mount_ns(|| {
        let later = host.path().join("later");
        std::fs::create_dir(&later).expect("mkdir later");
        let caller_group = make_shared_mount(host.path());
        let later_source = format!("later-{id}");
        let bundle = Bundle::new(&id)
            .set(
                "/mounts/-",
                bind(host.path(), "/data", &["rbind", propagation]),
            )
            .args(&["cat", "/proc/self/mountinfo"])
            .write();

        let (created, mut stdout) = runtime.create_piped(&id, &bundle, &[]);
        created.assert_success();
        let pid = runtime.init_pid(&id);
        // The container's mounts are in place once create returns: this
        // one can only reach it through propagation.
        mount_tmpfs(&later_source, &later);
        runtime.start(&id).assert_success();
        let mountinfo = stdout.read_to_end();
        assert_eq!(wait_exit(pid), 0, "{mountinfo}");

        let mut inside = parse_mountinfo(&mountinfo);
        let sees_callers_later_mount = inside.iter().any(|m| m.source == later_source);
        let data = inside
            .iter()
            .rposition(|m| m.mount_point == "/data")
            .map(|index| inside.swap_remove(index))
            .unwrap_or_else(|| panic!("nothing at /data:\n{mountinfo}"));
        BindPropagation {
            data,
            caller_group,
            sees_callers_later_mount,
        }
    })
}

#[test]
fn a_bind_mount_with_rprivate_receives_nothing() {
    let seen = bind_propagation("rprivate");

    assert_eq!(seen.data.tags, Vec::<String>::new(), "{:?}", seen.data);
    assert!(!seen.sees_callers_later_mount);
}

#[test]
fn a_bind_mount_with_rslave_receives_the_callers_mounts() {
    let seen = bind_propagation("rslave");

    assert_eq!(
        seen.data.tag("master"),
        Some(seen.caller_group.as_str()),
        "{:?}",
        seen.data
    );
    assert_eq!(seen.data.tag("shared"), None, "{:?}", seen.data);
    assert!(seen.sees_callers_later_mount);
}

#[test]
fn a_bind_mount_with_rshared_is_a_peer_group_that_receives_the_callers_mounts() {
    let seen = bind_propagation("rshared");

    assert!(seen.data.tag("shared").is_some(), "{:?}", seen.data);
    assert_eq!(
        seen.data.tag("master"),
        Some(seen.caller_group.as_str()),
        "{:?}",
        seen.data
    );
    assert!(seen.sees_callers_later_mount);
}

/// Kubernetes' `mountPropagation: Bidirectional`, as containerd writes it: a shared
/// root and an `rshared` volume. The volume stays a peer of the caller's mount, so
/// mounts go both ways: the caller's reach the container, and the container's reach
/// the caller (and stay there after it is gone).
#[test]
fn a_shared_root_keeps_an_rshared_volume_in_the_callers_peer_group() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let host = host_dir("truman-bind-bidirectional-");
    in_private_mount_ns(|| {
        for dir in ["later", "inner"] {
            std::fs::create_dir(host.path().join(dir)).expect("mkdir");
        }
        let caller_group = make_shared_mount(host.path());
        let (later_source, inner_source) = (format!("later-{id}"), format!("inner-{id}"));
        let caps = json!(["CAP_SYS_ADMIN"]);
        let bundle = Bundle::new(&id)
            .set("/linux/rootfsPropagation", json!("rshared"))
            .set("/mounts/-", bind(host.path(), "/data", &["rbind", "rshared"]))
            .set("/process/capabilities/bounding", caps.clone())
            .set("/process/capabilities/effective", caps.clone())
            .set("/process/capabilities/permitted", caps)
            .args(&[
                "sh",
                "-c",
                &format!(
                    "mount -t tmpfs -o size=64k {inner_source} /data/inner && cat /proc/self/mountinfo"
                ),
            ])
            .write();

        let (created, mut stdout) = runtime.create_piped(&id, &bundle, &[]);
        created.assert_success();
        let pid = runtime.init_pid(&id);
        mount_tmpfs(&later_source, &host.path().join("later"));
        runtime.start(&id).assert_success();
        let mountinfo = stdout.read_to_end();
        assert_eq!(wait_exit(pid), 0, "{mountinfo}");

        let inside = parse_mountinfo(&mountinfo);
        let data = mount_at(&inside, "/data", &mountinfo);
        assert_eq!(
            data.tag("shared"),
            Some(caller_group.as_str()),
            "the volume must stay in the caller's peer group; {data:?}"
        );
        assert!(
            inside.iter().any(|m| m.source == later_source),
            "the caller's mount did not reach the container:\n{mountinfo}"
        );
        let inner = host.path().join("inner");
        let callers = integration_tests::mountinfo::own_mounts();
        assert!(
            callers
                .iter()
                .any(|m| m.source == inner_source && Path::new(&m.mount_point) == inner),
            "the container's mount did not reach the caller"
        );
    });
}

// ---------------------------------------------------------------- escapes

/// How a mount destination tries to reach a host directory.
enum Escape {
    /// `/evil/newdir` with `rootfs/evil -> <host dir>`: a bind mount.
    AbsoluteSymlinkOnTheWay,
    /// `/evil` with `rootfs/evil -> ../../../..<host dir>`: a tmpfs.
    RelativeSymlinkAtTheEnd,
    /// `/../../../..<host dir>/newdir`: a bind mount.
    DotDot,
}

/// Mounts through `escape` towards a host directory the test owns, then
/// checks the host directory and the host's mount table are unchanged and
/// that the mount landed at the same path inside the rootfs, as runc's
/// `securejoin` resolves it.
fn assert_mount_stays_in_the_rootfs(escape: Escape) {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let target = host_dir("truman-host-target-");
    std::fs::write(target.path().join("marker"), &id).expect("write marker");
    let source = host_dir("truman-bind-source-");
    std::fs::write(source.path().join("from-source"), &id).expect("write from-source");
    let bundle = Bundle::new(&id);
    let rootfs = bundle.rootfs();
    let target_path = target.path().to_str().expect("UTF-8 path").to_string();
    // Enough `..` to climb from the rootfs to the host's `/`.
    let climb = "../".repeat(rootfs.components().count() + 2);
    let target_relative = target_path.trim_start_matches('/');

    let (mount, destination, landing, check) = match escape {
        Escape::AbsoluteSymlinkOnTheWay => {
            std::os::unix::fs::symlink(&target_path, rootfs.join("evil")).expect("symlink");
            (
                bind(source.path(), "/evil/newdir", &["bind"]),
                "/evil/newdir".to_string(),
                format!("{target_path}/newdir"),
                "cat /evil/newdir/from-source",
            )
        }
        Escape::RelativeSymlinkAtTheEnd => {
            let link = format!("{climb}{target_relative}");
            std::os::unix::fs::symlink(link, rootfs.join("evil")).expect("symlink");
            (
                json!({ "destination": "/evil", "type": "tmpfs", "source": format!("evil-{id}") }),
                "/evil".to_string(),
                target_path.clone(),
                "ls -A /evil",
            )
        }
        Escape::DotDot => {
            let destination = format!("/{climb}{target_relative}/newdir");
            (
                bind(source.path(), &destination, &["bind"]),
                destination,
                format!("{target_path}/newdir"),
                "true",
            )
        }
    };
    let bundle = bundle.set("/mounts/-", mount);
    let host_before = host_mounts_under(&[target.path()]);
    let script = format!("cat /proc/self/mountinfo; echo \"check: $({check})\"");

    let output = run_script(&runtime, &id, bundle, &script);

    // The host first: whatever the runtime did, it must not have touched it.
    let listing: Vec<String> = std::fs::read_dir(target.path())
        .expect("list the host target")
        .map(|entry| {
            entry
                .expect("list")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(listing, ["marker"], "the host directory changed: {output}");
    assert_eq!(
        host_mounts_under(&[target.path()]),
        host_before,
        "a mount landed on the host: {output}"
    );
    // Then the container: the mount is where the path leads inside the rootfs.
    output.assert_success();
    let mounts = parse_mountinfo(&output.stdout);
    let landed = mount_at(&mounts, &landing, &output.stdout);
    match escape {
        Escape::RelativeSymlinkAtTheEnd => {
            assert_eq!(landed.source, format!("evil-{id}"), "{landed:?}");
            assert_eq!(field(&output, "check"), "", "{destination}: {output}");
        }
        Escape::AbsoluteSymlinkOnTheWay => {
            assert!(source.path().ends_with(&landed.root), "{landed:?}");
            assert_eq!(field(&output, "check"), id, "{destination}: {output}");
        }
        Escape::DotDot => {
            assert!(source.path().ends_with(&landed.root), "{landed:?}");
        }
    }
}

#[test]
fn a_destination_through_an_absolute_symlink_stays_in_the_rootfs() {
    assert_mount_stays_in_the_rootfs(Escape::AbsoluteSymlinkOnTheWay);
}

#[test]
fn a_destination_that_is_a_relative_symlink_climbing_out_stays_in_the_rootfs() {
    assert_mount_stays_in_the_rootfs(Escape::RelativeSymlinkAtTheEnd);
}

#[test]
fn a_destination_climbing_out_with_dot_dot_stays_in_the_rootfs() {
    assert_mount_stays_in_the_rootfs(Escape::DotDot);
}

/// runc (1.1 with a warning, 1.2 and runtime-spec 1.2 by design) takes a
/// relative destination as relative to the container's `/`.
#[test]
fn a_relative_destination_is_relative_to_the_root() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let source = format!("relative-{id}");
    let bundle = Bundle::new(&id).set(
        "/mounts/-",
        json!({ "destination": "relative/dir", "type": "tmpfs", "source": source }),
    );

    let output = run_script(&runtime, &id, bundle, "cat /proc/self/mountinfo");

    output.assert_success();
    let mounts = parse_mountinfo(&output.stdout);
    assert_eq!(
        mount_at(&mounts, "/relative/dir", &output.stdout).source,
        source
    );
}

// ---------------------------------------------------------------- failures

/// Creates a container whose `extra_mount` cannot be made; checks create
/// fails with one line on stderr naming `mentions`, and leaves no state, no
/// cgroup, no process and no mount on the host.
#[track_caller]
fn assert_create_fails_cleanly(extra_mount: Value, mentions: &str) {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).set("/mounts/-", extra_mount).write();
    let root = runtime.root();
    let watched = [bundle.path(), root.as_path()];
    let before = host_mounts_under(&watched);

    let output = runtime.create(&id, &bundle, &[]);

    output.assert_failure();
    let stderr = output.stderr.trim_end();
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {output}");
    assert!(
        stderr.contains(mentions),
        "does not name {mentions}: {output}"
    );
    let state: Vec<PathBuf> = std::fs::read_dir(runtime.root())
        .expect("read --root")
        .map(|entry| entry.expect("read --root").path())
        .collect();
    assert_eq!(state, Vec::<PathBuf>::new(), "state left under --root");
    assert_eq!(leftover_cgroups(&id), Vec::<PathBuf>::new(), "cgroups left");
    if let Ok(pid) = std::fs::read_to_string(runtime.pid_file(&id)) {
        let pid: i32 = pid.trim().parse().unwrap_or(0);
        assert!(pid <= 0 || !is_alive(pid), "process {pid} left running");
    }
    assert_eq!(
        host_mounts_under(&watched),
        before,
        "mounts left on the host"
    );
}

#[test]
fn a_bind_mount_of_a_missing_source_fails_naming_it() {
    let parent = host_dir("truman-missing-source-");
    let missing = parent.path().join("no-such-source");

    assert_create_fails_cleanly(
        bind(&missing, "/data", &["rbind"]),
        missing.to_str().expect("UTF-8 path"),
    );
}

#[test]
fn a_mount_the_kernel_refuses_fails_naming_its_destination() {
    assert_create_fails_cleanly(
        json!({ "destination": "/refused", "type": "tmpfs", "source": "tmpfs",
                "options": ["size=not-a-size"] }),
        "/refused",
    );
}

// ---------------------------------------------------------------- cgroups

/// The names of the host's cgroup v1 hierarchies under /sys/fs/cgroup
/// (`cpu`, `memory`, `systemd`...).
fn host_v1_hierarchies() -> BTreeSet<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    let hierarchies: BTreeSet<String> = parse_mountinfo(&text)
        .into_iter()
        .filter(|m| m.fstype == "cgroup")
        .filter_map(|m| {
            let name = m.mount_point.strip_prefix("/sys/fs/cgroup/")?;
            (!name.contains('/')).then(|| name.to_string())
        })
        .collect();
    assert!(
        !hierarchies.is_empty(),
        "the host has no cgroup v1 hierarchy under /sys/fs/cgroup"
    );
    hierarchies
}

/// Checks /sys/fs/cgroup inside shows one read-only cgroup mount per host
/// v1 hierarchy, each showing the container's own cgroup as its root (so
/// the test parent directory is not visible).
#[track_caller]
fn assert_cgroup_mount_shows_each_hierarchy(edit: impl FnOnce(Bundle) -> Bundle) {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = edit(Bundle::new(&id));
    let hierarchies = host_v1_hierarchies();
    let parents: String = hierarchies
        .iter()
        .map(|h| {
            format!("test -e /sys/fs/cgroup/{h}/{CGROUP_TEST_PARENT} && echo 'sees parent: {h}'; ")
        })
        .collect();
    let output = run_script(
        &runtime,
        &id,
        bundle,
        &format!("cat /proc/self/mountinfo; {parents}true"),
    );

    output.assert_success();
    let mounts = parse_mountinfo(&output.stdout);
    for hierarchy in &hierarchies {
        let point = format!("/sys/fs/cgroup/{hierarchy}");
        let mounted = mount_at(&mounts, &point, &output.stdout);
        assert_eq!(mounted.fstype, "cgroup", "{mounted:?}");
        assert!(mounted.options.iter().any(|o| o == "ro"), "{mounted:?}");
    }
    let sees_parent: Vec<&str> = output
        .stdout
        .lines()
        .filter(|line| line.starts_with("sees parent"))
        .collect();
    assert_eq!(
        sees_parent,
        Vec::<&str>::new(),
        "the container sees cgroups outside its own"
    );
}

#[test]
fn the_cgroup_mount_shows_each_v1_hierarchy_with_a_cgroup_namespace() {
    assert_cgroup_mount_shows_each_hierarchy(|bundle| bundle.with_namespace("cgroup"));
}

#[test]
fn the_cgroup_mount_shows_each_v1_hierarchy_without_a_cgroup_namespace() {
    assert_cgroup_mount_shows_each_hierarchy(|bundle| bundle.without_namespace("cgroup"));
}

/// The `(hierarchy, path)` pairs of `/proc/self/cgroup` for v1 hierarchies.
fn v1_cgroups(output: &Output) -> Vec<(String, String)> {
    let pairs: Vec<(String, String)> = output
        .stdout
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (number, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            (number != "0").then(|| (controllers.to_string(), path.to_string()))
        })
        .collect();
    assert!(
        !pairs.is_empty(),
        "no v1 hierarchy in /proc/self/cgroup: {output}"
    );
    pairs
}

#[test]
fn with_a_cgroup_namespace_the_container_is_at_the_root_of_every_hierarchy() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).with_namespace("cgroup");

    let output = run_script(&runtime, &id, bundle, "cat /proc/self/cgroup");

    output.assert_success();
    for (hierarchy, path) in v1_cgroups(&output) {
        assert_eq!(path, "/", "{hierarchy}: {output}");
    }
}

#[test]
fn without_a_cgroup_namespace_the_container_sees_its_cgroups_path() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).without_namespace("cgroup");

    let output = run_script(&runtime, &id, bundle, "cat /proc/self/cgroup");

    output.assert_success();
    for (hierarchy, path) in v1_cgroups(&output) {
        assert_eq!(path, test_cgroups_path(&id), "{hierarchy}: {output}");
    }
}
