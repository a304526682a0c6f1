//! The driver's own paths that need no privilege: a plain clone, the intermediate, and
//! a panic in a cloned process. Each runs in a fresh single-threaded copy of this test
//! binary: a clone of the multi-threaded test harness could inherit a lock another
//! of its threads holds.

use std::convert::Infallible;
use std::process::Command;

use nix::sys::wait::{waitpid, WaitStatus};

use super::plan::{ChildSteps, Intermediate, Joins, SpawnPlan, UserNamespace};
use super::*;

const ALONE: &str = "TRUMAN_SPAWN_TEST_ALONE";

/// Runs `name` again in a copy of this binary; true there, where the test proper runs.
fn alone(name: &str) -> bool {
    if std::env::var_os(ALONE).is_some() {
        return true;
    }
    let exe = std::env::current_exe().unwrap();
    let output = Command::new(exe)
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(ALONE, "1")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{name} alone: {said}");
    assert!(
        said.contains("1 passed"),
        "{name} did not run alone: {said}"
    );
    false
}

fn plan(intermediate: Option<Intermediate>) -> SpawnPlan {
    SpawnPlan {
        truman: Vec::new(),
        intermediate,
        clone_flags: 0,
        child: ChildSteps {
            joins: Joins::default(),
            unshare: 0,
            new_cgroupns: false,
            new_time: false,
            hide_after_go: false,
        },
        user: UserNamespace::Inherited,
        in_userns: false,
    }
}

/// As a container's process: waits for Go, says Ready, exits.
fn ready_and_exit(channel: &Channel) -> Infallible {
    let _ = channel.recv::<crate::init::sync::ToInit>();
    let _ = channel.send(&FromInit::Ready);
    // SAFETY: ends the cloned copy of the test at once.
    unsafe { libc::_exit(7) }
}

fn parent_of(pid: Pid) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name.split(' ').nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_panic_in_the_cloned_process_is_reported_to_truman_and_ends_it() {
    if !alone("spawn::tests::a_panic_in_the_cloned_process_is_reported_to_truman_and_ends_it") {
        return;
    }
    let spawned = spawn(&plan(None), &[], "", None, |_| {
        panic!("a bug of the init's")
    })
    .unwrap();
    match spawned.channel.recv::<FromInit>().unwrap() {
        Some(FromInit::Failed { error }) => {
            assert!(error.contains("a bug of the init's"), "{error}")
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert_eq!(
        waitpid(spawned.pid, None).unwrap(),
        WaitStatus::Exited(spawned.pid, 1)
    );
}

#[test]
fn the_process_made_through_an_intermediate_is_the_same_parent_s_child() {
    if !alone("spawn::tests::the_process_made_through_an_intermediate_is_the_same_parent_s_child") {
        return;
    }
    let through = Intermediate {
        joins: Joins::default(),
        new_time: false,
    };
    let spawned = spawn(&plan(Some(through)), &[], "", None, ready_and_exit).unwrap();
    assert_eq!(parent_of(spawned.pid), nix::unistd::getpid().as_raw());
    spawned
        .channel
        .send(&crate::init::sync::ToInit::Go)
        .unwrap();
    assert!(matches!(
        spawned.channel.recv::<FromInit>().unwrap(),
        Some(FromInit::Ready)
    ));
    assert_eq!(
        waitpid(spawned.pid, None).unwrap(),
        WaitStatus::Exited(spawned.pid, 7)
    );
    // The intermediate was reaped by the driver: no other child is left.
    assert_eq!(waitpid(None, None).unwrap_err(), nix::errno::Errno::ECHILD);
}

#[test]
fn a_step_that_fails_in_the_intermediate_is_reported_to_truman() {
    if !alone("spawn::tests::a_step_that_fails_in_the_intermediate_is_reported_to_truman") {
        return;
    }
    // A step naming a namespace that was not opened fails in the intermediate.
    let through = Intermediate {
        joins: Joins {
            order: vec![3],
            retry_after_user: false,
        },
        new_time: false,
    };
    let error = spawn(&plan(Some(through)), &[], "", None, ready_and_exit)
        .err()
        .expect("the intermediate fails");
    assert!(error.to_string().contains("namespace 3"), "{error}");
    assert_eq!(waitpid(None, None).unwrap_err(), nix::errno::Errno::ECHILD);
}
