//! The resctrl file writes, against a temporary directory laid out as a resctrl mount
//! (`info/`, the root's `schemata`, groups as directories). What such a directory
//! cannot show is what the kernel does by itself: it makes a group's `tasks`,
//! `schemata` and `mon_groups` at mkdir, and removes a group with its files at rmdir.
//! The tests do those steps by hand where they need them.

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxIntelRdt;

use super::*;
use crate::id::ContainerId;

struct FakeResctrl {
    dir: tempfile::TempDir,
}

impl FakeResctrl {
    /// A resctrl mount with CAT (`info/L3`), MBA (`info/MB`) and the given
    /// monitoring features (`info/L3_MON`, where there are any).
    fn new(cat: bool, mba: bool, monitoring: &[&str]) -> FakeResctrl {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let put = |file: &str, text: &str| {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        put("info/last_cmd_status", "ok\n");
        put("tasks", "1\n");
        let mut schemata = String::new();
        if cat {
            put("info/L3/cbm_mask", "fffff\n");
            put("info/L3/min_cbm_bits", "1\n");
            put("info/L3/num_closids", "16\n");
            schemata.push_str("    L3:0=fffff;1=fffff\n");
        }
        if mba {
            put("info/MB/bandwidth_gran", "10\n");
            put("info/MB/delay_linear", "1\n");
            put("info/MB/min_bandwidth", "10\n");
            put("info/MB/num_closids", "8\n");
            schemata.push_str("    MB:0=100;1=100\n");
        }
        if !monitoring.is_empty() {
            put("info/L3_MON/mon_features", &(monitoring.join("\n") + "\n"));
        }
        put("schemata", &schemata);
        FakeResctrl { dir }
    }

    fn resctrl(&self) -> Resctrl {
        Resctrl::at(self.dir.path())
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// A group someone made before the container, holding `schemata`.
    fn group(&self, name: &str, schemata: &str) {
        std::fs::create_dir_all(self.path(name).join("mon_groups")).unwrap();
        std::fs::write(self.path(name).join("schemata"), schemata).unwrap();
    }
}

fn rdt(mut json: serde_json::Value) -> LinuxIntelRdt {
    // oci-spec's names for runtime-spec's enableCMT and enableMBM (see spec/load.rs).
    let object = json.as_object_mut().unwrap();
    for (spec_name, oci_spec_name) in [("enableCMT", "enableCmt"), ("enableMBM", "enableMbm")] {
        if let Some(flag) = object.remove(spec_name) {
            object.insert(oci_spec_name.to_owned(), flag);
        }
    }
    serde_json::from_value(json).unwrap()
}

fn id() -> ContainerId {
    ContainerId::parse("ctr1").unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn refusal(result: Result<RdtPlan, IntelRdtError>) -> (&'static str, String) {
    match result {
        Err(IntelRdtError::Refused { field, why }) => (field, why),
        other => panic!("not refused: {other:?}"),
    }
}

/// The files the kernel makes in a group at mkdir, and takes with it at rmdir, gone.
fn as_the_kernel_removes(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.file_type().unwrap().is_file() {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
}

#[test]
fn without_a_resctrl_mount_intel_rdt_is_refused_with_runcs_words() {
    let (field, why) = refusal(plan(&rdt(serde_json::json!({})), &id(), None));
    assert_eq!(field, "linux.intelRdt");
    assert!(
        why.starts_with("intelRdt is specified in config, but Intel RDT is not enabled"),
        "{why}"
    );
}

#[test]
fn a_feature_the_host_lacks_is_refused_by_its_field() {
    let bare = FakeResctrl::new(false, false, &[]);
    for (config, field, words) in [
        (
            serde_json::json!({ "l3CacheSchema": "L3:0=f" }),
            "linux.intelRdt.l3CacheSchema",
            "Intel RDT/CAT is not enabled",
        ),
        (
            serde_json::json!({ "memBwSchema": "MB:0=50" }),
            "linux.intelRdt.memBwSchema",
            "Intel RDT/MBA is not enabled",
        ),
        (
            serde_json::json!({ "enableMonitoring": true }),
            "linux.intelRdt.enableMonitoring",
            "monitoring is not enabled",
        ),
        (
            serde_json::json!({ "enableCMT": true }),
            "linux.intelRdt.enableCMT",
            "Intel RDT/CMT is not enabled",
        ),
        (
            serde_json::json!({ "enableMBM": true }),
            "linux.intelRdt.enableMBM",
            "Intel RDT/MBM is not enabled",
        ),
    ] {
        let (got, why) = refusal(plan(&rdt(config.clone()), &id(), Some(&bare.resctrl())));
        assert_eq!(got, field, "{config}");
        assert!(why.contains(words), "{config}: {why}");
    }
    // Only cache occupancy counted: bandwidth monitoring is refused, occupancy is not.
    let occupancy = FakeResctrl::new(false, false, &["llc_occupancy"]);
    let (got, _) = refusal(plan(
        &rdt(serde_json::json!({ "enableMBM": true })),
        &id(),
        Some(&occupancy.resctrl()),
    ));
    assert_eq!(got, "linux.intelRdt.enableMBM");
    assert!(plan(
        &rdt(serde_json::json!({ "enableCMT": true })),
        &id(),
        Some(&occupancy.resctrl())
    )
    .is_ok());
}

#[test]
fn a_clos_id_that_is_not_one_directory_name_is_refused() {
    let host = FakeResctrl::new(true, true, &[]);
    for bad in [".", "..", "a/b", "../etc"] {
        let (field, why) = refusal(plan(
            &rdt(serde_json::json!({ "closID": bad, "l3CacheSchema": "L3:0=f" })),
            &id(),
            Some(&host.resctrl()),
        ));
        assert_eq!(field, "linux.intelRdt.closID");
        assert!(why.contains("invalid intelRdt.ClosID"), "{why}");
    }
    assert!(!host.path("etc").exists());
}

#[test]
fn the_containers_own_group_gets_the_schemata_then_the_init_then_goes_with_it() {
    let host = FakeResctrl::new(true, true, &[]);
    let config = rdt(serde_json::json!({
        "l3CacheSchema": "L3:0=7f0;1=1f",
        "memBwSchema": "MB:0=20;1=70"
    }));

    let plan = plan(&config, &id(), Some(&host.resctrl())).unwrap();
    plan.apply(4242).unwrap();

    let group = host.path("ctr1");
    assert_eq!(plan.group.path, group);
    assert!(plan.group.owned);
    assert_eq!(
        read(&group.join("schemata")),
        "L3:0=7f0;1=1f\nMB:0=20;1=70\n"
    );
    assert_eq!(read(&group.join("tasks")), "4242\n");
    // An exec'd process joins the same group.
    plan.group.join(4343).unwrap();
    assert_eq!(read(&group.join("tasks")), "4343\n");

    as_the_kernel_removes(&group);
    plan.group.remove().unwrap();
    assert!(!group.exists());
    // Removing twice (delete after a failed create's cleanup) is fine.
    plan.group.remove().unwrap();
}

#[test]
fn schemata_is_written_after_the_older_fields() {
    let host = FakeResctrl::new(true, false, &[]);
    let config = rdt(serde_json::json!({
        "l3CacheSchema": "L3:0=7f0",
        "schemata": ["L3:0=ff", "L2:0=3"]
    }));

    plan(&config, &id(), Some(&host.resctrl()))
        .unwrap()
        .apply(1)
        .unwrap();

    // The last of the two writes (each replaces the file here; the kernel keeps
    // what a later write does not name).
    assert_eq!(read(&host.path("ctr1/schemata")), "L3:0=ff\nL2:0=3\n");
}

#[test]
fn monitoring_makes_the_containers_own_monitoring_group() {
    let host = FakeResctrl::new(true, false, &["llc_occupancy", "mbm_total_bytes"]);
    host.group("gold", "L3:0=ff\n");
    let config = rdt(serde_json::json!({ "closID": "gold", "enableMonitoring": true }));

    let plan = plan(&config, &id(), Some(&host.resctrl())).unwrap();
    plan.apply(77).unwrap();

    let mon = host.path("gold/mon_groups/ctr1");
    assert_eq!(plan.group.mon_group.as_deref(), Some(mon.as_path()));
    assert_eq!(read(&host.path("gold/tasks")), "77\n");
    assert_eq!(read(&mon.join("tasks")), "77\n");
    assert!(plan.group.report_cmt && plan.group.report_mbm);

    as_the_kernel_removes(&mon);
    plan.group.remove().unwrap();
    assert!(!mon.exists(), "the monitoring group is the container's");
    assert!(host.path("gold").is_dir(), "the shared group stays");
}

#[test]
fn a_clos_id_alone_must_name_a_group_that_exists() {
    let host = FakeResctrl::new(true, false, &[]);
    let config = rdt(serde_json::json!({ "closID": "silver" }));

    let (field, why) = refusal(plan(&config, &id(), Some(&host.resctrl())));
    assert_eq!(field, "linux.intelRdt.closID");
    assert!(why.starts_with("clos dir not accessible"), "{why}");
    assert!(
        why.contains(&host.path("silver").display().to_string()),
        "{why}"
    );
    assert!(!host.path("silver").exists());

    host.group("silver", "L3:0=f\n");
    let plan = plan(&config, &id(), Some(&host.resctrl())).unwrap();
    plan.apply(5).unwrap();
    assert_eq!(
        read(&host.path("silver/schemata")),
        "L3:0=f\n",
        "not written"
    );
    assert_eq!(read(&host.path("silver/tasks")), "5\n");
    assert!(!plan.group.owned);
}

#[test]
fn an_existing_group_must_hold_the_schemata_the_config_gives() {
    let host = FakeResctrl::new(true, true, &[]);
    host.group("gold", "    L3:0=000ff;1=fffff\n    MB:0=50;1=100\n");

    let same = rdt(serde_json::json!({ "closID": "gold", "l3CacheSchema": "L3:0=ff;1=fffff" }));
    let plan_same = plan(&same, &id(), Some(&host.resctrl())).unwrap();
    plan_same.apply(9).unwrap();
    assert_eq!(
        read(&host.path("gold/schemata")),
        "    L3:0=000ff;1=fffff\n    MB:0=50;1=100\n",
        "a shared group is not rewritten"
    );

    let other = rdt(serde_json::json!({ "closID": "gold", "memBwSchema": "MB:0=20;1=100" }));
    let (field, why) = refusal(plan(&other, &id(), Some(&host.resctrl())));
    assert_eq!(field, "linux.intelRdt.closID");
    assert!(why.contains("exists with other schemata"), "{why}");
    assert!(why.contains("MB:0=20;1=100"), "{why}");
}

#[test]
fn a_clos_id_with_a_schema_is_made_and_then_left_for_others() {
    let host = FakeResctrl::new(true, false, &[]);
    let config = rdt(serde_json::json!({ "closID": "bronze", "l3CacheSchema": "L3:0=3" }));

    let plan = plan(&config, &id(), Some(&host.resctrl())).unwrap();
    plan.apply(3).unwrap();

    assert_eq!(read(&host.path("bronze/schemata")), "L3:0=3\n");
    assert!(!plan.group.owned, "as runc: a named CLOS may be shared");
    plan.group.remove().unwrap();
    assert!(host.path("bronze").is_dir());
}

#[test]
fn a_failed_write_says_what_the_kernel_said() {
    let host = FakeResctrl::new(true, false, &[]);
    let config = rdt(serde_json::json!({ "l3CacheSchema": "L3:0=f3" }));
    let plan = plan(&config, &id(), Some(&host.resctrl())).unwrap();
    // A directory where the file should be makes the write fail.
    std::fs::create_dir_all(host.path("ctr1/schemata")).unwrap();
    std::fs::write(
        host.path("info/last_cmd_status"),
        "mask f3 has non-consecutive 1-bits\n",
    )
    .unwrap();

    let error = plan.apply(1).unwrap_err().to_string();

    assert!(error.contains("ctr1/schemata"), "{error}");
    assert!(
        error.ends_with("last_cmd_status: mask f3 has non-consecutive 1-bits"),
        "{error}"
    );
}

#[test]
fn stats_are_in_runcs_shape() {
    let host = FakeResctrl::new(true, true, &["llc_occupancy", "mbm_total_bytes"]);
    let config = rdt(serde_json::json!({
        "l3CacheSchema": "L3:0=ff;1=ff",
        "memBwSchema": "MB:0=50;1=50",
        "enableMonitoring": true
    }));
    let plan = plan(&config, &id(), Some(&host.resctrl())).unwrap();
    std::fs::create_dir_all(host.path("ctr1/mon_groups")).unwrap();
    plan.apply(1).unwrap();
    for (domain, occupancy, total) in [("mon_L3_00", "4096", "100"), ("mon_L3_01", "0", "7")] {
        let dir = host.path("ctr1/mon_groups/ctr1/mon_data").join(domain);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("llc_occupancy"), occupancy).unwrap();
        std::fs::write(dir.join("mbm_total_bytes"), total).unwrap();
        std::fs::write(dir.join("mbm_local_bytes"), "0").unwrap();
    }

    let json = serde_json::to_value(IntelRdtStats::of(&plan.group)).unwrap();

    assert_eq!(
        json,
        serde_json::json!({
            "l3_cache_info": { "cbm_mask": "fffff", "min_cbm_bits": 1, "num_closids": 16 },
            "l3_cache_schema_root": "L3:0=fffff;1=fffff",
            "l3_cache_schema": "L3:0=ff;1=ff",
            "mem_bw_info": { "bandwidth_gran": 10, "delay_linear": 1, "min_bandwidth": 10, "num_closids": 8 },
            "mem_bw_schema_root": "MB:0=100;1=100",
            "mem_bw_schema": "MB:0=50;1=50",
            "mbm_stats": [
                { "mbm_total_bytes": 100, "mbm_local_bytes": 0 },
                { "mbm_total_bytes": 7, "mbm_local_bytes": 0 }
            ],
            "cmt_stats": [{ "llc_occupancy": 4096 }, { "llc_occupancy": 0 }]
        })
    );
    assert_eq!(
        serde_json::to_value(IntelRdtStats::default()).unwrap(),
        serde_json::json!({})
    );
}

#[test]
fn the_mount_is_found_where_mountinfo_has_one() {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let listed = mountinfo
        .lines()
        .find_map(|l| {
            let (before, after) = l.split_once(" - ")?;
            (after.split(' ').next() == Some("resctrl")).then(|| before.split(' ').nth(4))?
        })
        .map(PathBuf::from);
    assert_eq!(Resctrl::find().map(|r| r.root().to_owned()), listed);
}
