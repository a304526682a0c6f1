//! `run`: create and start in one call. Detached, truman leaves as after `create`. In
//! the foreground it stays as the init's parent: it forwards signals to the init,
//! reaps it, deletes the container, and returns the exit code a shell would show.

use super::create::{create_with, CreateOptions, Reaper};
use super::foreground::Foreground;
use super::local_console::LocalConsole;
use super::start::start;
use crate::id::ContainerId;
use crate::state::StateStore;
use crate::Result;

/// How `run` behaves once the container is started.
#[derive(Debug, Clone, Copy)]
pub struct RunMode {
    /// Leave at once, as after `create`, instead of waiting for the container.
    pub detach: bool,
    /// Keep the stopped container's state instead of deleting it (`--keep`).
    pub keep: bool,
    /// Adopt processes that escape the init (without a PID namespace).
    pub subreaper: bool,
}

/// Returns the exit code for truman: 0 when detached, else the container's.
pub fn run(store: &StateStore, options: &CreateOptions, mode: RunMode) -> Result<i32> {
    if mode.detach {
        let created = create_with(store, options, Reaper::Caller, None)?;
        start_or_remove(store, &created.id)?;
        return Ok(0);
    }
    // With `process.terminal` and no --console-socket, the init sends its pty master
    // to truman over this pair, and truman relays it to its own terminal.
    let (console, console_there) = LocalConsole::pair()?;
    let created = create_with(store, options, Reaper::Truman, Some(console_there))?;
    let sent = created.terminal && options.console_socket.is_none();
    let relay = console.relay(sent, store, &created.id)?;

    // The init was cloned with truman's signal mask; blocking only now keeps it out of
    // the container's mask. From here, signals arrive through the signalfd.
    let foreground = Foreground::begin(relay)?;
    // Processes that escape the init (no PID namespace) are re-parented to us.
    if mode.subreaper {
        let _ = nix::sys::prctl::set_child_subreaper(true);
    }
    {
        let _span = tracing::debug_span!("start").entered();
        start_or_remove(store, &created.id)?;
    }
    let code = foreground.wait(created.init.pid())?;
    if !mode.keep {
        let _ = super::delete::delete(store, created.id.as_str(), true);
    }
    Ok(code)
}

fn start_or_remove(store: &StateStore, id: &ContainerId) -> Result<()> {
    if let Err(e) = start(store, id.as_str()) {
        let _ = super::delete::delete(store, id.as_str(), true);
        return Err(e);
    }
    Ok(())
}
