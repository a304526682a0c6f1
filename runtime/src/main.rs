//! truman: an OCI container runtime with runc's command line. This binary only parses
//! flags, sets up logging, makes one call into libcontainer, and turns the outcome into
//! output and an exit code.

// truman has its own C `main` instead of Rust's wrapper: see `process_start`.
#![cfg_attr(not(test), no_main)]
// Under test the harness has the main, and what only `main` reaches goes unused.
#![cfg_attr(test, allow(dead_code))]

mod cli;
mod logging;
mod output;
mod process_start;
mod units;

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches};
use libcontainer::container::{self, CreateOptions};
use libcontainer::state::StateStore;

use cli::{Cli, Command, CreateArgs};

#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    process_start::prepare();
    let code = run();
    // Rust's wrapper flushes stdout on the way out; returning from here does not.
    let _ = std::io::Write::flush(&mut std::io::stdout());
    code.into()
}

const SUCCESS: u8 = 0;
const FAILURE: u8 = 1;

fn run() -> u8 {
    // The commands that start container processes run from an image of truman no one
    // can write (CVE-2019-5736): re-executing before the flags are parsed spares the
    // parse (0.3 ms) in the process that is replaced. Any argument spelled like one of
    // them triggers it (an id "run" too: harmless); the check after parsing, in
    // `execute`, is the one that decides and reports errors.
    if std::env::args_os()
        .skip(1)
        .any(|a| a == "create" || a == "run" || a == "exec")
    {
        let _ = libcontainer::process::sealed_exe::ensure_sealed();
    }
    let cli = match parse_command_line() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let logging = match logging::init(cli.log.as_deref(), cli.log_format, cli.debug) {
        Ok(logging) => logging,
        Err(e) => {
            eprintln!("{e:#}");
            return FAILURE;
        }
    };
    match execute(cli) {
        Ok(code) => code,
        Err(e) => {
            let msg = one_line(&e);
            // runc's exit code for a failed exec, distinct from any program's own.
            let code = match e.downcast_ref::<ExecFailed>() {
                Some(_) => 255,
                None => FAILURE,
            };
            // With --log, the error goes there as one error line (containerd reads the
            // last one) and to stderr (podman falls back to it); without, once.
            if !logging.to_stderr {
                tracing::error!("{msg}");
            }
            eprintln!("{msg}");
            code
        }
    }
}

/// The context of every `exec` error, as runc words it.
#[derive(Debug)]
struct ExecFailed;

impl std::fmt::Display for ExecFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("exec failed")
    }
}

