//! Id-mapped bind mounts (`idmap`, `ridmap`, a mount's `uidMappings` and
//! `gidMappings`), as a Kubernetes pod with `hostUsers: false` gets its volumes:
//! owners seen from inside the container, and what a write through the mount
//! leaves on the host.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use integration_tests::mountinfo::{in_private_mount_ns, mount_tmpfs};
use integration_tests::script::{field, run_script};
use integration_tests::{assert_failed_cleanly, unique_id, Bundle, Output, Runtime};
use serde_json::{json, Value};
use tempfile::TempDir;

/// The container's user namespace: its root is host uid/gid 100000.
fn container_mapping() -> Value {
    json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }])
}

/// A host directory with a file owned by root and one owned by 1000:1000.
fn host_volume() -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix("truman-idmap-")
        .tempdir()
        .expect("create a host dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for (name, owner) in [("by-root", 0), ("by-1000", 1000)] {
        let file = dir.path().join(name);
        std::fs::write(&file, name).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        nix::unistd::chown(&file, Some(owner.into()), Some(owner.into())).unwrap();
    }
    dir
}

fn bind(source: &Path, options: &[&str]) -> Value {
    json!({ "destination": "/data", "type": "bind", "source": source, "options": options })
}

/// A bundle whose root is mapped to host uid 100000; `/data` exists in its image,
/// since that root may not create it in the host-owned rootfs.
fn in_a_user_namespace(id: &str) -> Bundle {
    let bundle = Bundle::new(id);
    std::fs::create_dir(bundle.rootfs().join("data")).expect("mkdir rootfs/data");
    bundle
        .with_namespace("user")
        .set("/linux/uidMappings", container_mapping())
        .set("/linux/gidMappings", container_mapping())
}

const OWNERS: &str = "echo \"root-file: $(stat -c %u:%g /data/by-root)\"; \
                      echo \"user-file: $(stat -c %u:%g /data/by-1000)\"";

fn run(id: &str, bundle: Bundle, script: &str) -> Output {
    let runtime = Runtime::under_test();
    let output = run_script(&runtime, id, bundle, script);
    output.assert_success();
    output
}

#[test]
fn without_idmap_the_volume_shows_as_owned_by_nobody_in_a_user_namespace() {
    let volume = host_volume();
    let id = unique_id();
    let bundle = in_a_user_namespace(&id).set("/mounts/-", bind(volume.path(), &["rbind"]));

    let output = run(&id, bundle, OWNERS);

    assert_eq!(field(&output, "root-file"), "65534:65534", "{output}");
    assert_eq!(field(&output, "user-file"), "65534:65534", "{output}");
}

#[test]
fn idmap_shows_the_volumes_owners_through_the_containers_mapping() {
    let volume = host_volume();
    let id = unique_id();
    let bundle =
        in_a_user_namespace(&id).set("/mounts/-", bind(volume.path(), &["rbind", "idmap"]));

    let output = run(
        &id,
        bundle,
        &format!("{OWNERS}; echo made > /data/made && echo \"made: $(stat -c %u:%g /data/made)\""),
    );

    assert_eq!(field(&output, "root-file"), "0:0", "{output}");
    assert_eq!(field(&output, "user-file"), "1000:1000", "{output}");
    assert_eq!(field(&output, "made"), "0:0", "{output}");
    // The container's root wrote as the host's root, through the mapping.
    let made = std::fs::metadata(volume.path().join("made")).expect("the file on the host");
    assert_eq!((made.uid(), made.gid()), (0, 0));
}

#[test]
fn mappings_on_the_mount_alone_make_it_id_mapped() {
    let volume = host_volume();
    let id = unique_id();
    let mut mount = bind(volume.path(), &["rbind"]);
    mount["uidMappings"] = container_mapping();
    mount["gidMappings"] = container_mapping();
    let bundle = in_a_user_namespace(&id).set("/mounts/-", mount);

    let output = run(&id, bundle, OWNERS);

    assert_eq!(field(&output, "root-file"), "0:0", "{output}");
}

#[test]
fn a_mounts_own_mappings_win_over_the_containers() {
    let volume = host_volume();
    let id = unique_id();
    // Files owned by root on disk become host id 101000: uid 1000 in the container.
    let shifted = json!([{ "containerID": 0, "hostID": 101000, "size": 1 }]);
    let mut mount = bind(volume.path(), &["rbind", "idmap"]);
    mount["uidMappings"] = shifted.clone();
    mount["gidMappings"] = shifted;
    let bundle = in_a_user_namespace(&id).set("/mounts/-", mount);

    let output = run(&id, bundle, OWNERS);

    assert_eq!(field(&output, "root-file"), "1000:1000", "{output}");
    // Not in the mount's mapping: nobody.
    assert_eq!(field(&output, "user-file"), "65534:65534", "{output}");
}

