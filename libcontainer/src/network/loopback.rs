//! The loopback link of a new network namespace, which the kernel creates down: runc
//! and crun bring it up, and programs expect 127.0.0.1 to work without any network
//! plugin. A namespace joined by path is its owner's, and is left as it is.

use super::rtnl::Rtnl;
use super::NetworkError;

/// `lo` is the first link of every network namespace (the kernel's `LOOPBACK_IFINDEX`).
const LOOPBACK_INDEX: u32 = 1;

/// Brings up `lo` in the calling thread's network namespace.
pub(crate) fn bring_up_loopback() -> Result<(), NetworkError> {
    const STEP: &str = "bring up the loopback link lo";
    Rtnl::open()
        .map_err(NetworkError::sys(STEP))?
        .set_up(LOOPBACK_INDEX)
        .map_err(NetworkError::sys(STEP))
}
