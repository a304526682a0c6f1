//! `process` in config.json: who the container process is (user, groups,
//! umask, capabilities, no_new_privs), what it starts with (env, cwd,
//! rlimits, oom_score_adj, sysctls) and how a bad process fails `create`.
//!
//! Each scenario derives what the process must see from the config it
//! wrote (or from the host), never from an earlier run. Scenarios that
//! observe the process run under runc too when it is installed (see
//! [`on_each_runtime`]): an expectation runc does not meet is a wrong test,
//! not a truman bug.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use integration_tests::{assert_failed_cleanly, unique_id, Bundle, Output, Runtime};
use serde_json::{json, Value};

/// The reference runtime, if installed.
const RUNC: &str = "/usr/sbin/runc";

// ---------------------------------------------------------------------------
// Running a scenario
// ---------------------------------------------------------------------------

/// Runs `scenario` under runc (when it is installed and is not already the
/// runtime under test), then under the runtime under test. Each run gets
/// its own runtime, container id and bundle, so the two never share a
/// cgroup or state directory.
fn on_each_runtime(scenario: impl Fn(&Runtime, &str)) {
    let under_test = Runtime::under_test();
    let runc = Path::new(RUNC);
    if runc.exists() && !same_file(runc, under_test.bin()) {
        scenario(&Runtime::at(RUNC), &unique_id());
    }
    scenario(&under_test, &unique_id());
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// `run`s the bundle, which must exit 0; what the container printed.
#[track_caller]
fn run_ok(runtime: &Runtime, id: &str, bundle: &Bundle) -> Output {
    let output = runtime.run(id, bundle);
    output.assert_success();
    output
}

/// The value of `Field:` in a `/proc/<pid>/status` text, whitespace-trimmed.
#[track_caller]
fn status_field(status: &str, field: &str) -> String {
    let prefix = format!("{field}:");
    status
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} line in:\n{status}"))
        .trim()
        .to_string()
}

/// The `process.env` of the bundle's config.
fn config_env(bundle: &Bundle) -> Vec<String> {
    bundle.config()["process"]["env"]
        .as_array()
        .expect("process.env")
        .iter()
        .map(|v| v.as_str().expect("env entry").to_string())
        .collect()
}

/// A process's environment as `cat /proc/self/environ` printed it: the
/// exact list the runtime passed to execve, in order.
fn environ(stdout: &str) -> Vec<String> {
    stdout
        .split('\0')
        .filter(|entry| !entry.is_empty())
        .map(String::from)
        .collect()
}

/// The home directory of `uid` in the rootfs' `/etc/passwd`, if it has one.
fn home_in_rootfs(bundle: &Bundle, uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string(bundle.rootfs().join("etc/passwd"))
        .expect("read the rootfs' /etc/passwd");
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        match fields[..] {
            [_, _, entry_uid, _, _, home, _] if entry_uid.parse() == Ok(uid) => {
                Some(home.to_string())
            }
            _ => None,
        }
    })
}

// ---------------------------------------------------------------------------
// Failing cleanly
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// process.user
// ---------------------------------------------------------------------------

#[test]
fn user_uid_gid_additional_gids_and_umask_are_the_configured_ones() {
    on_each_runtime(|runtime, id| {
        let (uid, gid, umask) = (1000, 1000, 0o027);
        let mut additional_gids = vec![4242, 5];
        let bundle = Bundle::new(id)
            .set(
                "/process/user",
                json!({ "uid": uid, "gid": gid, "umask": umask,
                        "additionalGids": additional_gids }),
            )
            .args(&[
                "sh",
                "-c",
                "id -u; id -g; umask; grep '^Groups:' /proc/self/status",
            ])
            .write();

        let output = run_ok(runtime, id, &bundle);

        let lines: Vec<&str> = output.stdout.lines().collect();
        let [seen_uid, seen_gid, seen_umask, groups] = lines[..] else {
            panic!("expected 4 lines: {output}");
        };
        assert_eq!(seen_uid, uid.to_string(), "id -u: {output}");
        assert_eq!(seen_gid, gid.to_string(), "id -g: {output}");
        assert_eq!(seen_umask, format!("{umask:04o}"), "umask: {output}");
        let mut seen_groups: Vec<u32> = status_field(groups, "Groups")
            .split_whitespace()
            .map(|g| g.parse().expect("a gid"))
            .collect();
        seen_groups.sort();
        additional_gids.sort();
        assert_eq!(
            seen_groups, additional_gids,
            "supplementary groups: {output}"
        );
    });
}

