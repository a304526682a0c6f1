//! What the kernel keeps per task that a config sets, seen from inside the
//! container: `process.scheduler` (the policy, nice and real-time priority of
//! `/proc/self/stat`), `process.ioPriority` (busybox `ionice -p`),
//! `process.execCPUAffinity` (`Cpus_allowed_list` of `/proc/self/status`),
//! `linux.personality` (`uname -m`) and `linux.memoryPolicy` (`/proc/self/numa_maps`).
//! Each value the kernel would not take is refused by name, with nothing left behind.

use integration_tests::{assert_failed_cleanly, unique_id, Bundle, Runtime};
use serde_json::{json, Value};

/// Fields of `/proc/<pid>/stat` (proc(5), counted from 1).
const NICE: usize = 19;
const RT_PRIORITY: usize = 40;
const POLICY: usize = 41;

/// Field `n` of a stat line; the command name (field 2) may hold spaces, so the
/// count starts after its closing parenthesis.
#[track_caller]
fn stat_field(line: &str, n: usize) -> String {
    let (_, rest) = line
        .rsplit_once(')')
        .unwrap_or_else(|| panic!("not a stat line: {line:?}"));
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields
        .get(n - 3)
        .unwrap_or_else(|| panic!("stat line has no field {n}: {line:?}"))
        .to_string()
}

/// `run` of `args`, whose stdout is returned; the run must succeed.
#[track_caller]
fn run_ok(id: &str, bundle: Bundle) -> String {
    let runtime = Runtime::under_test();
    let output = runtime.run(id, &bundle.write());
    output.assert_success();
    output.stdout
}

/// `run` of a bundle with `value` at `pointer` must fail before anything runs,
/// naming `field`.
#[track_caller]
fn assert_refused(pointer: &str, value: Value, field: &str) {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .set(pointer, value)
        .args(&["echo", "should not run"])
        .write();

    let output = runtime.run(&id, &bundle);

    assert_failed_cleanly(&runtime, &output, &id, &[&[field]]);
    assert_eq!(output.stdout, "", "the process ran: {output}");
}

// ---------------------------------------------------------------------------
// process.scheduler
// ---------------------------------------------------------------------------

#[test]
fn scheduler_policy_and_nice_are_the_processs() {
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .set(
            "/process/scheduler",
            json!({ "policy": "SCHED_BATCH", "nice": 7 }),
        )
        .args(&["cat", "/proc/self/stat"]);

    let stat = run_ok(&id, bundle);

    assert_eq!(stat_field(&stat, POLICY), "3", "SCHED_BATCH: {stat}");
    assert_eq!(stat_field(&stat, NICE), "7", "{stat}");
}

#[test]
fn a_negative_nice_is_set_while_the_process_may_still_raise_it() {
    // The default capabilities have no CAP_SYS_NICE: the nice is set before they
    // are dropped, as runc does.
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .set(
            "/process/scheduler",
            json!({ "policy": "SCHED_OTHER", "nice": -5 }),
        )
        .args(&["cat", "/proc/self/stat"]);

    let stat = run_ok(&id, bundle);

    assert_eq!(stat_field(&stat, POLICY), "0", "{stat}");
    assert_eq!(stat_field(&stat, NICE), "-5", "{stat}");
}

/// A real-time policy in a cgroup: where the kernel schedules real-time tasks by
/// group (`cpu.rt_runtime_us` exists), the container's cgroup needs a runtime of its
/// own, from a parent that has some: the root's.
#[test]
fn a_real_time_policy_with_reset_on_fork_leaves_children_to_the_default() {
    let id = unique_id();
    let mut bundle = Bundle::new(&id)
        .set(
            "/process/scheduler",
            json!({ "policy": "SCHED_FIFO", "priority": 10, "flags": ["SCHED_RESET_ON_FORK"] }),
        )
        // The first cat is a child of sh; the last command sh execs itself.
        .args(&["sh", "-c", "cat /proc/self/stat; cat /proc/$$/stat"]);
    if std::path::Path::new("/sys/fs/cgroup/cpu/cpu.rt_runtime_us").exists() {
        bundle = bundle
            .set("/linux/cgroupsPath", json!(format!("/{id}")))
            .set(
                "/linux/resources/cpu",
                json!({ "realtimeRuntime": 10000, "realtimePeriod": 1000000 }),
            );
    }

    let output = run_ok(&id, bundle);

    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 2, "{output}");
    assert_eq!(stat_field(lines[1], POLICY), "1", "SCHED_FIFO: {output}");
    assert_eq!(stat_field(lines[1], RT_PRIORITY), "10", "{output}");
    assert_eq!(
        stat_field(lines[0], POLICY),
        "0",
        "the child of a SCHED_RESET_ON_FORK process is SCHED_OTHER: {output}"
    );
    assert!(
        !std::path::Path::new(&format!("/sys/fs/cgroup/cpu/{id}")).exists(),
        "the container's cgroup outlived it"
    );
}

