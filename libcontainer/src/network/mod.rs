//! The container's network links: `lo`, brought up in a network namespace the
//! container creates, and the host links `linux.netDevices` moves into its network
//! namespace (runtime-spec 1.3), through rtnetlink.

mod devices;
mod ifname;
mod loopback;
mod rtnl;

use std::io;

pub(crate) use devices::{check_host, check_spec, move_into, MovedDevices};
pub(crate) use loopback::bring_up_loopback;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// What the config asks cannot be done here; `field` is its JSON path.
    #[error("{field}: {reason}")]
    Refused { field: String, reason: String },
    #[error("{op}: {source}")]
    Sys { op: String, source: io::Error },
}

impl NetworkError {
    fn sys(op: impl Into<String>) -> impl FnOnce(io::Error) -> NetworkError {
        let op = op.into();
        move |source| NetworkError::Sys { op, source }
    }
}
