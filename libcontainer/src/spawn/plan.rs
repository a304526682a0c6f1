//! Who does what to bring a container's process into its namespaces, decided from the
//! namespaces asked for and from who runs truman, before anything is done. Nothing
//! here touches the system: [`for_init`] and [`for_tenant`] are pure, and the driver
//! in [`super`] only carries out what they return.
//!
//! The kernel's rules behind the decisions:
//! - pid and time namespaces apply to a process's children only: whoever clones the
//!   container's process must be in them (or have made them) first.
//! - A namespace belongs to the user namespace of the process that made it; one made
//!   by the clone that also makes a user namespace belongs to that new one.
//! - Joining any namespace takes CAP_SYS_ADMIN over the user namespace that owns it,
//!   and joining a pid, time or mount namespace also in the caller's own. Going back
//!   to its own pid and time namespaces, which the host's user namespace owns, is then
//!   only for truman running as the host's root; anyone else (rootless podman's root
//!   included) leaves those joins to an intermediate process, which joins, clones the
//!   container's process and exits.
//! - Once in a user namespace, a process is privileged over what that namespace owns
//!   and no longer over what its creator's owns: namespaces of the host's (a CNI
//!   network namespace) are joined before the user namespace, the container's after;
//!   where truman cannot tell which is which (rootless), a join refused before the
//!   user namespace is tried again after it, as runc does.
//! - Writing an id map that maps more than the writer's own id takes CAP_SETUID (and
//!   CAP_SETGID) over the new user namespace's parent; without them, only the caller's
//!   own id may be mapped (and a gid map only once setgroups is denied), and
//!   `newuidmap`/`newgidmap` (setuid helpers reading /etc/subuid, /etc/subgid) map more.
//!   Either way the writer must own the process's `/proc/<pid>` files, which belong to
//!   root while the process is not dumpable.

use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType};

use crate::process::clone::flags;

/// Where a namespace of the container comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    New,
    /// Joined: by path from the config, or the init's own for an exec'd process.
    Joined,
}

/// One namespace the container's process is to be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wanted {
    pub typ: LinuxNamespaceType,
    pub origin: Origin,
}

/// Who runs truman, as far as the kernel's permission checks go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caller {
    pub uid: u32,
    pub gid: u32,
    /// Effective uid 0 with CAP_SYS_ADMIN, CAP_SETUID and CAP_SETGID in truman's own
    /// user namespace.
    pub capable: bool,
    /// truman's user namespace is the host's initial one. Only the host's root
    /// ([`Caller::is_real_root`]) may join a pid or time namespace and then return
    /// to its own.
    pub in_initial_userns: bool,
}

/// Whose child the container's process becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parent {
    /// truman's caller (the subreaper of containerd's shim or conmon): `CLONE_PARENT`.
    Caller,
    /// truman itself, which waits for it (a foreground `run` or `exec`).
    Truman,
}

impl Parent {
    fn flag(self) -> u64 {
        match self {
            Parent::Caller => flags::CLONE_PARENT,
            Parent::Truman => 0,
        }
    }
}

/// A step taken on the process's namespaces for its next children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ForChildren {
    /// Join the namespace at this index of the request.
    Join(usize),
    /// Make a new time namespace and write its offsets (they can only be written
    /// before a process enters it).
    NewTime,
}

/// Namespaces to join, by index of the request, in this order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Joins {
    pub order: Vec<usize>,
    /// A join refused (EPERM) before the user namespace in `order` is tried again
    /// right after it: a rootless caller is privileged over its own user
    /// namespace's namespaces before, over the container's only after.
    pub retry_after_user: bool,
}

/// A process between truman and the container's: a child of truman's, it takes
/// its `joins` (and makes a time namespace) on itself, clones the container's process
/// as its sibling (`CLONE_PARENT`: truman's child too), says its pid, and exits,
/// reaped by truman. As with runc's intermediate, the container's process then goes
/// to the caller's subreaper when truman exits, even where the plan's clone would
/// have made it the caller's child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Intermediate {
    pub joins: Joins,
    pub new_time: bool,
}

