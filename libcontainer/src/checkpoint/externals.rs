//! What a container has that CRIU cannot dump by itself, described to it as runc
//! does: mounts whose source is outside the container (bind mounts, the host's cgroup
//! directories, `/dev/null` over masked files, device nodes), named on dump by their
//! place in the container and on restore mapped to a source on this host; and
//! namespaces the container joined by path.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Mount, Spec};

use crate::cgroups::hierarchy::{Hierarchy, Kind};
use crate::{Error, Result};

/// The devices every container gets (init/devices.rs), by path.
const DEFAULT_DEVICES: [&str; 6] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
];

/// One external mount: on dump, the mount point and the name it is stored under
/// (runc uses the mount point as the name); on restore, that name and the source.
pub(crate) type ExtMount = (String, String);

/// What the container was made with that decides its external mounts.
pub(crate) struct Layout<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    /// Relative sources of bind mounts are relative to it.
    pub bundle: &'a Path,
    /// The host's hierarchies on a v1 or hybrid host; empty on cgroup2 alone.
    pub hierarchies: &'a [Hierarchy],
}

impl Layout<'_> {
    /// The external mounts to name on dump. `root` is the container's root as the
    /// host sees it (`/proc/<init>/root`), where masked paths are looked up.
    pub fn for_dump(&self, root: &Path) -> Vec<ExtMount> {
        let mut all = Vec::new();
        for mount in self.mounts() {
            if is_bind(mount) {
                let at = self.inside(mount.destination());
                all.push((at.clone(), at));
            } else if mount.typ().as_deref() == Some("cgroup") && self.cgroups_are_bound() {
                for (at, _) in self.cgroup_binds(mount.destination(), Path::new("/")) {
                    all.push((at.clone(), at));
                }
            }
        }
        // A masked file is covered by /dev/null; a masked directory is a tmpfs that
        // CRIU dumps itself, and a path that does not exist was not masked.
        for path in self.masked_paths() {
            let on_host = root.join(path.strip_prefix("/").unwrap_or(&path));
            if std::fs::metadata(&on_host).is_ok_and(|m| !m.is_dir()) {
                all.push((path.display().to_string(), "/dev/null".into()));
            }
        }
        for device in self.devices() {
            all.push((device.clone(), device));
        }
        all
    }

    /// The external mounts to map on restore, into a container whose cgroup is
    /// `cgroup_path`.
    pub fn for_restore(&self, cgroup_path: &Path) -> Vec<ExtMount> {
        let mut all = Vec::new();
        for mount in self.mounts() {
            if is_bind(mount) {
                let source = mount.source().clone().unwrap_or_default();
                let source = self.bundle.join(source);
                all.push((
                    self.inside(mount.destination()),
                    source.display().to_string(),
                ));
            } else if mount.typ().as_deref() == Some("cgroup") && self.cgroups_are_bound() {
                all.extend(self.cgroup_binds(mount.destination(), cgroup_path));
            }
        }
        if !self.masked_paths().is_empty() {
            all.push(("/dev/null".into(), "/dev/null".into()));
        }
        for device in self.devices() {
            all.push((device.clone(), device));
        }
        all
    }

    /// Makes the mount points of the config's mounts that the rootfs lacks, as
    /// `create` would (a file for a file's bind, else a directory): CRIU restores
    /// each mount onto its point and makes none. A mount below a tmpfs is left out:
    /// CRIU brings the tmpfs back with its content, mount points included.
    pub fn make_mount_points(&self) -> Result<()> {
        let tmpfs: Vec<&Path> = self
            .mounts()
            .filter(|m| m.typ().as_deref() == Some("tmpfs"))
            .map(|m| m.destination().as_path())
            .collect();
        fn refused(dest: &Path) -> impl FnOnce(crate::init::InitError) -> Error + '_ {
            move |e| Error::Usage(format!("restore: mount point {}: {e}", dest.display()))
        }
        let rootfs = crate::init::RootfsDir::open(self.rootfs).map_err(refused(self.rootfs))?;
        for (i, mount) in self.mounts().enumerate() {
            let dest = mount.destination();
            let below_tmpfs = tmpfs.iter().any(|t| dest != *t && dest.starts_with(t));
            if below_tmpfs || mount.typ().as_deref() == Some("cgroup") {
                continue;
            }
            let file = is_bind(mount)
                && mount
                    .source()
                    .as_ref()
                    .and_then(|s| std::fs::metadata(self.bundle.join(s)).ok())
                    .is_some_and(|m| !m.is_dir());
            // A mount point below an earlier bind is in that bind's source: made
            // there (resolved inside it, as the rootfs's are inside the rootfs), or
            // CRIU would find it missing once the bind is back over it (runc#2748).
            let covered = self.covering_bind(i);
            let source_root = match &covered {
                Some((source, _)) => {
                    Some(crate::init::RootfsDir::open(source).map_err(refused(source))?)
                }
                None => None,
            };
            let (root, at) = match (&source_root, &covered) {
                (Some(root), Some((_, below))) => (root, below.as_path()),
                _ => (&rootfs, dest.as_path()),
            };
            let made = match file {
                true => root.file(at).map(drop),
                false => root.dir(at).map(drop),
            };
            made.map_err(refused(dest))?;
        }
        Ok(())
    }

    /// The source of the last bind before mount `i` whose destination holds mount
    /// `i`'s, and mount `i`'s path below it.
    fn covering_bind(&self, i: usize) -> Option<(PathBuf, PathBuf)> {
        let mounts: Vec<&Mount> = self.mounts().collect();
        let dest = mounts[i].destination();
        mounts[..i].iter().rev().find_map(|m| {
            let below = dest.strip_prefix(m.destination()).ok()?;
            if below.as_os_str().is_empty() || !is_bind(m) {
                return None;
            }
            let source = self.bundle.join(m.source().clone()?);
            source
                .is_dir()
                .then(|| (source, Path::new("/").join(below)))
        })
    }

    /// On dump, the namespaces joined by path that CRIU is told to leave out and
    /// find again on restore (`net[<inode>]:extRootNetNS`), as runc names them.
    pub fn external_namespaces(&self) -> Result<Vec<String>> {
        let mut all = Vec::new();
        for (typ, path) in self.joined() {
            let Some(name) = inherited_name(typ) else {
                continue;
            };
            let inode = std::fs::metadata(&path)
                .map_err(Error::sys(format!("stat {}", path.display())))?
                .ino();
            let kind = match typ {
                LinuxNamespaceType::Network => "net",
                _ => "pid",
            };
            all.push(format!("{kind}[{inode}]:{name}"));
        }
        Ok(all)
    }

    /// The namespaces the config joins by path, as (type, path).
    pub fn joined(&self) -> Vec<(LinuxNamespaceType, PathBuf)> {
        self.spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().clone())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|n| n.path().clone().map(|p| (n.typ(), p)))
            .collect()
    }

    fn mounts(&self) -> impl Iterator<Item = &Mount> {
        self.spec.mounts().iter().flatten()
    }

    fn masked_paths(&self) -> Vec<PathBuf> {
        self.spec
            .linux()
            .as_ref()
            .and_then(|l| l.masked_paths().clone())
            .unwrap_or_default()
            .into_iter()
            .map(PathBuf::from)
            .collect()
    }

    fn devices(&self) -> Vec<String> {
        let listed = self
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.devices().clone())
            .unwrap_or_default();
        let mut all: Vec<String> = DEFAULT_DEVICES.iter().map(|d| d.to_string()).collect();
        for device in listed {
            let path = device.path().display().to_string();
            if !all.contains(&path) {
                all.push(path);
            }
        }
        all
    }

    /// Whether the container's `/sys/fs/cgroup` holds binds of the host's cgroup
    /// directories (init/mounts.rs): without a cgroup namespace of its own; and on v1
    /// also in a user namespace, where v1 hierarchies cannot be mounted (cgroup2 can).
    /// Real cgroup mounts CRIU dumps itself.
    fn cgroups_are_bound(&self) -> bool {
        let namespaces = self
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().clone())
            .unwrap_or_default();
        let own_cgroupns = namespaces
            .iter()
            .any(|n| n.typ() == LinuxNamespaceType::Cgroup && n.path().is_none());
        let userns = namespaces
            .iter()
            .any(|n| n.typ() == LinuxNamespaceType::User);
        match self.hierarchies.is_empty() {
            true => !own_cgroupns,
            false => !own_cgroupns || userns,
        }
    }

    /// The cgroup binds under `dest`, each with its source for a cgroup at
    /// `cgroup_path`: one per v1 hierarchy (the hybrid cgroup2 tree is left out, as
    /// the container's mounts leave it), or `dest` itself on cgroup2 alone.
    fn cgroup_binds(&self, dest: &Path, cgroup_path: &Path) -> Vec<ExtMount> {
        let dest = self.inside(dest);
        if self.hierarchies.is_empty() {
            let source = Path::new("/sys/fs/cgroup")
                .join(cgroup_path.strip_prefix("/").unwrap_or(cgroup_path));
            return vec![(dest, source.display().to_string())];
        }
        self.hierarchies
            .iter()
            .filter(|h| h.kind != Kind::Unified)
            .map(|h| {
                (
                    format!("{}/{}", dest.trim_end_matches('/'), h.name),
                    h.dir_of(cgroup_path).display().to_string(),
                )
            })
            .collect()
    }

    /// A mount point as the container names it, its symlinks followed inside the
    /// rootfs (a destination through a symlink is mounted where the link leads).
    fn inside(&self, dest: &Path) -> String {
        resolve_inside(self.rootfs, dest).unwrap_or_else(|| dest.display().to_string())
    }
}

