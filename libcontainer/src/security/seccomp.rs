//! `linux.seccomp` as a libseccomp filter: built by truman from the spec (so that a
//! filter libseccomp refuses fails `create` before anything runs), loaded by the
//! container process itself as late as it can.

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::str::FromStr;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};

#[derive(Debug, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SeccompError {
    field: String,
    message: String,
}

fn error(field: impl Into<String>, message: impl std::fmt::Display) -> SeccompError {
    SeccompError {
        field: field.into(),
        message: message.to_string(),
    }
}

/// A filter ready to load, and where to send its notification fd if it has one.
pub struct SeccompFilter {
    context: ScmpFilterContext,
    /// `listenerPath` and `listenerMetadata`, when a rule's action is SCMP_ACT_NOTIFY.
    pub listener: Option<Listener>,
}

#[derive(Debug, Clone)]
pub struct Listener {
    pub path: PathBuf,
    pub metadata: String,
}

impl SeccompFilter {
    pub fn build(seccomp: &LinuxSeccomp) -> Result<Self, SeccompError> {
        let default = action(
            seccomp.default_action(),
            seccomp.default_errno_ret(),
            "linux.seccomp.defaultAction",
        )?;
        if default == ScmpAction::Notify {
            return Err(error(
                "linux.seccomp.defaultAction",
                "SCMP_ACT_NOTIFY cannot be used as default action",
            ));
        }
        let mut context =
            ScmpFilterContext::new(default).map_err(|e| error("linux.seccomp.defaultAction", e))?;
        // libseccomp would set no_new_privs itself on load: that is
        // process.noNewPrivileges' to decide, not the filter's.
        context
            .set_ctl_nnp(false)
            .map_err(|e| error("linux.seccomp", e))?;
        for (i, arch) in seccomp.architectures().iter().flatten().enumerate() {
            let field = format!("linux.seccomp.architectures[{i}]");
            let name = serde_json::to_value(arch)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let arch = ScmpArch::from_str(&name).map_err(|e| error(&field, e))?;
            context.add_arch(arch).map_err(|e| error(&field, e))?;
        }
        let Some(flags) = seccomp.flags() else {
            // As runc: no flags at all means SPEC_ALLOW, where libseccomp and the
            // kernel can do it (an empty list means none).
            let _ = context.set_ctl_ssb(true);
            return Self::with_rules(context, default, seccomp);
        };
        for flag in flags {
            let field = format!("linux.seccomp.flags: {flag:?}");
            let set = match flag {
                // A filter of a single-threaded process has no threads to sync: runc
                // ignores TSYNC too.
                LinuxSeccompFilterFlag::SeccompFilterFlagTsync => Ok(&mut context),
                LinuxSeccompFilterFlag::SeccompFilterFlagLog => context.set_ctl_log(true),
                LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => context.set_ctl_ssb(true),
                LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                    context.set_ctl_waitkill(true)
                }
            };
            set.map_err(|e| {
                error(
                    field,
                    format!("not supported by this libseccomp or kernel: {e}"),
                )
            })?;
        }
        Self::with_rules(context, default, seccomp)
    }

    fn with_rules(
        mut context: ScmpFilterContext,
        default: ScmpAction,
        seccomp: &LinuxSeccomp,
    ) -> Result<Self, SeccompError> {
        let mut notify = false;
        for (i, rule) in seccomp.syscalls().iter().flatten().enumerate() {
            let field = format!("linux.seccomp.syscalls[{i}]");
            let rule_action = action(rule.action(), rule.errno_ret(), &format!("{field}.action"))?;
            if rule_action == ScmpAction::Notify && rule.names().iter().any(|n| n == "write") {
                // The process writes on its channel to truman after loading the filter:
                // a notification nobody answers yet would hang it (runc refuses it too).
                return Err(error(
                    format!("{field}.action"),
                    "SCMP_ACT_NOTIFY cannot be used for the write syscall",
                ));
            }
            // libseccomp refuses a rule that repeats the default; it changes nothing.
            if rule_action == default {
                continue;
            }
            let args = rule.args().as_deref().unwrap_or_default();
            let comparisons: Vec<ScmpArgCompare> = args.iter().map(comparison).collect();
            let mut indexes: Vec<usize> = args.iter().map(|a| a.index()).collect();
            indexes.sort_unstable();
            let same_argument_twice = indexes.windows(2).any(|w| w[0] == w[1]);
            for name in rule.names() {
                // As runc: a name this libseccomp does not know (a newer syscall) is
                // skipped, so one profile serves older and newer hosts.
                let Ok(syscall) = ScmpSyscall::from_name(name) else {
                    tracing::debug!("seccomp: unknown syscall {name:?} skipped");
                    continue;
                };
                add_rule(
                    &mut context,
                    rule_action,
                    syscall,
                    &comparisons,
                    same_argument_twice,
                )
                .map_err(|e| error(format!("{field} ({name})"), e))?;
                // Only a notify rule the filter really has makes a listener.
                notify |= rule_action == ScmpAction::Notify;
            }
        }
        let listener = match (notify, seccomp.listener_path()) {
            (false, _) => None,
            (true, Some(path)) if !path.as_os_str().is_empty() => Some(Listener {
                path: path.clone(),
                metadata: seccomp.listener_metadata().clone().unwrap_or_default(),
            }),
            (true, _) => {
                return Err(error(
                    "linux.seccomp.listenerPath",
                    "SCMP_ACT_NOTIFY needs a listener path to send the notify fd to",
                ))
            }
        };
        Ok(Self { context, listener })
    }

    /// Loads the filter into the calling process; returns the notification fd when
    /// the filter has SCMP_ACT_NOTIFY rules.
    pub fn load(&self) -> Result<Option<OwnedFd>, SeccompError> {
        self.context
            .load()
            .map_err(|e| error("load seccomp filter", e))?;
        if self.listener.is_none() {
            return Ok(None);
        }
        let fd = self
            .context
            .get_notify_fd()
            .map_err(|e| error("seccomp notify fd", e))?;
        // SAFETY: libseccomp hands over a new fd it does not keep using.
        Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
    }
}

