//! Each namespace in `linux.namespaces` is new for the container; one left
//! out is shared with the runtime's caller (here: the test process).

use integration_tests::{host_ns, unique_id, wait_exit, Bundle, Runtime};
use serde_json::json;

/// The name under `/proc/self/ns` of a config namespace type.
fn proc_name(kind: &str) -> &str {
    match kind {
        "mount" => "mnt",
        "network" => "net",
        other => other,
    }
}

/// What `readlink /proc/self/ns/<kind>` prints inside a container run
/// from `bundle` (whose args this replaces).
fn ns_inside(runtime: &Runtime, id: &str, bundle: Bundle, kind: &str) -> String {
    let link = format!("/proc/self/ns/{}", proc_name(kind));
    let bundle = bundle.args(&["readlink", &link]).write();
    let output = runtime.run(id, &bundle);
    output.assert_success();
    output.stdout.trim_end().to_string()
}

#[track_caller]
fn assert_private(kind: &str) {
    let runtime = Runtime::under_test();
    let id = unique_id();

    let inside = ns_inside(&runtime, &id, Bundle::new(&id), kind);

    let host = host_ns(proc_name(kind));
    assert!(
        inside.starts_with(&format!("{}:[", proc_name(kind))),
        "{inside:?}"
    );
    assert_ne!(
        inside, host,
        "the container must get its own {kind} namespace"
    );
}

#[track_caller]
fn assert_shared(kind: &str) {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let mut bundle = Bundle::new(&id).without_namespace(kind);
    if kind == "uts" {
        // A hostname needs a private UTS namespace (runc refuses otherwise).
        bundle = bundle.remove("/hostname");
    }

    let inside = ns_inside(&runtime, &id, bundle, kind);

    assert_eq!(
        inside,
        host_ns(proc_name(kind)),
        "the {kind} namespace must be the caller's"
    );
}

#[test]
fn pid_namespace_is_private() {
    assert_private("pid");
}

#[test]
fn pid_namespace_is_shared_when_not_configured() {
    assert_shared("pid");
}

#[test]
fn mount_namespace_is_private() {
    assert_private("mount");
}

/// Without a mount namespace the container's mounts happen in the
/// runtime's namespace, so the runtime is started in a throwaway one (never
/// the host's) and the container must be in exactly that one.
#[test]
fn mount_namespace_is_shared_when_not_configured() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .without_namespace("mount")
        // Masking paths and a read-only root need a private mount namespace.
        .remove("/linux/maskedPaths")
        .remove("/linux/readonlyPaths")
        .set("/root/readonly", serde_json::json!(false))
        .args(&["readlink", "/proc/self/ns/mnt"])
        .write();

    let (output, runtime_ns) = runtime.run_in_new_mount_ns(&id, &bundle);

    output.assert_success();
    assert_ne!(runtime_ns, host_ns("mnt"), "the runtime was not isolated");
    assert_eq!(output.stdout.trim_end(), runtime_ns, "{output}");
}

#[test]
fn uts_namespace_is_private() {
    assert_private("uts");
}

#[test]
fn uts_namespace_is_shared_when_not_configured() {
    assert_shared("uts");
}

#[test]
fn ipc_namespace_is_private() {
    assert_private("ipc");
}

#[test]
fn ipc_namespace_is_shared_when_not_configured() {
    assert_shared("ipc");
}

#[test]
fn network_namespace_is_private() {
    assert_private("network");
}

#[test]
fn network_namespace_is_shared_when_not_configured() {
    assert_shared("network");
}

#[test]
fn cgroup_namespace_is_private() {
    assert_private("cgroup");
}

#[test]
fn cgroup_namespace_is_shared_when_not_configured() {
    assert_shared("cgroup");
}

#[test]
fn the_process_is_pid_1_of_its_pid_namespace() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["sh", "-c", "echo $$"]).write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    assert_eq!(output.stdout, "1\n", "{output}");
}

#[test]
fn hostname_is_the_configured_one() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .set("/hostname", json!("uts-test-box"))
        .args(&["hostname"])
        .write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    assert_eq!(
        output.stdout.trim_end(),
        bundle.config()["hostname"],
        "{output}"
    );
}

/// One line of `/proc/<pid>/{uid,gid}_map`, or a config mapping, as
/// (container id, host id, size).
fn mapping_from_config(mapping: &serde_json::Value) -> (u64, u64, u64) {
    let field = |name: &str| mapping[name].as_u64().unwrap();
    (field("containerID"), field("hostID"), field("size"))
}

fn mapping_from_proc(line: &str) -> (u64, u64, u64) {
    let numbers: Vec<u64> = line
        .split_whitespace()
        .map(|n| n.parse().unwrap_or_else(|_| panic!("id map line {line:?}")))
        .collect();
    match numbers[..] {
        [container, host, size] => (container, host, size),
        _ => panic!("id map line {line:?}"),
    }
}

