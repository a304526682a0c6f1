//! `mounts[].options` as the kernel wants them: flags for mount(2), propagation
//! changes, attributes for mount_setattr(2) over a whole tree (`rro`, `rnosuid`...),
//! the runtime's own extensions (`tmpcopyup`, `idmap`, `ridmap`), and the rest as
//! filesystem data. The names and their meaning are runc's.

use nix::mount::MsFlags;

/// `MS_NOSYMFOLLOW` (Linux 5.10), which nix does not name.
pub const MS_NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(256);

#[derive(Debug, PartialEq)]
pub struct MountOptions {
    pub flags: MsFlags,
    /// Propagation changes, applied by separate `mount` calls after the mount exists.
    pub propagation: Vec<MsFlags>,
    /// `rro`, `rnosuid`... : set on the mount and every mount below it.
    pub recursive: RecursiveAttrs,
    /// `tmpcopyup`: the image's files at the destination are copied into the tmpfs.
    pub copy_up: bool,
    /// `idmap` / `ridmap`.
    pub idmap: Option<Idmap>,
    /// Options the filesystem parses itself (`mode=755`, `size=65536k`, ...).
    pub data: Vec<String>,
}

/// `struct mount_attr`'s `attr_set` and `attr_clr`, as mount_setattr(2) takes them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecursiveAttrs {
    pub set: u64,
    pub clear: u64,
}

impl RecursiveAttrs {
    pub fn is_empty(&self) -> bool {
        self.set == 0 && self.clear == 0
    }
}

/// Which mounts of a bind get the id mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idmap {
    /// `idmap`: the bind's top mount only.
    Top,
    /// `ridmap`: every mount the bind brings along.
    Recursive,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            propagation: Vec::new(),
            recursive: RecursiveAttrs::default(),
            copy_up: false,
            idmap: None,
            data: Vec::new(),
        }
    }
}

impl MountOptions {
    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }

    /// Flags that a bind mount only gets through a second, remounting call.
    pub fn remount_flags(&self) -> MsFlags {
        self.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT)
    }
}

pub fn parse(options: &[String]) -> MountOptions {
    let mut parsed = MountOptions::default();
    for option in options {
        if let Some((set, clear)) = mount_flag(option) {
            // relatime, noatime and strictatime are one setting: the last one named
            // wins (the kernel would otherwise let strictatime win whatever came after).
            let atime = MsFlags::MS_RELATIME | MsFlags::MS_NOATIME | MsFlags::MS_STRICTATIME;
            let replaced = if set.intersects(atime) {
                atime - set
            } else {
                MsFlags::empty()
            };
            parsed.flags = (parsed.flags | set) - clear - replaced;
        } else if let Some(propagation) = propagation_flag(option) {
            parsed.propagation.push(propagation);
        } else if let Some((set, clear)) = recursive_attr(option) {
            let r = &mut parsed.recursive;
            r.set = (r.set | set) & !clear;
            r.clear = (r.clear | clear) & !set;
            if set & libc::MOUNT_ATTR__ATIME != 0 || clear & libc::MOUNT_ATTR__ATIME != 0 {
                // The access-time attributes are one setting, not bits: the kernel
                // wants the whole field cleared along with the new value set.
                r.clear |= libc::MOUNT_ATTR__ATIME;
                r.set = (r.set & !libc::MOUNT_ATTR__ATIME) | (set & libc::MOUNT_ATTR__ATIME);
            }
        } else {
            match option.as_str() {
                "tmpcopyup" => parsed.copy_up = true,
                "idmap" => parsed.idmap = Some(Idmap::Top),
                "ridmap" => parsed.idmap = Some(Idmap::Recursive),
                other => parsed.data.push(other.to_owned()),
            }
        }
    }
    parsed
}

/// Every option name [`parse`] takes as other than filesystem data and this host can
/// honour, for `features`.
pub fn supported() -> Vec<&'static str> {
    let mut names = known();
    names.retain(|name| refused_here(name).is_none());
    names
}

/// Why this host cannot do what option `name` asks, if it cannot.
pub fn refused_here(name: &str) -> Option<&'static str> {
    // Linux 5.15 dropped mandatory locking: the flag is accepted and does nothing.
    (name == "mand" && crate::kernel_version::at_least(5, 15))
        .then_some("mandatory locking is gone from Linux since 5.15, the kernel would ignore it")
}

/// Every option name [`parse`] takes as other than filesystem data.
pub fn known() -> Vec<&'static str> {
    let mut names: Vec<&str> = FLAG_NAMES
        .iter()
        .chain(PROPAGATION_NAMES)
        .chain(RECURSIVE_NAMES)
        .chain(&["tmpcopyup", "idmap", "ridmap"])
        .copied()
        .collect();
    names.sort_unstable();
    names
}