#[test]
fn a_container_without_a_user_namespace_can_have_an_id_mapped_volume() {
    let volume = host_volume();
    let id = unique_id();
    let to_2000 = json!([{ "containerID": 0, "hostID": 2000, "size": 1 }]);
    let mut mount = bind(volume.path(), &["rbind", "idmap"]);
    mount["uidMappings"] = to_2000.clone();
    mount["gidMappings"] = to_2000;
    let bundle = Bundle::new(&id).set("/mounts/-", mount);

    let output = run(&id, bundle, OWNERS);

    assert_eq!(field(&output, "root-file"), "2000:2000", "{output}");
}

#[test]
fn a_container_joining_a_pods_user_namespace_maps_its_volume_through_it() {
    let runtime = Runtime::under_test();
    let volume = host_volume();
    // The pod's sandbox: a container holding the user namespace.
    let sandbox = unique_id();
    let sandbox_bundle = in_a_user_namespace(&sandbox)
        .args(&["sleep", "1000"])
        .write();
    let sandbox_pid = runtime.create_started(&sandbox, &sandbox_bundle);
    let id = unique_id();
    let bundle = in_a_user_namespace(&id)
        .without_namespace("user")
        .without_namespace("pid")
        .set(
            "/linux/namespaces/-",
            json!({ "type": "user", "path": format!("/proc/{sandbox_pid}/ns/user") }),
        )
        .set(
            "/linux/namespaces/-",
            json!({ "type": "pid", "path": format!("/proc/{sandbox_pid}/ns/pid") }),
        )
        .set("/mounts/-", bind(volume.path(), &["rbind", "idmap"]));

    let output = run(&id, bundle, OWNERS);

    assert_eq!(field(&output, "root-file"), "0:0", "{output}");
    assert_eq!(field(&output, "user-file"), "1000:1000", "{output}");
}

/// The owner of `/data/sub`, a tmpfs owned by root mounted below the volume, as
/// the container sees it when the volume is bound with `options`.
fn submount_owner(options: &[&str]) -> String {
    let volume = host_volume();
    in_private_mount_ns(|| {
        let id = unique_id();
        let sub = volume.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        mount_tmpfs(&format!("sub-{id}"), &sub);
        let bundle = in_a_user_namespace(&id).set("/mounts/-", bind(volume.path(), options));
        let output = run(&id, bundle, "echo \"sub: $(stat -c %u:%g /data/sub)\"");
        field(&output, "sub").to_owned()
    })
}

#[test]
fn ridmap_maps_the_mounts_below_the_volume_too() {
    assert_eq!(submount_owner(&["rbind", "ridmap"]), "0:0");
}

#[test]
fn idmap_maps_the_volumes_own_mount_only() {
    assert_eq!(submount_owner(&["rbind", "idmap"]), "65534:65534");
}

// ---------------------------------------------------------------- refused

#[track_caller]
fn assert_refused(bundle: Bundle, id: &str, mentions: &[&[&str]]) {
    let runtime = Runtime::under_test().with_json_log();
    let bundle = bundle.write();
    let output = runtime.create(id, &bundle, &[]);
    assert_failed_cleanly(&runtime, &output, id, mentions);
}

#[test]
fn idmap_without_mappings_or_a_user_namespace_is_refused_by_name() {
    let volume = host_volume();
    let id = unique_id();
    let bundle = Bundle::new(&id).set("/mounts/-", bind(volume.path(), &["rbind", "idmap"]));
    assert_refused(bundle, &id, &[&["mounts[7].options"], &["\"idmap\""]]);
}

#[test]
fn idmap_on_a_tmpfs_is_refused_by_name() {
    let id = unique_id();
    let bundle = in_a_user_namespace(&id).set(
        "/mounts/-",
        json!({ "destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["ridmap"] }),
    );
    assert_refused(bundle, &id, &[&["mounts[7].options"], &["bind mounts"]]);
}

#[test]
fn uid_mappings_without_gid_mappings_are_refused_by_name() {
    let volume = host_volume();
    let id = unique_id();
    let mut mount = bind(volume.path(), &["rbind", "idmap"]);
    mount["uidMappings"] = container_mapping();
    let bundle = in_a_user_namespace(&id).set("/mounts/-", mount);
    assert_refused(bundle, &id, &[&["mounts[7].gidMappings"]]);
}
