//! Docker's and podman's default seccomp profiles as the runtime receives them. Both
//! ship in moby's format, whose syscall groups apply only with some capabilities, on
//! some architectures or kernels (`includes`/`excludes`); the engine picks the groups
//! for a container and hands the runtime a plain runtime-spec `linux.seccomp`. This
//! does the same picking, for x86-64 and a given capability set.

use serde_json::{json, Value};

/// docker's default capabilities, which podman uses too.
pub const ENGINE_DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// The `linux.seccomp` an engine would derive from `profile` for a container with
/// `caps` on x86-64 (moby calls it amd64) under the running kernel.
pub fn oci_seccomp(profile: &Value, caps: &[&str]) -> Value {
    let kernel = running_kernel();
    let mut syscalls = Vec::new();
    for group in profile["syscalls"].as_array().expect("syscalls") {
        if applies(group, caps, kernel) {
            let mut rule = json!({ "names": group["names"], "action": group["action"] });
            for key in ["args", "errnoRet"] {
                if let Some(v) = group.get(key).filter(|v| !v.is_null()) {
                    rule[key] = v.clone();
                }
            }
            syscalls.push(rule);
        }
    }
    let mut architectures = vec![json!("SCMP_ARCH_X86_64")];
    for arch in profile["archMap"].as_array().into_iter().flatten() {
        if arch["architecture"] == "SCMP_ARCH_X86_64" {
            architectures.extend(
                arch["subArchitectures"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
        }
    }
    let mut seccomp = json!({
        "defaultAction": profile["defaultAction"],
        "architectures": architectures,
        "syscalls": syscalls,
    });
    if let Some(errno) = profile.get("defaultErrnoRet") {
        seccomp["defaultErrnoRet"] = errno.clone();
    }
    seccomp
}

fn applies(group: &Value, caps: &[&str], kernel: (u32, u32)) -> bool {
    let list = |v: &Value, key: &str| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (includes, excludes) = (&group["includes"], &group["excludes"]);
    let arch_ok = |arches: &[String]| arches.iter().any(|a| a == "amd64");
    if list(includes, "caps")
        .iter()
        .any(|c| !caps.contains(&c.as_str()))
    {
        return false;
    }
    let arches = list(includes, "arches");
    if !arches.is_empty() && !arch_ok(&arches) {
        return false;
    }
    if let Some(min) = includes.get("minKernel").and_then(Value::as_str) {
        if parse_version(min) > kernel {
            return false;
        }
    }
    if list(excludes, "caps")
        .iter()
        .any(|c| caps.contains(&c.as_str()))
    {
        return false;
    }
    !arch_ok(&list(excludes, "arches"))
}

fn parse_version(text: &str) -> (u32, u32) {
    let mut parts = text.split(|c: char| !c.is_ascii_digit());
    let major = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor)
}

fn running_kernel() -> (u32, u32) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("kernel release");
    parse_version(release.trim())
}