#[test]
fn root_without_additional_gids_has_no_supplementary_groups() {
    on_each_runtime(|runtime, id| {
        let bundle = Bundle::new(id)
            .args(&["grep", "^Groups:", "/proc/self/status"])
            .write();
        assert!(bundle.config()["process"]["user"]
            .get("additionalGids")
            .is_none());

        let output = run_ok(runtime, id, &bundle);

        assert_eq!(status_field(&output.stdout, "Groups"), "", "{output}");
    });
}

// ---------------------------------------------------------------------------
// process.env and process.cwd
// ---------------------------------------------------------------------------

/// Runs `cat /proc/self/environ` as `uid` (and gid `uid`) with `env`; the
/// environment seen, and the bundle it ran from.
fn environ_as(runtime: &Runtime, id: &str, uid: u32, env: &[&str]) -> (Vec<String>, Bundle) {
    let bundle = Bundle::new(id)
        .set("/process/user", json!({ "uid": uid, "gid": uid }))
        .set("/process/env", json!(env))
        .args(&["cat", "/proc/self/environ"])
        .write();
    let output = run_ok(runtime, id, &bundle);
    (environ(&output.stdout), bundle)
}

/// The environment must be `process.env`, in order, plus `HOME=<home>`.
#[track_caller]
fn assert_env_plus_home(seen: &[String], bundle: &Bundle, home: &str, runtime: &Runtime) {
    let (homes, rest): (Vec<&String>, Vec<&String>) =
        seen.iter().partition(|entry| entry.starts_with("HOME="));
    let expected = config_env(bundle);
    assert_eq!(
        rest,
        expected.iter().collect::<Vec<_>>(),
        "{}: the environment is not process.env",
        runtime.bin().display()
    );
    assert_eq!(
        homes,
        [&format!("HOME={home}")],
        "{}: HOME",
        runtime.bin().display()
    );
}

#[test]
fn env_is_exactly_process_env_plus_home_from_passwd() {
    on_each_runtime(|runtime, id| {
        // Values a careless split on '=' or whitespace would mangle.
        let env = [
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            "TERM=xterm",
            "EMPTY=",
            "WITH_EQUALS=a=b=c",
            "SPACES= two  words ",
            "LANG=C.UTF-8",
        ];

        let (seen, bundle) = environ_as(runtime, id, 0, &env);

        let home = home_in_rootfs(&bundle, 0).expect("root in /etc/passwd");
        assert_env_plus_home(&seen, &bundle, &home, runtime);
    });
}

#[test]
fn env_home_of_an_unprivileged_user_comes_from_passwd() {
    on_each_runtime(|runtime, id| {
        let (seen, bundle) = environ_as(runtime, id, 1000, &["PATH=/bin", "TERM=xterm"]);

        let home = home_in_rootfs(&bundle, 1000).expect("uid 1000 in /etc/passwd");
        assert_env_plus_home(&seen, &bundle, &home, runtime);
    });
}

#[test]
fn env_home_of_a_user_missing_from_passwd_is_the_root_directory() {
    on_each_runtime(|runtime, id| {
        let uid = 4242;

        let (seen, bundle) = environ_as(runtime, id, uid, &["PATH=/bin"]);

        assert_eq!(home_in_rootfs(&bundle, uid), None, "uid {uid} has an entry");
        assert_env_plus_home(&seen, &bundle, "/", runtime);
    });
}

#[test]
fn env_home_given_in_process_env_is_kept() {
    on_each_runtime(|runtime, id| {
        let env = ["PATH=/bin", "HOME=/srv/elsewhere", "TERM=xterm"];

        let (seen, _) = environ_as(runtime, id, 1000, &env);

        assert_eq!(seen, env, "{}", runtime.bin().display());
    });
}

