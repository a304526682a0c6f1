//! The command line, flag for flag as runc takes it, so that containerd, podman and
//! docker drive truman unchanged.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::logging::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "truman",
    about = "An OCI container runtime",
    // Printed as "truman version X", the shape go-runc parses for runc.
    version = concat!("version ", env!("CARGO_PKG_VERSION"), "\nspec: 1.2.1"),
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Directory for the containers' state (default /run/truman, or
    /// $XDG_RUNTIME_DIR/truman when not real root).
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    /// Log file (default: stderr).
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log debug messages, with the time each step took.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Manage cgroups through systemd (cgroupsPath is slice:prefix:name).
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
    /// Who manages the containers' cgroups, as crun spells it; `disabled` makes none
    /// (`--systemd-cgroup` is `systemd`).
    #[arg(long, global = true, value_enum)]
    pub cgroup_manager: Option<CgroupManager>,
    /// Rootless mode: true, false or auto.
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "true")]
    pub rootless: Option<String>,
    /// Accepted for compatibility; criu is looked up in PATH.
    #[arg(long, global = true, hide = true)]
    pub criu: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Create a container whose process waits for `start`.
    Create(CreateArgs),
    /// Start a created container's process.
    Start { id: String },
    /// Print a container's state as JSON.
    State { id: String },
    /// Send a signal to a container's init (default SIGTERM).
    Kill {
        /// Signal every process of the container.
        #[arg(short, long)]
        all: bool,
        id: String,
        #[arg(default_value = "SIGTERM", allow_hyphen_values = true)]
        signal: String,
    },
    /// Delete a container and everything it owns.
    Delete {
        /// Kill the container first if it is running.
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// Create and start a container.
    Run(RunArgs),
    /// List containers.
    List {
        #[arg(short, long, default_value = "table")]
        format: ListFormat,
        /// Print only the ids.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Freeze every process of a running container.
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// List the container's processes: host PIDs as JSON, or `ps` lines.
    Ps {
        #[arg(short, long, default_value = "table")]
        format: ListFormat,
        id: String,
        /// Options for ps(1) in table format (default -ef), as go-runc passes them
        /// after the id (`ps --format table ID -ef`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Run one more process in a container.
    Exec(ExecArgs),
    /// Checkpoint a running container through CRIU.
    Checkpoint(CheckpointArgs),
    /// Restore a container from a CRIU checkpoint.
    Restore(RestoreArgs),
    /// Change a running container's resource limits.
    Update(UpdateArgs),
    /// Print a container's resource usage and OOM events as JSON lines.
    Events {
        /// Print the statistics once and exit.
        #[arg(long)]
        stats: bool,
        /// How often to print statistics (a Go duration: 5s, 500ms).
        #[arg(long, default_value = "5s")]
        interval: String,
        id: String,
    },
    /// Print what this truman can do (runtime-spec features.json).
    Features,
    /// Write a default config.json.
    Spec {
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        // `spec --rootless` is the global --rootless flag, given after the command.
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CgroupManager {
    Cgroupfs,
    Systemd,
    Disabled,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Send a pidfd of the container's init over this unix socket.
    #[arg(long)]
    pub pidfd_socket: Option<PathBuf>,
    #[arg(long)]
    pub no_pivot: bool,
    #[arg(long)]
    pub no_new_keyring: bool,
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    pub id: String,
}

/// The CRIU options both `checkpoint` and `restore` take, as runc names them.
#[derive(Debug, Args)]
pub struct CriuArgs {
    /// The checkpoint's directory (default: ./checkpoint).
    #[arg(long)]
    pub image_path: Option<PathBuf>,
    /// Where CRIU writes its log and statistics (default: the image directory).
    #[arg(long)]
    pub work_path: Option<PathBuf>,
    /// Allow open TCP connections.
    #[arg(long)]
    pub tcp_established: bool,
    /// Allow external unix sockets.
    #[arg(long)]
    pub ext_unix_sk: bool,
    /// Allow shell jobs.
    #[arg(long)]
    pub shell_job: bool,
    /// Handle file locks.
    #[arg(long)]
    pub file_locks: bool,
    /// cgroups mode: soft, full, strict or ignore.
    #[arg(long)]
    pub manage_cgroups_mode: Option<String>,
    /// A namespace not to checkpoint (only `network`; truman never checkpoints it).
    #[arg(long)]
    pub empty_ns: Vec<String>,
    /// Deduplicate memory pages against the parent image.
    #[arg(long)]
    pub auto_dedup: bool,
    /// Restore memory pages on demand (userfaultfd).
    #[arg(long)]
    pub lazy_pages: bool,
}

#[derive(Debug, Args)]
// podman may give --leave-running twice.
#[command(args_override_self = true)]
pub struct CheckpointArgs {
    #[command(flatten)]
    pub criu: CriuArgs,
    /// A previous checkpoint, relative to the image directory.
    #[arg(long)]
    pub parent_path: Option<PathBuf>,
    /// Leave the container running after the checkpoint.
    #[arg(long)]
    pub leave_running: bool,
    /// With --lazy-pages: write a byte to this fd once the pages can be fetched.
    #[arg(long, allow_negative_numbers = true)]
    pub status_fd: Option<i32>,
    /// ADDRESS:PORT of a CRIU page server to send the memory to.
    #[arg(long)]
    pub page_server: Option<String>,
    /// Dump only the memory, for a later checkpoint with --parent-path.
    #[arg(long)]
    pub pre_dump: bool,
    pub id: String,
}

#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub criu: CriuArgs,
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Leave once the container runs.
    #[arg(short, long)]
    pub detach: bool,
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Do not adopt the container's orphaned processes (containerd spells it
    /// `-no-subreaper`).
    #[arg(long)]
    pub no_subreaper: bool,
    #[arg(long)]
    pub no_pivot: bool,
    /// Accepted as conmon passes it; a restored container has the keyring it had.
    #[arg(long, hide = true)]
    pub no_new_keyring: bool,
    /// LSM profile for the restored processes, TYPE:LABEL.
    #[arg(long)]
    pub lsm_profile: Option<String>,
    /// LSM mount context for the restored mounts.
    #[arg(long)]
    pub lsm_mount_context: Option<String>,
    pub id: String,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    #[arg(short, long)]
    pub detach: bool,
    /// Keep the container's state after it exits.
    #[arg(long)]
    pub keep: bool,
    /// Do not adopt the container's orphaned processes.
    #[arg(long)]
    pub no_subreaper: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Send a pidfd of the new process over this unix socket.
    #[arg(long)]
    pub pidfd_socket: Option<PathBuf>,
    /// Current working directory in the container.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Set an environment variable (repeatable).
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// uid[:gid] to run as.
    #[arg(short, long)]
    pub user: Option<String>,
    /// Additional gids (repeatable).
    #[arg(short = 'g', long, allow_negative_numbers = true)]
    pub additional_gids: Vec<i64>,
    /// A process.json to run instead of the arguments.
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Leave once the process runs.
    #[arg(short, long)]
    pub detach: bool,
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// SELinux label for the process.
    #[arg(long)]
    pub process_label: Option<String>,
    /// AppArmor profile for the process.
    #[arg(long)]
    pub apparmor: Option<String>,
    /// Set no_new_privs.
    #[arg(long)]
    pub no_new_privs: bool,
    /// Add a capability (repeatable).
    #[arg(short, long)]
    pub cap: Vec<String>,
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Sub-cgroup to run in: PATH or CONTROLLER[,CONTROLLER]:PATH (repeatable).
    #[arg(long)]
    pub cgroup: Vec<String>,
    /// Exec even into a paused container.
    #[arg(long)]
    pub ignore_paused: bool,
    pub id: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// A LinuxResources JSON file, or - for stdin; the other flags are then ignored.
    #[arg(short, long)]
    pub resources: Option<PathBuf>,
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    #[arg(long)]
    pub cpu_period: Option<u64>,
    #[arg(long, allow_negative_numbers = true)]
    pub cpu_quota: Option<i64>,
    #[arg(long)]
    pub cpu_burst: Option<u64>,
    /// CPU shares (runc's name; `--cpu-shares` is accepted too).
    #[arg(long, alias = "cpu-shares")]
    pub cpu_share: Option<u64>,
    #[arg(long)]
    pub cpu_rt_period: Option<u64>,
    #[arg(long, allow_negative_numbers = true)]
    pub cpu_rt_runtime: Option<i64>,
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    #[arg(long)]
    pub cpu_idle: Option<i64>,
    /// Memory limit in bytes (or with a unit: 512k, 10M, 1g); -1 for none.
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap; -1 for unlimited swap.
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Obsolete: ignored, as by runc.
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<String>,
    #[arg(long, allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// Intel RDT/CAT L3 cache schema for the container's resctrl group.
    #[arg(long)]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT/MBA memory bandwidth schema for the container's resctrl group.
    #[arg(long)]
    pub mem_bw_schema: Option<String>,
    pub id: String,
}
