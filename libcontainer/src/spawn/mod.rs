//! How every container process comes to be, the init of `create` and `run` and the
//! process of `exec` alike: [`plan`] decides who joins or makes which namespace and
//! who maps the ids, without touching anything; [`spawn`] carries that out (truman's
//! own steps undone on every path, a clone3 that falls back to clone, an intermediate
//! process where the plan has one); [`conversation`] is the one exchange with the
//! process until it waits for `start` or has exec'd.

mod caller;
mod child_namespaces;
pub(crate) mod conversation;
pub(crate) mod id_maps;
pub(crate) mod plan;

use std::convert::Infallible;
use std::fs::File;

use nix::sched::{setns, unshare, CloneFlags};
use nix::unistd::Pid;
use oci_spec::runtime::LinuxNamespaceType;
use serde::{Deserialize, Serialize};

pub use caller::in_initial_user_namespace;
use child_namespaces::ChildNamespaces;
use plan::{ForChildren, Intermediate, Joins, SpawnPlan};

use crate::init::sync::FromInit;
use crate::process::channel::{channel_pair, Channel};
use crate::process::clone::{clone3, clone3_in, clone3_with_pidfd, flags, Forked};
use crate::process::pidfd::PidFd;
use crate::process::ProcessIdentity;
use crate::{Error, Result};

/// A namespace to join, opened by truman: a path of the config's, or one of the
/// init's for an exec'd process.
#[derive(Debug)]
pub(crate) struct Joinable {
    pub typ: LinuxNamespaceType,
    pub file: File,
    /// How errors name it: `net namespace /run/netns/x`.
    pub what: String,
}

impl Joinable {
    fn flag(&self) -> CloneFlags {
        CloneFlags::from_bits_retain(self.typ as i32)
    }

    fn join(&self) -> nix::Result<()> {
        setns(&self.file, self.flag())
    }
}

/// The namespace at `index` of a request, as truman opened it.
fn opened(namespaces: &[Option<Joinable>], index: usize) -> Result<&Joinable> {
    namespaces
        .get(index)
        .and_then(Option::as_ref)
        .ok_or_else(|| Error::Init(format!("namespace {index} of the plan was not opened")))
}

/// Writes a new time namespace's offsets (as `/proc/self/timens_offsets` takes
/// them), before any process is in it; nothing for none.
pub(crate) fn write_time_offsets(offsets: &str) -> std::io::Result<()> {
    if offsets.is_empty() {
        return Ok(());
    }
    std::fs::write("/proc/self/timens_offsets", offsets)
}

/// A plan's [`Joins`], resolved to the namespaces truman opened.
pub(crate) struct Joining<'a> {
    order: Vec<&'a Joinable>,
    retry_after_user: bool,
}

/// A join that failed: what, and the kernel's answer.
pub(crate) struct JoinFailed {
    pub what: String,
    pub errno: nix::errno::Errno,
}

