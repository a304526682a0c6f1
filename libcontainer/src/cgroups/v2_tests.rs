//! The cgroup v2 code paths, run for real on a cgroup2 hierarchy: the host's own on a
//! unified host, or a hybrid host's cgroup2 tree (`/sys/fs/cgroup/unified`), where
//! every cgroup2 directory has `cgroup.procs`, `cgroup.freeze` and `cgroup.kill`, and
//! eBPF device programs are enforced. Needs root, as the integration tests do.
//!
//! What a hybrid host's tree cannot show (memory, cpu or pids files, which live on
//! its v1 hierarchies) is written by libcgroups' v2 manager, not by truman. The tests
//! that apply resources are ignored where root cannot raise RLIMIT_MEMLOCK (see
//! their reason); `cargo test -- --ignored` runs them where it can.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use nix::unistd::Pid;
use oci_spec::runtime::{LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxResources};

use super::Cgroup;

/// The cgroup2 mount of this host.
fn cgroup2_root() -> PathBuf {
    let mounts = procfs::process::Process::myself()
        .and_then(|p| p.mountinfo())
        .expect("read mountinfo");
    mounts
        .into_iter()
        .find(|m| m.fs_type == "cgroup2" && m.mount_point.starts_with("/sys/fs/cgroup"))
        .map(|m| m.mount_point)
        .expect("these tests need a cgroup2 hierarchy under /sys/fs/cgroup")
}

/// A cgroup of its own for one test, removed (with its processes) on drop.
struct TestCgroup {
    cgroup: Cgroup,
}

impl TestCgroup {
    fn new(name: &str) -> Self {
        let path = PathBuf::from(format!("/truman-unit/{}-{name}", std::process::id()));
        let cgroup = Cgroup::on_cgroup2_at(&cgroup2_root(), &path).unwrap();
        Self { cgroup }
    }

    fn dir(&self) -> PathBuf {
        self.cgroup.unified_dir()
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = self.cgroup.remove();
        let _ = std::fs::remove_dir(self.dir().parent().unwrap());
    }
}

