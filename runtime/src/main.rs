//! truman: an OCI container runtime with runc's command line. This binary only parses
//! flags, sets up logging, makes one call into libcontainer, and turns the outcome into
//! output and an exit code.

mod cli;
mod logging;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use libcontainer::container::{self, CreateOptions};
use libcontainer::state::StateStore;

use cli::{Cli, Command, CreateArgs};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let logging = match logging::init(cli.log.as_deref(), cli.log_format, cli.debug) {
        Ok(logging) => logging,
        Err(e) => {
            eprintln!("{e:#}");
            return ExitCode::FAILURE;
        }
    };
    match execute(cli) {
        Ok(code) => code,
        Err(e) => {
            let msg = one_line(&e);
            // With --log, the error goes there as one error line (containerd reads the
            // last one) and to stderr (podman falls back to it); without, once.
            if !logging.to_stderr {
                tracing::error!("{msg}");
            }
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
    }
}

fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    let store = StateStore::new(cli.root.clone().unwrap_or_else(default_root));
    let systemd_cgroup = cli.systemd_cgroup;
    let create_options = |args: CreateArgs| CreateOptions {
        id: args.id,
        bundle: args.bundle,
        pid_file: args.pid_file,
        console_socket: args.console_socket,
        pidfd_socket: args.pidfd_socket,
        no_pivot: args.no_pivot,
        no_new_keyring: args.no_new_keyring,
        preserve_fds: args.preserve_fds,
        systemd_cgroup,
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
            return Ok(ExitCode::from(code.clamp(0, 255) as u8));
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
        Command::Spec { bundle } => {
            let rootless = cli.rootless.as_deref() == Some("true");
            libcontainer::spec::write_default(&bundle, rootless)?
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A command line clap refused. Callers show the last error line of `--log`, so the
/// refusal goes there too when the flags that name the log could be found.
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return ExitCode::SUCCESS;
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
    let _ = error.print();
    ExitCode::from(error.exit_code().clamp(0, 255) as u8)
}

/// `/run/truman` for real root; `$XDG_RUNTIME_DIR/truman` for anyone else, including
/// root inside a user namespace (rootless podman runs us there and passes no --root).
fn default_root() -> PathBuf {
    let real_root = nix::unistd::geteuid().is_root() && !in_user_namespace();
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !real_root && !dir.is_empty() => PathBuf::from(dir).join("truman"),
        _ => PathBuf::from("/run/truman"),
    }
}

fn in_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .map(|map| {
            let fields: Vec<&str> = map.split_whitespace().collect();
            fields != ["0", "0", "4294967295"]
        })
        .unwrap_or(false)
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
