//! `restore`: a new container from the bundle as it is now (its id claimed, its state
//! recorded, its cgroup made), into which CRIU brings the checkpointed processes back.
//! CRIU runs in the container's cgroup, as runc has it, and is told to restore below
//! that cgroup; its fds 0-2 are truman's, so the pipes the checkpoint names become the
//! caller's; the restored init is cloned as truman's child (`rst_sibling`), so that
//! truman, or its caller's subreaper once truman has left, waits for it as for a
//! created one.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use nix::unistd::Pid;
use rust_criu::rust_criu_protobuf::rpc::{Cgroup_root, Criu_req_type, Inherit_fd, Join_namespace};

use super::dump::{common_opts, ext_mount, open_dir};
use super::options::RestoreOptions;
use super::swrk::{Notice, Stdio3, Worker};
use super::{descriptors, externals, log};
use crate::cgroups::{self, Cgroup, Driver};
use crate::container::{destroy_record, hook_state, new_record, CreateOptions};
use crate::id::ContainerId;
use crate::process::ProcessIdentity;
use crate::spec::{load_bundle, Bundle};
use crate::state::{ContainerDir, StateRecord, StateStore, Status};
use crate::{Error, Result};

/// A container CRIU brought back: running, its init a child of this truman.
#[derive(Debug)]
pub struct Restored {
    pub id: ContainerId,
    pub init: ProcessIdentity,
    /// `process.terminal`: its new pty's master went to the console socket.
    pub terminal: bool,
}

pub fn restore(store: &StateStore, options: &RestoreOptions) -> Result<Restored> {
    restore_with(store, options, None)
}

/// `local_console`: for a foreground restore without `--console-socket`, the socket
/// on which truman itself receives the new pty's master, to relay it.
pub(crate) fn restore_with(
    store: &StateStore,
    options: &RestoreOptions,
    local_console: Option<OwnedFd>,
) -> Result<Restored> {
    let id = ContainerId::parse(&options.id)?;
    own_mount_namespace()?;
    let bundle = load_bundle(&options.bundle)?;
    let terminal = bundle
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    // As runc: a terminal's master goes to the console socket, which only a
    // detached restore of a terminal container takes.
    let console = match (terminal, &options.console_socket, local_console) {
        (true, Some(path), _) => Some(UnixStream::connect(path).map_err(Error::sys(format!(
            "connect to console socket {}",
            path.display()
        )))?),
        (true, None, Some(local)) => Some(UnixStream::from(local)),
        (true, None, None) => {
            return Err(Error::Usage(
                "cannot allocate tty if truman will detach without setting console socket".into(),
            ))
        }
        (false, Some(_), _) => {
            return Err(Error::Usage(
                "cannot use console socket if truman will not detach or allocate tty".into(),
            ))
        }
        (false, None, _) => None,
    };
    let images = open_dir(&options.criu.image_path, false)?;
    let stdio = descriptors::read(&options.criu.image_path)?;
    let version = super::check_version()?;
    if version < super::LSM_CRIU {
        if let Some(flag) = [
            ("--lsm-profile", &options.lsm_profile),
            ("--lsm-mount-context", &options.lsm_mount_context),
        ]
        .iter()
        .find_map(|(flag, value)| value.as_ref().map(|_| flag))
        {
            return Err(Error::Usage(format!("{flag} needs CRIU 3.16 or newer")));
        }
    }

    let driver = options.cgroup_driver;
    let configured = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_deref());
    let cgroup_path = cgroups::resolve(configured, &id, driver, cgroups::is_unified())?;
    let create_options = CreateOptions {
        id: options.id.clone(),
        bundle: options.bundle.clone(),
        no_pivot: options.no_pivot,
        cgroup_driver: driver,
        ..CreateOptions::default()
    };
    let dir = store.create(&id)?;
    let mut record = new_record(&id, &bundle, &create_options, cgroup_path, driver);
    let restored = bring_back(
        &dir,
        &bundle,
        options,
        &mut record,
        Given {
            images,
            stdio,
            console,
        },
    );
    match restored {
        Ok(init) => Ok(Restored { id, init, terminal }),
        Err(e) => {
            kill_children();
            destroy_record(dir, &record);
            Err(e)
        }
    }
}

/// Moves this truman into a mount namespace of its own, a slave of the host's, before
/// anything is opened: CRIU, its child, mounts there (the rootfs bound for it, and its
/// cgroup yard in the work directory, which it leaves mounted when it is killed), and
/// what it leaves goes with the namespace instead of staying in the host's, where the
/// removal of a work directory would descend into live cgroup hierarchies. The hooks
/// truman runs see the host's mounts, as copies; a mount a hook makes on the host side
/// stays in this namespace (a hook that mounts into the container enters its
/// namespace, as hooks do).
fn own_mount_namespace() -> Result<()> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .map_err(Error::errno("unshare a mount namespace for the restore"))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .map_err(Error::errno(
        "make the restore's mounts slaves of the host's",
    ))
}

