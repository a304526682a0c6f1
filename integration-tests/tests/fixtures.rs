//! The files in `spec-fixtures/` stay what the tests assume they are.

use integration_tests::{default_config, fixture, fixture_path};
use serde_json::Value;

fn parse(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `spec-fixtures/default.json` is the config every bundle starts from.
/// Run with `TRUMAN_BLESS_FIXTURES=1` to rewrite it after changing
/// `default_config()`.
#[test]
fn default_fixture_is_the_harness_default_config() {
    let expected = default_config();
    if std::env::var_os("TRUMAN_BLESS_FIXTURES").is_some() {
        let text = serde_json::to_string_pretty(&expected).expect("serialize") + "\n";
        std::fs::write(fixture_path("default.json"), text).expect("write default.json");
    }
    assert_eq!(
        parse("default.json"),
        expected,
        "spec-fixtures/default.json differs from default_config(); \
         rerun with TRUMAN_BLESS_FIXTURES=1 if the change is intended"
    );
}

#[test]
fn bad_version_fixture_is_the_default_with_an_unsupported_version() {
    let mut bad = parse("broken/bad-version.json");
    assert_eq!(bad["ociVersion"], "0.1.0");
    bad["ociVersion"] = default_config()["ociVersion"].clone();
    assert_eq!(bad, default_config());
}

#[test]
fn not_json_fixture_does_not_parse() {
    let text = fixture("broken/not-json.json");
    let error = serde_json::from_str::<Value>(&text).expect_err("the fixture must be broken JSON");
    // bad_input.rs expects the error on this line.
    assert_eq!(error.line(), 6, "{error}");
}

#[test]
fn hostile_hugepage_fixture_is_the_default_with_a_page_size_that_climbs_out() {
    let mut bad = parse("broken/hostile-hugepage-size.json");
    let size = bad["linux"]["resources"]["hugepageLimits"][0]["pageSize"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(size.contains("/../"), "{size}");
    bad["linux"]["resources"]
        .as_object_mut()
        .unwrap()
        .remove("hugepageLimits");
    assert_eq!(bad, default_config());
}
