//! `exec --cgroup`: an exec'd process placed in an existing cgroup below the
//! container's, for every controller (`--cgroup sub`) or per controller
//! (`--cgroup cpu,memory:sub`), as runc takes it.

use std::path::{Component, Path, PathBuf};

use nix::unistd::Pid;

use super::hierarchy::Kind;
use super::{Cgroup, CgroupError};

/// The parsed `--cgroup` arguments.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SubCgroups {
    /// A path for every controller.
    all: Option<PathBuf>,
    /// Paths for named controllers.
    by_controller: Vec<(String, PathBuf)>,
}

impl SubCgroups {
    pub fn parse(args: &[String]) -> Result<Self, CgroupError> {
        let bad = |arg: &str, why: &str| {
            CgroupError::new(
                Path::new(arg),
                "--cgroup",
                format!("invalid --cgroup argument{why}"),
            )
        };
        let mut subs = SubCgroups::default();
        for arg in args {
            let parts: Vec<&str> = arg.split(':').collect();
            match parts[..] {
                [path] if args.len() == 1 => subs.all = Some(checked(path)?),
                [_] => return Err(bad(arg, " (missing <controller>: prefix)")),
                [controllers, path] => {
                    let path = checked(path)?;
                    for c in controllers.split(',').filter(|c| !c.is_empty()) {
                        subs.by_controller.push((c.to_owned(), path.clone()));
                    }
                }
                _ => return Err(bad(arg, "")),
            }
        }
        Ok(subs)
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_none() && self.by_controller.is_empty()
    }
}

/// A sub-cgroup path must stay below the container's cgroup.
fn checked(path: &str) -> Result<PathBuf, CgroupError> {
    let p = Path::new(path);
    if p.components().any(|c| c == Component::ParentDir) {
        return Err(CgroupError::new(p, "--cgroup", "bad sub cgroup path"));
    }
    Ok(p.components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect())
}

impl Cgroup {
    /// Moves `pid` into the container's cgroup, or where `subs` says into existing
    /// cgroups below it (which, as in runc, are not created).
    pub fn add_to_sub(&self, pid: Pid, subs: &SubCgroups) -> Result<(), CgroupError> {
        let mut targets: Vec<PathBuf> = Vec::new();
        if self.hierarchies.is_empty() {
            if let Some((controller, _)) = subs.by_controller.first() {
                return Err(CgroupError::new(
                    &self.path,
                    "--cgroup",
                    format!(
                        "unknown controller {controller} in --cgroup (cgroup v2 has one hierarchy)"
                    ),
                ));
            }
            let dir = self.unified_dir();
            targets.push(match &subs.all {
                Some(sub) => dir.join(sub),
                None => dir,
            });
        } else {
            for (controller, _) in &subs.by_controller {
                if self.v1_hierarchy(controller).is_none() {
                    return Err(CgroupError::new(
                        &self.path,
                        "--cgroup",
                        format!("unknown controller {controller} in --cgroup"),
                    ));
                }
            }
            for h in &self.hierarchies {
                let dir = h.dir_of(&self.dir);
                let sub = match h.kind {
                    Kind::Controllers => subs.all.as_ref().or_else(|| {
                        subs.by_controller
                            .iter()
                            .find(|(c, _)| h.options.split(',').any(|o| o == c))
                            .map(|(_, p)| p)
                    }),
                    Kind::Named | Kind::Unified => subs.all.as_ref(),
                };
                targets.push(match sub {
                    Some(sub) => dir.join(sub),
                    None => dir,
                });
            }
        }
        for dir in targets {
            let procs = dir.join("cgroup.procs");
            std::fs::write(&procs, pid.to_string()).map_err(|e| {
                CgroupError::new(
                    &dir,
                    "exec --cgroup",
                    format!("error adding pid {pid} to cgroups: {e}"),
                )
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_bare_path_is_for_every_controller() {
        let subs = SubCgroups::parse(&args(&["/sub/x"])).unwrap();
        assert_eq!(subs.all, Some(PathBuf::from("sub/x")));
        assert!(subs.by_controller.is_empty());
    }

    #[test]
    fn controller_prefixes_name_their_controllers() {
        let subs = SubCgroups::parse(&args(&["cpu,memory:a", "pids:b"])).unwrap();
        assert_eq!(
            subs.by_controller,
            vec![
                ("cpu".into(), PathBuf::from("a")),
                ("memory".into(), PathBuf::from("a")),
                ("pids".into(), PathBuf::from("b"))
            ]
        );
    }

    #[test]
    fn escaping_and_malformed_arguments_are_refused() {
        let e = SubCgroups::parse(&args(&["../x"])).unwrap_err();
        assert!(e.to_string().contains("bad sub cgroup path"), "{e}");
        let e = SubCgroups::parse(&args(&["a:b:c"])).unwrap_err();
        assert!(e.to_string().contains("invalid --cgroup argument"), "{e}");
        let e = SubCgroups::parse(&args(&["a", "cpu:b"])).unwrap_err();
        assert!(
            e.to_string().contains("missing <controller>: prefix"),
            "{e}"
        );
    }
}
