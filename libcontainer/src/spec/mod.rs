//! Loading a bundle's `config.json` and checking it once, at the edge: what leaves this
//! module is a [`Bundle`] whose spec later steps can trust.

mod default;
mod load;
mod validate;

pub use default::{default_spec, write_default};
pub use load::{load_bundle, Bundle, SpecError};
/// The resources type `update` takes, re-exported so the binary needs no oci-spec of its own.
pub use oci_spec::runtime::LinuxResources;