#[test]
fn env_variable_given_twice_takes_its_last_value() {
    on_each_runtime(|runtime, id| {
        let (seen, _) = environ_as(runtime, id, 0, &["PATH=/bin", "DUP=first", "DUP=last"]);

        let dups: Vec<&String> = seen.iter().filter(|e| e.starts_with("DUP=")).collect();
        assert_eq!(dups, ["DUP=last"], "{}: {seen:?}", runtime.bin().display());
    });
}

#[test]
fn cwd_is_the_configured_directory() {
    on_each_runtime(|runtime, id| {
        let cwd = "/home/test";
        let bundle = Bundle::new(id)
            .set("/process/cwd", json!(cwd))
            .args(&["pwd"])
            .write();
        assert!(bundle.rootfs().join("home/test").is_dir());

        let output = run_ok(runtime, id, &bundle);

        assert_eq!(output.stdout, format!("{cwd}\n"), "{output}");
    });
}

/// runc creates a missing `process.cwd` (even on a read-only root, before
/// making it read-only) rather than failing.
#[test]
fn cwd_missing_from_the_rootfs_is_created() {
    on_each_runtime(|runtime, id| {
        let cwd = format!("/made/by-runtime/{id}");
        let bundle = Bundle::new(id)
            .set("/process/cwd", json!(cwd))
            .set("/process/user", json!({ "uid": 1000, "gid": 1000 }))
            .args(&["pwd"])
            .write();
        let on_host = bundle.rootfs().join(cwd.trim_start_matches('/'));
        assert!(!on_host.exists());

        let output = run_ok(runtime, id, &bundle);

        assert_eq!(output.stdout, format!("{cwd}\n"), "{output}");
        assert!(
            on_host.is_dir(),
            "{} is not a directory in the rootfs",
            on_host.display()
        );
    });
}

// ---------------------------------------------------------------------------
// process.capabilities
// ---------------------------------------------------------------------------