/// Kills truman's children after a failed restore: the restored tree's root is one
/// (CRIU clones it as truman's, `rst_sibling`), and one CRIU never announced (it
/// failed before `setup-namespaces`) is found nowhere else when the container has no
/// cgroup of its own to empty. truman has no other child by then: CRIU has been
/// reaped and hooks are waited for.
fn kill_children() {
    let Ok(text) = std::fs::read_to_string("/proc/thread-self/children") else {
        return;
    };
    for pid in text
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
    {
        let pid = Pid::from_raw(pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(pid, None);
    }
}

/// What was opened and read before the container's state existed.
struct Given {
    images: File,
    stdio: Vec<String>,
    console: Option<UnixStream>,
}

fn bring_back(
    dir: &ContainerDir,
    bundle: &Bundle,
    options: &RestoreOptions,
    record: &mut StateRecord,
    given: Given,
) -> Result<ProcessIdentity> {
    let Given {
        images,
        stdio,
        console,
    } = given;
    let id = ContainerId::parse(&record.id)?;
    let cgroup = match record.cgroup_driver {
        Driver::Disabled => None,
        driver => Some(Cgroup::open(&record.cgroup_path, driver, &id)?),
    };
    record.cgroup_preexisted = cgroup.as_ref().is_some_and(Cgroup::exists);
    // Until CRIU has brought the init back, the container is being created.
    dir.save(record)?;
    let work = options
        .criu
        .work_path
        .as_deref()
        .map(|p| open_dir(p, true))
        .transpose()?;
    // CRIU wants a root that is a mount point of its own with nothing mounted over
    // its parent: a bind of the rootfs in the container's state directory, which
    // the removal of that directory unmounts first if an interrupted restore left
    // it (state/store.rs).
    let root = CriuRoot::mount(&dir.path().join(crate::state::CRIU_ROOT), &bundle.rootfs)?;

    let mut opts = common_opts(&options.criu, record);
    opts.set_images_dir_fd(images.as_raw_fd());
    if let Some(work) = &work {
        opts.set_work_dir_fd(work.as_raw_fd());
    }
    opts.set_log_file("restore.log".into());
    opts.set_root(root.path.display().to_string());
    opts.set_rst_sibling(true);
    opts.set_evasive_devices(true);
    if let Some(profile) = &options.lsm_profile {
        opts.set_lsm_profile(profile.clone());
    }
    if let Some(context) = &options.lsm_mount_context {
        opts.set_lsm_mount_context(context.clone());
    }
    let hierarchies = cgroups::hierarchy::of_layout(cgroups::is_unified());
    let layout = externals::Layout {
        spec: &bundle.spec,
        rootfs: &bundle.rootfs,
        bundle: &bundle.dir,
        hierarchies: &hierarchies,
    };
    layout.make_mount_points()?;
    let fs_path = cgroups::path::fs_path(&record.cgroup_path, record.cgroup_driver);
    opts.ext_mnt = layout
        .for_restore(&fs_path)
        .into_iter()
        .map(|(key, val)| ext_mount(key, val))
        .collect();
    for (fd, pipe) in descriptors::pipes(&stdio) {
        opts.inherit_fd.push(inherit(pipe, fd));
    }
    // Namespaces joined by path: the network and PID ones handed over as fds (4, 5,
    // ... in CRIU), the others joined by CRIU itself.
    let mut handed: Vec<OwnedFd> = Vec::new();
    for (typ, path) in layout.joined() {
        if let Some(key) = externals::inherited_name(typ) {
            let file = File::open(&path).map_err(Error::sys(format!(
                "open namespace {} for restore",
                path.display()
            )))?;
            opts.inherit_fd.push(inherit(key, 4 + handed.len() as i32));
            handed.push(file.into());
        } else if let Some(name) = externals::join_name(typ) {
            let mut join = Join_namespace::new();
            join.set_ns(name.into());
            join.set_ns_file(path.display().to_string());
            opts.join_ns.push(join);
        } else {
            return Err(Error::Usage(format!(
                "restore: cannot join the {typ:?} namespace {} (CRIU restores a cgroup namespace of its own)",
                path.display()
            )));
        }
    }

    let extra: Vec<&OwnedFd> = handed.iter().collect();
    let worker = Worker::start(Stdio3::Inherited, &extra)?;
    let criu = Pid::from_raw(worker.pid());
    if let Some(cgroup) = &cgroup {
        // CRIU, and what it clones, start in the container's cgroup, limited.
        cgroup.add(criu)?;
        if let Some(resources) = bundle
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.resources().as_ref())
        {
            cgroup.apply(resources)?;
        }
        opts.cg_root = cgroup_roots(criu)?;
    }

    let hooks = bundle.spec.hooks().clone();
    let mut noticed = |notice: Notice<'_>| -> Result<()> {
        match notice.script {
            // The init exists in its namespaces; its mounts are not back yet. runc
            // runs the hooks of create here, the prestart and createRuntime ones.
            "setup-namespaces" => {
                record.init = ProcessIdentity::of(Pid::from_raw(notice.pid));
                let state = hook_state(record, Status::Creating)?;
                if let Some(hooks) = &hooks {
                    for (point, list) in [
                        (hooks::HookPoint::Prestart, hooks.prestart()),
                        (hooks::HookPoint::CreateRuntime, hooks.create_runtime()),
                    ] {
                        hooks::run_hooks(
                            point,
                            list.as_deref().unwrap_or_default(),
                            state.as_bytes(),
                        )?;
                    }
                }
            }
            "orphan-pts-master" => {
                let (Some(master), Some(socket)) = (notice.fd, &console) else {
                    return Err(Error::Usage(
                        "criu sent a terminal master, and there is no console socket".into(),
                    ));
                };
                crate::process::send_fd::send_fd(socket, master.as_raw_fd(), "/dev/ptmx")
                    .map_err(Error::sys("send the console master"))?;
            }
            // Restored, not yet resumed: from here the container is running.
            "post-restore" => {
                let init = ProcessIdentity::of(Pid::from_raw(notice.pid)).ok_or_else(|| {
                    Error::Init("the restored init exited before it resumed".into())
                })?;
                record.init = Some(init);
                record.creator = None;
                // CRIU's stdio, truman's, is what the restored pipes are now.
                record.stdio = Some(descriptors::of(std::process::id() as i32));
                dir.save(record)?;
            }
            _ => {}
        }
        Ok(())
    };
    let restored = worker.call(Criu_req_type::RESTORE, Some(opts), &mut noticed);
    drop(root);
    let log = log::dir(&options.criu.image_path, options.criu.work_path.as_deref());
    let response = restored.map_err(|e| e.explained(&log.join("restore.log")))?;
    let pid = response.restore.as_ref().map(|r| r.pid()).unwrap_or(0);
    let init = match record.init {
        Some(init) if record.creator.is_none() => init,
        _ => ProcessIdentity::of(Pid::from_raw(pid))
            .ok_or_else(|| Error::Init("the restored init is gone".into()))?,
    };
    if record.creator.is_some() {
        record.init = Some(init);
        record.creator = None;
        dir.save(record)?;
    }
    if let Some(path) = &options.pid_file {
        crate::container::write_pid_file(path, init.pid())?;
    }
    Ok(init)
}

