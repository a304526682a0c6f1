//! `linux.resources` and the commands that work on a live cgroup (`update`,
//! `events`), checked where a user would look: the container's cgroup files on
//! the host, and what a process inside can or cannot do.
//!
//! These tests read cgroup v1 file names: they run on v1 and hybrid hosts (this
//! project's CI host is hybrid, with hugetlb alone on the cgroup2 tree).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use integration_tests::{
    assert_failed_cleanly, host_has_v1_controller, leftover_cgroups, unique_id, wait_exit, Bundle,
    Output, Runtime, CGROUP_TEST_PARENT,
};
use serde_json::{json, Value};

/// The container's directory for `controller` on the host.
fn cgroup_dir(controller: &str, id: &str) -> PathBuf {
    // Asked of the mount table: an empty directory of that name (podman leaves
    // some) is not a hierarchy.
    let v1 = Path::new("/sys/fs/cgroup").join(controller);
    let root = if integration_tests::host_has_v1_controller(controller) {
        v1
    } else {
        // A hybrid host keeps the controllers it has no v1 mount for on cgroup2.
        Path::new("/sys/fs/cgroup/unified").to_owned()
    };
    root.join(CGROUP_TEST_PARENT).join(id)
}

#[track_caller]
fn read(controller: &str, id: &str, file: &str) -> String {
    let path = cgroup_dir(controller, id).join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_owned()
}

/// `major:minor` of a block device of this host, for the throttle limits.
fn a_block_device() -> (u64, u64) {
    let mut disks: Vec<_> = std::fs::read_dir("/sys/block")
        .unwrap()
        .flatten()
        .map(|e| e.path().join("dev"))
        .collect();
    disks.sort();
    let dev = std::fs::read_to_string(&disks[0]).unwrap();
    let (major, minor) = dev.trim().split_once(':').unwrap();
    (major.parse().unwrap(), minor.parse().unwrap())
}

/// The file a blkio weight goes to on this host (`blkio.weight` under CFQ,
/// `blkio.bfq.weight` under BFQ), if any: asked of a cgroup made for the question,
/// since the kernel keeps these files off the root cgroup.
fn host_blkio_weight_file() -> Option<&'static str> {
    let probe = Path::new("/sys/fs/cgroup/blkio")
        .join(CGROUP_TEST_PARENT)
        .join(unique_id());
    std::fs::create_dir_all(&probe).expect("make a probe blkio cgroup");
    let file = ["blkio.weight", "blkio.bfq.weight"]
        .into_iter()
        .find(|f| probe.join(f).exists());
    std::fs::remove_dir(&probe).expect("remove the probe blkio cgroup");
    file
}

fn sleeper(id: &str) -> Bundle {
    Bundle::new(id).args(&["sleep", "1000"]).write()
}