/// A capability: its config name and its bit (linux/capability.h).
#[derive(Clone, Copy)]
struct Cap(&'static str, u32);

const CHOWN: Cap = Cap("CAP_CHOWN", 0);
const DAC_OVERRIDE: Cap = Cap("CAP_DAC_OVERRIDE", 1);
const FOWNER: Cap = Cap("CAP_FOWNER", 3);
const KILL: Cap = Cap("CAP_KILL", 5);
const NET_BIND_SERVICE: Cap = Cap("CAP_NET_BIND_SERVICE", 10);
const NET_RAW: Cap = Cap("CAP_NET_RAW", 13);
const SYS_CHROOT: Cap = Cap("CAP_SYS_CHROOT", 18);
const AUDIT_WRITE: Cap = Cap("CAP_AUDIT_WRITE", 29);

fn mask(caps: &[Cap]) -> u64 {
    caps.iter().fold(0, |mask, cap| mask | 1 << cap.1)
}

fn names(caps: &[Cap]) -> Value {
    json!(caps.iter().map(|cap| cap.0).collect::<Vec<_>>())
}

/// The five sets of `process.capabilities`.
struct CapSets {
    bounding: &'static [Cap],
    effective: &'static [Cap],
    permitted: &'static [Cap],
    inheritable: &'static [Cap],
    ambient: &'static [Cap],
}

impl CapSets {
    fn apply(&self, bundle: Bundle) -> Bundle {
        bundle.set(
            "/process/capabilities",
            json!({
                "bounding": names(self.bounding),
                "effective": names(self.effective),
                "permitted": names(self.permitted),
                "inheritable": names(self.inheritable),
                "ambient": names(self.ambient),
            }),
        )
    }
}

/// The `Cap*:` masks of a `/proc/<pid>/status`, in the order
/// Bnd, Eff, Prm, Inh, Amb.
#[track_caller]
fn cap_masks(status: &str) -> [u64; 5] {
    ["CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"].map(|field| {
        let hex = status_field(status, field);
        u64::from_str_radix(&hex, 16).unwrap_or_else(|e| panic!("{field}: {hex:?}: {e}"))
    })
}

#[track_caller]
fn assert_cap_masks(seen: [u64; 5], expected: [u64; 5], context: &dyn std::fmt::Display) {
    let fields = ["CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"];
    let differences: Vec<String> = fields
        .iter()
        .zip(seen.iter().zip(expected.iter()))
        .filter(|(_, (seen, expected))| seen != expected)
        .map(|(field, (seen, expected))| format!("{field}: {seen:016x}, expected {expected:016x}"))
        .collect();
    assert!(
        differences.is_empty(),
        "{}\n{context}",
        differences.join("\n")
    );
}

/// Runs `grep ^Cap /proc/self/status` (grep is the process the runtime
/// execs, so it shows the sets right after that execve) as `uid` with
/// `sets` and no_new_privs `nnp`; the masks seen and the run's output.
fn caps_after_exec(
    runtime: &Runtime,
    id: &str,
    uid: u32,
    nnp: bool,
    sets: &CapSets,
) -> ([u64; 5], Output) {
    let bundle = sets
        .apply(Bundle::new(id))
        .set("/process/user", json!({ "uid": uid, "gid": uid }))
        .set("/process/noNewPrivileges", json!(nnp))
        .args(&["grep", "^Cap", "/proc/self/status"])
        .write();
    let output = run_ok(runtime, id, &bundle);
    (cap_masks(&output.stdout), output)
}

/// Five different sets for root. Inheritable must lie within bounding and
/// ambient within permitted ∩ inheritable (the kernel refuses otherwise);
/// permitted may hold caps the bounding set lacks.
const ROOT_SETS: CapSets = CapSets {
    bounding: &[
        CHOWN,
        DAC_OVERRIDE,
        FOWNER,
        KILL,
        NET_BIND_SERVICE,
        AUDIT_WRITE,
    ],
    effective: &[CHOWN, KILL],
    permitted: &[CHOWN, FOWNER, KILL, NET_RAW, SYS_CHROOT],
    inheritable: &[CHOWN, DAC_OVERRIDE, KILL],
    ambient: &[KILL],
};

/// What root holds after execve of a file without file capabilities
/// (capabilities(7), "Capabilities and execution of programs by root"):
/// permitted' = bounding | inheritable, cut down to the old permitted set
/// under no_new_privs (no gain), plus ambient; effective' = permitted'.
/// Bounding, inheritable and ambient are kept.
fn root_after_exec(sets: &CapSets, nnp: bool) -> [u64; 5] {
    let bounding = mask(sets.bounding);
    let inheritable = mask(sets.inheritable);
    let ambient = mask(sets.ambient);
    let mut permitted = bounding | inheritable;
    if nnp {
        permitted &= mask(sets.permitted);
    }
    permitted |= ambient;
    [bounding, permitted, permitted, inheritable, ambient]
}

#[test]
fn capabilities_of_root_with_no_new_privileges_follow_all_five_sets() {
    on_each_runtime(|runtime, id| {
        let (seen, output) = caps_after_exec(runtime, id, 0, true, &ROOT_SETS);

        assert_cap_masks(seen, root_after_exec(&ROOT_SETS, true), &output);
    });
}

#[test]
fn capabilities_of_root_without_no_new_privileges_follow_the_bounding_set() {
    on_each_runtime(|runtime, id| {
        let (seen, output) = caps_after_exec(runtime, id, 0, false, &ROOT_SETS);

        assert_cap_masks(seen, root_after_exec(&ROOT_SETS, false), &output);
    });
}

/// The contract: `create` returns once everything but execve is done. The
/// init then holds exactly the five configured sets, before the exec
/// reshapes them.
#[test]
fn capabilities_are_exactly_the_configured_sets_when_create_returns() {
    on_each_runtime(|runtime, id| {
        let bundle = ROOT_SETS
            .apply(Bundle::new(id))
            .args(&["sleep", "1000"])
            .write();
        runtime.create(id, &bundle, &[]).assert_success();
        let pid = runtime.init_pid(id);

        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_else(|e| panic!("read /proc/{pid}/status: {e}"));

        let expected = [
            mask(ROOT_SETS.bounding),
            mask(ROOT_SETS.effective),
            mask(ROOT_SETS.permitted),
            mask(ROOT_SETS.inheritable),
            mask(ROOT_SETS.ambient),
        ];
        let context = format!("{} created init:\n{status}", runtime.bin().display());
        assert_cap_masks(cap_masks(&status), expected, &context);
    });
}

/// For a user other than root, execve of a plain file leaves
/// permitted' = effective' = ambient (capabilities(7)).
fn non_root_after_exec(sets: &CapSets) -> [u64; 5] {
    let ambient = mask(sets.ambient);
    [
        mask(sets.bounding),
        ambient,
        ambient,
        mask(sets.inheritable),
        ambient,
    ]
}

const USER_CAPS: [Cap; 3] = [CHOWN, NET_BIND_SERVICE, NET_RAW];

const USER_SETS_WITH_AMBIENT: CapSets = CapSets {
    bounding: &[CHOWN, KILL, NET_BIND_SERVICE, NET_RAW],
    effective: &USER_CAPS,
    permitted: &USER_CAPS,
    inheritable: &USER_CAPS,
    ambient: &[CHOWN, NET_BIND_SERVICE],
};

const USER_SETS_WITHOUT_AMBIENT: CapSets = CapSets {
    ambient: &[],
    ..USER_SETS_WITH_AMBIENT
};

#[test]
fn capabilities_of_a_non_root_user_with_ambient_caps_survive_exec() {
    on_each_runtime(|runtime, id| {
        let sets = &USER_SETS_WITH_AMBIENT;

        let (seen, output) = caps_after_exec(runtime, id, 1000, true, sets);

        assert_cap_masks(seen, non_root_after_exec(sets), &output);
        assert_ne!(seen[1], 0, "the test needs a non-empty effective set");
    });
}

#[test]
fn capabilities_of_a_non_root_user_without_ambient_caps_are_dropped_on_exec() {
    on_each_runtime(|runtime, id| {
        let sets = &USER_SETS_WITHOUT_AMBIENT;

        let (seen, output) = caps_after_exec(runtime, id, 1000, true, sets);

        assert_cap_masks(seen, non_root_after_exec(sets), &output);
    });
}

/// Gives away a file to root: needs CAP_CHOWN in the effective set of a
/// user other than root. `/dev/shm` is a writable tmpfs for everyone.
fn chown_to_root_as_user(runtime: &Runtime, id: &str, sets: &CapSets) -> Output {
    let bundle = sets
        .apply(Bundle::new(id))
        .set("/process/user", json!({ "uid": 1000, "gid": 1000 }))
        .args(&[
            "sh",
            "-c",
            "touch /dev/shm/f && echo touched && chown 0:0 /dev/shm/f && stat -c %u:%g /dev/shm/f",
        ])
        .write();
    runtime.run(id, &bundle)
}

#[test]
fn a_non_root_user_with_ambient_cap_chown_can_give_a_file_to_root() {
    on_each_runtime(|runtime, id| {
        assert!(USER_SETS_WITH_AMBIENT
            .ambient
            .iter()
            .any(|c| c.1 == CHOWN.1));

        let output = chown_to_root_as_user(runtime, id, &USER_SETS_WITH_AMBIENT);

        output.assert_success();
        assert_eq!(output.stdout, "touched\n0:0\n", "{output}");
    });
}

#[test]
fn a_non_root_user_without_ambient_caps_cannot_give_a_file_to_root() {
    on_each_runtime(|runtime, id| {
        let output = chown_to_root_as_user(runtime, id, &USER_SETS_WITHOUT_AMBIENT);

        output.assert_failure();
        assert_eq!(
            output.stdout, "touched\n",
            "the chown must be what failed: {output}"
        );
    });
}

// ---------------------------------------------------------------------------
// process.rlimits
// ---------------------------------------------------------------------------

/// The test process's (soft, hard) limit, which the runtime inherits.
fn host_rlimit(resource: libc::__rlimit_resource_t) -> (u64, u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    let rc = unsafe { libc::getrlimit(resource, &mut limit) };
    assert_eq!(rc, 0, "getrlimit: {}", std::io::Error::last_os_error());
    (limit.rlim_cur, limit.rlim_max)
}

/// The (soft, hard) columns of a `/proc/<pid>/limits` row, e.g.
/// `Max open files`; "unlimited" is `u64::MAX` (RLIM_INFINITY).
#[track_caller]
fn limits_row(limits: &str, name: &str) -> (u64, u64) {
    let row = limits
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name:?} row in:\n{limits}"));
    let value = |column: Option<&str>| match column {
        Some("unlimited") => u64::MAX,
        Some(n) => n.parse().unwrap_or_else(|_| panic!("{name}: {row:?}")),
        None => panic!("{name}: {row:?}"),
    };
    let mut columns = row.split_whitespace();
    let soft = value(columns.next());
    let hard = value(columns.next());
    (soft, hard)
}