/// A shell that waits for a line on stdin, then runs `script` and prints what it says.
fn waiting_shell(script: &str) -> Child {
    Command::new("/bin/busybox")
        .args(["sh", "-c", &format!("read go; {script}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn busybox sh")
}

fn let_go_and_collect(mut child: Child) -> (String, String) {
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let output = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn deny_all_but_null() -> Vec<oci_spec::runtime::LinuxDeviceCgroup> {
    vec![
        LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .access("rwm")
            .build()
            .unwrap(),
        LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::C)
            .major(1)
            .minor(3)
            .access("rwm")
            .build()
            .unwrap(),
    ]
}

const OPEN_NULL_AND_LOOP0: &str =
    ": </dev/null && echo null-ok; : </dev/loop0 && echo loop0-ok; true";

#[test]
#[ignore = "libcgroups raises RLIMIT_MEMLOCK to 128 MiB before it applies resources on cgroup v2, which needs CAP_SYS_RESOURCE; this CI host's root lacks it (run with --ignored where root has it)"]
fn device_rules_become_an_ebpf_program_the_kernel_enforces() {
    let test = TestCgroup::new("devices");
    let child = waiting_shell(OPEN_NULL_AND_LOOP0);
    test.cgroup.add(Pid::from_raw(child.id() as i32)).unwrap();
    let mut resources = LinuxResources::default();
    resources.set_devices(Some(deny_all_but_null()));

    test.cgroup.apply(&resources).unwrap();

    let (stdout, stderr) = let_go_and_collect(child);
    assert_eq!(stdout, "null-ok\n");
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
}

#[test]
#[ignore = "libcgroups raises RLIMIT_MEMLOCK to 128 MiB before it applies resources on cgroup v2, which needs CAP_SYS_RESOURCE; this CI host's root lacks it (run with --ignored where root has it)"]
fn a_negative_minor_allows_every_device_of_the_major() {
    let test = TestCgroup::new("wildcard");
    let child = waiting_shell(": </dev/loop0 && echo loop0-ok; : </dev/null && echo null-ok; true");
    test.cgroup.add(Pid::from_raw(child.id() as i32)).unwrap();
    let mut rules = deny_all_but_null();
    // As docker writes `b 7:* r`.
    rules.push(
        LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::B)
            .major(7)
            .minor(-1)
            .access("r")
            .build()
            .unwrap(),
    );
    let mut resources = LinuxResources::default();
    resources.set_devices(Some(rules));

    test.cgroup.apply(&resources).unwrap();

    let (stdout, _) = let_go_and_collect(child);
    assert_eq!(stdout, "loop0-ok\nnull-ok\n");
}

#[test]
#[ignore = "libcgroups raises RLIMIT_MEMLOCK to 128 MiB before it applies resources on cgroup v2, which needs CAP_SYS_RESOURCE; this CI host's root lacks it (run with --ignored where root has it)"]
fn an_update_keeps_the_containers_device_rules() {
    let test = TestCgroup::new("update");
    let child = waiting_shell(OPEN_NULL_AND_LOOP0);
    test.cgroup.add(Pid::from_raw(child.id() as i32)).unwrap();
    let rules = deny_all_but_null();
    let mut resources = LinuxResources::default();
    resources.set_devices(Some(rules.clone()));
    test.cgroup.apply(&resources).unwrap();

    // An update that says nothing of devices (as `update --pids-limit` does).
    test.cgroup
        .update(&LinuxResources::default(), Some(&rules))
        .unwrap();

    let (stdout, stderr) = let_go_and_collect(child);
    assert_eq!(stdout, "null-ok\n");
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
}

#[test]
#[ignore = "libcgroups raises RLIMIT_MEMLOCK to 128 MiB before it applies resources on cgroup v2, which needs CAP_SYS_RESOURCE; this CI host's root lacks it (run with --ignored where root has it)"]
fn the_unified_map_is_written_to_the_cgroups_files() {
    let test = TestCgroup::new("unified");
    let child = waiting_shell("true");
    test.cgroup.add(Pid::from_raw(child.id() as i32)).unwrap();
    // A core file that every cgroup2 directory has.
    let mut unified = HashMap::new();
    unified.insert("cgroup.max.descendants".to_owned(), "3".to_owned());
    let mut resources = LinuxResources::default();
    resources.set_unified(Some(unified));

    test.cgroup.apply(&resources).unwrap();

    let written = std::fs::read_to_string(test.dir().join("cgroup.max.descendants")).unwrap();
    assert_eq!(written.trim(), "3");
    let_go_and_collect(child);
}

#[test]
fn a_unified_key_that_is_not_a_file_name_is_refused() {
    let test = TestCgroup::new("hostile");
    let child = waiting_shell("true");
    test.cgroup.add(Pid::from_raw(child.id() as i32)).unwrap();
    let mut unified = HashMap::new();
    unified.insert("../cgroup.max.descendants".to_owned(), "1".to_owned());
    let mut resources = LinuxResources::default();
    resources.set_unified(Some(unified));

    let error = test.cgroup.apply(&resources).unwrap_err();

    assert!(
        error.to_string().contains("linux.resources.unified"),
        "{error}"
    );
    let parent =
        std::fs::read_to_string(test.dir().parent().unwrap().join("cgroup.max.descendants"))
            .unwrap();
    assert_eq!(parent.trim(), "max", "the parent's file was not touched");
    let_go_and_collect(child);
}

#[test]
fn freeze_thaw_pids_and_remove_on_cgroup2() {
    let test = TestCgroup::new("freeze");
    let mut child = Command::new("/bin/busybox")
        .args([
            "sh",
            "-c",
            "echo ready; while read line; do echo \"$line\"; done",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(child.id() as i32);
    test.cgroup.add(pid).unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    assert_eq!(test.cgroup.pids().unwrap(), vec![pid]);

    test.cgroup.freeze(true).unwrap();
    let events = std::fs::read_to_string(test.dir().join("cgroup.events")).unwrap();
    assert!(events.lines().any(|l| l == "frozen 1"), "{events}");
    test.cgroup.freeze(false).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "thawed").unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "thawed");

    test.cgroup.remove().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    assert!(!Path::new(&test.dir()).exists());
}
