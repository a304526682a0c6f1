//! Where a container's cgroup goes: `linux.cgroupsPath` resolved once, at `create`, as
//! runc resolves it, and recorded so that every later command finds the same cgroup.

use std::path::{Path, PathBuf};

use super::CgroupError;
use crate::id::ContainerId;

/// Which cgroup manager owns the container's cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    /// truman writes the cgroup filesystem itself (runc's default).
    #[default]
    Cgroupfs,
    /// systemd creates a transient scope (`--systemd-cgroup`).
    Systemd,
    /// No cgroup is made or joined (`--cgroup-manager=disabled`, crun's): the
    /// container's processes stay in the cgroup of truman's caller.
    Disabled,
}

/// The cgroup path for a container, relative to the root of every hierarchy (or, with
/// the systemd driver, the `slice:prefix:name` triple).
///
/// cgroupfs, as runc: an absolute path is taken as it is; a relative one (and an
/// empty one, which stands for the container id) goes below the cgroup truman itself
/// runs in: on cgroup v2 below its parent, since a cgroup with processes cannot have
/// controllers enabled for children; on v1 below truman's own cgroup.
pub fn resolve(
    configured: Option<&Path>,
    id: &ContainerId,
    driver: Driver,
    unified: bool,
) -> Result<PathBuf, CgroupError> {
    let configured = configured.filter(|p| !p.as_os_str().is_empty());
    match driver {
        Driver::Systemd => return systemd_unit(configured, id),
        Driver::Disabled => return Ok(PathBuf::new()),
        Driver::Cgroupfs => {}
    }
    match configured {
        Some(p) if p.is_absolute() => Ok(p.to_owned()),
        Some(p) => Ok(below_own_cgroup(p, unified)),
        None => Ok(below_own_cgroup(Path::new(id.as_str()), unified)),
    }
}

fn below_own_cgroup(relative: &Path, unified: bool) -> PathBuf {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let base = if unified {
        let own = unified_entry(&own).unwrap_or_else(|| PathBuf::from("/"));
        own.parent().map(Path::to_owned).unwrap_or(own)
    } else {
        shared_v1_cgroup(&own)
    };
    base.join(relative)
}

/// The cgroup truman runs in, which a container without a cgroup of its own
/// (`Driver::Disabled`) inherits: what its `/sys/fs/cgroup` shows.
pub fn own(unified: bool) -> PathBuf {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    match unified {
        true => unified_entry(&own).unwrap_or_else(|| PathBuf::from("/")),
        false => shared_v1_cgroup(&own),
    }
}

/// truman's cgroup on the cgroup2 hierarchy (`0::/path`).
fn unified_entry(proc_cgroup: &str) -> Option<PathBuf> {
    proc_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(PathBuf::from)
}

/// truman's cgroup in the v1 controller hierarchies. runc joins a relative path to
/// each hierarchy's own cgroup separately; libcgroups places a container at one path
/// in all of them, so where truman's cgroups differ between hierarchies, the one most
/// of them share is taken (the others then match runc too).
fn shared_v1_cgroup(proc_cgroup: &str) -> PathBuf {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for line in proc_cgroup.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        // Named hierarchies (name=systemd) and the cgroup2 line hold no controller.
        if controllers.is_empty() || controllers.starts_with("name=") {
            continue;
        }
        match counts.iter_mut().find(|(p, _)| *p == path) {
            Some((_, n)) => *n += 1,
            None => counts.push((path, 1)),
        }
    }
    // The earliest of equally common paths wins, so the choice is stable.
    let mut best: Option<(&str, usize)> = None;
    for (path, n) in counts {
        if best.is_none_or(|(_, m)| n > m) {
            best = Some((path, n));
        }
    }
    PathBuf::from(best.map_or("/", |(p, _)| p))
}

/// `slice:prefix:name`, checked as runc checks it; empty means `system.slice:truman:<id>`.
fn systemd_unit(configured: Option<&Path>, id: &ContainerId) -> Result<PathBuf, CgroupError> {
    let Some(path) = configured else {
        return Ok(PathBuf::from(format!("system.slice:truman:{id}")));
    };
    let text = path.to_string_lossy();
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() != 3 || parts[1].is_empty() || parts[2].is_empty() {
        return Err(CgroupError::new(
            path,
            "resolve linux.cgroupsPath",
            format!(
                "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got {text:?} instead"
            ),
        ));
    }
    Ok(path.to_owned())
}

