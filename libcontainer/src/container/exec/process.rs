//! The process `exec` starts: a `process.json` as containerd and conmon write it, or
//! the container's own `process` with runc's command-line overrides.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{Capability, LinuxCapabilities, Process};

use crate::{Error, Result};

/// Where the process comes from.
#[derive(Debug, Clone)]
pub enum ExecProcess {
    /// `--process FILE` (`-` is stdin): a runtime-spec `process` object, taken as it is;
    /// what it leaves out (capabilities, rlimits, LSM labels) comes from the container.
    File(PathBuf),
    /// Arguments after the id, on top of the container's `process`.
    Args(ExecArgs),
}

/// `exec ID ARGS...` and the flags that change the container's `process` for it.
#[derive(Debug, Clone, Default)]
pub struct ExecArgs {
    pub args: Vec<String>,
    pub tty: bool,
    pub cwd: Option<PathBuf>,
    /// Added after the container's environment; a later `KEY=` wins.
    pub env: Vec<String>,
    /// `uid[:gid]`, numeric.
    pub user: Option<String>,
    pub additional_gids: Vec<i64>,
    /// Added to the bounding, effective, permitted and ambient sets.
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub apparmor: Option<String>,
    pub process_label: Option<String>,
}

/// The process to exec, given the container's own `process` (from its config).
pub(super) fn build(source: &ExecProcess, container: &Process) -> Result<Process> {
    let process = match source {
        ExecProcess::File(path) => from_file(path, container)?,
        ExecProcess::Args(args) => from_args(args, container)?,
    };
    match process.args() {
        Some(args) if !args.is_empty() => {}
        _ => return Err(Error::Usage("process args cannot be empty".into())),
    }
    if process.cwd().as_os_str().is_empty() {
        return Err(Error::Usage("Cwd property must not be empty".into()));
    }
    if !process.cwd().is_absolute() {
        return Err(Error::Usage("Cwd must be an absolute path".into()));
    }
    Ok(process)
}

fn from_file(path: &Path, container: &Process) -> Result<Process> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).map_err(Error::sys("read process from stdin"))?
    } else {
        std::fs::read_to_string(path).map_err(Error::sys(format!("read {}", path.display())))?
    };
    let mut process: Process = serde_json::from_str(&text)
        .map_err(|e| Error::Usage(format!("parse process {}: {e}", path.display())))?;
    // As runc: what the file leaves unset is the container's.
    if process.capabilities().is_none() {
        process.set_capabilities(container.capabilities().clone());
    }
    if process.rlimits().as_ref().is_none_or(|r| r.is_empty()) {
        process.set_rlimits(container.rlimits().clone());
    }
    if process
        .apparmor_profile()
        .as_ref()
        .is_none_or(|p| p.is_empty())
    {
        process.set_apparmor_profile(container.apparmor_profile().clone());
    }
    if process
        .selinux_label()
        .as_ref()
        .is_none_or(|l| l.is_empty())
    {
        process.set_selinux_label(container.selinux_label().clone());
    }
    // runc applies the container's oomScoreAdj to every process it execs.
    process.set_oom_score_adj(container.oom_score_adj());
    Ok(process)
}

fn from_args(flags: &ExecArgs, container: &Process) -> Result<Process> {
    let mut process = container.clone();
    process.set_args(Some(flags.args.clone()));
    process.set_terminal(Some(flags.tty));
    if let Some(cwd) = &flags.cwd {
        process.set_cwd(cwd.clone());
    }
    if !flags.env.is_empty() {
        let mut env = process.env().clone().unwrap_or_default();
        env.extend(flags.env.iter().cloned());
        process.set_env(Some(env));
    }
    if let Some(user) = &flags.user {
        let (uid, gid) = parse_user(user)?;
        let mut u = process.user().clone();
        u.set_uid(uid);
        if let Some(gid) = gid {
            u.set_gid(gid);
        }
        process.set_user(u);
    }
    if !flags.additional_gids.is_empty() {
        let mut u = process.user().clone();
        let mut gids = u.additional_gids().clone().unwrap_or_default();
        for gid in &flags.additional_gids {
            let gid = u32::try_from(*gid).map_err(|_| {
                Error::Usage(format!("additional-gids must be a positive number {gid}"))
            })?;
            gids.push(gid);
        }
        u.set_additional_gids(Some(gids));
        process.set_user(u);
    }
    if !flags.caps.is_empty() {
        let added: Vec<Capability> = flags
            .caps
            .iter()
            .map(|c| {
                serde_json::from_value(serde_json::Value::String(c.clone()))
                    .map_err(|_| Error::Usage(format!("--cap: unknown capability {c:?}")))
            })
            .collect::<Result<_>>()?;
        let mut caps = process
            .capabilities()
            .clone()
            .unwrap_or_else(empty_capabilities);
        let extend = |set: &Option<std::collections::HashSet<Capability>>| {
            let mut set = set.clone().unwrap_or_default();
            set.extend(added.iter().copied());
            Some(set)
        };
        caps.set_bounding(extend(caps.bounding()));
        caps.set_effective(extend(caps.effective()));
        caps.set_permitted(extend(caps.permitted()));
        caps.set_ambient(extend(caps.ambient()));
        process.set_capabilities(Some(caps));
    }
    if flags.no_new_privs {
        process.set_no_new_privileges(Some(true));
    }
    if let Some(profile) = flags.apparmor.as_ref().filter(|p| !p.is_empty()) {
        process.set_apparmor_profile(Some(profile.clone()));
    }
    if let Some(label) = flags.process_label.as_ref().filter(|l| !l.is_empty()) {
        process.set_selinux_label(Some(label.clone()));
    }
    Ok(process)
}