impl<'a> Joining<'a> {
    pub fn of(joins: &Joins, namespaces: &'a [Option<Joinable>]) -> Result<Joining<'a>> {
        let order = joins
            .order
            .iter()
            .map(|index| opened(namespaces, *index))
            .collect::<Result<_>>()?;
        Ok(Joining {
            order,
            retry_after_user: joins.retry_after_user,
        })
    }

    /// Joins them in order; where asked, one refused before the user namespace is
    /// joined again right after it.
    pub fn enter(&self) -> std::result::Result<(), JoinFailed> {
        let failed = |ns: &Joinable| {
            let what = format!("join {}", ns.what);
            move |errno| JoinFailed { what, errno }
        };
        let mut deferred = Vec::new();
        let mut in_user = false;
        for ns in &self.order {
            match ns.join() {
                Ok(()) if ns.typ == LinuxNamespaceType::User => {
                    in_user = true;
                    for later in deferred.drain(..) {
                        Joinable::join(later).map_err(failed(later))?;
                    }
                }
                Ok(()) => {}
                Err(nix::errno::Errno::EPERM)
                    if self.retry_after_user && !in_user && ns.typ != LinuxNamespaceType::User =>
                {
                    deferred.push(*ns)
                }
                Err(errno) => return Err(failed(ns)(errno)),
            }
        }
        Ok(())
    }
}

/// The container's process, cloned and stopped before its first step: it waits for
/// [`conversation::converse`]'s `Go`.
pub(crate) struct Spawned {
    pub pid: Pid,
    pub pidfd: PidFd,
    /// truman's end of the channel to it.
    pub channel: Channel,
    /// Whether it was born in the cgroup2 directory `spawn` was given.
    pub in_cgroup: bool,
}

/// Clones the container's process as `plan` says. `namespaces` are the request's, by
/// index (`None` where nothing is joined); `time_offsets` is written into a new time
/// namespace; `cgroup` is a cgroup2 directory to clone the first process into
/// (the container's process, or the intermediate it inherits it from); `child` is
/// what the process runs, with its end of the channel (it never returns: it execs or
/// exits).
pub(crate) fn spawn(
    plan: &SpawnPlan,
    namespaces: &[Option<Joinable>],
    time_offsets: &str,
    cgroup: Option<std::os::fd::BorrowedFd<'_>>,
    child: impl FnOnce(&Channel) -> Infallible,
) -> Result<Spawned> {
    let (parent_end, child_end) = channel_pair().map_err(Error::sys("socketpair"))?;
    let steps = Steps {
        namespaces,
        time_offsets,
    };
    // Undone on drop, whatever fails from here on.
    let mut for_children = ChildNamespaces::unchanged();
    for step in &plan.truman {
        match *step {
            ForChildren::Join(index) => for_children.join(opened(namespaces, index)?)?,
            ForChildren::NewTime => {
                for_children.unshare_time()?;
                steps.write_time_offsets()?;
            }
        }
    }
    let (pid, pidfd, in_cgroup) = match &plan.intermediate {
        None => {
            let _span = tracing::debug_span!("clone").entered();
            match clone3_with_pidfd(plan.clone_flags, cgroup).map_err(Error::sys("clone"))? {
                (Forked::Child, _, _) => {
                    for_children.keep_in_child();
                    drop(parent_end);
                    be_the_process(&child_end, child)
                }
                (Forked::Parent(pid), Some(pidfd), in_cgroup) => {
                    for_children.restore()?;
                    (pid, pidfd, in_cgroup)
                }
                (Forked::Parent(_), None, _) => {
                    unreachable!("clone3 with CLONE_PIDFD gives the parent a pidfd")
                }
            }
        }
        Some(intermediate) => {
            let _span = tracing::debug_span!("clone through an intermediate").entered();
            // The intermediate's report has a channel of its own, which only it
            // holds: truman sees it close if the intermediate dies at any point.
            let (born_here, born_there) = channel_pair().map_err(Error::sys("socketpair"))?;
            match clone3_in(0, cgroup).map_err(Error::sys("clone an intermediate process"))? {
                (Forked::Child, _) => {
                    for_children.keep_in_child();
                    drop(parent_end);
                    drop(born_here);
                    let process = Process {
                        clone_flags: plan.clone_flags,
                        channel: &child_end,
                        child,
                    };
                    intermediate_process(intermediate, &steps, born_there, process)
                }
                (Forked::Parent(mid), in_cgroup) => {
                    for_children.restore()?;
                    drop(born_there);
                    match born_through(mid, &born_here) {
                        Ok((pid, pidfd)) => (pid, pidfd, in_cgroup),
                        Err(e) => {
                            // The intermediate may have died after it cloned the
                            // container's process, a child of truman's it never
                            // named: once the channel closes, that process ends.
                            drop(parent_end);
                            drop(child_end);
                            reap_unnamed_children();
                            return Err(e);
                        }
                    }
                }
            }
        }
    };
    drop(child_end);
    Ok(Spawned {
        pid,
        pidfd,
        channel: parent_end,
        in_cgroup,
    })
}

/// The request's namespaces and time offsets, for the steps truman or the
/// intermediate take.
struct Steps<'a> {
    namespaces: &'a [Option<Joinable>],
    time_offsets: &'a str,
}

impl Steps<'_> {
    fn write_time_offsets(&self) -> Result<()> {
        write_time_offsets(self.time_offsets).map_err(Error::sys("write /proc/self/timens_offsets"))
    }

    /// In the intermediate, which never goes back.
    fn take(&self, intermediate: &Intermediate) -> Result<()> {
        Joining::of(&intermediate.joins, self.namespaces)?
            .enter()
            .map_err(|f| Error::errno(f.what)(f.errno))?;
        if intermediate.new_time {
            unshare(flags::time_namespace()).map_err(Error::errno("unshare time namespace"))?;
            self.write_time_offsets()?;
        }
        Ok(())
    }
}