/// Who writes one id map of a new user namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MapWriter {
    Truman,
    /// `newuidmap` or `newgidmap`.
    Helper,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserNamespace {
    /// truman's own: ids are the caller's namespace's.
    Inherited,
    /// Made by the clone; its maps are written before the process goes on, and the
    /// process becomes its root first.
    Created {
        uid: MapWriter,
        gid: MapWriter,
        /// `setgroups` is denied before the gid map is written (required of a writer
        /// without CAP_SETGID); the process may then never call setgroups.
        deny_setgroups: bool,
    },
    /// Joined; the process becomes its root once in it (and in the others).
    Joined,
}

/// What the container's process does itself, in order, once truman lets it go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChildSteps {
    pub joins: Joins,
    /// Namespaces it makes after the joins (clone flags): made after it joined a user
    /// namespace, they belong to that one.
    pub unshare: u64,
    /// A new cgroup namespace, made once truman has put the process in its cgroup
    /// (made at clone, its root would be truman's cgroup).
    pub new_cgroupns: bool,
    /// A new time namespace, made by a rootless process in the user namespace its
    /// clone made (the only place it may): it unshares one, writes the offsets, and
    /// enters it.
    pub new_time: bool,
    /// The process stays dumpable until truman's `Go`: a writer of its id maps
    /// without CAP_DAC_OVERRIDE (an unprivileged truman, newuidmap) must own its
    /// `/proc/<pid>` files, which belong to root while a process is not dumpable.
    /// Only where its user namespace is new: no process of the container exists yet
    /// that could reach it (CVE-2019-5736).
    pub hide_after_go: bool,
}

/// The whole decision for one container process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpawnPlan {
    /// Taken by truman on itself before the clone, undone right after it.
    pub truman: Vec<ForChildren>,
    pub intermediate: Option<Intermediate>,
    /// The clone that makes the container's process (truman's, or the intermediate's).
    pub clone_flags: u64,
    pub child: ChildSteps,
    pub user: UserNamespace,
    /// The process ends in a user namespace other than the host's (its own, a
    /// joined one, or truman's when it is not the host's): mknod is refused there,
    /// and setgroups may be denied.
    pub in_userns: bool,
}

impl SpawnPlan {
    /// Whether the process may call setgroups, where the plan knows: in the host's
    /// user namespace, yes; in one its clone made, unless truman denies it. In any
    /// other, it is the kernel's to say (`/proc/<pid>/setgroups`).
    pub fn setgroups(&self) -> Option<bool> {
        match self.user {
            UserNamespace::Created { deny_setgroups, .. } => Some(!deny_setgroups),
            UserNamespace::Inherited if !self.in_userns => Some(true),
            _ => None,
        }
    }
}

/// A combination the kernel would refuse, or that truman cannot make, named by field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Refused(String);

/// What a container's init is to be born with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InitRequest<'a> {
    pub namespaces: &'a [Wanted],
    pub uid_mappings: &'a [LinuxIdMapping],
    pub gid_mappings: &'a [LinuxIdMapping],
    /// `process.user.additionalGids` is not empty.
    pub additional_gids: bool,
    pub parent: Parent,
    pub caller: Caller,
}

fn clone_flag(typ: LinuxNamespaceType) -> u64 {
    typ as i32 as u32 as u64
}

fn applies_to_children(typ: LinuxNamespaceType) -> bool {
    matches!(typ, LinuxNamespaceType::Pid | LinuxNamespaceType::Time)
}

/// The request's namespaces, sorted by who must handle them.
#[derive(Default)]
struct Sorted {
    /// pid and time namespaces joined: for the next children of truman's or the
    /// intermediate's.
    for_children: Vec<usize>,
    new_time: bool,
    new_cgroupns: bool,
    joined_user: Option<usize>,
    /// The other joined ones.
    joined: Vec<usize>,
    /// Clone flags of the other new ones.
    new_flags: u64,
}