#[test]
fn scheduler_fields_the_kernel_would_not_take_are_refused_by_name() {
    let cases = [
        (
            json!({ "policy": "SCHED_OTHER", "nice": 20 }),
            "process.scheduler.nice",
        ),
        (
            json!({ "policy": "SCHED_OTHER", "priority": 3 }),
            "process.scheduler.priority",
        ),
        (
            json!({ "policy": "SCHED_RR" }),
            "process.scheduler.priority",
        ),
        (
            json!({ "policy": "SCHED_FIFO", "priority": 5, "runtime": 1000 }),
            "process.scheduler.runtime",
        ),
        (json!({ "policy": "SCHED_ISO" }), "process.scheduler.policy"),
    ];
    for (scheduler, field) in cases {
        assert_refused("/process/scheduler", scheduler, field);
    }
}

// ---------------------------------------------------------------------------
// process.ioPriority
// ---------------------------------------------------------------------------

#[test]
fn io_priority_is_the_processs() {
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .set(
            "/process/ioPriority",
            json!({ "class": "IOPRIO_CLASS_BE", "priority": 6 }),
        )
        .args(&["sh", "-c", "ionice -p $$"]);

    assert_eq!(run_ok(&id, bundle).trim(), "best-effort: prio 6");

    let id = unique_id();
    let bundle = Bundle::new(&id)
        .set(
            "/process/ioPriority",
            json!({ "class": "IOPRIO_CLASS_IDLE", "priority": 0 }),
        )
        .args(&["sh", "-c", "ionice -p $$"]);

    // busybox names the idle class alone: it has no levels.
    assert_eq!(run_ok(&id, bundle).trim(), "idle");
}

#[test]
fn an_io_priority_level_past_7_is_refused_by_name() {
    assert_refused(
        "/process/ioPriority",
        json!({ "class": "IOPRIO_CLASS_RT", "priority": 8 }),
        "process.ioPriority.priority",
    );
}

// ---------------------------------------------------------------------------
// linux.personality
// ---------------------------------------------------------------------------

/// What `uname -m` says under the 32-bit personality on this host (i686 on x86_64).
fn machine_under_linux32() -> String {
    let output = std::process::Command::new("setarch")
        .args(["linux32", "uname", "-m"])
        .output()
        .expect("run setarch (util-linux)");
    assert!(output.status.success(), "setarch linux32 uname -m failed");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn the_linux32_personality_changes_what_uname_says_for_the_init_and_exec() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .set("/linux/personality", json!({ "domain": "LINUX32" }))
        .args(&["sleep", "1000"])
        .write();
    runtime.create(&id, &bundle, &[]).assert_success();
    let init = runtime.init_pid(&id);
    runtime.start(&id).assert_success();
    let want = machine_under_linux32();

    let exec = runtime.cmd(&["exec", &id, "uname", "-m"]);

    exec.assert_success();
    assert_eq!(exec.stdout.trim(), want, "exec: {exec}");
    let personality = std::fs::read_to_string(format!("/proc/{init}/personality"))
        .expect("read the init's personality");
    assert_eq!(personality.trim(), "00000008", "PER_LINUX32 for the init");
}

#[test]
fn the_linux_personality_is_the_hosts() {
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .set("/linux/personality", json!({ "domain": "LINUX" }))
        .args(&["uname", "-m"]);

    assert_eq!(run_ok(&id, bundle).trim(), std::env::consts::ARCH);
}

#[test]
fn personality_flags_are_refused_by_name() {
    assert_refused(
        "/linux/personality",
        json!({ "domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"] }),
        "linux.personality.flags",
    );
}

// ---------------------------------------------------------------------------
// linux.memoryPolicy
// ---------------------------------------------------------------------------

/// The NUMA nodes the host has online.
fn host_nodes() -> Vec<u32> {
    let text = std::fs::read_to_string("/sys/devices/system/node/online").unwrap_or("0".into());
    text.trim()
        .split(',')
        .flat_map(|part| {
            let (low, high) = part.split_once('-').unwrap_or((part, part));
            low.parse::<u32>().unwrap()..=high.parse::<u32>().unwrap()
        })
        .collect()
}

/// The policy `numa_maps` shows for the process's stack (a mapping without a policy
/// of its own shows the task's).
#[track_caller]
fn stack_policy(numa_maps: &str) -> String {
    numa_maps
        .lines()
        .find(|line| line.contains(" stack"))
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no stack line in numa_maps: {numa_maps}"))
        .to_string()
}

#[test]
fn a_memory_policy_is_the_task_policy_of_the_init_and_of_exec() {
    let node = host_nodes()[0];
    let cases = [
        ("MPOL_BIND", Some(node), format!("bind:{node}")),
        ("MPOL_INTERLEAVE", Some(node), format!("interleave:{node}")),
        ("MPOL_PREFERRED", Some(node), format!("prefer:{node}")),
        ("MPOL_LOCAL", None, "local".to_string()),
    ];
    for (mode, nodes, want) in cases {
        let runtime = Runtime::under_test();
        let id = unique_id();
        let mut policy = json!({ "mode": mode });
        if let Some(node) = nodes {
            policy["nodes"] = json!(node.to_string());
        }
        let bundle = Bundle::new(&id)
            .set("/linux/memoryPolicy", policy)
            .args(&["sh", "-c", "cat /proc/self/numa_maps; exec sleep 1000"])
            .write();
        let (created, mut stdout) = runtime.create_piped(&id, &bundle, &[]);
        created.assert_success();
        runtime.start(&id).assert_success();
        let mut init_maps = String::new();
        while let Some(line) = stdout.read_line() {
            let stack = line.contains(" stack");
            init_maps.push_str(&line);
            init_maps.push('\n');
            if stack {
                break;
            }
        }

        let exec = runtime.cmd(&["exec", &id, "cat", "/proc/self/numa_maps"]);

        assert_eq!(stack_policy(&init_maps), want, "{mode}, init");
        exec.assert_success();
        assert_eq!(stack_policy(&exec.stdout), want, "{mode}, exec");
    }
}