/// What the intermediate tells truman.
#[derive(Debug, Serialize, Deserialize)]
enum Born {
    /// The container's process, by its pid in truman's pid namespace.
    Pid(i32),
    Failed(String),
}

/// The container's process, for the intermediate to clone.
struct Process<'a, F> {
    clone_flags: u64,
    channel: &'a Channel,
    child: F,
}

/// The intermediate: takes its steps, clones the container's process as its sibling,
/// says its pid on `born`, and exits.
fn intermediate_process(
    intermediate: &Intermediate,
    steps: &Steps<'_>,
    born: Channel,
    process: Process<'_, impl FnOnce(&Channel) -> Infallible>,
) -> ! {
    report_panics(&born, |info| {
        Born::Failed(format!("intermediate process: {info}"))
    });
    let cloned = steps.take(intermediate).and_then(|()| {
        clone3(process.clone_flags | flags::CLONE_PARENT)
            .map_err(Error::sys("clone the container's process"))
    });
    let report = match cloned {
        Ok(Forked::Child) => {
            // Only the intermediate reports on it.
            drop(born);
            be_the_process(process.channel, process.child)
        }
        Ok(Forked::Parent(pid)) => Born::Pid(pid.as_raw()),
        Err(e) => Born::Failed(e.to_string()),
    };
    let failed = matches!(report, Born::Failed(_));
    let _ = born.send(&report);
    // SAFETY: _exit ends this copy of truman at once, without its destructors.
    unsafe { libc::_exit(i32::from(failed)) }
}

/// truman's side of the intermediate: the container's pid, once the intermediate,
/// which has then exited, says it.
fn born_through(mid: Pid, channel: &Channel) -> Result<(Pid, PidFd)> {
    let report = channel.recv::<Born>();
    let _ = nix::sys::wait::waitpid(mid, None);
    let pid = match report.map_err(Error::sys("sync with the intermediate process"))? {
        Some(Born::Pid(pid)) => Pid::from_raw(pid),
        Some(Born::Failed(error)) => return Err(Error::Init(error)),
        None => return Err(Error::Init("the intermediate process exited".into())),
    };
    // The process waits for Go and nothing reaps it before it exits: its pid is its
    // own until then, and only a SIGKILL from outside could end it sooner.
    let pidfd = ProcessIdentity::of(pid)
        .and_then(|identity| PidFd::open(&identity))
        .ok_or_else(|| Error::Init("the container's process exited during setup".into()))?;
    Ok((pid, pidfd))
}

/// Reaps truman's children until there are none: at `create` or `exec`, truman has
/// none but the processes it spawns, and each of these is ending.
fn reap_unnamed_children() {
    loop {
        match nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::__WALL)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// In the container's process: a panic is reported to truman as a failure and ends
/// the process, never unwinding into the frames of truman's it was cloned from.
fn be_the_process(channel: &Channel, child: impl FnOnce(&Channel) -> Infallible) -> ! {
    report_panics(channel, |info| FromInit::Failed {
        error: format!("panic: {info}"),
    });
    match child(channel) {}
}

fn report_panics<M: Serialize>(
    channel: &Channel,
    message: impl Fn(&std::panic::PanicHookInfo<'_>) -> M + Send + Sync + 'static,
) {
    // Close-on-exec, as the channel: it neither reaches the program nor keeps the
    // channel open past its exec. Without a copy (no fd left), the hook still ends
    // the process: truman then sees the channel close.
    let reporter = channel.try_clone().ok();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(reporter) = &reporter {
            let _ = reporter.send(&message(info));
        }
        // SAFETY: _exit ends this process at once: nothing of truman's unwinds.
        unsafe { libc::_exit(1) }
    }));
}

/// The namespaces `ns` stands for, opened for joining.
pub(crate) fn open_joinable(typ: LinuxNamespaceType, path: &std::path::Path) -> Result<Joinable> {
    let file =
        File::open(path).map_err(Error::sys(format!("open namespace {}", path.display())))?;
    Ok(Joinable {
        typ,
        file,
        what: format!("{typ} namespace {}", path.display()),
    })
}

#[cfg(test)]
mod tests;