fn sort(namespaces: &[Wanted]) -> Sorted {
    let mut sorted = Sorted::default();
    for (index, ns) in namespaces.iter().enumerate() {
        match (ns.typ, ns.origin) {
            (typ, Origin::Joined) if applies_to_children(typ) => sorted.for_children.push(index),
            (LinuxNamespaceType::Time, Origin::New) => sorted.new_time = true,
            (LinuxNamespaceType::Cgroup, Origin::New) => sorted.new_cgroupns = true,
            (LinuxNamespaceType::User, Origin::Joined) => sorted.joined_user = Some(index),
            (_, Origin::Joined) => sorted.joined.push(index),
            (typ, Origin::New) => sorted.new_flags |= clone_flag(typ),
        }
    }
    sorted
}

/// `first`, then the user namespace: the host's root may join anything before it;
/// anyone else retries after it what it could not join before.
fn then_user(first: Vec<usize>, user: Option<usize>, caller: Caller) -> Joins {
    Joins {
        order: first.into_iter().chain(user).collect(),
        retry_after_user: user.is_some() && !caller.is_real_root(),
    }
}

/// The plan for a container's init (`create`, `run`).
pub(crate) fn for_init(request: &InitRequest<'_>) -> Result<SpawnPlan, Refused> {
    let caller = request.caller;
    let real_root = caller.is_real_root();
    let ns = sort(request.namespaces);
    let new_user = ns.new_flags & flags::CLONE_NEWUSER != 0;
    let parent = request.parent.flag();
    let mut plan = SpawnPlan {
        truman: Vec::new(),
        intermediate: None,
        clone_flags: parent,
        child: ChildSteps {
            joins: Joins::default(),
            unshare: 0,
            new_cgroupns: ns.new_cgroupns,
            new_time: false,
            hide_after_go: false,
        },
        user: UserNamespace::Inherited,
        in_userns: false,
    };
    // The time namespace, by whoever may make it and, for truman, return.
    let mut intermediate_time = false;
    match (ns.new_time, real_root, new_user) {
        (false, _, _) => {}
        (true, true, _) => plan.truman.push(ForChildren::NewTime),
        (true, false, true) => plan.child.new_time = true,
        (true, false, false) => intermediate_time = true,
    }
    let children_by_truman = real_root && !intermediate_time;
    match (ns.joined_user, new_user) {
        (Some(user), _) => {
            plan.user = UserNamespace::Joined;
            // A pid namespace owned by the joined user namespace can only be made
            // from inside it, and only for children.
            let new_pid = ns.new_flags & flags::CLONE_NEWPID != 0;
            if new_pid || intermediate_time || (!ns.for_children.is_empty() && !children_by_truman)
            {
                let first = ns.joined.into_iter().chain(ns.for_children).collect();
                plan.intermediate = Some(Intermediate {
                    joins: then_user(first, Some(user), caller),
                    new_time: intermediate_time,
                });
                // Born in the joined user namespace: what its clone makes belongs to it.
                plan.clone_flags |= ns.new_flags;
            } else {
                plan.truman
                    .extend(ns.for_children.into_iter().map(ForChildren::Join));
                plan.child.joins = then_user(ns.joined, Some(user), caller);
                // Made once the init is in the joined user namespace, to belong to it.
                plan.child.unshare = ns.new_flags;
            }
        }
        (None, true) => {
            plan.user = created_user(request)?;
            plan.clone_flags |= ns.new_flags;
            // Joined before the clone makes the user namespace, where the caller
            // still is privileged over them; the clone then makes the rest.
            let by_intermediate = !ns.joined.is_empty()
                || intermediate_time
                || (!ns.for_children.is_empty() && !children_by_truman);
            if by_intermediate {
                plan.intermediate = Some(Intermediate {
                    joins: then_user(
                        ns.joined.into_iter().chain(ns.for_children).collect(),
                        None,
                        caller,
                    ),
                    new_time: intermediate_time,
                });
            } else {
                plan.truman
                    .extend(ns.for_children.into_iter().map(ForChildren::Join));
            }
        }
        (None, false) => {
            plan.clone_flags |= ns.new_flags;
            plan.child.joins = then_user(ns.joined, None, caller);
            if intermediate_time || (!ns.for_children.is_empty() && !children_by_truman) {
                plan.intermediate = Some(Intermediate {
                    joins: then_user(ns.for_children, None, caller),
                    new_time: intermediate_time,
                });
            } else {
                plan.truman
                    .extend(ns.for_children.into_iter().map(ForChildren::Join));
            }
        }
    }
    plan.child.hide_after_go =
        matches!(plan.user, UserNamespace::Created { .. }) && !caller.capable;
    plan.in_userns = plan.user != UserNamespace::Inherited || !caller.in_initial_userns;
    Ok(plan)
}