#[test]
fn every_resource_of_the_spec_is_written_to_the_cgroup_before_the_process_runs() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let (major, minor) = a_block_device();
    let mut resources = json!({
        "memory": { "limit": 96 << 20, "reservation": 48 << 20, "swap": 128 << 20,
                    "swappiness": 17, "disableOOMKiller": true },
        "cpu": { "shares": 512, "quota": 30000, "period": 100000, "burst": 5000,
                 "realtimePeriod": 900000, "cpus": "0", "mems": "0", "idle": 0 },
        "pids": { "limit": 42 },
        "blockIO": {
            "throttleReadBpsDevice": [{ "major": major, "minor": minor, "rate": 1048576 }],
            "throttleWriteIOPSDevice": [{ "major": major, "minor": minor, "rate": 77 }]
        },
        "hugepageLimits": [{ "pageSize": "2MB", "limit": 4 << 20 }],
        "devices": [
            { "allow": false, "access": "rwm" },
            { "allow": true, "type": "b", "major": 7, "minor": 0, "access": "r" }
        ]
    });
    // A weight needs BFQ (or the CFQ of old kernels); without it, see
    // `a_blkio_weight_is_refused_by_name_where_the_host_has_no_weight_file`.
    let weight_file = host_blkio_weight_file();
    if weight_file.is_some() {
        resources["blockIO"]["weight"] = json!(300);
    }
    let bundle = Bundle::new(&id)
        .args(&["sleep", "1000"])
        .set("/linux/resources", resources)
        .write();

    // Checked right after create: the init has not run the user's program yet.
    runtime.create(&id, &bundle, &[]).assert_success();

    assert_eq!(
        read("memory", &id, "memory.limit_in_bytes"),
        (96 << 20).to_string()
    );
    assert_eq!(
        read("memory", &id, "memory.soft_limit_in_bytes"),
        (48 << 20).to_string()
    );
    assert_eq!(
        read("memory", &id, "memory.memsw.limit_in_bytes"),
        (128 << 20).to_string()
    );
    assert_eq!(read("memory", &id, "memory.swappiness"), "17");
    assert!(read("memory", &id, "memory.oom_control").contains("oom_kill_disable 1"));
    assert_eq!(read("cpu", &id, "cpu.shares"), "512");
    assert_eq!(read("cpu", &id, "cpu.cfs_quota_us"), "30000");
    assert_eq!(read("cpu", &id, "cpu.cfs_period_us"), "100000");
    assert_eq!(read("cpu", &id, "cpu.cfs_burst_us"), "5000");
    assert_eq!(read("cpu", &id, "cpu.rt_period_us"), "900000");
    assert_eq!(read("cpuset", &id, "cpuset.cpus"), "0");
    assert_eq!(read("cpuset", &id, "cpuset.mems"), "0");
    assert_eq!(read("pids", &id, "pids.max"), "42");
    if let Some(file) = weight_file {
        assert!(read("blkio", &id, file).ends_with("300"));
    }
    assert_eq!(
        read("blkio", &id, "blkio.throttle.read_bps_device"),
        format!("{major}:{minor} 1048576")
    );
    assert_eq!(
        read("blkio", &id, "blkio.throttle.write_iops_device"),
        format!("{major}:{minor} 77")
    );
    let hugetlb = cgroup_dir("hugetlb", &id);
    let hugetlb_file = ["hugetlb.2MB.limit_in_bytes", "hugetlb.2MB.max"]
        .into_iter()
        .find(|f| hugetlb.join(f).exists())
        .expect("a hugetlb limit file");
    assert_eq!(read("hugetlb", &id, hugetlb_file), (4 << 20).to_string());
    // Deny-all first, then the spec's rule; runc's defaults (/dev/null and the
    // like) are always added on top.
    let devices = read("devices", &id, "devices.list");
    assert!(devices.lines().any(|l| l == "b 7:0 r"), "{devices}");
    assert!(!devices.lines().any(|l| l == "a *:* rwm"), "{devices}");

    // The init is in that cgroup before create returns.
    let init = runtime.init_pid(&id);
    let procs = read("memory", &id, "cgroup.procs");
    assert!(procs.lines().any(|p| p == init.to_string()), "{procs}");

    runtime.delete(&id, true).assert_success();
    assert_eq!(leftover_cgroups(&id), Vec::<PathBuf>::new());
}

/// A container with `/dev/loop0` created in it, and the given device rules.
fn loop0_container(id: &str, rules: Value) -> Bundle {
    Bundle::new(id)
        .args(&["sh", "-c", "head -c 0 /dev/loop0 && echo opened"])
        .set(
            "/linux/devices",
            json!([{ "path": "/dev/loop0", "type": "b", "major": 7, "minor": 0 }]),
        )
        .set("/linux/resources/devices", rules)
        .write()
}

#[test]
fn the_devices_cgroup_refuses_a_device_the_spec_does_not_allow() {
    let runtime = Runtime::under_test();
    let denied = unique_id();
    let allowed = unique_id();
    let deny_all = json!({ "allow": false, "access": "rwm" });
    let allow_loop0 = json!({ "allow": true, "type": "b", "major": 7, "minor": 0, "access": "r" });

    // As in runc, a device in linux.devices is created, not allowed.
    let output = runtime.run(&denied, &loop0_container(&denied, json!([deny_all])));
    output.assert_failure();
    assert!(
        output.stderr.contains("Operation not permitted"),
        "{output}"
    );

    let output = runtime.run(
        &allowed,
        &loop0_container(&allowed, json!([deny_all, allow_loop0])),
    );
    output.assert_success();
    assert_eq!(output.stdout, "opened\n");
}

/// A container with `/dev/loop0` (7:0) and `/dev/loop1` (7:1) created in it.
fn two_loop_devices(id: &str, rules: Value) -> Bundle {
    Bundle::new(id)
        .args(&["sleep", "1000"])
        .set(
            "/linux/devices",
            json!([
                { "path": "/dev/loop0", "type": "b", "major": 7, "minor": 0 },
                { "path": "/dev/loop1", "type": "b", "major": 7, "minor": 1 }
            ]),
        )
        .set("/linux/resources/devices", rules)
        .write()
}