#[test]
fn rlimits_below_the_hosts_hard_limit_are_applied() {
    // Root here lacks CAP_SYS_RESOURCE: limits can only go down.
    let (_, nofile_max) = host_rlimit(libc::RLIMIT_NOFILE);
    let (_, core_max) = host_rlimit(libc::RLIMIT_CORE);
    assert!(nofile_max > 2048, "host NOFILE hard limit {nofile_max}");
    assert!(core_max > 8192, "host CORE hard limit {core_max}");
    // Different from the host's and from the default config's 1024/1024.
    let nofile = (nofile_max / 2 - 1, nofile_max - 1);
    let core = (4096, 8192);

    on_each_runtime(|runtime, id| {
        let bundle = Bundle::new(id)
            .set(
                "/process/rlimits",
                json!([
                    { "type": "RLIMIT_NOFILE", "soft": nofile.0, "hard": nofile.1 },
                    { "type": "RLIMIT_CORE", "soft": core.0, "hard": core.1 },
                ]),
            )
            .args(&["sh", "-c", "ulimit -n; cat /proc/self/limits"])
            .write();

        let output = run_ok(runtime, id, &bundle);

        let (ulimit_n, limits) = output.stdout.split_once('\n').expect("two parts");
        assert_eq!(ulimit_n, nofile.0.to_string(), "ulimit -n: {output}");
        assert_eq!(limits_row(limits, "Max open files"), nofile, "{output}");
        assert_eq!(limits_row(limits, "Max core file size"), core, "{output}");
    });
}

