//! `restore` as a command. Detached, truman leaves once CRIU has brought the
//! container back, and the restored init is its caller's subreaper's to wait for, as
//! after `create`; in the foreground truman waits for it as `run` does, forwarding
//! signals, and removes the container once it has exited.

use super::foreground::Foreground;
use crate::checkpoint::{restore, RestoreOptions};
use crate::state::StateStore;
use crate::Result;

/// Returns truman's exit code: 0 when detached, else the restored container's.
pub fn restored(store: &StateStore, options: &RestoreOptions) -> Result<i32> {
    if !options.detach && !options.no_subreaper {
        // Processes that leave the restored init behind are re-parented to truman.
        let _ = nix::sys::prctl::set_child_subreaper(true);
    }
    let restored = restore(store, options)?;
    if options.detach {
        return Ok(0);
    }
    let foreground = Foreground::begin(None)?;
    let code = foreground.wait(restored.init.pid())?;
    let _ = super::delete::delete(store, restored.id.as_str(), true);
    Ok(code)
}