#[test]
fn user_namespace_maps_root_to_the_configured_host_ids() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let mapping = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    let script = "id -u; id -g; cat /proc/self/uid_map; cat /proc/self/gid_map; \
                  readlink /proc/self/ns/user";
    let bundle = Bundle::new(&id)
        .with_namespace("user")
        .set("/linux/uidMappings", mapping.clone())
        .set("/linux/gidMappings", mapping)
        .args(&["sh", "-c", script])
        .write();
    let uid_map = mapping_from_config(&bundle.config()["linux"]["uidMappings"][0]);
    let gid_map = mapping_from_config(&bundle.config()["linux"]["gidMappings"][0]);

    let (created, mut stdout) = runtime.create_piped(&id, &bundle, &[]);
    created.assert_success();
    let pid = runtime.init_pid(&id);
    // Seen from the host, the container's root is the mapped host id.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let host_uid = status.lines().find_map(|l| l.strip_prefix("Uid:")).unwrap();
    let host_uid: u64 = host_uid.split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(host_uid, uid_map.1, "host view of the init: {status}");
    runtime.start(&id).assert_success();
    let output = stdout.read_to_end();
    assert_eq!(wait_exit(pid), 0, "{output}");

    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 5, "{output}");
    assert_eq!(lines[0], uid_map.0.to_string(), "id -u");
    assert_eq!(lines[1], gid_map.0.to_string(), "id -g");
    assert_eq!(mapping_from_proc(lines[2]), uid_map, "uid_map");
    assert_eq!(mapping_from_proc(lines[3]), gid_map, "gid_map");
    assert_ne!(lines[4], host_ns("user"), "user namespace");
}

/// A running container whose namespaces others can join, and its init's pid.
fn namespace_holder(runtime: &Runtime) -> (String, Bundle, i32) {
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["sleep", "1000"]).write();
    runtime.create(&id, &bundle, &[]).assert_success();
    runtime.start(&id).assert_success();
    let pid = runtime.init_pid(&id);
    (id, bundle, pid)
}

#[test]
fn namespaces_given_by_path_are_joined() {
    let runtime = Runtime::under_test();
    let (_holder, _holder_bundle, holder_pid) = namespace_holder(&runtime);
    let id = unique_id();
    let mut bundle = Bundle::new(&id).args(&[
        "sh",
        "-c",
        "for ns in net ipc uts pid; do readlink /proc/self/ns/$ns; done; echo pid=$$",
    ]);
    for (kind, proc_name) in [
        ("network", "net"),
        ("ipc", "ipc"),
        ("uts", "uts"),
        ("pid", "pid"),
    ] {
        bundle = bundle.without_namespace(kind).set(
            "/linux/namespaces/-",
            serde_json::json!({"type": kind, "path": format!("/proc/{holder_pid}/ns/{proc_name}")}),
        );
    }
    // Joining another container's uts namespace means keeping its hostname.
    let bundle = bundle.remove("/hostname").write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    let lines: Vec<&str> = output.stdout.lines().collect();
    for (i, ns) in ["net", "ipc", "uts", "pid"].iter().enumerate() {
        let holder_ns = std::fs::read_link(format!("/proc/{holder_pid}/ns/{ns}")).unwrap();
        assert_eq!(
            lines.get(i).copied(),
            Some(holder_ns.to_str().unwrap()),
            "{ns}: {output}"
        );
    }
    assert_ne!(
        lines.get(4).copied(),
        Some("pid=1"),
        "a joined pid namespace already has its pid 1: {output}"
    );
}

#[test]
fn a_time_namespace_applies_its_offsets() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let offset_secs: u64 = 10 * 24 * 3600;
    let bundle = Bundle::new(&id)
        .with_namespace("time")
        .set(
            "/linux/timeOffsets",
            serde_json::json!({"boottime": {"secs": offset_secs, "nanosecs": 0}}),
        )
        .args(&[
            "sh",
            "-c",
            "readlink /proc/self/ns/time; cut -d. -f1 /proc/uptime",
        ])
        .write();
    let host_uptime_before = integration_tests::host_uptime_secs();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    let mut lines = output.stdout.lines();
    assert_ne!(lines.next(), Some(host_ns("time").as_str()), "{output}");
    let uptime: u64 = lines.next().unwrap_or_default().parse().expect("uptime");
    assert!(
        uptime >= host_uptime_before + offset_secs,
        "boottime inside ({uptime}s) is not offset by {offset_secs}s from the host's ({host_uptime_before}s)"
    );
}