/// A NOFILE hard limit one above the host's, which root without
/// CAP_SYS_RESOURCE cannot get; `None` if the host has no limit.
fn nofile_above_the_hard_limit() -> Option<Value> {
    let (_, max) = host_rlimit(libc::RLIMIT_NOFILE);
    if max == libc::RLIM_INFINITY {
        eprintln!("skipped: the host has no NOFILE hard limit to exceed");
        return None;
    }
    Some(json!([{ "type": "RLIMIT_NOFILE", "soft": 1024, "hard": max + 1 }]))
}

/// What names RLIMIT_NOFILE in an error: its name, or runc's
/// "rlimit type <number>".
fn nofile_mentions() -> [String; 2] {
    [
        "RLIMIT_NOFILE".to_string(),
        format!("rlimit type {}", libc::RLIMIT_NOFILE),
    ]
}

#[test]
fn create_with_an_rlimit_above_the_hard_limit_fails_naming_it() {
    let Some(rlimits) = nofile_above_the_hard_limit() else {
        return;
    };
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .set("/process/rlimits", rlimits)
        .args(&["true"])
        .write();

    let output = runtime.create(&id, &bundle, &[]);

    let mentions = nofile_mentions();
    let mentions: Vec<&str> = mentions.iter().map(String::as_str).collect();
    assert_failed_cleanly(&runtime, &output, &id, &[&mentions]);
}

#[test]
fn run_with_an_rlimit_above_the_hard_limit_fails_naming_it() {
    let Some(rlimits) = nofile_above_the_hard_limit() else {
        return;
    };
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .set("/process/rlimits", rlimits)
        .args(&["echo", "should not run"])
        .write();

    let output = runtime.run(&id, &bundle);

    let mentions = nofile_mentions();
    let mentions: Vec<&str> = mentions.iter().map(String::as_str).collect();
    assert_failed_cleanly(&runtime, &output, &id, &[&mentions]);
    assert_eq!(output.stdout, "", "the process ran: {output}");
}

// ---------------------------------------------------------------------------
// noNewPrivileges, oomScoreAdj
// ---------------------------------------------------------------------------

#[track_caller]
fn assert_no_new_privs(configured: bool) {
    let host = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    assert_eq!(
        status_field(&host, "NoNewPrivs"),
        "0",
        "the test process has no_new_privs, which no child can drop"
    );
    on_each_runtime(|runtime, id| {
        let bundle = Bundle::new(id)
            .set("/process/noNewPrivileges", json!(configured))
            .args(&["grep", "^NoNewPrivs:", "/proc/self/status"])
            .write();

        let output = run_ok(runtime, id, &bundle);

        let expected = if configured { "1" } else { "0" };
        assert_eq!(
            status_field(&output.stdout, "NoNewPrivs"),
            expected,
            "{output}"
        );
    });
}

