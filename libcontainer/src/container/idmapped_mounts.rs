//! Id-mapped bind mounts (`idmap`, `ridmap`, or a mount's `uidMappings` and
//! `gidMappings`): a file owned by id N on the host shows as owned by what N maps to.
//!
//! Only a process privileged over the source's filesystem (the host's root) may map a
//! mount, and a container's init, born in its own user namespace, is not. So truman
//! clones each source with `open_tree`, maps the clone through a user namespace that
//! holds the mount's mappings (by default the container's), and does so before the
//! init is cloned: the init inherits the detached trees and attaches each where its
//! bind mount would go, as runc's and crun's inits do with the trees they are sent.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::{LinuxNamespaceType, Mount};
use rustix::mount::OpenTreeFlags;

use crate::mount_attr;
use crate::process::id_map;
use crate::spec::mount_options::{self, Idmap};
use crate::spec::Bundle;
use crate::{Error, Result};

/// Whether mount `m` is to be id-mapped: runc maps a mount that has mappings even
/// without the option.
pub fn is_idmapped(m: &Mount) -> bool {
    let options = mount_options::parse(m.options().as_deref().unwrap_or_default());
    options.idmap.is_some() || m.uid_mappings().is_some() || m.gid_mappings().is_some()
}

/// The mapped trees of the bundle's id-mapped mounts, by index in `mounts`.
pub fn prepare(bundle: &Bundle) -> Result<Vec<(usize, OwnedFd)>> {
    let mounts = bundle.spec.mounts().as_deref().unwrap_or_default();
    if !mounts.iter().any(is_idmapped) {
        return Ok(Vec::new());
    }
    let mut namespaces = Namespaces::default();
    let mut trees = Vec::new();
    for (index, m) in mounts.iter().enumerate().filter(|(_, m)| is_idmapped(m)) {
        let what = format!("mounts[{index}]");
        let userns = namespaces.for_mount(bundle, m, &what)?;
        trees.push((index, mapped_tree(bundle, m, userns.as_fd(), &what)?));
    }
    Ok(trees)
}

/// The user namespaces made so far, one per distinct set of mappings.
#[derive(Default)]
struct Namespaces {
    by_maps: HashMap<(String, String), File>,
}

impl Namespaces {
    /// The namespace `m` is mapped through: one with the mount's own mappings, else
    /// the container's (a joined one by its path, a new one by its mappings).
    /// Validation made sure one of them exists.
    fn for_mount(&mut self, bundle: &Bundle, m: &Mount, what: &str) -> Result<&File> {
        let linux = bundle.spec.linux().as_ref();
        let (uid, gid) = match (m.uid_mappings(), m.gid_mappings()) {
            (Some(uid), Some(gid)) => (uid.as_slice(), gid.as_slice()),
            _ => {
                let joined = linux
                    .and_then(|l| l.namespaces().as_ref())
                    .into_iter()
                    .flatten()
                    .find(|n| n.typ() == LinuxNamespaceType::User)
                    .and_then(|n| n.path().clone());
                if let Some(path) = joined {
                    let key = (path.display().to_string(), String::new());
                    let file = File::open(&path).map_err(Error::sys(format!(
                        "{what}: open user namespace {}",
                        path.display()
                    )))?;
                    return Ok(self.by_maps.entry(key).or_insert(file));
                }
                id_map::of_container(linux)
            }
        };
        let key = (id_map::map_text(uid), id_map::map_text(gid));
        if !self.by_maps.contains_key(&key) {
            let userns = id_map::new_user_namespace(uid, gid)
                .map_err(|e| Error::Usage(format!("{what}: id-mapped mount: {e}")))?;
            self.by_maps.insert(key.clone(), userns);
        }
        Ok(&self.by_maps[&key])
    }
}

/// A detached clone of `m`'s source (with its submounts for `rbind`), mapped through
/// `userns` (its submounts too for `ridmap`).
fn mapped_tree(
    bundle: &Bundle,
    m: &Mount,
    userns: std::os::fd::BorrowedFd<'_>,
    what: &str,
) -> Result<OwnedFd> {
    let options = mount_options::parse(m.options().as_deref().unwrap_or_default());
    let source = m.source().as_deref().unwrap_or(Path::new(""));
    let source = if source.is_absolute() {
        source.to_owned()
    } else {
        bundle.dir.join(source)
    };
    let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
    if options.flags.contains(nix::mount::MsFlags::MS_REC) {
        flags |= OpenTreeFlags::AT_RECURSIVE;
    }
    let tree =
        rustix::mount::open_tree(rustix::fs::CWD, &source, flags).map_err(|e| Error::Sys {
            op: format!("{what}: open_tree {}", source.display()),
            source: e.into(),
        })?;
    let recursive = options.idmap == Some(Idmap::Recursive);
    mount_attr::idmap(tree.as_fd(), recursive, userns).map_err(|source| Error::Sys {
        op: format!(
            "{what}: id-map {} (the filesystem may not support id-mapped mounts)",
            m.source().as_deref().unwrap_or(Path::new("")).display()
        ),
        source,
    })?;
    Ok(tree)
}
