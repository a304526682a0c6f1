//! What goes into a resctrl group's `schemata` file, and whether a group that exists
//! already has it. Each line names one resource (`L3:0=7f0;1=1f`, `MB:0=20;1=70`) and
//! its value per cache domain; a write changes only the domains it names.

use oci_spec::runtime::LinuxIntelRdt;

/// The writes `rdt` asks for, in order, one string per write (the kernel takes the
/// lines of one write together and refuses a domain named twice in it):
/// `l3CacheSchema` and `memBwSchema` combined, then `schemata`, which the spec has
/// applied last so that it wins over the older fields.
pub(super) fn writes(rdt: &LinuxIntelRdt) -> Vec<String> {
    let mut first: Vec<&str> = Vec::new();
    let mb = rdt.mem_bw_schema().as_deref().filter(|s| !s.is_empty());
    if let Some(l3) = rdt.l3_cache_schema().as_deref() {
        // A memory bandwidth line in l3CacheSchema (from before memBwSchema existed)
        // gives way to memBwSchema, as the spec says.
        first.extend(
            l3.lines()
                .filter(|l| !l.trim().is_empty())
                .filter(|l| mb.is_none() || !l.trim_start().starts_with("MB:")),
        );
    }
    first.extend(mb);
    let mut writes = Vec::new();
    if !first.is_empty() {
        writes.push(first.join("\n"));
    }
    let lines: Vec<&str> = rdt
        .schemata()
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|l| !l.trim().is_empty())
        .collect();
    if !lines.is_empty() {
        writes.push(lines.join("\n"));
    }
    writes
}

/// The first line of `wanted` that the `existing` schemata does not hold: a line of
/// the same resource whose value for each domain named is the same, read as the
/// kernel prints it (cache masks are hexadecimal without leading zeros, so `L3:0=0ff`
/// is `L3:0=ff`).
pub(super) fn first_mismatch<'a>(existing: &str, wanted: &'a [String]) -> Option<&'a str> {
    let held: Vec<Line> = existing.lines().filter_map(Line::parse).collect();
    wanted
        .iter()
        .flat_map(|w| w.lines())
        .filter(|l| !l.trim().is_empty())
        .find(|line| {
            let Some(want) = Line::parse(line) else {
                return true;
            };
            !held.iter().any(|have| {
                have.resource == want.resource
                    && want
                        .domains
                        .iter()
                        .all(|(domain, value)| have.value(domain) == Some(value))
            })
        })
}

/// One `RESOURCE:domain=value;domain=value` line.
struct Line {
    resource: String,
    domains: Vec<(String, Value)>,
}

#[derive(Debug, PartialEq, Eq)]
enum Value {
    Number(u64),
    Text(String),
}

impl Line {
    fn parse(line: &str) -> Option<Line> {
        let (resource, rest) = line.trim().split_once(':')?;
        let resource = resource.trim().to_owned();
        // Cache allocations (L2, L3, L3CODE, ...) are bitmasks in hexadecimal; memory
        // bandwidth is a percentage or MBps in decimal.
        let radix = if resource.starts_with('L') { 16 } else { 10 };
        let domains = rest
            .split(';')
            .filter(|part| !part.trim().is_empty())
            .map(|part| {
                let (domain, value) = part.split_once('=')?;
                let value = value.trim();
                let value = u64::from_str_radix(value, radix)
                    .map(Value::Number)
                    .unwrap_or_else(|_| Value::Text(value.to_owned()));
                Some((domain.trim().to_owned(), value))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Line { resource, domains })
    }

    fn value(&self, domain: &str) -> Option<&Value> {
        self.domains
            .iter()
            .find(|(d, _)| d == domain)
            .map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rdt(json: serde_json::Value) -> LinuxIntelRdt {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_older_fields_go_in_one_write_and_schemata_after_them() {
        let both = rdt(serde_json::json!({
            "l3CacheSchema": "L3:0=7f0;1=1f",
            "memBwSchema": "MB:0=20;1=70",
            "schemata": ["L2:0=3", "L3CODE:0=f"]
        }));
        assert_eq!(
            writes(&both),
            ["L3:0=7f0;1=1f\nMB:0=20;1=70", "L2:0=3\nL3CODE:0=f"]
        );
        let only_mb = rdt(serde_json::json!({ "memBwSchema": "MB:0=50" }));
        assert_eq!(writes(&only_mb), ["MB:0=50"]);
        assert!(writes(&rdt(serde_json::json!({ "closID": "gold" }))).is_empty());
    }

    #[test]
    fn a_bandwidth_line_in_l3_cache_schema_gives_way_to_mem_bw_schema() {
        let both = rdt(serde_json::json!({
            "l3CacheSchema": "L3:0=ff\nMB:0=10",
            "memBwSchema": "MB:0=30"
        }));
        assert_eq!(writes(&both), ["L3:0=ff\nMB:0=30"]);
        // Alone, it is what was asked for.
        let alone = rdt(serde_json::json!({ "l3CacheSchema": "L3:0=ff\nMB:0=10" }));
        assert_eq!(writes(&alone), ["L3:0=ff\nMB:0=10"]);
    }

    #[test]
    fn an_existing_group_matches_when_each_domain_asked_for_has_its_value() {
        let existing = "    L3:0=000ff;1=fffff\n    MB:0=100;1=70\n";
        let same = ["L3:0=ff;1=FFFFF\nMB:1=70".to_owned()];
        assert_eq!(first_mismatch(existing, &same), None);
        let other_mask = ["L3:0=f0".to_owned()];
        assert_eq!(first_mismatch(existing, &other_mask), Some("L3:0=f0"));
        let other_bandwidth = ["MB:0=20".to_owned()];
        assert_eq!(first_mismatch(existing, &other_bandwidth), Some("MB:0=20"));
        let missing = ["L2:0=3".to_owned()];
        assert_eq!(first_mismatch(existing, &missing), Some("L2:0=3"));
        let garbage = ["L3".to_owned()];
        assert_eq!(first_mismatch(existing, &garbage), Some("L3"));
    }
}