#[test]
fn no_new_privileges_true_sets_no_new_privs() {
    assert_no_new_privs(true);
}

#[test]
fn no_new_privileges_false_leaves_no_new_privs_unset() {
    assert_no_new_privs(false);
}

#[test]
fn oom_score_adj_is_the_configured_value() {
    let host: i32 = std::fs::read_to_string("/proc/self/oom_score_adj")
        .expect("read /proc/self/oom_score_adj")
        .trim()
        .parse()
        .expect("oom_score_adj");
    // Positive (lowering needs CAP_SYS_RESOURCE) and not what the container
    // would inherit from us anyway.
    let adj = if host == 500 { 600 } else { 500 };

    on_each_runtime(|runtime, id| {
        let bundle = Bundle::new(id)
            .set("/process/oomScoreAdj", json!(adj))
            .args(&["cat", "/proc/self/oom_score_adj"])
            .write();

        let output = run_ok(runtime, id, &bundle);

        assert_eq!(output.stdout, format!("{adj}\n"), "{output}");
    });
}

// ---------------------------------------------------------------------------
// process.args
// ---------------------------------------------------------------------------

#[test]
fn create_with_an_executable_not_in_path_fails_like_runc() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let program = format!("no-such-program-{id}");
    let bundle = Bundle::new(&id).args(&[&program]).write();

    let output = runtime.create(&id, &bundle, &[]);

    // podman matches this wording to report "command not found" (exit 127).
    assert_failed_cleanly(
        &runtime,
        &output,
        &id,
        &[&["executable file not found in $PATH"], &[&program]],
    );
}

#[test]
fn create_with_a_missing_absolute_executable_fails_naming_it() {
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let program = format!("/bin/no-such-program-{id}");
    let bundle = Bundle::new(&id).args(&[&program]).write();

    let output = runtime.create(&id, &bundle, &[]);

    // podman's other "not found" pattern.
    assert_failed_cleanly(
        &runtime,
        &output,
        &id,
        &[&["no such file or directory"], &[&program]],
    );
}

// ---------------------------------------------------------------------------
// linux.sysctl
// ---------------------------------------------------------------------------

/// An exclusive lock, across test processes, on reading and restoring the
/// host's sysctls: a write one test's runtime leaks to the host must not
/// become another test's "before" value (which it would then "restore").
struct HostSysctlLock {
    _file: File,
}

