//! The lifecycle: one function per command, each taking the state store and returning
//! a value or an [`Error`](crate::Error).

mod create;
mod delete;
mod kill;
mod pause;
mod pid_file;
mod ps;
mod query;
mod run;
mod start;
mod status;

pub use create::{create, CreateOptions};
pub use delete::delete;
pub use kill::kill;
pub use pause::{pause, resume};
pub use ps::pids;
pub use query::{list, state, ContainerState};
pub use run::{run, RunMode};
pub use start::start;
