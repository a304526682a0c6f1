//! The OCI hooks a runtime runs at each point of a container's life.
//!
//! A hook is a program the runtime executes with the container's state JSON on its
//! stdin (runtime-spec `config.md`, "POSIX-platform Hooks"). This crate runs one hook,
//! or the list configured for one [`HookPoint`], the way runc does: `args` is the exact
//! argv, `env` the whole environment, a failing or timed-out hook is an error.
//!
//! The runtime is single-threaded (it forks with raw `clone3` and runs some hooks from
//! inside a forked child), so a hook is supervised without threads: one `poll` over a
//! pidfd for the hook and the pipes to its stdin, stdout and stderr.

mod error;
mod output;
mod point;
mod run;
mod sigpipe;
mod supervise;

pub use error::HookError;
pub use point::HookPoint;
pub use run::{run_hook, run_hooks};