/// Opens both loop devices inside the container; prints what it could open.
fn open_loop_devices(runtime: &Runtime, id: &str) -> Output {
    runtime.cmd(&[
        "exec",
        id,
        "sh",
        "-c",
        "for d in loop0 loop1; do head -c 0 /dev/$d && echo $d; done; true",
    ])
}

/// docker writes `--device-cgroup-rule 'b 7:* r'` as `"minor": -1`: any minor, at
/// create and after every kind of update (runc keeps the rules a container was
/// created with).
#[test]
fn a_negative_minor_in_a_device_rule_means_any_minor() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let rules = json!([
        { "allow": false, "access": "rwm" },
        { "allow": true, "type": "b", "major": 7, "minor": -1, "access": "r" }
    ]);
    let bundle = two_loop_devices(&id, rules.clone());

    runtime.create(&id, &bundle, &[]).assert_success();
    let listed = |id: &str| read("devices", id, "devices.list");
    assert!(
        listed(&id).lines().any(|l| l == "b 7:* r"),
        "{}",
        listed(&id)
    );
    runtime.start(&id).assert_success();
    let opened = open_loop_devices(&runtime, &id);
    assert_eq!(opened.stdout, "loop0\nloop1\n", "{opened}");

    runtime
        .cmd(&["update", "--pids-limit", "9", &id])
        .assert_success();
    // What containerd sends: the container's whole resources, its rules included.
    runtime
        .cmd_with_stdin(
            &["update", "--resources", "-", &id],
            &json!({ "pids": { "limit": 10 }, "devices": rules }).to_string(),
        )
        .assert_success();

    assert_eq!(read("pids", &id, "pids.max"), "10");
    assert!(
        listed(&id).lines().any(|l| l == "b 7:* r"),
        "{}",
        listed(&id)
    );
    let opened = open_loop_devices(&runtime, &id);
    assert_eq!(opened.stdout, "loop0\nloop1\n", "{opened}");
}

#[test]
fn a_negative_major_in_a_device_rule_means_any_major() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = two_loop_devices(
        &id,
        json!([
            { "allow": false, "access": "rwm" },
            { "allow": true, "type": "b", "major": -1, "minor": 1, "access": "r" }
        ]),
    );
    runtime.create_started(&id, &bundle);

    let devices = read("devices", &id, "devices.list");
    assert!(devices.lines().any(|l| l == "b *:1 r"), "{devices}");
    // Minor 1 of any major: loop1, not loop0.
    let opened = open_loop_devices(&runtime, &id);
    assert_eq!(opened.stdout, "loop1\n", "{opened}");
    assert!(
        opened.stderr.contains("Operation not permitted"),
        "{opened}"
    );
}

#[test]
fn a_memory_limit_kills_a_process_that_allocates_past_it() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        // dd touches every page of its 128 MiB buffer.
        .args(&["dd", "if=/dev/zero", "of=/dev/null", "bs=128M", "count=1"])
        .set(
            "/linux/resources/memory",
            json!({ "limit": 32 << 20, "swap": 32 << 20 }),
        )
        .write();

    let output = runtime.run(&id, &bundle);

    output.assert_status(128 + libc::SIGKILL);
}

#[test]
fn events_reports_the_oom_kill_and_ends_with_the_container() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .args(&[
            "sh",
            "-c",
            "read go < /trigger; exec dd if=/dev/zero of=/dev/null bs=128M count=1",
        ])
        .set(
            "/linux/resources/memory",
            json!({ "limit": 32 << 20, "swap": 32 << 20 }),
        )
        .write();
    let trigger = bundle.rootfs().join("trigger");
    nix::unistd::mkfifo(&trigger, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let init = runtime.create_started(&id, &bundle);

    let mut events = Command::new(runtime.bin())
        .arg("--root")
        .arg(runtime.root())
        .args(["events", "--interval", "100ms", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(events.stdout.take().unwrap()).lines();
    // The first statistics line says the watch is on: now let the container go.
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["type"], "stats");
    assert_eq!(first["id"], id.as_str());
    assert_eq!(first["data"]["memory"]["usage"]["limit"], 32 << 20);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&trigger)
        .unwrap()
        .write_all(b"go\n")
        .unwrap();

    assert_eq!(wait_exit(init), 128 + libc::SIGKILL);
    let rest: Vec<Value> = lines
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert!(events.wait().unwrap().success());
    assert!(
        rest.iter()
            .any(|e| *e == json!({ "type": "oom", "id": id })),
        "no oom event in {rest:?}"
    );
}