/// Who maps a new user namespace: truman where it may, else the setuid helpers.
fn created_user(request: &InitRequest<'_>) -> Result<UserNamespace, Refused> {
    let caller = request.caller;
    let own_only = |maps: &[LinuxIdMapping], id: u32| matches!(maps, [m] if m.host_id() == id && m.size() == 1);
    let (uid, gid) = if caller.capable {
        (MapWriter::Truman, MapWriter::Truman)
    } else {
        let writer = |own| match own {
            true => MapWriter::Truman,
            false => MapWriter::Helper,
        };
        (
            writer(own_only(request.uid_mappings, caller.uid)),
            writer(own_only(request.gid_mappings, caller.gid)),
        )
    };
    let deny_setgroups = gid == MapWriter::Truman && !caller.capable;
    if deny_setgroups && request.additional_gids {
        return Err(Refused(format!(
            "process.user.additionalGids: cannot be set when linux.gidMappings maps only the caller's own gid {} (setgroups is then denied); map a range from /etc/subgid",
            caller.gid
        )));
    }
    Ok(UserNamespace::Created {
        uid,
        gid,
        deny_setgroups,
    })
}

/// What an exec'd process needs: the init's namespaces that differ from truman's,
/// all joined.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TenantRequest<'a> {
    pub namespaces: &'a [LinuxNamespaceType],
    pub parent: Parent,
    pub caller: Caller,
}

/// The plan for a process exec'd into a container.
pub(crate) fn for_tenant(request: &TenantRequest<'_>) -> SpawnPlan {
    let caller = request.caller;
    let is_user = |i: &usize| request.namespaces[*i] == LinuxNamespaceType::User;
    let indices = 0..request.namespaces.len();
    let for_children: Vec<usize> = indices
        .clone()
        .filter(|i| applies_to_children(request.namespaces[*i]))
        .collect();
    let user = indices.clone().find(is_user);
    let others: Vec<usize> = indices
        .filter(|i| !applies_to_children(request.namespaces[*i]) && !is_user(i))
        .collect();
    let mut plan = SpawnPlan {
        truman: Vec::new(),
        intermediate: None,
        clone_flags: request.parent.flag(),
        child: ChildSteps {
            joins: Joins::default(),
            unshare: 0,
            new_cgroupns: false,
            new_time: false,
            hide_after_go: false,
        },
        user: match user {
            Some(_) => UserNamespace::Joined,
            None => UserNamespace::Inherited,
        },
        in_userns: user.is_some() || !caller.in_initial_userns,
    };
    if caller.is_real_root() || for_children.is_empty() {
        plan.truman = for_children.into_iter().map(ForChildren::Join).collect();
        plan.child.joins = then_user(others, user, caller);
    } else {
        // All joins by the intermediate, in two passes around the user namespace;
        // the process is born in all of them.
        let first = others.into_iter().chain(for_children).collect();
        plan.intermediate = Some(Intermediate {
            joins: then_user(first, user, caller),
            new_time: false,
        });
    }
    plan
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
