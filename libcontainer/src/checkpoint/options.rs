//! What `checkpoint` and `restore` are asked, as runc's flags name it.

use std::path::PathBuf;

use rust_criu::rust_criu_protobuf::rpc::Criu_cg_mode;

/// `--manage-cgroups-mode`: what CRIU does with the container's cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupsMode {
    /// Restores the cgroups' properties only where it makes the cgroups.
    Soft,
    /// Restores every property.
    Full,
    /// Restores every property, and refuses a cgroup that exists already.
    Strict,
    /// Leaves cgroups alone: the processes stay where truman put CRIU (the
    /// container's own cgroup). Needed to restore into another cgroup path.
    Ignore,
}

impl CgroupsMode {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "soft" => Some(Self::Soft),
            "full" => Some(Self::Full),
            "strict" => Some(Self::Strict),
            "ignore" => Some(Self::Ignore),
            _ => None,
        }
    }

    pub(crate) fn criu(mode: Option<Self>) -> Criu_cg_mode {
        match mode {
            None => Criu_cg_mode::DEFAULT,
            Some(Self::Soft) => Criu_cg_mode::SOFT,
            Some(Self::Full) => Criu_cg_mode::FULL,
            Some(Self::Strict) => Criu_cg_mode::STRICT,
            Some(Self::Ignore) => Criu_cg_mode::IGNORE,
        }
    }
}

/// What both commands take.
#[derive(Debug, Clone, Default)]
pub struct CriuOptions {
    /// The checkpoint's directory (made by `checkpoint`).
    pub image_path: PathBuf,
    /// Where CRIU writes its log and statistics; the image directory if not given.
    pub work_path: Option<PathBuf>,
    pub tcp_established: bool,
    pub ext_unix_sk: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub manage_cgroups_mode: Option<CgroupsMode>,
    /// `--empty-ns network`: the network namespace is not dumped (truman never dumps
    /// it: as runc, it restores an empty one, the network being its manager's).
    pub empty_network: bool,
    pub auto_dedup: bool,
    pub lazy_pages: bool,
}

#[derive(Debug, Clone, Default)]
pub struct CheckpointOptions {
    pub criu: CriuOptions,
    /// A previous (pre-)dump, relative to the image directory.
    pub parent_path: Option<PathBuf>,
    pub leave_running: bool,
    /// With `--lazy-pages`: an fd to write a byte to once the page server is ready.
    pub status_fd: Option<i32>,
    /// `ADDRESS:PORT` of a page server to send the memory to.
    pub page_server: Option<String>,
    pub pre_dump: bool,
}

#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    pub id: String,
    pub criu: CriuOptions,
    pub bundle: PathBuf,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_subreaper: bool,
    pub no_pivot: bool,
    /// `TYPE:LABEL`, as `selinux:system_u:system_r:container_t:s0`.
    pub lsm_profile: Option<String>,
    pub lsm_mount_context: Option<String>,
    pub cgroup_driver: crate::cgroups::Driver,
}
