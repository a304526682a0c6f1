//! `run` in the foreground with `process.terminal`: truman takes the pty master the
//! init sends and relays it to its own stdin and stdout, as runc does for `run -t`.

mod relay;
pub(crate) mod size;

pub(crate) use relay::{receive_master, Relay};
