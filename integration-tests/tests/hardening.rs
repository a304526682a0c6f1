//! Containers that try to escape: each test replays a known attack on runtimes (the
//! CVE it is named after, or the class of them) from inside a real container, and
//! checks from the host that it failed. The capability sets themselves (bounding set
//! dropped, ambient only when asked) are checked in `process.rs`.

use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use integration_tests::{leftover_cgroups, unique_id, Bundle, Runtime};
use serde_json::json;

fn sleeper(id: &str) -> Bundle {
    Bundle::new(id).args(&["sleep", "1000"]).write()
}

/// A sleeper whose process has `caps` in its bounding, effective and permitted sets.
fn sleeper_with_caps(id: &str, caps: serde_json::Value) -> Bundle {
    sleeper(id)
        .set("/process/capabilities/bounding", caps.clone())
        .set("/process/capabilities/effective", caps.clone())
        .set("/process/capabilities/permitted", caps)
        .write()
}

fn file_digest(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every capability the test process has in its bounding set (all but a few on some
/// hosts), as a `--privileged` container has them.
fn all_caps() -> serde_json::Value {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("CapBnd:")).unwrap();
    let mask = u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap();
    let names: Vec<String> = (0..41)
        .filter(|b| mask & (1 << b) != 0)
        .map(cap_name)
        .collect();
    json!(names)
}

fn cap_name(bit: u32) -> String {
    const NAMES: [&str; 41] = [
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
        "PERFMON",
        "BPF",
        "CHECKPOINT_RESTORE",
    ];
    format!("CAP_{}", NAMES[bit as usize])
}

/// CVE-2019-5736: a process of the container opens the runtime's binary through
/// `/proc/<pid>/exe` of a runtime process it can see (here the init, which waits for
/// `start` as a copy of the runtime) and writes to it.
#[track_caller]
fn attack_proc_exe(caps: serde_json::Value) -> String {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper_with_caps(&id, caps);
    let binary = std::fs::canonicalize(runtime.bin()).unwrap();
    let before = file_digest(&binary);
    runtime.create(&id, &bundle, &[]).assert_success();
    let init = runtime.init_pid(&id);

    let attack = runtime.cmd(&[
        "exec",
        &id,
        "sh",
        "-c",
        "{ cat /proc/1/exe >/dev/null && echo read; } 2>/dev/null; \
         { echo owned >> /proc/1/exe && echo wrote; } 2>/dev/null; \
         (exec 3<>/proc/1/exe && echo opened-rw) 2>/dev/null; echo done",
    ]);

    attack.assert_success();
    assert_eq!(
        file_digest(&binary),
        before,
        "the runtime's binary was changed"
    );
    assert_unwritable_image(init);
    attack.stdout
}

/// What the process runs is not the host's file: a read-only mount of it, or a
/// sealed copy, either of which no one can write once every runtime process is gone.
#[track_caller]
fn assert_unwritable_image(pid: i32) {
    let image = std::fs::File::open(format!("/proc/{pid}/exe")).unwrap();
    let read_only = nix::sys::statvfs::fstatvfs(&image)
        .unwrap()
        .flags()
        .contains(nix::sys::statvfs::FsFlags::ST_RDONLY);
    let write_sealed = nix::fcntl::fcntl(image.as_raw_fd(), nix::fcntl::FcntlArg::F_GET_SEALS)
        .is_ok_and(|seals| seals & libc::F_SEAL_WRITE != 0);
    assert!(
        read_only || write_sealed,
        "process {pid} runs {} from a writable file",
        std::fs::read_link(format!("/proc/{pid}/exe"))
            .unwrap()
            .display()
    );
}

#[test]
fn the_runtime_binary_cannot_be_reached_from_inside_through_proc_exe() {
    // Not dumpable until it execs: the container cannot even open it.
    assert_eq!(attack_proc_exe(json!(["CAP_KILL"])), "done\n");
}

#[test]
fn with_every_capability_only_an_unwritable_image_of_the_runtime_is_reachable() {
    // CAP_SYS_PTRACE lets the container open /proc/1/exe: what it finds is the
    // read-only image, which no one can write.
    let seen = attack_proc_exe(all_caps());
    assert!(!seen.contains("wrote"), "{seen}");
    assert!(!seen.contains("opened-rw"), "{seen}");
    assert!(seen.ends_with("done\n"), "{seen}");
}

/// CVE-2019-5736 as it was exploited: a container process holds the runtime's
/// binary open (read-only, which is all it can get while the runtime runs it) until
/// no runtime process is left, then reopens it for writing through `/proc/PID/fd`.
#[test]
fn the_runtime_binary_held_open_from_inside_cannot_be_written_once_the_runtime_is_gone() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper_with_caps(&id, all_caps());
    let binary = std::fs::canonicalize(runtime.bin()).unwrap();
    let before = file_digest(&binary);
    runtime.create(&id, &bundle, &[]).assert_success();
    // The init waits for `start` as a copy of truman: a holder opens its image and
    // keeps it after the shell that opened it has exited.
    let hold = runtime.cmd(&[
        "exec",
        &id,
        "sh",
        "-c",
        "exec 3</proc/1/exe || exit 1; sleep 1000 </dev/null >/dev/null 2>&1 & echo $!",
    ]);
    hold.assert_success();
    let holder = hold.stdout.trim().to_owned();
    // Now the init execs `sleep`: nothing runs the runtime's image any more.
    runtime.start(&id).assert_success();

    // The writer runs detached, so that no truman process is left to keep the image
    // busy: it retries while the kernel says the file is being executed, and stops at
    // the first other answer.
    let attack = format!(
        "while :; do err=$(echo owned 2>&1 >>/proc/{holder}/fd/3) && {{ echo wrote; break; }}; \
         case $err in *busy*) sleep 0.05 ;; *) echo \"refused: $err\"; break ;; esac; \
         done >/dev/shm/attack"
    );
    let writer = runtime.exec_detached(&id, &[], &["sh", "-c", &attack]);
    nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(writer), None).unwrap();

    let seen = runtime.cmd(&["exec", &id, "cat", "/dev/shm/attack"]);
    assert!(seen.stdout.starts_with("refused:"), "{seen}");
    assert_eq!(
        file_digest(&binary),
        before,
        "the runtime's binary was changed"
    );
}

