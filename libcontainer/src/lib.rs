//! Everything a container is: its spec, its state under `--root`, its lifecycle, the
//! init process that builds its world, and its cgroup.
//!
//! truman's binary parses flags and calls one function of [`container`] per command;
//! nothing here reads flags or prints.

pub mod cgroups;
pub mod checkpoint;
mod console;
pub mod container;
mod error;
pub mod features;
pub mod id;
mod init;
pub mod intelrdt;
mod kernel_list;
mod kernel_version;
mod mount_attr;
mod network;
pub mod process;
pub mod security;
pub mod signal;
mod small_file;
mod spawn;
pub mod spec;
pub mod state;

pub use error::{Error, Result};
pub use spawn::in_initial_user_namespace;