#[test]
fn a_pids_limit_makes_fork_fail_inside() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .args(&["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 100 & done"])
        .set("/linux/resources/pids", json!({ "limit": 4 }))
        .write();

    let output = runtime.run(&id, &bundle);

    assert!(output.stderr.contains("can't fork"), "{output}");
}

#[test]
fn events_stats_prints_one_line_of_runcs_shape() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id)
        .set("/linux/resources/pids", json!({ "limit": 50 }))
        .set("/linux/resources/cpu", json!({ "cpus": "0", "mems": "0" }))
        .write();
    runtime.create_started(&id, &bundle);

    let output = runtime.cmd(&["events", "--stats", &id]);

    output.assert_success();
    assert_eq!(output.stdout.lines().count(), 1, "{output}");
    let event: Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(event["type"], "stats");
    assert_eq!(event["id"], id.as_str());
    let data = &event["data"];
    assert_eq!(data["pids"]["current"], 1);
    assert_eq!(data["pids"]["limit"], 50);
    assert!(
        data["memory"]["usage"]["usage"].as_u64().unwrap() > 0,
        "{data}"
    );
    assert!(
        data["cpu"]["usage"]["total"].as_u64().unwrap() > 0,
        "{data}"
    );
    for key in ["blkio", "hugetlb", "intel_rdt"] {
        assert!(data.get(key).is_some(), "{key} missing: {data}");
    }
    // runc's cpuset block: the lists as numbers, each flag as the cgroup's file says.
    let cpuset = &data["cpuset"];
    assert_eq!(cpuset["cpus"], json!([0]), "{data}");
    assert_eq!(cpuset["mems"], json!([0]), "{data}");
    let flags = [
        "cpu_exclusive",
        "mem_hardwall",
        "mem_exclusive",
        "memory_migrate",
        "memory_spread_page",
        "memory_spread_slab",
        "memory_pressure",
        "sched_load_balance",
        "sched_relax_domain_level",
    ];
    assert_eq!(cpuset.as_object().unwrap().len(), 2 + flags.len(), "{data}");
    for flag in flags {
        let host: i64 = read("cpuset", &id, &format!("cpuset.{flag}"))
            .parse()
            .unwrap();
        assert_eq!(cpuset[flag], host, "{flag}: {data}");
    }
    // The container has a network namespace of its own: its interfaces are listed.
    assert!(data["network_interfaces"].is_array(), "{data}");
}

#[test]
fn events_refuses_a_stopped_container() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["true"]).write();
    let init = runtime.create_started(&id, &bundle);
    wait_exit(init);

    let output = runtime.cmd(&["events", "--stats", &id]);

    output.assert_failure();
    assert!(output.stderr.contains("is not running"), "{output}");
}

#[test]
fn update_changes_live_limits_from_flags_from_a_file_and_from_stdin() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id)
        .set("/linux/resources/memory", json!({ "limit": 64 << 20 }))
        .write();
    runtime.create_started(&id, &bundle);

    runtime
        .cmd(&[
            "update",
            "--memory",
            "100M",
            "--pids-limit",
            "7",
            "--cpu-quota",
            "20000",
            "--cpu-period",
            "100000",
            "--cpu-share",
            "256",
            &id,
        ])
        .assert_success();
    assert_eq!(
        read("memory", &id, "memory.limit_in_bytes"),
        (100 << 20).to_string()
    );
    assert_eq!(read("pids", &id, "pids.max"), "7");
    assert_eq!(read("cpu", &id, "cpu.cfs_quota_us"), "20000");
    assert_eq!(read("cpu", &id, "cpu.shares"), "256");

    let file = bundle.path().join("resources.json");
    std::fs::write(&file, json!({ "pids": { "limit": 9 } }).to_string()).unwrap();
    runtime
        .cmd(&["update", "--resources", file.to_str().unwrap(), &id])
        .assert_success();
    assert_eq!(read("pids", &id, "pids.max"), "9");

    runtime
        .cmd_with_stdin(
            &["update", "--resources=-", &id],
            &json!({ "memory": { "limit": 80 << 20 }, "cpu": { "cpus": "0" } }).to_string(),
        )
        .assert_success();
    assert_eq!(
        read("memory", &id, "memory.limit_in_bytes"),
        (80 << 20).to_string()
    );
    assert_eq!(read("cpuset", &id, "cpuset.cpus"), "0");
    // What the update did not name is left as it was.
    assert_eq!(read("pids", &id, "pids.max"), "9");

    // The plural spelling of runc's --cpu-share works too.
    runtime
        .cmd(&["update", "--cpu-shares", "128", &id])
        .assert_success();
    assert_eq!(read("cpu", &id, "cpu.shares"), "128");
}

