//! Every namespace combination the integration tests run, decided without root.

use oci_spec::runtime::{LinuxIdMappingBuilder, LinuxNamespaceType as Ns};

use super::*;
use crate::process::clone::flags::*;

const ROOT: Caller = Caller {
    uid: 0,
    gid: 0,
    capable: true,
    in_initial_userns: true,
};
/// A user with subuid ranges, on the host.
const USER: Caller = Caller {
    uid: 1000,
    gid: 1000,
    capable: false,
    in_initial_userns: true,
};
/// Root of rootless podman's user namespace, where podman runs its runtime.
const PODMAN_ROOTLESS: Caller = Caller {
    uid: 0,
    gid: 0,
    capable: true,
    in_initial_userns: false,
};

fn new(typ: Ns) -> Wanted {
    Wanted {
        typ,
        origin: Origin::New,
    }
}

fn joined(typ: Ns) -> Wanted {
    Wanted {
        typ,
        origin: Origin::Joined,
    }
}

fn map(container: u32, host: u32, size: u32) -> LinuxIdMapping {
    LinuxIdMappingBuilder::default()
        .container_id(container)
        .host_id(host)
        .size(size)
        .build()
        .unwrap()
}

fn joins(order: &[usize], retry_after_user: bool) -> Joins {
    Joins {
        order: order.to_vec(),
        retry_after_user,
    }
}

fn through(order: &[usize], retry_after_user: bool) -> Option<Intermediate> {
    Some(Intermediate {
        joins: joins(order, retry_after_user),
        new_time: false,
    })
}

fn init(namespaces: &[Wanted], caller: Caller) -> Result<SpawnPlan, Refused> {
    init_mapped(namespaces, caller, &[map(0, 100000, 65536)], false)
}

fn init_mapped(
    namespaces: &[Wanted],
    caller: Caller,
    maps: &[LinuxIdMapping],
    additional_gids: bool,
) -> Result<SpawnPlan, Refused> {
    for_init(&InitRequest {
        namespaces,
        uid_mappings: maps,
        gid_mappings: maps,
        additional_gids,
        parent: Parent::Caller,
        caller,
    })
}

const RUNC_DEFAULT: [Wanted; 5] = [
    Wanted {
        typ: Ns::Pid,
        origin: Origin::New,
    },
    Wanted {
        typ: Ns::Network,
        origin: Origin::New,
    },
    Wanted {
        typ: Ns::Ipc,
        origin: Origin::New,
    },
    Wanted {
        typ: Ns::Uts,
        origin: Origin::New,
    },
    Wanted {
        typ: Ns::Mount,
        origin: Origin::New,
    },
];

#[test]
fn the_default_namespaces_are_made_by_one_clone_from_truman() {
    let plan = init(&RUNC_DEFAULT, ROOT).unwrap();
    assert_eq!(
        plan.clone_flags,
        CLONE_PARENT | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS
    );
    assert!(plan.truman.is_empty());
    assert_eq!(plan.intermediate, None);
    assert_eq!(plan.child.joins, Joins::default());
    assert_eq!(plan.child.unshare, 0);
    assert!(!plan.child.new_cgroupns);
    assert_eq!(plan.user, UserNamespace::Inherited);
    assert!(!plan.in_userns);
    assert_eq!(plan.setgroups(), Some(true));
}

#[test]
fn a_foreground_run_keeps_the_init_as_truman_s_child() {
    let plan = for_init(&InitRequest {
        namespaces: &RUNC_DEFAULT,
        uid_mappings: &[],
        gid_mappings: &[],
        additional_gids: false,
        parent: Parent::Truman,
        caller: ROOT,
    })
    .unwrap();
    assert_eq!(plan.clone_flags & CLONE_PARENT, 0);
}

#[test]
fn a_cgroup_namespace_is_made_by_the_init_after_its_placement() {
    let plan = init(&[new(Ns::Mount), new(Ns::Cgroup)], ROOT).unwrap();
    assert_eq!(plan.clone_flags & CLONE_NEWCGROUP, 0);
    assert!(plan.child.new_cgroupns);
}

#[test]
fn the_host_s_root_maps_a_new_user_namespace_itself() {
    let plan = init(&[new(Ns::User), new(Ns::Pid), new(Ns::Mount)], ROOT).unwrap();
    assert_eq!(
        plan.clone_flags,
        CLONE_PARENT | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS
    );
    assert_eq!(
        plan.user,
        UserNamespace::Created {
            uid: MapWriter::Truman,
            gid: MapWriter::Truman,
            deny_setgroups: false
        }
    );
    assert!(!plan.child.hide_after_go);
}