fn execute(cli: Cli) -> anyhow::Result<u8> {
    // The commands that start container processes run from a sealed copy of truman
    // (CVE-2019-5736); this re-executes truman unless it already does.
    if matches!(
        cli.command,
        Command::Create(_) | Command::Run(_) | Command::Exec(_)
    ) {
        use anyhow::Context;
        libcontainer::process::sealed_exe::ensure_sealed()
            .context("run from a sealed copy of truman (CVE-2019-5736)")?;
    }
    let root = match cli.root.clone() {
        Some(root) => root,
        None => default_root()?,
    };
    let store = StateStore::new(root);
    let cgroup_driver = cgroup_driver(&cli)?;
    let create_options = |args: CreateArgs| CreateOptions {
        id: args.id,
        bundle: args.bundle,
        pid_file: args.pid_file,
        console_socket: args.console_socket,
        pidfd_socket: args.pidfd_socket,
        no_pivot: args.no_pivot,
        no_new_keyring: args.no_new_keyring,
        preserve_fds: args.preserve_fds,
        listen_fds: libcontainer::process::socket_activation::ListenFds::inherited(),
        cgroup_driver,
    };
    match cli.command {
        Command::Create(args) => {
            container::create(&store, &create_options(args))?;
        }
        Command::Start { id } => container::start(&store, &id)?,
        Command::State { id } => output::json(&container::state(&store, &id)?)?,
        Command::Kill { all, id, signal } => container::kill(&store, &id, &signal, all)?,
        Command::Delete { force, id } => container::delete(&store, &id, force)?,
        Command::Run(args) => {
            let mode = container::RunMode {
                detach: args.detach,
                keep: args.keep,
                subreaper: !args.no_subreaper,
            };
            let code = container::run(&store, &create_options(args.create), mode)?;
            return Ok(code.clamp(0, 255) as u8);
        }
        Command::List { format, quiet } => output::list(&container::list(&store)?, format, quiet)?,
        Command::Pause { id } => container::pause(&store, &id)?,
        Command::Resume { id } => container::resume(&store, &id)?,
        Command::Ps {
            format,
            id,
            ps_args,
        } => {
            let pids = container::pids(&store, &id)?;
            match format {
                cli::ListFormat::Json => output::json_line(&pids)?,
                cli::ListFormat::Table => output::ps_table(&pids, &ps_args)?,
            }
        }
        Command::Exec(args) => {
            let code = container::exec(&store, &exec_options(args))
                .map_err(|e| anyhow::Error::new(e).context(ExecFailed))?;
            return Ok(code.clamp(0, 255) as u8);
        }
        Command::Update(args) => {
            let resources = update_resources(&args)?;
            let schemas = container::RdtSchemas {
                l3_cache_schema: args.l3_cache_schema.clone(),
                mem_bw_schema: args.mem_bw_schema.clone(),
            };
            container::update(&store, &args.id, &resources, &schemas)?;
        }
        Command::Events {
            stats,
            interval,
            id,
        } => {
            let interval = match stats {
                true => None,
                false => {
                    let every = units::go_duration(&interval)
                        .map_err(|e| anyhow::anyhow!("--interval: {e}"))?;
                    anyhow::ensure!(!every.is_zero(), "duration interval must be greater than 0");
                    Some(every)
                }
            };
            container::events(&store, &id, interval, &mut output::event_line)?;
        }
        Command::Checkpoint(args) => {
            let options = libcontainer::checkpoint::CheckpointOptions {
                criu: criu_options(&args.criu)?,
                parent_path: args.parent_path,
                leave_running: args.leave_running,
                status_fd: args.status_fd.filter(|fd| *fd >= 0),
                page_server: args.page_server,
                pre_dump: args.pre_dump,
            };
            libcontainer::checkpoint::checkpoint(&store, &args.id, &options)?;
        }
        Command::Restore(args) => {
            let options = libcontainer::checkpoint::RestoreOptions {
                id: args.id,
                criu: criu_options(&args.criu)?,
                bundle: args.bundle,
                detach: args.detach,
                pid_file: args.pid_file,
                console_socket: args.console_socket,
                no_subreaper: args.no_subreaper,
                no_pivot: args.no_pivot,
                lsm_profile: args.lsm_profile,
                lsm_mount_context: args.lsm_mount_context,
                cgroup_driver,
            };
            let code = container::restored(&store, &options)?;
            return Ok(code.clamp(0, 255) as u8);
        }
        Command::Features => output::features(&libcontainer::features::features())?,
        Command::Spec { bundle } => {
            let rootless = cli.rootless.as_deref() == Some("true");
            libcontainer::spec::write_default(&bundle, rootless)?
        }
    }
    Ok(SUCCESS)
}

fn criu_options(args: &cli::CriuArgs) -> anyhow::Result<libcontainer::checkpoint::CriuOptions> {
    use libcontainer::checkpoint::CgroupsMode;
    let manage_cgroups_mode = match &args.manage_cgroups_mode {
        None => None,
        Some(mode) => Some(CgroupsMode::parse(mode).ok_or_else(|| {
            anyhow::anyhow!("--manage-cgroups-mode {mode}: not soft, full, strict or ignore")
        })?),
    };
    if let Some(ns) = args.empty_ns.iter().find(|ns| *ns != "network") {
        anyhow::bail!("--empty-ns {ns}: only network is supported");
    }
    let image_path = match &args.image_path {
        Some(path) => path.clone(),
        None => std::env::current_dir()?.join("checkpoint"),
    };
    Ok(libcontainer::checkpoint::CriuOptions {
        image_path,
        work_path: args.work_path.clone(),
        tcp_established: args.tcp_established,
        ext_unix_sk: args.ext_unix_sk,
        shell_job: args.shell_job,
        file_locks: args.file_locks,
        manage_cgroups_mode,
        empty_network: !args.empty_ns.is_empty(),
        auto_dedup: args.auto_dedup,
        lazy_pages: args.lazy_pages,
    })
}