#[test]
fn update_with_check_before_update_refuses_a_limit_below_usage() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);
    runtime.create_started(&id, &bundle);
    let before = read("memory", &id, "memory.limit_in_bytes");

    let output = runtime.cmd_with_stdin(
        &["update", "--resources", "-", &id],
        &json!({ "memory": { "limit": 4096, "checkBeforeUpdate": true } }).to_string(),
    );

    output.assert_failure();
    assert!(
        output.stderr.contains("rejecting memory limit 4096"),
        "{output}"
    );
    assert_eq!(read("memory", &id, "memory.limit_in_bytes"), before);
}

#[test]
fn update_refuses_bad_values_and_stopped_containers() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["true"]).write();
    let init = runtime.create_started(&id, &bundle);
    wait_exit(init);

    let stopped = runtime.cmd(&["update", "--pids-limit", "3", &id]);
    stopped.assert_failure();
    assert!(
        stopped.stderr.contains("container not running"),
        "{stopped}"
    );

    let bad = runtime.cmd(&["update", "--memory", "lots", &id]);
    bad.assert_failure();
    assert!(bad.stderr.contains("invalid value for memory"), "{bad}");
}

/// A create the host cannot honour fails, names the field, and leaves nothing.
#[track_caller]
fn assert_refused(resources: Value, field: &str) {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = sleeper(&id).set("/linux/resources", resources).write();

    let output = runtime.create(&id, &bundle, &[]);

    assert_failed_cleanly(&runtime, &output, &id, &[&[field]]);
}

#[test]
fn unified_resources_are_refused_on_a_v1_host() {
    assert_refused(
        json!({ "unified": { "memory.max": "1000000" } }),
        "linux.resources.unified",
    );
}

#[test]
fn a_blkio_weight_is_refused_by_name_where_the_host_has_no_weight_file() {
    let weight = json!({ "blockIO": { "weight": 300 } });
    match host_blkio_weight_file() {
        None => assert_refused(weight, "linux.resources.blockIO.weight"),
        // With BFQ the weight is written (see the test of every resource); a
        // leaf weight needs CFQ, which no kernel since 5.0 has.
        Some(_) => assert_refused(
            json!({ "blockIO": { "leafWeight": 300 } }),
            "linux.resources.blockIO.leafWeight",
        ),
    }
}

#[test]
fn rdma_limits_are_refused_where_the_host_has_no_rdma_controller() {
    let rdma = json!({ "rdma": { "mlx5_0": { "hcaHandles": 3 } } });
    let unified =
        std::fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers").unwrap_or_default();
    if host_has_v1_controller("rdma") || unified.split_whitespace().any(|c| c == "rdma") {
        // The controller is there but the device is not: the kernel refuses it.
        return assert_refused(rdma, "rdma.max");
    }
    assert_refused(rdma, "linux.resources.rdma");
}

#[test]
fn a_limit_the_kernel_refuses_fails_create_and_names_the_file() {
    assert_refused(json!({ "cpu": { "cpus": "4096" } }), "cpuset.cpus");
}

#[test]
fn the_systemd_driver_fails_at_once_where_systemd_is_not_running() {
    assert!(
        !Path::new("/run/systemd/system").exists(),
        "this test needs a host not booted by systemd"
    );
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id)
        .set("/linux/cgroupsPath", json!("system.slice:truman:x"))
        .write();

    let output = runtime.cmd(&[
        "--systemd-cgroup",
        "create",
        "--bundle",
        bundle.path().to_str().unwrap(),
        &id,
    ]);

    output.assert_failure();
    assert!(
        output.stderr.contains("systemd not running on this host"),
        "{output}"
    );
    assert!(runtime.list_json().is_empty());
}