const FLAG_NAMES: &[&str] = &[
    "defaults",
    "ro",
    "rw",
    "suid",
    "nosuid",
    "dev",
    "nodev",
    "exec",
    "noexec",
    "sync",
    "async",
    "dirsync",
    "remount",
    "mand",
    "nomand",
    "atime",
    "noatime",
    "diratime",
    "nodiratime",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "iversion",
    "noiversion",
    "lazytime",
    "nolazytime",
    "silent",
    "loud",
    "symfollow",
    "nosymfollow",
    "bind",
    "rbind",
];

/// The flags a mount(2) option sets and clears.
fn mount_flag(name: &str) -> Option<(MsFlags, MsFlags)> {
    let none = MsFlags::empty();
    Some(match name {
        "defaults" => (none, none),
        "ro" => (MsFlags::MS_RDONLY, none),
        "rw" => (none, MsFlags::MS_RDONLY),
        "suid" => (none, MsFlags::MS_NOSUID),
        "nosuid" => (MsFlags::MS_NOSUID, none),
        "dev" => (none, MsFlags::MS_NODEV),
        "nodev" => (MsFlags::MS_NODEV, none),
        "exec" => (none, MsFlags::MS_NOEXEC),
        "noexec" => (MsFlags::MS_NOEXEC, none),
        "sync" => (MsFlags::MS_SYNCHRONOUS, none),
        "async" => (none, MsFlags::MS_SYNCHRONOUS),
        "dirsync" => (MsFlags::MS_DIRSYNC, none),
        "remount" => (MsFlags::MS_REMOUNT, none),
        "mand" => (MsFlags::MS_MANDLOCK, none),
        "nomand" => (none, MsFlags::MS_MANDLOCK),
        "atime" => (none, MsFlags::MS_NOATIME),
        "noatime" => (MsFlags::MS_NOATIME, none),
        "diratime" => (none, MsFlags::MS_NODIRATIME),
        "nodiratime" => (MsFlags::MS_NODIRATIME, none),
        "relatime" => (MsFlags::MS_RELATIME, none),
        "norelatime" => (none, MsFlags::MS_RELATIME),
        "strictatime" => (MsFlags::MS_STRICTATIME, none),
        "nostrictatime" => (none, MsFlags::MS_STRICTATIME),
        "iversion" => (MsFlags::MS_I_VERSION, none),
        "noiversion" => (none, MsFlags::MS_I_VERSION),
        "lazytime" => (MsFlags::MS_LAZYTIME, none),
        "nolazytime" => (none, MsFlags::MS_LAZYTIME),
        "silent" => (MsFlags::MS_SILENT, none),
        "loud" => (none, MsFlags::MS_SILENT),
        "symfollow" => (none, MS_NOSYMFOLLOW),
        "nosymfollow" => (MS_NOSYMFOLLOW, none),
        "bind" => (MsFlags::MS_BIND, none),
        "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, none),
        _ => return None,
    })
}

const PROPAGATION_NAMES: &[&str] = &[
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "unbindable",
    "runbindable",
];

/// The propagation named by `rootfsPropagation` or a mount option.
pub fn propagation_flag(name: &str) -> Option<MsFlags> {
    let rec = MsFlags::MS_REC;
    Some(match name {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | rec,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | rec,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | rec,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | rec,
        _ => return None,
    })
}

const RECURSIVE_NAMES: &[&str] = &[
    "rro",
    "rrw",
    "rnosuid",
    "rsuid",
    "rnodev",
    "rdev",
    "rnoexec",
    "rexec",
    "rnodiratime",
    "rdiratime",
    "rrelatime",
    "rnorelatime",
    "rnoatime",
    "ratime",
    "rstrictatime",
    "rnostrictatime",
    "rnosymfollow",
    "rsymfollow",
];