/// CVE-2024-21626: `process.cwd` names a descriptor the runtime leaked into the
/// container (`/proc/self/fd/N`), which leads to the host's filesystem.
#[test]
fn a_cwd_through_a_leaked_descriptor_does_not_reach_the_host() {
    let runtime = Runtime::under_test();
    for fd in 3..=15 {
        let id = unique_id();
        let bundle = Bundle::new(&id)
            .args(&["sh", "-c", "pwd; ls -a . ..; ls -a ../.."])
            .set("/process/cwd", json!(format!("/proc/self/fd/{fd}")))
            .write();

        let output = runtime.run(&id, &bundle);

        // The bundle and the state directory are what the runtime has open on the
        // host: neither may show.
        for host_only in ["config.json", "state.json", "exec.fifo"] {
            assert!(
                !output.stdout.contains(host_only),
                "fd {fd}: the container saw the host's {host_only}: {output}"
            );
        }
        if output.success() {
            assert!(output.stdout.starts_with('/'), "fd {fd}: {output}");
        } else {
            assert!(output.stderr.contains("cwd"), "fd {fd}: {output}");
        }
    }
}

#[test]
fn exec_cwd_through_a_leaked_descriptor_does_not_reach_the_host() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);
    runtime.create_started(&id, &bundle);
    for fd in 3..=15 {
        let cwd = format!("/proc/self/fd/{fd}");
        let output = runtime.cmd(&["exec", "--cwd", &cwd, &id, "sh", "-c", "ls -a . .. ../.."]);
        for host_only in ["config.json", "state.json", "exec.fifo"] {
            assert!(
                !output.stdout.contains(host_only),
                "fd {fd}: the exec'd process saw the host's {host_only}: {output}"
            );
        }
    }
}

/// CVE-2019-16884 and its kind: an image whose `/proc` is a symlink would have the
/// kernel's files mounted where the masked paths do not reach.
#[test]
fn an_image_whose_proc_is_a_symlink_is_refused() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = sleeper(&id);
    let proc = bundle.rootfs().join("proc");
    std::fs::remove_dir(&proc).unwrap();
    std::fs::create_dir_all(bundle.rootfs().join("fakeproc")).unwrap();
    std::os::unix::fs::symlink("/fakeproc", &proc).unwrap();

    let output = runtime.create(&id, &bundle, &[]);

    output.assert_failure();
    assert!(output.stderr.contains("mount proc on /proc"), "{output}");
    assert!(runtime.list_json().is_empty());
    assert_eq!(leftover_cgroups(&id), Vec::<std::path::PathBuf>::new());
    let fake = std::fs::read_dir(bundle.rootfs().join("fakeproc"))
        .unwrap()
        .count();
    assert_eq!(fake, 0, "nothing was mounted through the symlink");
}

