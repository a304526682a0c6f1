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

/// The hierarchies mounted below `/sys/fs/cgroup` on a v1 or hybrid host, in mount order.
pub fn hierarchies() -> Vec<Hierarchy> {
    let Ok(mountinfo) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    mountinfo.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Hierarchy> {
    let (left, right) = line.split_once(" - ")?;
    let mut right = right.split(' ');
    let (fstype, _source, super_opts) = (right.next()?, right.next()?, right.next()?);
    let mount_point = left.split(' ').nth(4)?;
    let name = mount_point.strip_prefix("/sys/fs/cgroup/")?;
    let (options, kind) = match fstype {
        "cgroup" => {
            let selectors: Vec<&str> = super_opts
                .split(',')
                .filter(|o| {
                    !matches!(*o, "rw" | "ro" | "clone_children" | "xattr")
                        && !o.starts_with("release_agent")
                })
                .collect();
            if selectors.iter().all(|s| s.starts_with("name=")) {
                (format!("none,{}", selectors.join(",")), Kind::Named)
            } else {
                (selectors.join(","), Kind::Controllers)
            }
        }
        "cgroup2" => (String::new(), Kind::Unified),
        _ => return None,
    };
    Some(Hierarchy {
        name: name.to_owned(),
        options,
        mount_point: PathBuf::from(mount_point),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_host_lines() {
        let memory =
            parse_line("35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory")
                .unwrap();
        assert_eq!(
            (memory.name.as_str(), memory.options.as_str(), memory.kind),
            ("memory", "memory", Kind::Controllers)
        );
        let systemd = parse_line(
            "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd",
        )
        .unwrap();
        assert_eq!(
            (systemd.options.as_str(), systemd.kind),
            ("none,name=systemd", Kind::Named)
        );
        let unified =
            parse_line("41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw")
                .unwrap();
        assert_eq!(unified.kind, Kind::Unified);
        assert!(
            parse_line("31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755")
                .is_none()
        );
        assert_eq!(
            unified.dir_of(Path::new("/a/b")),
            PathBuf::from("/sys/fs/cgroup/unified/a/b")
        );
    }
}
