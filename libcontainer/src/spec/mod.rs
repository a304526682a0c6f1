//! Loading a bundle's `config.json` and checking it once, at the edge: what leaves this
//! module is a [`Bundle`] whose spec later steps can trust.

mod default;
mod load;
pub(crate) mod mount_options;
pub(crate) mod sysctl;
mod validate;
mod validate_mounts;

pub use default::{default_spec, write_default};
pub use load::{load_bundle, Bundle, ConfigStamp, SpecError};
/// The type `features` returns, for the binary to print.
pub use oci_spec::runtime::Features;
/// The resources type `update` takes, re-exported so the binary needs no oci-spec of its own.
pub use oci_spec::runtime::LinuxResources;
