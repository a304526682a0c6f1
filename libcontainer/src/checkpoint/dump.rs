//! `checkpoint`: CRIU dumps the container's processes into the image directory, told
//! what lies outside the container (externals.rs); the container is then removed as
//! `delete` removes it, unless it is left running or this was a pre-dump.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use rust_criu::rust_criu_protobuf::rpc::{
    Criu_features, Criu_opts, Criu_page_server_info, Criu_req_type, Ext_mount_map,
};

use super::options::{CgroupsMode, CheckpointOptions, CriuOptions};
use super::swrk::{Notice, Stdio3, Worker};
use super::{descriptors, externals, log};
use crate::cgroups::{self, Driver};
use crate::container::status_of_record;
use crate::id::ContainerId;
use crate::state::{StateRecord, StateStore, Status};
use crate::{Error, Result};

pub fn checkpoint(store: &StateStore, id: &str, options: &CheckpointOptions) -> Result<()> {
    let id = ContainerId::parse(id)?;
    let dir = store.open(&id)?;
    let record = dir.load()?;
    let status = status_of_record(&record, &dir.fifo_path());
    if !matches!(status, Status::Running | Status::Paused) {
        return Err(Error::Usage(format!(
            "container cannot be checkpointed in {status} state"
        )));
    }
    let Some(init) = record.init else {
        return Err(Error::NotRunning);
    };
    if let Some(fd) = options.status_fd {
        check_status_fd(fd)?;
    }
    // The mounts, masked paths and devices the container was made with: its bundle
    // as `create` read it.
    let bundle = crate::spec::load_bundle(&record.bundle)?;
    if record
        .config_stamp
        .is_some_and(|stamp| stamp != bundle.stamp)
    {
        return Err(Error::Usage(format!(
            "{}: changed since the container was created: checkpoint describes the container to CRIU from the config it was made with",
            bundle.dir.join("config.json").display()
        )));
    }
    super::check_version()?;
    if options.pre_dump {
        require_feature(Feature::MemTrack)?;
    }
    if options.criu.lazy_pages {
        require_feature(Feature::LazyPages)?;
    }
    let images = open_dir(&options.criu.image_path, true)?;
    let work = options
        .criu
        .work_path
        .as_deref()
        .map(|p| open_dir(p, true))
        .transpose()?;

    let mut opts = common_opts(&options.criu, &record);
    opts.set_images_dir_fd(images.as_raw_fd());
    if let Some(work) = &work {
        opts.set_work_dir_fd(work.as_raw_fd());
    }
    opts.set_log_file("dump.log".into());
    opts.set_pid(init.pid);
    opts.set_root(record.rootfs.display().to_string());
    opts.set_leave_running(options.leave_running);
    if let Some(parent) = &options.parent_path {
        check_parent(&options.criu.image_path, parent)?;
        opts.set_parent_img(parent.display().to_string());
        opts.set_track_mem(true);
    }
    if let Some(address) = &options.page_server {
        opts.ps = protobuf::MessageField::some(page_server(address)?);
    }
    if record.cgroup_driver != Driver::Disabled {
        // CRIU freezes the whole cgroup at once instead of seizing each task.
        let below = cgroups::path::fs_path(&record.cgroup_path, record.cgroup_driver);
        let below = below.strip_prefix("/").unwrap_or(&below).to_owned();
        let freezer = match cgroups::is_unified() {
            true => Path::new("/sys/fs/cgroup").join(below),
            false => Path::new(cgroups::freezer::V1_ROOT).join(below),
        };
        opts.set_freeze_cgroup(freezer.display().to_string());
    }
    let hierarchies = cgroups::hierarchy::of_layout(cgroups::is_unified());
    let layout = externals::Layout {
        spec: &bundle.spec,
        rootfs: &record.rootfs,
        bundle: &bundle.dir,
        hierarchies: &hierarchies,
    };
    opts.external = layout.external_namespaces()?;
    if !options.pre_dump {
        let root = Path::new("/proc").join(init.pid.to_string()).join("root");
        opts.ext_mnt = layout
            .for_dump(&root)
            .into_iter()
            .map(|(key, val)| ext_mount(key, val))
            .collect();
        let stdio = record
            .stdio
            .clone()
            .unwrap_or_else(|| descriptors::of(init.pid));
        descriptors::write(&options.criu.image_path, &stdio)?;
    }

    let kind = match options.pre_dump {
        true => Criu_req_type::PRE_DUMP,
        false => Criu_req_type::DUMP,
    };
    let mut status_fd = options.status_fd;
    let worker = Worker::start(Stdio3::Quiet, &[])?;
    let dumped = worker.call(kind, Some(opts), &mut |notice: Notice<'_>| {
        // With lazy pages CRIU is ready to serve them: whoever waits on the status
        // fd may restore now.
        if notice.script == "status-ready" {
            if let Some(fd) = status_fd.take() {
                ready(fd)?;
            }
        }
        Ok(())
    });
    let log = log::dir(&options.criu.image_path, options.criu.work_path.as_deref());
    if let Err(e) = dumped {
        // CRIU thaws what it froze when it fails, unless it died first: a container
        // that was running is not left paused by a failed checkpoint.
        if status == Status::Running && record.cgroup_driver != Driver::Disabled {
            cgroups::freezer::thaw(&cgroups::path::fs_path(
                &record.cgroup_path,
                record.cgroup_driver,
            ));
        }
        return Err(e.explained(&log.join("dump.log")));
    }
    if !options.leave_running && !options.pre_dump {
        // The processes are gone into the image; what is left goes as `delete`.
        crate::container::destroy_record(dir, &record);
    }
    Ok(())
}