fn lock_host_sysctls() -> HostSysctlLock {
    let path = std::env::temp_dir().join("truman-tests-host-sysctls.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    // Held for one test: at most a few runtime commands, each with a deadline.
    // SAFETY: flock on an fd we own; the lock goes with the fd.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(
        rc,
        0,
        "flock {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
    HostSysctlLock { _file: file }
}

/// A host sysctl's value, e.g. `host_sysctl("net.ipv4.ip_forward")`.
fn host_sysctl(key: &str) -> String {
    let path = sysctl_path(key);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {path}: {e}"))
        .trim()
        .to_string()
}

fn sysctl_path(key: &str) -> String {
    format!("/proc/sys/{}", key.replace('.', "/"))
}

/// Fails if the host's value of `key` is no longer `before`, restoring it
/// first so that a runtime that leaked the write does not leave the host
/// changed.
#[track_caller]
fn assert_host_sysctl_unchanged(key: &str, before: &str, context: &dyn std::fmt::Display) {
    let after = host_sysctl(key);
    if after != before {
        let _ = std::fs::write(sysctl_path(key), before);
    }
    assert_eq!(
        after, before,
        "the host's {key} changed (restored): {context}"
    );
}

/// A value for `key` that differs from the host's current `host` one, so
/// that seeing it proves the runtime set it.
fn a_value_the_host_lacks(key: &str, host: &str) -> String {
    let candidates: &[&str] = match key {
        "net.ipv4.ip_forward" => &["1", "0"],
        "kernel.shmmax" => &["1073741824", "2147483648"],
        other => panic!("no candidate values for {other}"),
    };
    candidates
        .iter()
        .find(|value| **value != host)
        .expect("two different candidates")
        .to_string()
}

/// Sets `key` to a value the host lacks in a container with all the
/// default namespaces; the process must see that value and the host must
/// keep its own.
#[track_caller]
fn assert_sysctl_is_private(key: &str) {
    let _lock = lock_host_sysctls();
    let before = host_sysctl(key);
    let value = a_value_the_host_lacks(key, &before);
    on_each_runtime(|runtime, id| {
        let bundle = Bundle::new(id)
            .set("/linux/sysctl", json!({ key: value }))
            .args(&["cat", &sysctl_path(key)])
            .write();

        let output = run_ok(runtime, id, &bundle);

        assert_eq!(output.stdout, format!("{value}\n"), "{output}");
        assert_host_sysctl_unchanged(key, &before, &output);
    });
}

#[test]
fn sysctl_net_ipv4_ip_forward_is_set_in_the_network_namespace_only() {
    assert_sysctl_is_private("net.ipv4.ip_forward");
}

#[test]
fn sysctl_kernel_shmmax_is_set_in_the_ipc_namespace_only() {
    assert_sysctl_is_private("kernel.shmmax");
}

/// Without its namespace, a namespaced sysctl would be the host's: the
/// runtime must refuse it before touching anything.
#[track_caller]
fn assert_sysctl_refused_without(namespace: &str, key: &str) {
    let _lock = lock_host_sysctls();
    let before = host_sysctl(key);
    let value = a_value_the_host_lacks(key, &before);
    let runtime = Runtime::under_test().with_json_log();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .without_namespace(namespace)
        .set("/linux/sysctl", json!({ key: value }))
        .args(&["cat", &sysctl_path(key)])
        .write();

    let output = runtime.create(&id, &bundle, &[]);

    assert_host_sysctl_unchanged(key, &before, &output);
    assert_failed_cleanly(&runtime, &output, &id, &[&[key]]);
}

#[test]
fn sysctl_net_without_a_network_namespace_is_refused() {
    assert_sysctl_refused_without("network", "net.ipv4.ip_forward");
}

#[test]
fn sysctl_ipc_without_an_ipc_namespace_is_refused() {
    assert_sysctl_refused_without("ipc", "kernel.shmmax");
}

/// sysctl.d's path form of a key, which runc takes too.
#[test]
fn a_sysctl_given_as_a_path_is_set_as_its_dotted_name() {
    let _lock = lock_host_sysctls();
    let key = "net.ipv4.ip_forward";
    let before = host_sysctl(key);
    let value = a_value_the_host_lacks(key, &before);
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .set("/linux/sysctl", json!({ "net/ipv4/ip_forward": value }))
        .args(&["cat", &sysctl_path(key)])
        .write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    assert_eq!(output.stdout, format!("{value}\n"), "{output}");
    assert_host_sysctl_unchanged(key, &before, &output);
}

#[test]
fn a_sysctl_key_that_climbs_out_of_proc_sys_or_names_the_hostname_is_refused() {
    for key in ["net/../../sysrq-trigger", "kernel.hostname"] {
        let runtime = Runtime::under_test().with_json_log();
        let id = unique_id();
        let bundle = Bundle::new(&id)
            .set("/linux/sysctl", json!({ key: "1" }))
            .write();
        let output = runtime.create(&id, &bundle, &[]);
        assert_failed_cleanly(&runtime, &output, &id, &[&[&format!("linux.sysctl.{key}")]]);
    }
}

#[test]
fn the_container_process_gets_default_signal_handling() {
    let runtime = Runtime::under_test();
    let id = unique_id();
    let bundle = Bundle::new(&id)
        .args(&["sh", "-c", "grep -E '^Sig(Ign|Blk):' /proc/self/status"])
        .write();

    let output = runtime.run(&id, &bundle);

    output.assert_success();
    for line in output.stdout.lines() {
        let mask = u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap();
        let sigpipe = 1u64 << (libc::SIGPIPE - 1);
        assert_eq!(
            mask & sigpipe,
            0,
            "SIGPIPE must not be ignored or blocked: {line}"
        );
    }
    assert!(
        output.stdout.contains("SigBlk:\t0000000000000000"),
        "{output}"
    );
}
