//! Processes: how truman names them, clones them and talks to them.

pub mod channel;
pub mod clone;
pub(crate) mod id_map;
mod identity;
pub(crate) mod limits;
pub mod pidfd;
pub mod sealed_exe;
pub mod send_fd;
pub mod socket_activation;
mod stat;
pub mod task_attributes;

pub use identity::ProcessIdentity;
