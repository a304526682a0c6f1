//! `restore` as a command. Detached, truman leaves once CRIU has brought the
//! container back, and the restored init is its caller's subreaper's to wait for, as
//! after `create`; in the foreground truman waits for it as `run` does, forwarding
//! signals, and removes the container once it has exited.

use super::foreground::Foreground;
use super::local_console::LocalConsole;
use crate::checkpoint::{restore, restore_with, RestoreOptions};
use crate::state::StateStore;
use crate::Result;

/// Returns truman's exit code: 0 when detached, else the restored container's.
pub fn restored(store: &StateStore, options: &RestoreOptions) -> Result<i32> {
    if !options.detach && !options.no_subreaper {
        // Processes that leave the restored init behind are re-parented to truman.
        let _ = nix::sys::prctl::set_child_subreaper(true);
    }
    if options.detach {
        restore(store, options)?;
        return Ok(0);
    }
    // A terminal container restored without --console-socket gets a new pty whose
    // master CRIU hands to truman over this pair, and truman relays it to its own
    // terminal, as `run` does.
    let (console, console_there) = LocalConsole::pair()?;
    let local = options.console_socket.is_none().then_some(console_there);
    let restored = restore_with(store, options, local)?;
    let sent = restored.terminal && options.console_socket.is_none();
    let relay = console.relay(sent, store, &restored.id)?;
    let foreground = Foreground::begin(relay)?;
    let code = foreground.wait(restored.init.pid())?;
    let _ = super::delete::delete(store, restored.id.as_str(), true);
    Ok(code)
}