#[test]
fn a_memory_policy_on_a_node_the_host_lacks_is_refused_by_name() {
    let missing = host_nodes().iter().max().unwrap() + 1;
    assert_refused(
        "/linux/memoryPolicy",
        json!({ "mode": "MPOL_BIND", "nodes": missing.to_string() }),
        "linux.memoryPolicy.nodes",
    );
    assert_refused(
        "/linux/memoryPolicy",
        json!({ "mode": "MPOL_DEFAULT", "nodes": "0" }),
        "linux.memoryPolicy.nodes",
    );
    assert_refused(
        "/linux/memoryPolicy",
        json!({ "mode": "MPOL_INTERLEAVE" }),
        "linux.memoryPolicy.nodes",
    );
}

// ---------------------------------------------------------------------------
// process.execCPUAffinity, and the reset of an inherited affinity
// ---------------------------------------------------------------------------

/// The CPUs this host has online, as the kernel lists them (`0-1`).
fn online_cpus() -> String {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .expect("read online CPUs")
        .trim()
        .to_string()
}

/// Pins the calling thread, and so the runtime it starts, to CPU 0 (`taskset -c 0`).
fn pin_this_thread_to_cpu_0() {
    let mut set = nix::sched::CpuSet::new();
    set.set(0).unwrap();
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).expect("pin to CPU 0");
}

/// `Cpus_allowed_list` of a `/proc/<pid>/status`.
#[track_caller]
fn cpus_allowed(status: &str) -> String {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .unwrap_or_else(|| panic!("no Cpus_allowed_list in {status}"))
        .trim()
        .to_string()
}

/// A host with one CPU cannot tell an affinity from the default.
fn has_two_cpus() -> bool {
    let two = online_cpus() != "0";
    if !two {
        eprintln!("one CPU online: affinity cannot differ from the default here");
    }
    two
}

#[test]
fn a_runtime_pinned_to_one_cpu_does_not_pin_the_container() {
    if !has_two_cpus() {
        return;
    }
    pin_this_thread_to_cpu_0();
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id).args(&["sleep", "1000"]).write();
    runtime.create(&id, &bundle, &[]).assert_success();
    runtime.start(&id).assert_success();
    let init = runtime.init_pid(&id);

    let exec = runtime.cmd(&["exec", &id, "cat", "/proc/self/status"]);

    let init_status = std::fs::read_to_string(format!("/proc/{init}/status")).unwrap();
    assert_eq!(cpus_allowed(&init_status), online_cpus(), "the init");
    exec.assert_success();
    assert_eq!(cpus_allowed(&exec.stdout), online_cpus(), "exec");
}

#[test]
fn exec_cpu_affinity_final_is_where_the_exec_runs_and_initial_alone_stays() {
    if !has_two_cpus() {
        return;
    }
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .set(
            "/process/execCPUAffinity",
            json!({ "initial": "0", "final": "1" }),
        )
        .args(&["sleep", "1000"])
        .write();
    runtime.create(&id, &bundle, &[]).assert_success();
    runtime.start(&id).assert_success();
    let init = runtime.init_pid(&id);

    // From the config's process.
    let from_config = runtime.cmd(&["exec", &id, "cat", "/proc/self/status"]);
    // From a process.json, as containerd's exec gives it.
    let process = json!({
        "args": ["cat", "/proc/self/status"],
        "cwd": "/",
        "user": { "uid": 0, "gid": 0 },
        "env": ["PATH=/bin"],
        "execCPUAffinity": { "initial": "0" }
    });
    let only_initial =
        runtime.cmd_with_stdin(&["exec", "--process", "-", &id], &process.to_string());

    from_config.assert_success();
    assert_eq!(cpus_allowed(&from_config.stdout), "1", "final");
    only_initial.assert_success();
    assert_eq!(
        cpus_allowed(&only_initial.stdout),
        "0",
        "initial alone, kept after the cgroup join"
    );
    let init_status = std::fs::read_to_string(format!("/proc/{init}/status")).unwrap();
    assert_eq!(
        cpus_allowed(&init_status),
        online_cpus(),
        "execCPUAffinity is not the init's"
    );
}

#[test]
fn an_exec_cpu_affinity_past_any_cpu_set_is_refused_by_name() {
    assert_refused(
        "/process/execCPUAffinity",
        json!({ "final": "5000" }),
        "process.execCPUAffinity.final",
    );
}