fn exec_options(args: cli::ExecArgs) -> container::ExecOptions {
    let process = match args.process {
        Some(path) => container::ExecProcess::File(path),
        None => container::ExecProcess::Args(container::ExecArgs {
            args: args.args,
            tty: args.tty,
            cwd: args.cwd,
            env: args.env,
            user: args.user,
            additional_gids: args.additional_gids,
            caps: args.cap,
            no_new_privs: args.no_new_privs,
            apparmor: args.apparmor,
            process_label: args.process_label,
        }),
    };
    container::ExecOptions {
        id: args.id,
        process,
        console_socket: args.console_socket.map(absolute),
        pidfd_socket: args.pidfd_socket.map(absolute),
        detach: args.detach,
        pid_file: args.pid_file.map(absolute),
        preserve_fds: args.preserve_fds,
        cgroup: args.cgroup,
        ignore_paused: args.ignore_paused,
    }
}

/// A path made absolute against the current directory, as runc revises its paths.
fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

/// The resources `update` sets: `--resources` JSON, or else the single-value flags.
fn update_resources(args: &cli::UpdateArgs) -> anyhow::Result<libcontainer::spec::LinuxResources> {
    use anyhow::Context;
    if let Some(path) = &args.resources {
        let (text, source) = if path.as_os_str() == "-" {
            (
                std::io::read_to_string(std::io::stdin()).context("read resources from stdin")?,
                "stdin".to_owned(),
            )
        } else {
            (
                std::fs::read_to_string(path)
                    .with_context(|| format!("read resources {}", path.display()))?,
                path.display().to_string(),
            )
        };
        return Ok(container::parse_resources(&text, &source)?);
    }
    if args.kernel_memory.is_some() || args.kernel_memory_tcp.is_some() {
        tracing::warn!("Kernel memory settings are ignored and will be removed");
    }
    let size = |flag: &str, value: &Option<String>| -> anyhow::Result<Option<i64>> {
        value
            .as_deref()
            .map(|v| {
                units::ram_in_bytes(v).map_err(|e| anyhow::anyhow!("invalid value for {flag}: {e}"))
            })
            .transpose()
    };
    let flags = container::ResourceFlags {
        blkio_weight: args.blkio_weight,
        cpu_period: args.cpu_period,
        cpu_quota: args.cpu_quota,
        cpu_burst: args.cpu_burst,
        cpu_shares: args.cpu_share,
        cpu_rt_period: args.cpu_rt_period,
        cpu_rt_runtime: args.cpu_rt_runtime,
        cpuset_cpus: args.cpuset_cpus.clone(),
        cpuset_mems: args.cpuset_mems.clone(),
        cpu_idle: args.cpu_idle,
        memory: size("memory", &args.memory)?,
        memory_reservation: size("memory-reservation", &args.memory_reservation)?,
        memory_swap: size("memory-swap", &args.memory_swap)?,
        pids_limit: args.pids_limit,
    };
    Ok(flags.to_resources())
}

/// clap's `Parser::try_parse`, except that the tree of commands and flags is not
/// freed: the process ends soon after, and freeing it was a third of the parse
/// (callgrind, `list`).
fn parse_command_line() -> Result<Cli, clap::Error> {
    let command = Box::leak(Box::new(Cli::command()));
    let mut matches = command.try_get_matches_from_mut(go_flags(std::env::args_os().collect()))?;
    let parsed = Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(command));
    std::mem::forget(matches);
    parsed
}

/// containerd's shim passes `restore -no-subreaper`, a Go flag with one dash: made
/// `--no-subreaper` among restore's own flags, and nowhere else (an `exec`'d
/// program's arguments are the program's).
fn go_flags(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    // The global flags that take a value, whose value is not the command.
    const VALUED: [&str; 6] = [
        "--root",
        "--log",
        "--log-format",
        "--criu",
        "--cgroup-manager",
        "--rootless",
    ];
    let mut words = args.iter().enumerate().skip(1);
    let mut command = None;
    while let Some((i, word)) = words.next() {
        match word.to_str() {
            Some(w) if VALUED.contains(&w) => {
                words.next();
            }
            Some(w) if w.starts_with('-') => {}
            _ => {
                command = Some(i);
                break;
            }
        }
    }
    let Some(at) = command.filter(|&i| args[i] == "restore") else {
        return args;
    };
    for arg in args[at + 1..].iter_mut() {
        match arg.to_str() {
            Some("-no-subreaper") => *arg = "--no-subreaper".into(),
            Some("--") => break,
            _ => {}
        }
    }
    args
}

