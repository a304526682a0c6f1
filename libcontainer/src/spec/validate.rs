//! The checks a spec must pass before anything is created. Each failure names the
//! field (as a JSON path) and why, so the user can find it in `config.json`.

use std::collections::HashSet;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

pub(super) type Invalid = (String, String);

pub(super) fn invalid(field: &str, reason: impl Into<String>) -> Invalid {
    (field.to_owned(), reason.into())
}

pub(super) fn validate(spec: &Spec) -> Result<(), Invalid> {
    check_version(spec.version())?;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| invalid("process", "required"))?;
    match process.args() {
        Some(args) if !args.is_empty() => {}
        _ => return Err(invalid("process.args", "must not be empty")),
    }
    if !process.cwd().is_absolute() {
        return Err(invalid("process.cwd", "must be an absolute path"));
    }
    super::validate_mounts::check_mounts(spec)?;
    crate::process::task_attributes::TaskAttributes::of_init(process, spec.linux().as_ref())
        .map_err(|refused| invalid(&refused.field, refused.why))?;
    if let Some(linux) = spec.linux() {
        let mut seen = HashSet::new();
        let namespaces = linux.namespaces().as_deref().unwrap_or_default();
        for (i, ns) in namespaces.iter().enumerate() {
            if !seen.insert(ns.typ()) {
                return Err(invalid(
                    &format!("linux.namespaces[{i}]"),
                    format!("duplicate namespace type {}", ns.typ()),
                ));
            }
            if let Some(path) = ns.path() {
                if !path.is_absolute() {
                    return Err(invalid(
                        &format!("linux.namespaces[{i}].path"),
                        "must be an absolute path",
                    ));
                }
            }
        }
        // As runc: what would otherwise change the host is refused, not half-done.
        if spec.hostname().as_deref().is_some_and(|h| !h.is_empty())
            && !seen.contains(&LinuxNamespaceType::Uts)
        {
            return Err(invalid("hostname", "needs its own uts namespace"));
        }
        if !seen.contains(&LinuxNamespaceType::Mount) {
            // Made read-only, the root would be so in the caller's mount namespace,
            // after the container too.
            if spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
                return Err(invalid("root.readonly", "needs its own mount namespace"));
            }
            if linux.rootfs_propagation().is_some() {
                return Err(invalid(
                    "linux.rootfsPropagation",
                    "needs its own mount namespace",
                ));
            }
            let masks = linux.masked_paths().as_ref().is_some_and(|p| !p.is_empty());
            let readonly = linux
                .readonly_paths()
                .as_ref()
                .is_some_and(|p| !p.is_empty());
            if masks || readonly {
                return Err(invalid(
                    if masks {
                        "linux.maskedPaths"
                    } else {
                        "linux.readonlyPaths"
                    },
                    "needs its own mount namespace",
                ));
            }
        }
        crate::network::check_spec(linux)?;
        if let Some(path) = linux.cgroups_path() {
            check_cgroups_path(path)?;
        }
        if let Some(resources) = linux.resources() {
            crate::cgroups::check_file_names(resources)?;
        }
        let has_userns = seen.contains(&LinuxNamespaceType::User);
        let maps = linux.uid_mappings().is_some() || linux.gid_mappings().is_some();
        if maps && !has_userns {
            return Err(invalid(
                "linux.uidMappings",
                "mappings need a user namespace in linux.namespaces",
            ));
        }
        if has_userns && !maps {
            let new_userns = namespaces
                .iter()
                .any(|ns| ns.typ() == LinuxNamespaceType::User && ns.path().is_none());
            if new_userns {
                return Err(invalid(
                    "linux.uidMappings",
                    "a new user namespace needs uidMappings and gidMappings",
                ));
            }
        }
        for key in linux.sysctl().iter().flat_map(|s| s.keys()) {
            if super::sysctl::proc_sys_path(key).is_none() {
                return Err(invalid(
                    &format!("linux.sysctl.{key}"),
                    "not the name of a sysctl",
                ));
            }
            if super::sysctl::dotted(key) == "kernel.hostname" {
                // As runc: the hostname field says it, and the two could disagree.
                return Err(invalid(
                    &format!("linux.sysctl.{key}"),
                    "conflicts with the hostname field; set hostname instead",
                ));
            }
            let needs = super::sysctl::namespace_of(key).ok_or_else(|| {
                invalid(
                    &format!("linux.sysctl.{key}"),
                    "not in a separate kernel namespace, so it would change the host",
                )
            })?;
            if !seen.contains(&needs) {
                return Err(invalid(
                    &format!("linux.sysctl.{key}"),
                    format!("needs its own {needs} namespace, or it would change the host's"),
                ));
            }
        }
    }
    if let Some(hooks) = spec.hooks() {
        let points = [
            ("prestart", hooks.prestart()),
            ("createRuntime", hooks.create_runtime()),
            ("createContainer", hooks.create_container()),
            ("startContainer", hooks.start_container()),
            ("poststart", hooks.poststart()),
            ("poststop", hooks.poststop()),
        ];
        for (point, list) in points {
            for (i, hook) in list.iter().flatten().enumerate() {
                if !hook.path().is_absolute() {
                    return Err(invalid(
                        &format!("hooks.{point}[{i}].path"),
                        "must be an absolute path",
                    ));
                }
                if hook.timeout().is_some_and(|t| t <= 0) {
                    return Err(invalid(
                        &format!("hooks.{point}[{i}].timeout"),
                        "must be greater than zero",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A cgroup path names one cgroup below each hierarchy's root: never the root itself
/// (deleting the container would kill every process there) nor a step above it.
fn check_cgroups_path(path: &std::path::Path) -> Result<(), Invalid> {
    use std::path::Component;
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(invalid("linux.cgroupsPath", "must not contain \"..\""));
    }
    let is_root = !path.as_os_str().is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::CurDir));
    if is_root {
        return Err(invalid("linux.cgroupsPath", "must not be the root cgroup"));
    }
    Ok(())
}

/// truman implements runtime-spec 1.x; a config written for another major version
/// means something else and is refused rather than half-understood.
fn check_version(version: &str) -> Result<(), Invalid> {
    let mut parts = version.splitn(3, '.');
    let major = parts.next().and_then(|m| m.parse::<u32>().ok());
    let minor = parts.next().and_then(|m| m.parse::<u32>().ok());
    match (major, minor) {
        (Some(1), Some(_)) => Ok(()),
        _ => Err(invalid(
            "ociVersion",
            format!("unsupported version {version:?}, truman supports 1.x"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::check_version;

    #[test]
    fn versions() {
        assert!(check_version("1.0.0").is_ok());
        assert!(check_version("1.2.1-dev").is_ok());
        for bad in ["0.1.0", "2.0.0", "", "one"] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }
}
