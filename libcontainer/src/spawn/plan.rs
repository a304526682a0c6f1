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
//! - Joining a pid or time namespace takes CAP_SYS_ADMIN in the caller's own user
//!   namespace too, so only truman running as the host's root can go back to its own
//!   after joining a container's. Anyone else leaves that to an intermediate process,
//!   which joins, clones the container's process and exits.
//! - Writing an id map that maps more than the writer's own id takes CAP_SETUID (and
//!   CAP_SETGID) over the new user namespace's parent; without them, only the caller's
//!   own id may be mapped (and a gid map only once setgroups is denied), and
//!   `newuidmap`/`newgidmap` (setuid helpers reading /etc/subuid, /etc/subgid) map more.

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
    /// Effective uid 0 with CAP_SYS_ADMIN and CAP_SETUID in truman's own user namespace.
    pub capable: bool,
    /// truman's user namespace is the host's initial one.
    pub in_initial_userns: bool,
}

impl Caller {
    /// Whether truman may join a pid or time namespace and then return to its own.
    fn may_return(&self) -> bool {
        self.capable && self.in_initial_userns
    }
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

/// A process between truman and the container's: a child of truman's, it takes
/// `steps` on itself, clones the container's process as its sibling (`CLONE_PARENT`:
/// truman's child too), says its pid, and exits, reaped by truman. As with runc's
/// intermediate, the container's process then goes to the caller's subreaper when
/// truman exits, even where the plan's clone would have made it the caller's child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Intermediate {
    pub steps: Vec<ForChildren>,
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
    /// The namespaces it joins, by index of the request, in this order.
    pub joins: Vec<usize>,
    /// Namespaces it makes after the joins (clone flags): made after it joined a user
    /// namespace, they belong to that one.
    pub unshare: u64,
    /// A new cgroup namespace, made once truman has put the process in its cgroup
    /// (made at clone, its root would be truman's cgroup).
    pub new_cgroupns: bool,
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

/// The plan for a container's init (`create`, `run`).
pub(crate) fn for_init(request: &InitRequest<'_>) -> Result<SpawnPlan, Refused> {
    let mut for_children = Vec::new();
    let mut joins = Vec::new();
    let mut new_flags = 0;
    let mut new_cgroupns = false;
    let mut joined_user = None;
    for (index, ns) in request.namespaces.iter().enumerate() {
        match (ns.typ, ns.origin) {
            (typ, Origin::Joined) if applies_to_children(typ) => {
                for_children.push(ForChildren::Join(index))
            }
            (LinuxNamespaceType::Time, Origin::New) => for_children.push(ForChildren::NewTime),
            (LinuxNamespaceType::Cgroup, Origin::New) => new_cgroupns = true,
            (LinuxNamespaceType::User, Origin::Joined) => joined_user = Some(index),
            (_, Origin::Joined) => joins.push(index),
            (typ, Origin::New) => new_flags |= clone_flag(typ),
        }
    }
    let parent = request.parent.flag();
    // A pid namespace owned by a joined user namespace can only be made from inside
    // it, and only for children: by an intermediate process.
    let new_pid_in_joined_user = joined_user.is_some() && new_flags & flags::CLONE_NEWPID != 0;
    let needs_intermediate =
        new_pid_in_joined_user || (!for_children.is_empty() && !request.caller.may_return());
    let mut plan = SpawnPlan {
        truman: Vec::new(),
        intermediate: None,
        clone_flags: parent,
        child: ChildSteps {
            joins: Vec::new(),
            unshare: 0,
            new_cgroupns,
        },
        user: UserNamespace::Inherited,
    };
    if needs_intermediate {
        let mut steps: Vec<ForChildren> = joined_user.map(ForChildren::Join).into_iter().collect();
        steps.extend(for_children);
        plan.intermediate = Some(Intermediate { steps });
        // Born in the joined user namespace: what the clone makes belongs to it.
        plan.clone_flags |= new_flags;
        plan.child.joins = joins;
    } else {
        plan.truman = for_children;
        match joined_user {
            Some(user) => {
                // The init joins it, then makes the rest, which then belong to it.
                plan.child.joins = std::iter::once(user).chain(joins).collect();
                plan.child.unshare = new_flags;
            }
            None => {
                plan.clone_flags |= new_flags;
                plan.child.joins = joins;
            }
        }
    }
    plan.user = if joined_user.is_some() {
        UserNamespace::Joined
    } else if new_flags & flags::CLONE_NEWUSER != 0 {
        created_user(request)?
    } else {
        UserNamespace::Inherited
    };
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
    let is = |index: &usize, typ| request.namespaces[*index] == typ;
    let indices = 0..request.namespaces.len();
    let for_children: Vec<ForChildren> = indices
        .clone()
        .filter(|i| applies_to_children(request.namespaces[*i]))
        .map(ForChildren::Join)
        .collect();
    let user = indices.clone().find(|i| is(i, LinuxNamespaceType::User));
    let others: Vec<usize> = indices
        .filter(|i| {
            !applies_to_children(request.namespaces[*i]) && !is(i, LinuxNamespaceType::User)
        })
        .collect();
    let parent = request.parent.flag();
    let mut plan = SpawnPlan {
        truman: Vec::new(),
        intermediate: None,
        clone_flags: parent,
        child: ChildSteps {
            joins: Vec::new(),
            unshare: 0,
            new_cgroupns: false,
        },
        user: match user {
            Some(_) => UserNamespace::Joined,
            None => UserNamespace::Inherited,
        },
    };
    if request.caller.may_return() {
        // The host's root joins the rest while still root of the host's user
        // namespace (a container may share a namespace the host's root owns), and
        // the container's user namespace last.
        plan.truman = for_children;
        plan.child.joins = others.into_iter().chain(user).collect();
    } else if !for_children.is_empty() {
        // Into the container's user namespace first: only there is the caller
        // privileged over the container's other namespaces.
        let steps = user.map(ForChildren::Join).into_iter().chain(for_children);
        plan.intermediate = Some(Intermediate {
            steps: steps.collect(),
        });
        plan.child.joins = others;
    } else {
        plan.child.joins = user.into_iter().chain(others).collect();
    }
    plan
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