/// A command line clap refused. Callers show the last error line of `--log`, so the
/// refusal goes there too when the flags that name the log could be found.
fn usage_error(error: clap::Error) -> u8 {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return SUCCESS;
    }
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        let prefix = format!("--{name}=");
        args.iter()
            .enumerate()
            .find_map(|(i, a)| match a.strip_prefix(&prefix) {
                Some(value) => Some(value.to_owned()),
                None if a == &format!("--{name}") => args.get(i + 1).cloned(),
                None => None,
            })
    };
    if let Some(log) = flag("log") {
        let format = match flag("log-format").as_deref() {
            Some("json") => logging::LogFormat::Json,
            _ => logging::LogFormat::Text,
        };
        if logging::init(Some(std::path::Path::new(&log)), format, false).is_ok() {
            let text = error.to_string();
            let first = text.lines().next().unwrap_or_default();
            tracing::error!("{}", first.trim_start_matches("error: "));
        }
    }
    // A flag given without its value, in the words of runc's (Go's) flag parser:
    // podman runs `restore --lsm-mount-context` and looks for them to learn whether
    // a runtime can restore into a pod.
    if let Some(flag) = missing_value(&error) {
        eprintln!("flag needs an argument: {flag}");
    }
    let _ = error.print();
    error.exit_code().clamp(0, 255) as u8
}

/// The flag clap found without a value, if that is the refusal.
fn missing_value(error: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.kind() != ErrorKind::InvalidValue {
        return None;
    }
    let Some(ContextValue::String(arg)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let empty = matches!(error.get(ContextKind::InvalidValue), Some(ContextValue::String(v)) if v.is_empty());
    empty.then(|| arg.split_whitespace().next().unwrap_or(arg).to_owned())
}

/// `--cgroup-manager`, or `--systemd-cgroup`; refused where they disagree.
fn cgroup_driver(cli: &Cli) -> anyhow::Result<libcontainer::cgroups::Driver> {
    use cli::CgroupManager;
    use libcontainer::cgroups::Driver;
    Ok(match (cli.cgroup_manager, cli.systemd_cgroup) {
        (Some(CgroupManager::Systemd) | None, true) => Driver::Systemd,
        (Some(other), true) => anyhow::bail!(
            "--systemd-cgroup and --cgroup-manager={} disagree",
            format!("{other:?}").to_lowercase()
        ),
        (Some(CgroupManager::Systemd), false) => Driver::Systemd,
        (Some(CgroupManager::Disabled), false) => Driver::Disabled,
        (Some(CgroupManager::Cgroupfs) | None, false) => Driver::Cgroupfs,
    })
}

/// `/run/truman` for the host's root; `$XDG_RUNTIME_DIR/truman` for anyone else, with
/// runc's rules: also for root inside a user namespace (rootless podman runs us there
/// and passes no --root), unless `USER` says root. The directory is made 0700 and
/// sticky, so that systemd's cleaning of the runtime dir leaves the state alone.
fn default_root() -> anyhow::Result<PathBuf> {
    use anyhow::Context;
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    // The user namespace is asked about last: only root with XDG_RUNTIME_DIR set
    // needs the answer, and the host's root (containerd, docker) rarely has it set.
    let honour_xdg = || {
        !nix::unistd::geteuid().is_root()
            || (std::env::var_os("USER").is_none_or(|user| user != "root")
                && !libcontainer::in_initial_user_namespace())
    };
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() && honour_xdg() => {
            let root = PathBuf::from(dir).join("truman");
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&root)
                .with_context(|| format!("create {}", root.display()))?;
            std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o1700))
                .with_context(|| format!("chmod {}", root.display()))?;
            Ok(root)
        }
        _ => Ok(PathBuf::from("/run/truman")),
    }
}

/// The error and its causes on one line, skipping a cause whose text the message
/// before it already carries (libcontainer's messages include their OS error).
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}
