//! The state store under `--root`: one directory per container, holding its record
//! (written atomically) and the start handoff fifo, serialised by a lock.

mod reader;
mod record;
mod status;
mod store;
mod summary;

pub use reader::RootReader;
pub use record::StateRecord;
pub use status::Status;
pub(crate) use store::CRIU_ROOT;
pub use store::{ContainerDir, StateStore, StoreError};
pub use summary::StateSummary;
