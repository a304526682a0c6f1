//! The lifecycle: one function per command, each taking the state store and returning
//! a value or an [`Error`](crate::Error).

mod create;
mod delete;
mod events;
mod exec;
mod foreground;
mod handoff;
mod idmapped_mounts;
mod kill;
mod local_console;
mod members;
mod pause;
mod pid_file;
mod ps;
mod query;
mod restored;
mod run;
mod start;
mod status;
mod update;

pub use create::{create, CreateOptions};
pub use delete::delete;
pub use events::{events, Event};
pub use exec::{exec, ExecArgs, ExecOptions, ExecProcess};
pub use kill::kill;
pub use pause::{pause, resume};
pub use ps::pids;
pub use query::{list, state, ContainerState};
pub use restored::restored;
pub use run::{run, RunMode};
pub use start::start;
pub use update::{parse_resources, update, RdtSchemas, ResourceFlags};

// What checkpoint and restore share with the lifecycle.
pub(crate) use create::{hook_state, new_record};
pub(crate) use pid_file::write as write_pid_file;
pub(crate) use status::status_of as status_of_record;

/// Removes a container as `delete` does once it has stopped: what is left of its
/// processes, its cgroup, its state; then its poststop hooks.
pub(crate) fn destroy_record(dir: crate::state::ContainerDir, record: &crate::state::StateRecord) {
    delete::destroy(dir, record, false)
}