/// The `MOUNT_ATTR_*` a recursive option sets and clears. The access-time ones are
/// values of one field: `rnoatime`, `rstrictatime` and `rrelatime` choose one, and
/// `ratime`, `rnostrictatime` and `rnorelatime` go back to the kernel's default,
/// relatime (as `atime`, `nostrictatime` and `norelatime` do for mount(2)).
fn recursive_attr(name: &str) -> Option<(u64, u64)> {
    use libc::{
        MOUNT_ATTR_NOATIME, MOUNT_ATTR_NODEV, MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NOEXEC,
        MOUNT_ATTR_NOSUID, MOUNT_ATTR_NOSYMFOLLOW, MOUNT_ATTR_RDONLY, MOUNT_ATTR_RELATIME,
        MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME as ATIME,
    };
    Some(match name {
        "rro" => (MOUNT_ATTR_RDONLY, 0),
        "rrw" => (0, MOUNT_ATTR_RDONLY),
        "rnosuid" => (MOUNT_ATTR_NOSUID, 0),
        "rsuid" => (0, MOUNT_ATTR_NOSUID),
        "rnodev" => (MOUNT_ATTR_NODEV, 0),
        "rdev" => (0, MOUNT_ATTR_NODEV),
        "rnoexec" => (MOUNT_ATTR_NOEXEC, 0),
        "rexec" => (0, MOUNT_ATTR_NOEXEC),
        "rnodiratime" => (MOUNT_ATTR_NODIRATIME, 0),
        "rdiratime" => (0, MOUNT_ATTR_NODIRATIME),
        "rnoatime" => (MOUNT_ATTR_NOATIME, ATIME),
        "rstrictatime" => (MOUNT_ATTR_STRICTATIME, ATIME),
        "rrelatime" | "ratime" | "rnostrictatime" | "rnorelatime" => (MOUNT_ATTR_RELATIME, ATIME),
        "rnosymfollow" => (MOUNT_ATTR_NOSYMFOLLOW, 0),
        "rsymfollow" => (0, MOUNT_ATTR_NOSYMFOLLOW),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> MountOptions {
        parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_data_and_propagation_are_separated() {
        let parsed = opts(&[
            "nosuid",
            "strictatime",
            "mode=755",
            "size=65536k",
            "rprivate",
        ]);
        assert_eq!(parsed.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(parsed.data, ["mode=755", "size=65536k"]);
        assert_eq!(
            parsed.propagation,
            vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]
        );
        assert!(parsed.recursive.is_empty());
    }

    #[test]
    fn the_last_access_time_named_wins() {
        assert_eq!(
            opts(&["strictatime", "relatime"]).flags,
            MsFlags::MS_RELATIME
        );
        assert_eq!(
            opts(&["noatime", "strictatime"]).flags,
            MsFlags::MS_STRICTATIME
        );
        assert_eq!(
            opts(&["nodiratime", "relatime"]).flags,
            MsFlags::MS_NODIRATIME | MsFlags::MS_RELATIME
        );
    }

    #[test]
    fn later_options_win() {
        assert_eq!(opts(&["ro", "rw"]).flags, MsFlags::empty());
        assert!(opts(&["rbind", "ro"]).is_bind());
        assert_eq!(opts(&["rbind", "ro"]).remount_flags(), MsFlags::MS_RDONLY);
        let r = opts(&["rro", "rrw"]).recursive;
        assert_eq!((r.set, r.clear), (0, libc::MOUNT_ATTR_RDONLY));
        let r = opts(&["rrw", "rro"]).recursive;
        assert_eq!((r.set, r.clear), (libc::MOUNT_ATTR_RDONLY, 0));
    }

    #[test]
    fn recursive_attributes_never_reach_the_filesystem() {
        let parsed = opts(&[
            "rbind",
            "rro",
            "rnosuid",
            "rnodev",
            "rnoexec",
            "rnosymfollow",
        ]);
        assert!(parsed.data.is_empty(), "{:?}", parsed.data);
        assert_eq!(
            parsed.recursive.set,
            libc::MOUNT_ATTR_RDONLY
                | libc::MOUNT_ATTR_NOSUID
                | libc::MOUNT_ATTR_NODEV
                | libc::MOUNT_ATTR_NOEXEC
                | libc::MOUNT_ATTR_NOSYMFOLLOW
        );
    }

    #[test]
    fn an_access_time_attribute_replaces_the_whole_setting() {
        let r = opts(&["rnoatime"]).recursive;
        assert_eq!(
            (r.set, r.clear),
            (libc::MOUNT_ATTR_NOATIME, libc::MOUNT_ATTR__ATIME)
        );
        let r = opts(&["rnoatime", "rstrictatime"]).recursive;
        assert_eq!(
            (r.set, r.clear),
            (libc::MOUNT_ATTR_STRICTATIME, libc::MOUNT_ATTR__ATIME)
        );
        let r = opts(&["rstrictatime", "ratime", "rnodiratime"]).recursive;
        assert_eq!(
            (r.set, r.clear),
            (
                libc::MOUNT_ATTR_RELATIME | libc::MOUNT_ATTR_NODIRATIME,
                libc::MOUNT_ATTR__ATIME
            )
        );
    }

    #[test]
    fn extensions_are_the_runtimes_own() {
        let parsed = opts(&["tmpcopyup", "ridmap"]);
        assert!(parsed.copy_up);
        assert_eq!(parsed.idmap, Some(Idmap::Recursive));
        assert!(parsed.data.is_empty());
        assert_eq!(opts(&["idmap"]).idmap, Some(Idmap::Top));
    }

    #[test]
    fn every_known_name_is_parsed_as_such() {
        for name in known() {
            let parsed = opts(&[name]);
            assert!(parsed.data.is_empty(), "{name} went to the filesystem");
        }
        assert_eq!(opts(&["nosymfollow"]).flags, MS_NOSYMFOLLOW);
    }
}
