//! Ignoring SIGPIPE while we write the state to a hook's stdin.
//!
//! A hook may exit, or close its stdin, without reading the state; the write then fails
//! with EPIPE, which we tolerate. But with SIGPIPE at its default action the kernel
//! would kill the runtime first. Rust's `main` ignores SIGPIPE, yet a hook can run in a
//! forked child that has reset its signals for the container, so we make sure here.
//! Hooks are unaffected: `std::process::Command` resets SIGPIPE to default in the child.

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// Restores the previous SIGPIPE action when dropped.
pub(crate) struct IgnoreSigpipe {
    previous: Option<SigAction>,
}

impl IgnoreSigpipe {
    pub(crate) fn new() -> Self {
        let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
        // SAFETY: SIG_IGN installs no handler, so no code runs in signal context. The
        // runtime is single-threaded, so no other thread races on the disposition.
        let previous = unsafe { sigaction(Signal::SIGPIPE, &ignore) };
        if let Err(errno) = previous {
            // Only EINVAL is possible, for a bad signal number; carry on, Rust's
            // default of ignoring SIGPIPE most likely still holds.
            tracing::debug!(%errno, "ignore SIGPIPE");
        }
        Self {
            previous: previous.ok(),
        }
    }
}

impl Drop for IgnoreSigpipe {
    fn drop(&mut self) {
        if let Some(previous) = &self.previous {
            // SAFETY: re-installs exactly the action the kernel handed back to us.
            if let Err(errno) = unsafe { sigaction(Signal::SIGPIPE, previous) } {
                tracing::debug!(%errno, "restore SIGPIPE action");
            }
        }
    }
}