/// The key CRIU's `inherit_fd` and `external` use for a namespace handed over, as
/// runc names them; only network and PID namespaces are.
pub(crate) fn inherited_name(typ: LinuxNamespaceType) -> Option<&'static str> {
    match typ {
        LinuxNamespaceType::Network => Some("extRootNetNS"),
        LinuxNamespaceType::Pid => Some("extRootPidNS"),
        _ => None,
    }
}

/// The name CRIU's `join_ns` gives a namespace type.
pub(crate) fn join_name(typ: LinuxNamespaceType) -> Option<&'static str> {
    match typ {
        LinuxNamespaceType::Ipc => Some("ipc"),
        LinuxNamespaceType::Uts => Some("uts"),
        LinuxNamespaceType::User => Some("user"),
        LinuxNamespaceType::Time => Some("time"),
        LinuxNamespaceType::Mount => Some("mnt"),
        _ => None,
    }
}

fn is_bind(mount: &Mount) -> bool {
    mount.typ().as_deref() == Some("bind")
        || mount
            .options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind")
}

/// `dest` resolved inside `rootfs` as the kernel would from inside the container,
/// as an absolute path in the container; `None` if it does not resolve.
fn resolve_inside(rootfs: &Path, dest: &Path) -> Option<String> {
    use std::os::fd::{AsFd, AsRawFd};
    let root = pathrs::Root::open(rootfs).ok()?;
    let handle = root.resolve(dest).ok()?;
    let full = std::fs::read_link(format!("/proc/self/fd/{}", handle.as_fd().as_raw_fd())).ok()?;
    let real_root = std::fs::canonicalize(rootfs).ok()?;
    let inside = full.strip_prefix(&real_root).ok()?;
    Some(Path::new("/").join(inside).display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> Spec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_bind_through_a_symlink_is_named_where_the_link_leads() {
        let rootfs = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(rootfs.path().join("real/data")).unwrap();
        std::os::unix::fs::symlink("/real", rootfs.path().join("link")).unwrap();
        let spec = spec(serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "mounts": [
                {"destination": "/link/data", "type": "bind", "source": "/srv", "options": ["rbind"]},
                {"destination": "/proc", "type": "proc", "source": "proc"}
            ]
        }));
        let layout = Layout {
            spec: &spec,
            rootfs: rootfs.path(),
            bundle: Path::new("/bundle"),
            hierarchies: &[],
        };
        let dump = layout.for_dump(rootfs.path());
        assert!(
            dump.contains(&("/real/data".into(), "/real/data".into())),
            "{dump:?}"
        );
        let restore = layout.for_restore(Path::new("/c1"));
        assert!(
            restore.contains(&("/real/data".into(), "/srv".into())),
            "{restore:?}"
        );
        assert!(!dump.iter().any(|(at, _)| at == "/proc"), "{dump:?}");
    }

    #[test]
    fn cgroup_mounts_are_binds_without_a_cgroupns_and_on_v1_in_a_userns() {
        let rootfs = tempfile::tempdir().unwrap();
        let v1 = [Hierarchy {
            name: "memory".into(),
            options: "memory".into(),
            mount_point: "/sys/fs/cgroup/memory".into(),
            kind: Kind::Controllers,
        }];
        for (namespaces, on_v1, on_v2) in [
            (serde_json::json!([{"type": "mount"}]), true, true),
            (
                serde_json::json!([{"type": "mount"}, {"type": "cgroup"}]),
                false,
                false,
            ),
            (
                serde_json::json!([{"type": "mount"}, {"type": "cgroup"}, {"type": "user"}]),
                true,
                false,
            ),
        ] {
            let spec = spec(serde_json::json!({
                "ociVersion": "1.0.2",
                "root": {"path": "rootfs"},
                "linux": {"namespaces": namespaces}
            }));
            for (hierarchies, want) in [(&v1[..], on_v1), (&[][..], on_v2)] {
                let layout = Layout {
                    spec: &spec,
                    rootfs: rootfs.path(),
                    bundle: Path::new("/bundle"),
                    hierarchies,
                };
                assert_eq!(
                    layout.cgroups_are_bound(),
                    want,
                    "{namespaces} v1={}",
                    !hierarchies.is_empty()
                );
            }
        }
    }

    #[test]
    fn cgroup_binds_map_to_the_restored_container_s_cgroup() {
        let rootfs = tempfile::tempdir().unwrap();
        let spec = spec(serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "mounts": [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup"}],
            "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}
        }));
        let hierarchies = [
            Hierarchy {
                name: "memory".into(),
                options: "memory".into(),
                mount_point: "/sys/fs/cgroup/memory".into(),
                kind: Kind::Controllers,
            },
            Hierarchy {
                name: "unified".into(),
                options: String::new(),
                mount_point: "/sys/fs/cgroup/unified".into(),
                kind: Kind::Unified,
            },
        ];
        let layout = Layout {
            spec: &spec,
            rootfs: rootfs.path(),
            bundle: Path::new("/bundle"),
            hierarchies: &hierarchies,
        };
        let restore = layout.for_restore(Path::new("/new"));
        assert!(
            restore.contains(&(
                "/sys/fs/cgroup/memory".into(),
                "/sys/fs/cgroup/memory/new".into()
            )),
            "{restore:?}"
        );
        assert!(
            !restore.iter().any(|(at, _)| at.ends_with("unified")),
            "{restore:?}"
        );
    }
}