/// The cgroup's directory below each hierarchy's root, as the filesystem names it:
/// the recorded path itself with cgroupfs; with systemd, the scope `prefix-name.scope`
/// inside the slice's expanded path (`a-b.slice` is `/a.slice/a-b.slice`).
pub fn fs_path(recorded: &Path, driver: Driver) -> PathBuf {
    if driver != Driver::Systemd {
        return recorded.to_owned();
    }
    let text = recorded.to_string_lossy();
    let parts: Vec<&str> = text.split(':').collect();
    let [slice, prefix, name] = parts[..] else {
        return recorded.to_owned();
    };
    let mut path = expand_slice(slice);
    if name.ends_with(".slice") {
        return expand_slice(name);
    }
    path.push(format!("{prefix}-{name}.scope"));
    path
}

fn expand_slice(slice: &str) -> PathBuf {
    let mut path = PathBuf::from("/");
    let Some(stem) = slice.strip_suffix(".slice").filter(|s| *s != "-") else {
        return path;
    };
    let mut prefix = String::new();
    for part in stem.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        path.push(format!("{prefix}.slice"));
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ContainerId {
        ContainerId::parse(s).unwrap()
    }

    #[test]
    fn an_absolute_path_is_taken_as_it_is() {
        let p = resolve(Some(Path::new("/a/b")), &id("c"), Driver::Cgroupfs, false).unwrap();
        assert_eq!(p, Path::new("/a/b"));
    }

    #[test]
    fn relative_and_empty_paths_go_below_truman_own_cgroup() {
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        let v1_base = shared_v1_cgroup(&own);
        let p = resolve(Some(Path::new("x/y")), &id("c"), Driver::Cgroupfs, false).unwrap();
        assert_eq!(p, v1_base.join("x/y"));
        let p = resolve(Some(Path::new("")), &id("c"), Driver::Cgroupfs, false).unwrap();
        assert_eq!(p, v1_base.join("c"));
        assert!(p.is_absolute());
    }

    #[test]
    fn on_v1_the_cgroup_most_hierarchies_share_is_the_base() {
        let own = "9:name=systemd:/s\n8:pids:/\n4:memory:/limited/job\n2:cpu:/\n0::/\n";
        assert_eq!(shared_v1_cgroup(own), Path::new("/"));
        let own = "3:cpu,cpuacct:/a\n2:memory:/a\n1:pids:/b\n";
        assert_eq!(shared_v1_cgroup(own), Path::new("/a"));
    }

    #[test]
    fn on_v2_a_relative_path_goes_below_the_parent_of_truman_cgroup() {
        let own = "0::/user.slice/session-1.scope\n";
        let parent = unified_entry(own).unwrap();
        assert_eq!(parent, Path::new("/user.slice/session-1.scope"));
        assert_eq!(parent.parent().unwrap(), Path::new("/user.slice"));
    }

    #[test]
    fn systemd_units_live_in_their_expanded_slice() {
        let fs = |p: &str| fs_path(Path::new(p), Driver::Systemd);
        assert_eq!(
            fs("system.slice:truman:c"),
            Path::new("/system.slice/truman-c.scope")
        );
        assert_eq!(
            fs("kubepods-burstable-pod1.slice:cri-containerd:abc"),
            Path::new(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-abc.scope"
            )
        );
        assert_eq!(fs("-.slice:p:n"), Path::new("/p-n.scope"));
        assert_eq!(
            fs_path(Path::new("/a/b"), Driver::Cgroupfs),
            Path::new("/a/b")
        );
    }

    #[test]
    fn systemd_paths_must_be_slice_prefix_name() {
        let p = resolve(None, &id("c"), Driver::Systemd, true).unwrap();
        assert_eq!(p, Path::new("system.slice:truman:c"));
        let p = resolve(
            Some(Path::new("machine.slice:libpod:abc")),
            &id("c"),
            Driver::Systemd,
            true,
        )
        .unwrap();
        assert_eq!(p, Path::new("machine.slice:libpod:abc"));
        let e = resolve(Some(Path::new("/a/b")), &id("c"), Driver::Systemd, true).unwrap_err();
        assert!(e.to_string().contains("\"slice:prefix:name\""), "{e}");
    }
}