#[test]
fn namespaces_of_the_host_s_are_joined_before_a_new_user_namespace_is_made() {
    // A CNI network namespace, owned by the host's user namespace: the init, once
    // born in its own, could not join it.
    let namespaces = [new(Ns::User), new(Ns::Pid), joined(Ns::Network)];
    let plan = init(&namespaces, ROOT).unwrap();
    assert_eq!(plan.intermediate, through(&[2], false));
    assert_eq!(
        plan.clone_flags,
        CLONE_PARENT | CLONE_NEWUSER | CLONE_NEWPID
    );
    assert_eq!(plan.child.joins, Joins::default());
}

#[test]
fn a_pid_namespace_by_path_is_joined_by_the_host_s_root_before_the_clone() {
    let plan = init(
        &[new(Ns::Mount), joined(Ns::Pid), joined(Ns::Network)],
        ROOT,
    )
    .unwrap();
    assert_eq!(plan.truman, vec![ForChildren::Join(1)]);
    assert_eq!(plan.intermediate, None);
    assert_eq!(plan.clone_flags, CLONE_PARENT | CLONE_NEWNS);
    assert_eq!(plan.child.joins, joins(&[2], false));
}

#[test]
fn a_new_time_namespace_is_made_by_truman_for_its_next_child() {
    let plan = init(&[new(Ns::Time), new(Ns::Pid)], ROOT).unwrap();
    assert_eq!(plan.truman, vec![ForChildren::NewTime]);
    assert_eq!(plan.clone_flags & CLONE_NEWTIME, 0);
    assert!(!plan.child.new_time);
}

#[test]
fn a_joined_user_namespace_without_a_new_pid_namespace_is_joined_by_the_init_last() {
    let namespaces = [
        joined(Ns::User),
        new(Ns::Mount),
        joined(Ns::Network),
        new(Ns::Uts),
    ];
    let plan = init(&namespaces, ROOT).unwrap();
    assert_eq!(plan.intermediate, None);
    assert_eq!(plan.clone_flags, CLONE_PARENT);
    // The network namespace while still the host's root (it may be the host's).
    assert_eq!(plan.child.joins, joins(&[2, 0], false));
    assert_eq!(plan.child.unshare, CLONE_NEWNS | CLONE_NEWUTS);
    assert_eq!(plan.user, UserNamespace::Joined);
    // A joined user namespace may have setgroups denied: the kernel says.
    assert_eq!(plan.setgroups(), None);
}

#[test]
fn a_new_pid_namespace_in_a_joined_user_namespace_is_made_through_an_intermediate() {
    let namespaces = [
        joined(Ns::User),
        new(Ns::Pid),
        new(Ns::Mount),
        joined(Ns::Network),
    ];
    let plan = init(&namespaces, ROOT).unwrap();
    assert_eq!(plan.intermediate, through(&[3, 0], false));
    assert!(plan.truman.is_empty());
    // Made by the intermediate's clone, inside the joined user namespace.
    assert_eq!(plan.clone_flags, CLONE_PARENT | CLONE_NEWPID | CLONE_NEWNS);
    assert_eq!(plan.child.joins, Joins::default());
    assert_eq!(plan.child.unshare, 0);
    assert_eq!(plan.user, UserNamespace::Joined);
}

#[test]
fn a_user_maps_only_its_own_ids_itself_with_setgroups_denied() {
    let namespaces = [new(Ns::User), new(Ns::Pid), new(Ns::Mount)];
    let plan = init_mapped(&namespaces, USER, &[map(0, 1000, 1)], false).unwrap();
    assert_eq!(plan.intermediate, None);
    assert!(plan.truman.is_empty());
    assert_eq!(
        plan.user,
        UserNamespace::Created {
            uid: MapWriter::Truman,
            gid: MapWriter::Truman,
            deny_setgroups: true
        }
    );
    // Its maps are written by a truman without privilege over its /proc files.
    assert!(plan.child.hide_after_go);
    assert!(plan.in_userns);
    assert_eq!(plan.setgroups(), Some(false));
}

#[test]
fn a_user_maps_subordinate_ranges_through_the_helpers() {
    let maps = [map(0, 1000, 1), map(1, 100000, 65536)];
    let plan = init_mapped(&[new(Ns::User), new(Ns::Mount)], USER, &maps, true).unwrap();
    assert_eq!(
        plan.user,
        UserNamespace::Created {
            uid: MapWriter::Helper,
            gid: MapWriter::Helper,
            deny_setgroups: false
        }
    );
    assert!(plan.child.hide_after_go);
}