/// What dump and restore both tell CRIU.
pub(super) fn common_opts(criu: &CriuOptions, record: &StateRecord) -> Criu_opts {
    let mut opts = Criu_opts::new();
    opts.set_log_level(4);
    opts.set_notify_scripts(true);
    opts.set_manage_cgroups(true);
    opts.set_manage_cgroups_mode(CgroupsMode::criu(criu.manage_cgroups_mode));
    opts.set_tcp_established(criu.tcp_established);
    opts.set_ext_unix_sk(criu.ext_unix_sk);
    opts.set_shell_job(criu.shell_job);
    opts.set_file_locks(criu.file_locks);
    opts.set_auto_dedup(criu.auto_dedup);
    opts.set_lazy_pages(criu.lazy_pages);
    // As runc: the network namespace is never dumped but made empty, its devices
    // being its manager's (CNI's, podman's) to set up again.
    opts.set_empty_ns(libc::CLONE_NEWNET as u32);
    // A terminal's master stays outside; on restore CRIU hands a new one over.
    opts.set_orphan_pts_master(true);
    if let Some(file) = super::config_file(&record.annotations) {
        opts.set_config_file(file);
    }
    opts
}

pub(super) fn ext_mount(key: String, val: String) -> Ext_mount_map {
    let mut map = Ext_mount_map::new();
    map.set_key(key);
    map.set_val(val);
    map
}

/// The directory at `path`, made first (mode 0700, as runc: it holds the container's
/// memory) when `make`.
pub(super) fn open_dir(path: &Path, make: bool) -> Result<File> {
    if make {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(Error::sys(format!("create {}", path.display())))?;
    }
    File::open(path).map_err(Error::sys(format!("open {}", path.display())))
}

/// A CRIU feature an option needs, checked before anything is dumped.
#[derive(Clone, Copy)]
enum Feature {
    /// `--pre-dump`, `--parent-path`: the kernel's soft-dirty bits.
    MemTrack,
    /// `--lazy-pages`: userfaultfd.
    LazyPages,
}

fn require_feature(feature: Feature) -> Result<()> {
    let mut asked = Criu_features::new();
    match feature {
        Feature::MemTrack => asked.set_mem_track(true),
        Feature::LazyPages => asked.set_lazy_pages(true),
    }
    let answer = Worker::start(Stdio3::Quiet, &[])?.call_features(asked)?;
    let (has, what) = match feature {
        Feature::MemTrack => (
            answer.mem_track(),
            "memory tracking (the kernel's soft-dirty bits), which --pre-dump needs",
        ),
        Feature::LazyPages => (
            answer.lazy_pages(),
            "lazy pages (userfaultfd), which --lazy-pages needs",
        ),
    };
    if !has {
        return Err(Error::Usage(format!(
            "criu is missing a feature on this host: {what} (see `criu check --all`)"
        )));
    }
    Ok(())
}

/// `--parent-path` is relative to the image directory, and must be a directory
/// there, as runc checks.
fn check_parent(images: &Path, parent: &Path) -> Result<()> {
    if parent.is_absolute() {
        return Err(Error::Usage(format!(
            "--parent-path {}: must be relative to --image-path",
            parent.display()
        )));
    }
    if !images.join(parent).is_dir() {
        return Err(Error::Usage(format!(
            "--parent-path {}: no such directory in {}",
            parent.display(),
            images.display()
        )));
    }
    Ok(())
}

fn page_server(address: &str) -> Result<Criu_page_server_info> {
    let refused = || Error::Usage(format!("--page-server {address}: not ADDRESS:PORT"));
    let (host, port) = address.rsplit_once(':').ok_or_else(refused)?;
    let port: i32 = port.parse().map_err(|_| refused())?;
    let mut info = Criu_page_server_info::new();
    info.set_address(host.to_owned());
    info.set_port(port);
    Ok(info)
}

/// `--status-fd` must be open for writing, as runc checks: it is written and closed.
fn check_status_fd(fd: i32) -> Result<()> {
    // SAFETY: F_GETFL reads the flags of a number, open or not; nothing is changed.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    let writable = flags >= 0 && matches!(flags & libc::O_ACCMODE, libc::O_WRONLY | libc::O_RDWR);
    if !writable || fd <= 2 {
        return Err(Error::Usage(format!(
            "--status-fd {fd}: not an fd open for writing"
        )));
    }
    Ok(())
}

/// Writes the one byte `--status-fd` waits for, and closes it.
fn ready(fd: i32) -> Result<()> {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    // SAFETY: the fd was handed to truman for this one write; nothing else uses it.
    let mut file = unsafe { File::from_raw_fd(fd) };
    file.write_all(b"\0")
        .map_err(Error::sys(format!("write --status-fd {fd}")))
}