fn inherit(key: &str, fd: i32) -> Inherit_fd {
    let mut inherit = Inherit_fd::new();
    inherit.set_key(key.to_owned());
    inherit.set_fd(fd);
    inherit
}

/// The cgroup CRIU is in, per controller, as `/proc/<pid>/cgroup` lists it: where it
/// restores the dumped cgroups.
fn cgroup_roots(criu: Pid) -> Result<Vec<Cgroup_root>> {
    let path = format!("/proc/{criu}/cgroup");
    let text = std::fs::read_to_string(&path).map_err(Error::sys(format!("read {path}")))?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, cgroup) = (parts.next()?, parts.next()?, parts.next()?);
            let mut root = Cgroup_root::new();
            if !controllers.is_empty() {
                root.set_ctrl(controllers.to_owned());
            }
            root.set_path(cgroup.to_owned());
            Some(root)
        })
        .collect())
}

/// The rootfs bound at `path` for as long as this lives.
struct CriuRoot {
    path: PathBuf,
}

impl CriuRoot {
    fn mount(path: &Path, rootfs: &Path) -> Result<Self> {
        std::fs::create_dir_all(path).map_err(Error::sys(format!("create {}", path.display())))?;
        mount(
            Some(rootfs),
            path,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(Error::errno(format!(
            "bind {} on {}",
            rootfs.display(),
            path.display()
        )))?;
        Ok(Self {
            path: path.to_owned(),
        })
    }
}

impl Drop for CriuRoot {
    fn drop(&mut self) {
        match umount2(&self.path, MntFlags::MNT_DETACH) {
            Ok(()) => {
                let _ = std::fs::remove_dir(&self.path);
            }
            // Left for the state directory's removal, which unmounts it first.
            Err(e) => tracing::warn!("unmount {}: {e}", self.path.display()),
        }
    }
}