#[test]
fn domainname_is_the_configured_one() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .set("/domainname", serde_json::json!("truman.example"))
        .args(&["cat", "/proc/sys/kernel/domainname"])
        .write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    assert_eq!(output.stdout.trim_end(), "truman.example", "{output}");
}

#[test]
fn a_container_can_join_a_user_namespace_and_create_its_others_inside_it() {
    let runtime = Runtime::under_test();
    // The holder plays a Kubernetes pod sandbox with a user namespace.
    let holder = unique_id();
    let holder_bundle = Bundle::new(&holder)
        .args(&["sleep", "1000"])
        .with_namespace("user")
        .set(
            "/linux/uidMappings",
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        )
        .set(
            "/linux/gidMappings",
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        )
        .write();
    runtime
        .create(&holder, &holder_bundle, &[])
        .assert_success();
    runtime.start(&holder).assert_success();
    let holder_pid = runtime.init_pid(&holder);

    let id = unique_id();
    let mut bundle = Bundle::new(&id).args(&[
        "sh",
        "-c",
        "id -u; readlink /proc/self/ns/user; readlink /proc/self/ns/net; hostname",
    ]);
    for (kind, proc_name) in [("user", "user"), ("network", "net"), ("pid", "pid")] {
        bundle = bundle.with_namespace(kind).without_namespace(kind).set(
            "/linux/namespaces/-",
            json!({"type": kind, "path": format!("/proc/{holder_pid}/ns/{proc_name}")}),
        );
    }
    let hostname = bundle.config()["hostname"].as_str().unwrap().to_owned();
    let bundle = bundle.write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    let holder_ns = |ns: &str| {
        std::fs::read_link(format!("/proc/{holder_pid}/ns/{ns}"))
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let expected = format!(
        "0\n{}\n{}\n{hostname}\n",
        holder_ns("user"),
        holder_ns("net")
    );
    assert_eq!(output.stdout, expected, "{output}");
}

#[test]
fn host_side_hooks_run_in_the_runtimes_pid_and_time_namespaces() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let out = tempfile::tempdir().unwrap();
    let seen = out.path().join("hook-ns");
    let bundle = Bundle::new(&id)
        .args(&["true"])
        .with_namespace("time")
        .set(
            "/hooks/createRuntime",
            json!([{
                "path": "/bin/sh",
                "args": ["sh", "-c", format!(
                    "readlink /proc/self/ns/pid /proc/self/ns/time > {}",
                    seen.display()
                )],
            }]),
        )
        .write();

    runtime.run(&id, &bundle).assert_success();

    let expected = format!("{}\n{}\n", host_ns("pid"), host_ns("time"));
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), expected);
}

/// A create that fails after truman joined the container's pid namespace for its next
/// child (here: the time namespace named is not one) must leave truman back in its
/// own: the poststop hooks it forks while cleaning up run in the runtime's namespaces.
#[test]
fn a_create_failing_after_a_pid_namespace_join_runs_poststop_in_the_runtimes() {
    let runtime = Runtime::under_test();
    let holder = unique_id();
    let holder_bundle = Bundle::new(&holder)
        .args(&["sleep", "1000"])
        .with_namespace("network")
        .write();
    runtime
        .create(&holder, &holder_bundle, &[])
        .assert_success();
    let holder_pid = runtime.init_pid(&holder);
    let out = tempfile::tempdir().unwrap();
    let seen = out.path().join("poststop-ns");

    let id = unique_id();
    let bundle = Bundle::new(&id)
        .args(&["true"])
        .without_namespace("pid")
        .set(
            "/linux/namespaces/-",
            json!({"type": "pid", "path": format!("/proc/{holder_pid}/ns/pid")}),
        )
        .set(
            "/linux/namespaces/-",
            json!({"type": "time", "path": format!("/proc/{holder_pid}/ns/net")}),
        )
        .set(
            "/hooks/poststop",
            json!([{
                "path": "/bin/sh",
                "args": ["sh", "-c", format!("readlink /proc/self/ns/pid > {}", seen.display())],
            }]),
        )
        .write();

    let output = runtime.create(&id, &bundle, &[]);

    output.assert_failure();
    assert!(output.stderr.contains("time namespace"), "{output}");
    let poststop_ns = std::fs::read_to_string(&seen).expect("poststop ran after the failed create");
    assert_eq!(
        poststop_ns.trim(),
        host_ns("pid"),
        "poststop ran in the container's pid namespace"
    );
}

/// A user namespace held by a process of the test's own, mapped 0 -> 100000 (65536
/// ids), as a pod sandbox with `hostUsers: false` holds one.
struct HeldUserNamespace {
    holder: std::process::Child,
}