fn empty_capabilities() -> LinuxCapabilities {
    let mut caps = LinuxCapabilities::default();
    caps.set_bounding(None);
    caps.set_effective(None);
    caps.set_inheritable(None);
    caps.set_permitted(None);
    caps.set_ambient(None);
    caps
}

/// `uid[:gid]`, numbers only, as runc takes it.
fn parse_user(user: &str) -> Result<(u32, Option<u32>)> {
    let (uid, gid) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let uid = uid
        .parse()
        .map_err(|e| Error::Usage(format!("parsing {uid} as int for uid failed: {e}")))?;
    let gid = gid
        .map(|g| {
            g.parse()
                .map_err(|e| Error::Usage(format!("parsing {g} as int for gid failed: {e}")))
        })
        .transpose()?;
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container() -> Process {
        serde_json::from_value(serde_json::json!({
            "args": ["sleep", "100"],
            "cwd": "/work",
            "env": ["PATH=/bin", "A=1"],
            "user": {"uid": 5, "gid": 6, "additionalGids": [7]},
            "capabilities": {"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"],
                              "permitted": ["CAP_CHOWN"]},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 100, "soft": 100}],
            "oomScoreAdj": 100,
            "noNewPrivileges": false
        }))
        .unwrap()
    }

    #[test]
    fn arguments_run_with_the_containers_process_and_the_flags_on_top() {
        let flags = ExecArgs {
            args: vec!["id".into()],
            env: vec!["A=2".into(), "B=3".into()],
            user: Some("1000:1001".into()),
            additional_gids: vec![9],
            caps: vec!["CAP_NET_ADMIN".into()],
            cwd: Some("/tmp".into()),
            no_new_privs: true,
            ..Default::default()
        };
        let p = build(&ExecProcess::Args(flags), &container()).unwrap();
        assert_eq!(p.args().as_deref(), Some(&["id".to_owned()][..]));
        assert_eq!(p.cwd(), Path::new("/tmp"));
        assert_eq!(
            p.env().as_deref(),
            Some(&["PATH=/bin".into(), "A=1".into(), "A=2".into(), "B=3".into()][..])
        );
        assert_eq!((p.user().uid(), p.user().gid()), (1000, 1001));
        assert_eq!(p.user().additional_gids().as_deref(), Some(&[7, 9][..]));
        let caps = p.capabilities().as_ref().unwrap();
        for set in [
            caps.bounding(),
            caps.effective(),
            caps.permitted(),
            caps.ambient(),
        ] {
            assert!(set.as_ref().unwrap().contains(&Capability::NetAdmin));
        }
        assert!(!caps
            .inheritable()
            .as_ref()
            .is_some_and(|s| s.contains(&Capability::NetAdmin)));
        assert_eq!(p.no_new_privileges(), Some(true));
        assert_eq!(p.rlimits().as_ref().unwrap().len(), 1);
        assert_eq!(p.terminal(), Some(false));
    }

    #[test]
    fn a_uid_alone_keeps_the_containers_gid() {
        let flags = ExecArgs {
            args: vec!["id".into()],
            user: Some("42".into()),
            ..Default::default()
        };
        let p = build(&ExecProcess::Args(flags), &container()).unwrap();
        assert_eq!((p.user().uid(), p.user().gid()), (42, 6));
    }

    #[test]
    fn bad_flags_are_refused_with_runcs_words() {
        let bad = |flags: ExecArgs| {
            build(&ExecProcess::Args(flags), &container())
                .unwrap_err()
                .to_string()
        };
        let user = bad(ExecArgs {
            args: vec!["id".into()],
            user: Some("root".into()),
            ..Default::default()
        });
        assert!(
            user.starts_with("parsing root as int for uid failed"),
            "{user}"
        );
        assert_eq!(bad(ExecArgs::default()), "process args cannot be empty");
        let cwd = bad(ExecArgs {
            args: vec!["id".into()],
            cwd: Some("rel".into()),
            ..Default::default()
        });
        assert_eq!(cwd, "Cwd must be an absolute path");
    }

    #[test]
    fn a_process_file_is_taken_as_it_is_and_completed_from_the_container() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("process.json");
        std::fs::write(
            &path,
            r#"{"args": ["ls"], "cwd": "/", "env": ["X=1"], "user": {"uid": 0, "gid": 0}}"#,
        )
        .unwrap();
        let p = build(&ExecProcess::File(path), &container()).unwrap();
        assert_eq!(p.env().as_deref(), Some(&["X=1".to_owned()][..]));
        assert_eq!(p.user().uid(), 0);
        assert_eq!(p.capabilities(), container().capabilities());
        assert_eq!(p.rlimits(), container().rlimits());
        assert_eq!(p.oom_score_adj(), Some(100));
    }
}
