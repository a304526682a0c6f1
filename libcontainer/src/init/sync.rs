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
    /// The seccomp notification fd went to the agent: the process may close its copy.
    SeccompFdSent,
}

/// init → truman.
#[derive(Debug, Serialize, Deserialize)]
pub enum FromInit {
    /// The rootfs is mounted but not yet entered: run `prestart` and `createRuntime`.
    RunHooks,
    /// Set up and blocked before exec, waiting for `start` (the init); about to exec
    /// (an exec'd process).
    Ready,
    /// The seccomp filter is loaded; its notification fd has this number here, for
    /// truman to take (pidfd_getfd) and send to the agent.
    SeccompFd {
        fd: i32,
    },
    Failed {
        error: String,
    },
}
