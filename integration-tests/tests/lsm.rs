//! AppArmor and SELinux, on a host that runs neither (as this project's CI host): a
//! config that asks for one is refused with runc's words and leaves nothing behind;
//! a mount label alone is ignored, as runc ignores it. What truman writes where the
//! LSMs run is unit-tested in `libcontainer/src/security/`.

use std::path::Path;

use integration_tests::{assert_failed_cleanly, unique_id, Bundle, Runtime};
use serde_json::json;

fn assert_host_without_lsms() {
    let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|v| v.trim() == "Y");
    assert!(
        !apparmor && !Path::new("/sys/fs/selinux/enforce").exists(),
        "these tests need a host without AppArmor and SELinux"
    );
}

#[track_caller]
fn assert_refused(pointer: &str, value: serde_json::Value, mentions: &str) {
    assert_host_without_lsms();
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["true"]).set(pointer, value).write();

    let output = runtime.create(&id, &bundle, &[]);

    assert_failed_cleanly(&runtime, &output, &id, &[&[mentions]]);
}

#[test]
fn an_apparmor_profile_on_a_host_without_apparmor_is_refused() {
    assert_refused(
        "/process/apparmorProfile",
        json!("docker-default"),
        "apparmor is not enabled",
    );
}

#[test]
fn an_selinux_label_on_a_host_without_selinux_is_refused() {
    assert_refused(
        "/process/selinuxLabel",
        json!("system_u:system_r:container_t:s0"),
        "selinux is disabled or not supported",
    );
}

#[test]
fn a_mount_label_alone_is_ignored_without_selinux() {
    assert_host_without_lsms();
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .args(&["sh", "-c", "grep ' /dev/shm ' /proc/self/mounts"])
        .set(
            "/linux/mountLabel",
            json!("system_u:object_r:container_file_t:s0"),
        )
        .write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    assert!(!output.stdout.contains("context="), "{output}");
}

#[test]
fn exec_with_an_lsm_flag_the_host_lacks_is_refused() {
    assert_host_without_lsms();
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["sleep", "1000"]).write();
    runtime.create_started(&id, &bundle);

    let apparmor = runtime.cmd(&["exec", "--apparmor", "docker-default", &id, "true"]);
    let selinux = runtime.cmd(&[
        "exec",
        "--process-label",
        "system_u:system_r:container_t:s0",
        &id,
        "true",
    ]);

    apparmor.assert_status(255);
    assert!(
        apparmor.stderr.contains("apparmor is not enabled"),
        "{apparmor}"
    );
    selinux.assert_status(255);
    assert!(selinux.stderr.contains("selinux is disabled"), "{selinux}");
}