fn action(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    field: &str,
) -> Result<ScmpAction, SeccompError> {
    let errno = || -> Result<i32, SeccompError> {
        match errno_ret {
            None => Ok(libc::EPERM),
            Some(n) => i32::try_from(n)
                .ok()
                .filter(|n| *n <= u16::MAX as i32)
                .ok_or_else(|| error(field, format!("errnoRet {n} is out of range"))),
        }
    };
    Ok(match action {
        // SCMP_ACT_KILL has always meant the thread.
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno()?),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(errno()? as u16),
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
    })
}

fn comparison(arg: &LinuxSeccompArg) -> ScmpArgCompare {
    let op = match arg.op() {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        // valueTwo is the datum, value the mask.
        LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(arg.value()),
    };
    let datum = match arg.op() {
        LinuxSeccompOperator::ScmpCmpMaskedEq => arg.value_two().unwrap_or(0),
        _ => arg.value(),
    };
    ScmpArgCompare::new(arg.index() as u32, op, datum)
}

/// One rule with all its conditions; where two conditions name the same argument,
/// which libseccomp cannot join in one rule, one rule per condition, as runc does.
fn add_rule(
    context: &mut ScmpFilterContext,
    action: ScmpAction,
    syscall: ScmpSyscall,
    comparisons: &[ScmpArgCompare],
    same_argument_twice: bool,
) -> Result<(), libseccomp::error::SeccompError> {
    if comparisons.is_empty() {
        context.add_rule(action, syscall)?;
        return Ok(());
    }
    if same_argument_twice {
        for cmp in comparisons {
            context.add_rule_conditional(action, syscall, std::slice::from_ref(cmp))?;
        }
    } else {
        context.add_rule_conditional(action, syscall, comparisons)?;
    }
    Ok(())
}

/// What `features` says of seccomp: every action and operator [`SeccompFilter::build`]
/// takes, the architectures this libseccomp knows, and the flags it and the kernel can
/// set (TSYNC always: a single-threaded init has nothing to sync).
pub fn features() -> oci_spec::runtime::Seccomp {
    use oci_spec::runtime::{Arch, LinuxSeccompAction as A};
    const ARCHS: [Arch; 23] = [
        Arch::ScmpArchX86,
        Arch::ScmpArchX86_64,
        Arch::ScmpArchX32,
        Arch::ScmpArchArm,
        Arch::ScmpArchAarch64,
        Arch::ScmpArchMips,
        Arch::ScmpArchMips64,
        Arch::ScmpArchMips64n32,
        Arch::ScmpArchMipsel,
        Arch::ScmpArchMipsel64,
        Arch::ScmpArchMipsel64n32,
        Arch::ScmpArchPpc,
        Arch::ScmpArchPpc64,
        Arch::ScmpArchPpc64le,
        Arch::ScmpArchS390,
        Arch::ScmpArchS390x,
        Arch::ScmpArchParisc,
        Arch::ScmpArchParisc64,
        Arch::ScmpArchRiscv64,
        Arch::ScmpArchLoongarch64,
        Arch::ScmpArchM68k,
        Arch::ScmpArchSh,
        Arch::ScmpArchSheb,
    ];
    // Those a filter here can take: libseccomp refuses, say, a big-endian one on a
    // little-endian host.
    let archs = ARCHS
        .into_iter()
        .filter(|a| {
            let (Ok(arch), Ok(mut context)) = (
                ScmpArch::from_str(&a.to_string()),
                ScmpFilterContext::new(ScmpAction::Allow),
            ) else {
                return false;
            };
            context.add_arch(arch).is_ok()
        })
        .collect();
    let operators = [
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
        "SCMP_CMP_MASKED_EQ",
    ];
    let flags = [
        LinuxSeccompFilterFlag::SeccompFilterFlagTsync,
        LinuxSeccompFilterFlag::SeccompFilterFlagLog,
        LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow,
        LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv,
    ];
    let supported = flags
        .iter()
        .filter(|flag| {
            let Ok(mut context) = ScmpFilterContext::new(ScmpAction::Allow) else {
                return false;
            };
            match flag {
                LinuxSeccompFilterFlag::SeccompFilterFlagTsync => true,
                LinuxSeccompFilterFlag::SeccompFilterFlagLog => context.set_ctl_log(true).is_ok(),
                LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                    context.set_ctl_ssb(true).is_ok()
                }
                LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                    context.set_ctl_waitkill(true).is_ok()
                }
            }
        })
        .map(|f| f.to_string())
        .collect();
    let mut seccomp = oci_spec::runtime::Seccomp::default();
    seccomp
        .set_enabled(Some(true))
        .set_actions(Some(vec![
            A::ScmpActKill,
            A::ScmpActKillProcess,
            A::ScmpActKillThread,
            A::ScmpActTrap,
            A::ScmpActErrno,
            A::ScmpActTrace,
            A::ScmpActAllow,
            A::ScmpActLog,
            A::ScmpActNotify,
        ]))
        .set_operators(Some(operators.map(String::from).to_vec()))
        .set_archs(Some(archs))
        .set_known_flags(Some(flags.iter().map(|f| f.to_string()).collect()))
        .set_supported_flags(Some(supported));
    seccomp
}

/// The version of the libseccomp truman runs with, as `major.minor.micro`.
pub fn libseccomp_version() -> Option<String> {
    libseccomp::ScmpVersion::current()
        .ok()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
}