impl HeldUserNamespace {
    fn new() -> HeldUserNamespace {
        use std::io::BufRead;
        let mut holder = std::process::Command::new("unshare")
            .args(["--user", "sh", "-c", "echo in; exec sleep 1000"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("unshare --user");
        let mut line = String::new();
        let stdout = holder.stdout.take().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "in\n", "the holder did not enter its user namespace");
        for map in ["uid_map", "gid_map"] {
            std::fs::write(format!("/proc/{}/{map}", holder.id()), "0 100000 65536\n").unwrap();
        }
        HeldUserNamespace { holder }
    }

    fn path(&self) -> String {
        format!("/proc/{}/ns/user", self.holder.id())
    }

    fn ns(&self) -> String {
        std::fs::read_link(self.path())
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    /// A container joining this user namespace, with its mappings (as podman writes
    /// them), and new pid, mount, uts, ipc and network namespaces inside it.
    fn joined_by(&self, id: &str) -> Bundle {
        Bundle::new(id)
            .with_namespace("user")
            .without_namespace("user")
            .set(
                "/linux/namespaces/-",
                json!({"type": "user", "path": self.path()}),
            )
            .set(
                "/linux/uidMappings",
                json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
            )
            .set(
                "/linux/gidMappings",
                json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
            )
    }
}

impl Drop for HeldUserNamespace {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// What a process prints about itself: its pid, its uid map, its user and pid
/// namespaces.
const WHO_AM_I: &str =
    "echo $$; cat /proc/self/uid_map; readlink /proc/self/ns/user; readlink /proc/self/ns/pid";

#[test]
fn a_container_joining_a_user_namespace_has_a_pid_namespace_of_its_own_inside_it() {
    let runtime = Runtime::under_test();
    let held = HeldUserNamespace::new();
    let id = unique_id();
    let bundle = held.joined_by(&id).args(&["sh", "-c", WHO_AM_I]).write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    let lines: Vec<String> = output
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(lines.len(), 4, "{output}");
    assert_eq!(
        lines[0], "1",
        "not pid 1 of its own pid namespace: {output}"
    );
    assert_eq!(lines[1], "0 100000 65536", "{output}");
    assert_eq!(lines[2], held.ns(), "{output}");
    assert_ne!(lines[3], host_ns("pid"), "{output}");
}

#[test]
fn created_in_a_joined_user_namespace_the_init_is_the_caller_s_and_exec_joins_its_pid_namespace() {
    let runtime = Runtime::under_test();
    let held = HeldUserNamespace::new();
    let id = unique_id();
    let bundle = held.joined_by(&id).args(&["sleep", "1000"]).write();

    let init = runtime.create_started(&id, &bundle);
    let output = runtime.cmd(&["exec", &id, "sh", "-c", WHO_AM_I]);

    output.assert_success();
    assert_eq!(
        integration_tests::parent_pid(init),
        Some(std::process::id() as i32),
        "the init went to another reaper than truman's caller"
    );
    let init_ns = |ns: &str| {
        std::fs::read_link(format!("/proc/{init}/ns/{ns}"))
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{output}");
    assert_ne!(lines[0], "1", "{output}");
    assert_eq!(lines[2], held.ns(), "{output}");
    assert_eq!(lines[3], init_ns("pid"), "{output}");
    runtime.kill(&id, "KILL").assert_success();
    assert_eq!(wait_exit(init), 137);
}

/// A network namespace of the host's (what CNI makes for a Kubernetes pod, owned by
/// the host's user namespace) joined beside a pod's user namespace: joined while
/// truman's process is still the host's root, before the user namespace.
#[test]
fn a_container_joins_a_host_network_namespace_and_a_pod_s_user_namespace() {
    let runtime = Runtime::under_test();
    let held = HeldUserNamespace::new();
    let netns = format!("truman-test-{}", std::process::id());
    let made = std::process::Command::new("ip")
        .args(["netns", "add", &netns])
        .status()
        .expect("ip netns add");
    assert!(made.success());
    let netns_path = format!("/run/netns/{netns}");
    let id = unique_id();
    let bundle = held
        .joined_by(&id)
        .with_namespace("network")
        .without_namespace("network")
        .set(
            "/linux/namespaces/-",
            json!({"type": "network", "path": netns_path}),
        )
        .args(&["sh", "-c", "echo $$; readlink /proc/self/ns/net"])
        .write();

    let output = runtime.run(&id, &bundle);
    // A named network namespace is an nsfs file bound there: its inode names it.
    let expected_net = std::fs::metadata(&netns_path)
        .map(|m| format!("net:[{}]", std::os::unix::fs::MetadataExt::ino(&m)))
        .unwrap_or_default();
    let _ = std::process::Command::new("ip")
        .args(["netns", "delete", &netns])
        .status();

    output.assert_success();
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(lines, ["1", expected_net.as_str()], "{output}");
}