#[test]
fn additional_gids_with_setgroups_denied_are_refused_by_field() {
    let refused = init_mapped(&[new(Ns::User)], USER, &[map(0, 1000, 1)], true).unwrap_err();
    assert!(
        refused.0.starts_with("process.user.additionalGids:"),
        "{refused}"
    );
}

#[test]
fn a_user_s_new_time_namespace_is_made_by_the_init_in_its_user_namespace() {
    let namespaces = [new(Ns::User), new(Ns::Time), new(Ns::Pid)];
    let plan = init_mapped(&namespaces, USER, &[map(0, 1000, 1)], false).unwrap();
    assert!(plan.truman.is_empty());
    assert_eq!(plan.intermediate, None);
    assert!(plan.child.new_time);
}

#[test]
fn rootless_podman_s_runtime_joins_a_pod_s_pid_namespace_through_an_intermediate() {
    let namespaces = [joined(Ns::Pid), new(Ns::Mount), joined(Ns::Network)];
    let plan = init(&namespaces, PODMAN_ROOTLESS).unwrap();
    assert!(plan.truman.is_empty());
    assert_eq!(plan.intermediate, through(&[0], false));
    assert_eq!(plan.clone_flags, CLONE_PARENT | CLONE_NEWNS);
    assert_eq!(plan.child.joins, joins(&[2], false));
    // In podman's user namespace, which is not the host's.
    assert!(plan.in_userns);
    assert_eq!(plan.setgroups(), None);
}

#[test]
fn rootless_podman_s_runtime_joins_a_pod_s_user_namespace_in_two_passes() {
    // The pod's network namespace may be podman's (joined before the user
    // namespace) or the pod's own (joinable only after).
    let namespaces = [joined(Ns::User), joined(Ns::Network), new(Ns::Mount)];
    let plan = init(&namespaces, PODMAN_ROOTLESS).unwrap();
    assert_eq!(plan.intermediate, None);
    assert_eq!(plan.child.joins, joins(&[1, 0], true));
    assert_eq!(plan.child.unshare, CLONE_NEWNS);
}

#[test]
fn rootless_podman_s_runtime_maps_a_user_namespace_itself() {
    let plan = init(&[new(Ns::User), new(Ns::Mount)], PODMAN_ROOTLESS).unwrap();
    assert_eq!(
        plan.user,
        UserNamespace::Created {
            uid: MapWriter::Truman,
            gid: MapWriter::Truman,
            deny_setgroups: false
        }
    );
    assert!(!plan.child.hide_after_go);
}

fn tenant(namespaces: &[Ns], caller: Caller, parent: Parent) -> SpawnPlan {
    for_tenant(&TenantRequest {
        namespaces,
        parent,
        caller,
    })
}

#[test]
fn the_host_s_root_execs_with_the_user_namespace_joined_last() {
    let plan = tenant(
        &[Ns::User, Ns::Mount, Ns::Network, Ns::Pid],
        ROOT,
        Parent::Truman,
    );
    assert_eq!(plan.truman, vec![ForChildren::Join(3)]);
    assert_eq!(plan.intermediate, None);
    assert_eq!(plan.clone_flags, 0);
    assert_eq!(plan.child.joins, joins(&[1, 2, 0], false));
    assert_eq!(plan.user, UserNamespace::Joined);
}

#[test]
fn a_detached_exec_is_its_caller_s_child() {
    let plan = tenant(&[Ns::Mount], ROOT, Parent::Caller);
    assert_eq!(plan.clone_flags, CLONE_PARENT);
    assert_eq!(plan.user, UserNamespace::Inherited);
}

#[test]
fn a_user_execs_through_an_intermediate_that_joins_everything() {
    let plan = tenant(
        &[Ns::User, Ns::Mount, Ns::Pid, Ns::Time],
        USER,
        Parent::Truman,
    );
    assert!(plan.truman.is_empty());
    assert_eq!(plan.intermediate, through(&[1, 2, 3, 0], true));
    assert_eq!(plan.child.joins, Joins::default());
}

#[test]
fn a_user_execs_into_a_container_sharing_its_pid_namespace_without_an_intermediate() {
    let plan = tenant(&[Ns::Mount, Ns::User], USER, Parent::Truman);
    assert_eq!(plan.intermediate, None);
    assert_eq!(plan.child.joins, joins(&[0, 1], true));
}

#[test]
fn rootless_podman_s_runtime_execs_into_a_pid_namespace_through_an_intermediate() {
    let plan = tenant(&[Ns::Mount, Ns::Pid], PODMAN_ROOTLESS, Parent::Caller);
    assert_eq!(plan.intermediate, through(&[0, 1], false));
    assert_eq!(plan.child.joins, Joins::default());
}