#[test]
fn the_container_cannot_write_host_sysctls_or_read_masked_kernel_files() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    // Root in the container, with the default capabilities.
    let script = "\
        echo '|/tmp/x' > /proc/sys/kernel/core_pattern 2>/dev/null && echo core_pattern; \
        echo 3 > /proc/sys/vm/drop_caches 2>/dev/null && echo drop_caches; \
        echo h > /proc/sysrq-trigger 2>/dev/null && echo sysrq; \
        echo 1 > /sys/kernel/profiling 2>/dev/null && echo sysfs; \
        test -z \"$(head -c 1 /proc/kcore)\" || echo kcore; \
        test -z \"$(cat /proc/keys)\" || echo keys; \
        test -z \"$(ls /sys/firmware)\" || echo firmware; \
        echo done";
    let bundle = Bundle::new(&id).args(&["sh", "-c", script]).write();
    let core_pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    assert_eq!(output.stdout, "done\n", "reached from inside: {output}");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(),
        core_pattern
    );
}

/// A setuid-root copy of the syscall probe, asked for the effective uid by user 1000.
fn euid_through_setuid(no_new_privileges: bool) -> String {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .with_syscall_probe()
        .args(&["/bin/syscall", &libc::SYS_geteuid.to_string()])
        .set("/process/user", json!({ "uid": 1000, "gid": 1000 }))
        .set("/process/noNewPrivileges", json!(no_new_privileges))
        .write();
    let probe = bundle.rootfs().join("bin/syscall");
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let output = runtime.run(&id, &bundle);
    output.assert_success();
    output.stdout
}

#[test]
fn no_new_privileges_stops_a_setuid_binary_from_raising_privileges() {
    assert_eq!(euid_through_setuid(true), "1000 0\n");
    // The same binary without no_new_privs does become root: the test can tell.
    assert_eq!(euid_through_setuid(false), "0 0\n");
}

/// CVE-2021-30465: the container's image (or another container sharing a volume)
/// swaps a mount destination for a symlink to a host path while the runtime mounts.
/// Whatever the timing, nothing may be mounted outside the rootfs, and the container
/// may never see the host directory.
#[test]
fn swapping_a_mount_destination_for_a_symlink_never_mounts_outside_the_rootfs() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let runtime = Runtime::under_test();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("outside-marker"), "host").unwrap();
    let volume = tempfile::tempdir().unwrap();
    std::fs::write(volume.path().join("volume-marker"), "volume").unwrap();

    for round in 0..20 {
        let id = unique_id();
        let bundle = Bundle::new(&id)
            .args(&["sh", "-c", "ls -R /mnt 2>/dev/null; echo end"])
            .set(
                "/mounts/-",
                json!({
                    "destination": "/mnt",
                    "type": "bind",
                    "source": volume.path(),
                    "options": ["rbind"]
                }),
            )
            .write();
        let rootfs = bundle.rootfs();
        std::fs::create_dir_all(rootfs.join("mnt")).unwrap();
        std::os::unix::fs::symlink(outside.path(), rootfs.join("mnt-link")).unwrap();
        let stop = AtomicBool::new(false);

        let output = std::thread::scope(|scope| {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let _ = nix::fcntl::renameat2(
                        None,
                        &rootfs.join("mnt"),
                        None,
                        &rootfs.join("mnt-link"),
                        nix::fcntl::RenameFlags::RENAME_EXCHANGE,
                    );
                }
            });
            let output = runtime.run(&id, &bundle);
            stop.store(true, Ordering::Relaxed);
            output
        });

        assert!(
            !output.stdout.contains("outside-marker"),
            "round {round}: the container saw the host directory: {output}"
        );
        let entries: Vec<_> = std::fs::read_dir(outside.path())
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(
            entries.len(),
            1,
            "round {round}: the host directory changed"
        );
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let outside_path = outside.path().to_string_lossy().into_owned();
        assert!(
            !mountinfo.contains(&outside_path),
            "round {round}: something is mounted on the host directory"
        );
    }
}