#[test]
fn a_relative_cgroups_path_goes_below_the_runtimes_own_cgroup() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let relative = format!("{CGROUP_TEST_PARENT}/rel-{id}");
    let bundle = sleeper(&id)
        .set("/linux/cgroupsPath", json!(relative))
        .write();
    let init = runtime.create_started(&id, &bundle);

    // The runtime runs in the test's cgroups; runc joins a relative path to its
    // own cgroup in each v1 hierarchy.
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let own_pids = own
        .lines()
        .find_map(|l| l.split_once(":pids:").map(|(_, p)| p.to_owned()))
        .unwrap();
    let expected = Path::new(&own_pids).join(&relative);
    let theirs = std::fs::read_to_string(format!("/proc/{init}/cgroup")).unwrap();
    let pids_line = theirs.lines().find(|l| l.contains(":pids:")).unwrap();
    assert!(
        pids_line.ends_with(&format!(":pids:{}", expected.display())),
        "{pids_line}, expected {}",
        expected.display()
    );

    runtime.delete(&id, true).assert_success();
    let dir = Path::new("/sys/fs/cgroup/pids").join(expected.strip_prefix("/").unwrap());
    assert!(!dir.exists(), "{} left behind", dir.display());
}

/// A page size is part of a cgroup file name: one that climbs out of the cgroup
/// directory is refused before anything is created, and nothing is written.
#[test]
fn a_hostile_hugepage_size_is_refused_before_anything_is_created() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let mut config: Value = serde_json::from_str(&integration_tests::fixture(
        "broken/hostile-hugepage-size.json",
    ))
    .unwrap();
    config["linux"]["cgroupsPath"] = json!(integration_tests::test_cgroups_path(&id));
    let bundle = Bundle::new(&id).write_raw_config(&config.to_string());

    let output = runtime.create(&id, &bundle, &[]);

    output.assert_failure();
    assert!(
        output
            .stderr
            .contains("linux.resources.hugepageLimits[0].pageSize"),
        "{output}"
    );
    assert!(!Path::new("/tmp/truman-escaped").exists());
    assert_eq!(leftover_cgroups(&id), Vec::<PathBuf>::new());
    assert!(runtime.list_json().is_empty());
}

#[test]
fn a_network_class_is_written_or_refused_by_name_where_the_host_has_no_net_cls() {
    let network = json!({ "network": { "classID": 1048577 } });
    if !host_has_v1_controller("net_cls") {
        return assert_refused(network, "linux.resources.network.classID");
    }
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id).set("/linux/resources", network).write();
    runtime.create(&id, &bundle, &[]).assert_success();
    assert_eq!(read("net_cls", &id, "net_cls.classid"), "1048577");
}

/// `major.minor` of the running kernel.
fn kernel_version() -> (u32, u32) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let mut number = || parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    (number(), number())
}

#[test]
fn a_kernel_memory_limit_is_refused_by_name_where_the_kernel_ignores_it() {
    let kernel = json!({ "memory": { "kernel": 64 << 20 } });
    if kernel_version() >= (6, 1) {
        // The kernel would take the write and do nothing with it.
        return assert_refused(kernel, "linux.resources.memory.kernel");
    }
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id).set("/linux/resources", kernel).write();
    runtime.create(&id, &bundle, &[]).assert_success();
    assert_eq!(
        read("memory", &id, "memory.kmem.limit_in_bytes"),
        (64 << 20).to_string()
    );
}

/// docker's `update` sends every field, unset ones as 0: a kernel memory limit of 0
/// is no limit (runc's reading), neither refused nor written.
#[test]
fn update_takes_dockers_resources_with_zero_kernel_memory() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id);
    runtime.create_started(&id, &bundle);
    let docker = json!({
        "memory": { "limit": 96 << 20, "reservation": 0, "swap": 96 << 20, "kernel": 0 },
        "cpu": { "shares": 0, "quota": 0, "period": 0 },
        "pids": { "limit": 77 },
        "blockIO": { "weight": 0 }
    });

    runtime
        .cmd_with_stdin(&["update", "--resources", "-", &id], &docker.to_string())
        .assert_success();

    assert_eq!(
        read("memory", &id, "memory.limit_in_bytes"),
        (96 << 20).to_string()
    );
    assert_eq!(read("pids", &id, "pids.max"), "77");
}

#[test]
fn a_kernel_tcp_memory_limit_is_written_on_v1() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = sleeper(&id)
        .set(
            "/linux/resources",
            json!({ "memory": { "kernelTCP": 32 << 20 } }),
        )
        .write();
    runtime.create(&id, &bundle, &[]).assert_success();
    assert_eq!(
        read("memory", &id, "memory.kmem.tcp.limit_in_bytes"),
        (32 << 20).to_string()
    );
}
