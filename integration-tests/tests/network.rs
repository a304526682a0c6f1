//! The container's network links: `lo` comes up in a network namespace the container
//! creates (not in one it joins), and `linux.netDevices` moves host links in, as runc
//! 1.3 does. Each test makes its own links and namespaces with iproute2, under names
//! of its own, and removes them whatever happens.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use integration_tests::{assert_failed_cleanly, unique_id, wait_exit, Bundle, Runtime};
use serde_json::{json, Value};

/// `IFF_UP` in `/sys/class/net/<link>/flags`.
const IFF_UP: u64 = 0x1;

/// Runs iproute2's `ip`, which must succeed; returns its stdout.
#[track_caller]
fn ip(args: &[&str]) -> String {
    let output = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run ip {args:?} (iproute2): {e}"));
    assert!(
        output.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A name for a link or namespace of this test process's own: `tn<pid><n><suffix>`,
/// within the kernel's 15 bytes.
fn unique_name(suffix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("tn{}x{n}{suffix}", std::process::id() % 100_000)
}

/// A virtual link on the host made for one test: a dummy where the kernel has them,
/// else one end of a veth pair (every container host has veth). Deleted on drop, with
/// its peer, wherever it is left on the host.
struct TestLink {
    name: String,
    peer: Option<String>,
}

impl TestLink {
    /// An up link carrying addresses of the documentation ranges (no traffic goes
    /// anywhere): one of global scope per family, which must move with it, and one of
    /// host scope, which must not.
    fn new() -> TestLink {
        let name = unique_name("");
        let dummy = Command::new("ip")
            .args(["link", "add", &name, "type", "dummy"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        let peer = (!dummy).then(|| {
            let peer = unique_name("p");
            ip(&["link", "add", &name, "type", "veth", "peer", "name", &peer]);
            peer
        });
        let link = TestLink { name, peer };
        ip(&["addr", "add", "198.51.100.7/24", "dev", &link.name]);
        ip(&["addr", "add", "2001:db8::7/64", "nodad", "dev", &link.name]);
        ip(&[
            "addr",
            "add",
            "203.0.113.5/32",
            "scope",
            "host",
            "dev",
            &link.name,
        ]);
        ip(&["link", "set", &link.name, "up"]);
        link
    }

    fn on_host(&self) -> bool {
        on_host(&self.name)
    }
}

impl Drop for TestLink {
    fn drop(&mut self) {
        for name in std::iter::once(&self.name).chain(&self.peer) {
            if on_host(name) {
                let _ = Command::new("ip").args(["link", "del", name]).output();
            }
        }
    }
}

/// Whether the host's network namespace (the test process's) has link `name`.
fn on_host(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// Waits until the host no longer has link `name`. The kernel destroys the virtual
/// links of a network namespace in a work queue once the namespace's last user is
/// gone, so the link may outlive `delete` for a moment; nothing signals the end but
/// the link's disappearance.
#[track_caller]
fn wait_until_gone(name: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while on_host(name) {
        assert!(
            Instant::now() < deadline,
            "link {name} is still on the host 10 s after its namespace went"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A named network namespace (`ip netns add`) made for one test, deleted on drop.
struct TestNetns {
    name: String,
}

impl TestNetns {
    fn new() -> TestNetns {
        let name = unique_name("n");
        ip(&["netns", "add", &name]);
        TestNetns { name }
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    fn has_link(&self, link: &str) -> bool {
        Command::new("ip")
            .args(["-n", &self.name, "link", "show", link])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// The bundle with its network namespace joined at `path`.
fn joining_netns(bundle: Bundle, path: &str) -> Bundle {
    let index = bundle.config()["linux"]["namespaces"]
        .as_array()
        .and_then(|all| all.iter().position(|ns| ns["type"] == "network"))
        .expect("the default config has a network namespace");
    bundle.set(&format!("/linux/namespaces/{index}/path"), json!(path))
}

fn is_up(flags_line: &str) -> bool {
    let flags = u64::from_str_radix(flags_line.trim().trim_start_matches("0x"), 16)
        .unwrap_or_else(|_| panic!("link flags {flags_line:?}"));
    flags & IFF_UP != 0
}

#[test]
fn loopback_is_up_and_serves_127_0_0_1_in_a_new_network_namespace() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    // busybox httpd returns once it listens; then a real TCP exchange over 127.0.0.1.
    let script = "cat /sys/class/net/lo/flags; \
                  httpd -p 127.0.0.1:8080 -h /etc && wget -q -O- http://127.0.0.1:8080/passwd";
    let bundle = Bundle::new(&id).args(&["sh", "-c", script]).write();
    let served = std::fs::read_to_string(bundle.rootfs().join("etc/passwd")).expect("passwd");

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    let (flags, body) = output.stdout.split_once('\n').expect("two parts");
    assert!(is_up(flags), "lo is down: flags {flags}");
    assert_eq!(body, served, "nothing came back over 127.0.0.1: {output}");
}

/// A namespace joined by path is its owner's: runc sets up `lo` only in one it creates.
#[test]
fn loopback_of_a_joined_network_namespace_is_left_as_it_is() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let netns = TestNetns::new();
    let bundle = joining_netns(Bundle::new(&id), &netns.path())
        .args(&["cat", "/sys/class/net/lo/flags"])
        .write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    assert!(
        !is_up(&output.stdout),
        "lo of the joined namespace was brought up: {output}"
    );
}

#[test]
fn net_device_moves_in_under_its_new_name_with_its_global_addresses_and_up() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let link = TestLink::new();
    let script = "ls /sys/class/net; cat /sys/class/net/moved0/flags; \
                  ip -o addr show dev moved0; echo ready; exec sleep 600";
    let bundle = Bundle::new(&id)
        .set(
            "/linux/netDevices",
            json!({ &link.name: { "name": "moved0" } }),
        )
        .args(&["sh", "-c", script])
        .write();

    let (created, mut stdout) = runtime.create_piped(&id, &bundle, &[]);
    created.assert_success();
    runtime.start(&id).assert_success();
    let mut lines = Vec::new();
    while let Some(line) = stdout.read_line() {
        if line == "ready" {
            break;
        }
        lines.push(line);
    }
    let seen = lines.join("\n");

    assert!(
        lines.iter().any(|l| l == "moved0"),
        "no moved0 in /sys/class/net: {seen}"
    );
    assert!(
        !lines.contains(&link.name),
        "the host name is inside: {seen}"
    );
    let flags = lines
        .iter()
        .find(|l| l.starts_with("0x"))
        .unwrap_or_else(|| panic!("no flags line: {seen}"));
    assert!(is_up(flags), "moved0 is down: {seen}");
    assert!(
        seen.contains("inet 198.51.100.7/24"),
        "IPv4 address lost: {seen}"
    );
    assert!(
        seen.contains("inet6 2001:db8::7/64"),
        "IPv6 address lost: {seen}"
    );
    assert!(
        !seen.contains("203.0.113.5"),
        "a host-scope address moved: {seen}"
    );
    assert!(
        !link.on_host(),
        "the host still has {} while the container runs",
        link.name
    );

    let pid = runtime.init_pid(&id);
    runtime.kill(&id, "KILL").assert_success();
    wait_exit(pid);
    runtime.delete(&id, false).assert_success();
    // As runc, and as runtime-spec 1.3 requires, the link is not moved back: the
    // kernel destroys a virtual link with the namespace (and returns a physical one).
    wait_until_gone(&link.name);
}

#[test]
fn net_device_name_template_is_completed_by_the_kernel() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let link = TestLink::new();
    let bundle = Bundle::new(&id)
        .set(
            "/linux/netDevices",
            json!({ &link.name: { "name": "tnc%d" } }),
        )
        .args(&[
            "sh",
            "-c",
            "ip -o addr show dev tnc0 && cat /sys/class/net/tnc0/flags",
        ])
        .write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    assert!(output.stdout.contains("inet 198.51.100.7/24"), "{output}");
    let flags = output.stdout.lines().last().unwrap_or_default();
    assert!(is_up(flags), "tnc0 is down: {output}");
}

/// runc moves links into a namespace joined by path too; that namespace is its
/// owner's, and keeps them after the container.
#[test]
fn net_device_moves_into_a_joined_network_namespace_and_stays_there() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let netns = TestNetns::new();
    let link = TestLink::new();
    let bundle = joining_netns(Bundle::new(&id), &netns.path())
        .set("/linux/netDevices", json!({ &link.name: {} }))
        .args(&["ip", "-o", "addr", "show", "dev", &link.name])
        .write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    assert!(output.stdout.contains("inet 198.51.100.7/24"), "{output}");
    assert!(!link.on_host(), "{} came back to the host", link.name);
    assert!(
        netns.has_link(&link.name),
        "{} left the joined namespace",
        link.name
    );
}

/// Creating the container fails after the links moved (here a prestart hook):
/// they go back to the host as they were.
#[test]
fn a_failed_create_moves_net_devices_back_to_the_host() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let link = TestLink::new();
    let bundle = Bundle::new(&id)
        .set(
            "/linux/netDevices",
            json!({ &link.name: { "name": "moved0" } }),
        )
        .set("/hooks/prestart", json!([{ "path": "/bin/false" }]))
        .args(&["true"])
        .write();

    let output = runtime.create(&id, &bundle, &[]);

    assert_failed_cleanly(&runtime, &output, &id, &[&["prestart"]]);
    assert!(link.on_host(), "{} was not moved back: {output}", link.name);
    let addresses = ip(&["-o", "addr", "show", "dev", &link.name]);
    assert!(addresses.contains("inet 198.51.100.7/24"), "{addresses}");
    assert!(addresses.contains("inet6 2001:db8::7/64"), "{addresses}");
    let flags =
        std::fs::read_to_string(format!("/sys/class/net/{}/flags", link.name)).expect("flags");
    assert!(is_up(&flags), "{} came back down", link.name);
}

/// `create` from `bundle` must fail naming `mentions`, leave nothing, and leave
/// `links` on the host.
#[track_caller]
fn assert_refused(bundle: Bundle, id: &str, links: &[&TestLink], mentions: &[&[&str]]) {
    let runtime = Runtime::under_test().with_json_log();
    let bundle = bundle.args(&["true"]).write();

    let output = runtime.create(id, &bundle, &[]);

    assert_failed_cleanly(&runtime, &output, id, mentions);
    for link in links {
        assert!(link.on_host(), "{} left the host: {output}", link.name);
    }
}

#[test]
fn net_device_missing_on_the_host_is_refused() {
    let id = unique_id();
    let missing = unique_name("m");
    let field = format!("linux.netDevices[\"{missing}\"]");
    let bundle = Bundle::new(&id).set("/linux/netDevices", json!({ &missing: {} }));

    assert_refused(bundle, &id, &[], &[&[&field], &["no such network device"]]);
}

#[test]
fn net_devices_need_a_network_namespace() {
    let id = unique_id();
    let link = TestLink::new();
    let bundle = Bundle::new(&id)
        .without_namespace("network")
        .set("/linux/netDevices", json!({ &link.name: {} }));

    assert_refused(
        bundle,
        &id,
        &[&link],
        &[&["linux.netDevices"], &["network namespace"]],
    );
}

#[test]
fn net_devices_into_the_runtimes_own_network_namespace_are_refused() {
    let id = unique_id();
    let link = TestLink::new();
    // The runtime runs in the test process's network namespace: the host's.
    let own = format!("/proc/{}/ns/net", std::process::id());
    let bundle =
        joining_netns(Bundle::new(&id), &own).set("/linux/netDevices", json!({ &link.name: {} }));

    assert_refused(
        bundle,
        &id,
        &[&link],
        &[&["linux.netDevices"], &["runtime's own"]],
    );
}

#[test]
fn two_net_devices_given_one_name_are_refused() {
    let id = unique_id();
    let (a, b) = (TestLink::new(), TestLink::new());
    let devices: Value = json!({ &a.name: { "name": "moved0" }, &b.name: { "name": "moved0" } });
    // Whichever comes second in host-name order is the one named.
    let second = std::cmp::max(&a.name, &b.name);
    let field = format!("linux.netDevices[\"{second}\"].name");
    let bundle = Bundle::new(&id).set("/linux/netDevices", devices);

    assert_refused(bundle, &id, &[&a, &b], &[&[&field], &["also the name"]]);
}

#[test]
fn net_device_names_the_kernel_refuses_are_refused() {
    for name in ["bad/name", "sixteen-bytes-xx", "lo"] {
        let id = unique_id();
        let link = TestLink::new();
        let field = format!("linux.netDevices[\"{}\"].name", link.name);
        let bundle =
            Bundle::new(&id).set("/linux/netDevices", json!({ &link.name: { "name": name } }));

        assert_refused(bundle, &id, &[&link], &[&[&field]]);
    }
}

/// A joined namespace that has a link of the name already: refused before any link
/// moves, so the other entry's link stays on the host too.
#[test]
fn net_device_name_taken_in_the_joined_namespace_is_refused() {
    let id = unique_id();
    let netns = TestNetns::new();
    let (a, b) = (TestLink::new(), TestLink::new());
    let taken = unique_name("t");
    let taken_peer = unique_name("q");
    ip(&[
        "-n",
        &netns.name,
        "link",
        "add",
        &taken,
        "type",
        "veth",
        "peer",
        "name",
        &taken_peer,
    ]);
    let field = format!("linux.netDevices[\"{}\"].name", b.name);
    let devices = json!({ &a.name: {}, &b.name: { "name": &taken } });
    let bundle = joining_netns(Bundle::new(&id), &netns.path()).set("/linux/netDevices", devices);

    assert_refused(bundle, &id, &[&a, &b], &[&[&field], &["exists already"]]);
    assert!(
        !netns.has_link(&a.name),
        "{} moved though the create was refused",
        a.name
    );
}

/// In a user namespace of the container's, the network namespace belongs to that user
/// namespace: the runtime still moves the link in, and the container's root brings up
/// `lo` there.
#[test]
fn net_device_and_loopback_in_a_container_with_a_user_namespace() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let link = TestLink::new();
    let mapping = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    let bundle = Bundle::new(&id)
        .with_namespace("user")
        .set("/linux/uidMappings", mapping.clone())
        .set("/linux/gidMappings", mapping)
        .set(
            "/linux/netDevices",
            json!({ &link.name: { "name": "moved0" } }),
        )
        .args(&[
            "sh",
            "-c",
            "cat /sys/class/net/lo/flags; ip -o addr show dev moved0",
        ])
        .write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    let (flags, addresses) = output.stdout.split_once('\n').expect("two parts");
    assert!(is_up(flags), "lo is down: {output}");
    assert!(addresses.contains("inet 198.51.100.7/24"), "{output}");
}
