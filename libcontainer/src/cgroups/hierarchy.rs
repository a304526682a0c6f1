//! The cgroup hierarchies mounted under `/sys/fs/cgroup`, as `/proc/self/mountinfo`
//! lists them: what the container's `/sys/fs/cgroup` shows, and where a v1 or hybrid
//! host keeps cgroups that libcgroups' v1 manager does not handle.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A v1 hierarchy with resource controllers (`memory`, `cpu,cpuacct`).
    Controllers,
    /// A v1 hierarchy with no controller, only a name (`name=systemd`).
    Named,
    /// The cgroup2 tree of a hybrid host (`/sys/fs/cgroup/unified`).
    Unified,
}

#[derive(Debug, Clone)]
pub struct Hierarchy {
    /// The directory under `/sys/fs/cgroup` (`memory`, `systemd`, `unified`).
    pub name: String,
    /// The mount options that select a v1 hierarchy (`memory`, `none,name=systemd`);
    /// empty for cgroup2.
    pub options: String,
    pub mount_point: PathBuf,
    pub kind: Kind,
}

impl Hierarchy {
    /// The directory of the cgroup at `cgroup_path` (relative to the hierarchy root).
    pub fn dir_of(&self, cgroup_path: &Path) -> PathBuf {
        self.mount_point
            .join(cgroup_path.strip_prefix("/").unwrap_or(cgroup_path))
    }
}

/// What a container's `/sys/fs/cgroup` is made of on this host: the hierarchies on a
/// v1 or hybrid host (`unified`: false), none on cgroup2 alone, whose one tree needs
/// no list.
pub fn of_layout(unified: bool) -> Vec<Hierarchy> {
    match unified {
        true => Vec::new(),
        false => hierarchies(),
    }
}

/// The hierarchies mounted below `/sys/fs/cgroup` on a v1 or hybrid host, in mount order.
pub fn hierarchies() -> Vec<Hierarchy> {
    let Ok(mounts) = procfs::process::Process::myself().and_then(|p| p.mountinfo()) else {
        return Vec::new();
    };
    mounts
        .into_iter()
        .filter_map(|m| hierarchy_of(&m))
        .collect()
}

fn hierarchy_of(mount: &procfs::process::MountInfo) -> Option<Hierarchy> {
    let name = mount.mount_point.strip_prefix("/sys/fs/cgroup").ok()?;
    let name = name.to_str().filter(|n| !n.is_empty())?;
    let (options, kind) = match mount.fs_type.as_str() {
        "cgroup" => {
            let mut selectors: Vec<&str> = mount
                .super_options
                .keys()
                .map(String::as_str)
                .filter(|o| {
                    !matches!(
                        *o,
                        "rw" | "ro" | "clone_children" | "xattr" | "release_agent"
                    )
                })
                .collect();
            selectors.sort_unstable();
            let named: Vec<String> = mount
                .super_options
                .get("name")
                .and_then(|n| n.as_deref())
                .map(|n| vec![format!("name={n}")])
                .unwrap_or_default();
            selectors.retain(|o| *o != "name");
            if selectors.is_empty() {
                (format!("none,{}", named.join(",")), Kind::Named)
            } else {
                selectors.extend(named.iter().map(String::as_str));
                (selectors.join(","), Kind::Controllers)
            }
        }
        "cgroup2" => (String::new(), Kind::Unified),
        _ => return None,
    };
    Some(Hierarchy {
        name: name.to_owned(),
        options,
        mount_point: mount.mount_point.clone(),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every cgroup mount of this host is found, each with options that name it.
    #[test]
    fn the_hosts_hierarchies_are_found() {
        let found = hierarchies();
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let cgroup_mounts = mountinfo
            .lines()
            .filter(|l| {
                l.contains(" /sys/fs/cgroup/")
                    && (l.contains(" - cgroup ") || l.contains(" - cgroup2 "))
            })
            .count();
        assert_eq!(found.len(), cgroup_mounts, "{found:?}");
        for h in &found {
            match h.kind {
                Kind::Controllers => assert!(
                    !h.options.is_empty() && !h.options.starts_with("none"),
                    "{h:?}"
                ),
                Kind::Named => assert!(h.options.starts_with("none,name="), "{h:?}"),
                Kind::Unified => assert!(h.options.is_empty(), "{h:?}"),
            }
            assert_eq!(h.dir_of(Path::new("/a/b")), h.mount_point.join("a/b"));
        }
    }
}
