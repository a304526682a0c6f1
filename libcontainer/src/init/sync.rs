//! The messages truman and the init exchange while the container is being created.

use serde::{Deserialize, Serialize};

/// truman → init.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToInit {
    /// The init is in its cgroup and its id maps are written: go on.
    Go,
    /// The host-side hooks ran; here is the state to give the container-side ones:
    /// `creating` for createContainer, `created` for startContainer.
    HooksDone { creating: String, created: String },
}

/// init → truman.
#[derive(Debug, Serialize, Deserialize)]
pub enum FromInit {
    /// The rootfs is mounted but not yet entered: run `prestart` and `createRuntime`.
    RunHooks,
    /// Set up and blocked before exec, waiting for `start`.
    Ready,
    Failed {
        error: String,
    },
}
