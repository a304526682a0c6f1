//! Shared harness for the integration tests: bundles and the runtime binary.
//!
//! The tests drive a runtime *binary* through runc's CLI contract, so the same
//! test runs against truman and against runc:
//!
//! * [`Runtime`] wraps the binary under test (`TRUMAN_BIN`, or truman built
//!   from this workspace) with a private `--root`, and force-deletes every
//!   container it created when dropped.
//! * [`Bundle`] is a temporary OCI bundle: a busybox rootfs plus a
//!   `config.json` built from [`default_config`] and edited through JSON
//!   pointers.
//! * [`wait_exit`] reaps a container init: the test process is the caller's
//!   subreaper, as containerd's shim is, so a detached init is our child.
//!
//! Running:
//!
//! ```text
//! TRUMAN_BIN=/usr/sbin/runc cargo test -p integration-tests   # against runc
//! cargo test -p integration-tests                             # builds and tests truman
//! ```
//!
//! Tests need root, cgroups under `/sys/fs/cgroup/*/truman-test/` and a static
//! busybox (`/bin/busybox`). Every runtime command and every wait has a
//! deadline ([`COMMAND_TIMEOUT`]), so a hung runtime fails a test instead of
//! hanging the suite.
//!
//! A typical test:
//!
//! ```no_run
//! use integration_tests::{unique_id, Bundle, Runtime};
//!
//! let runtime = Runtime::under_test();
//! let id = unique_id();
//! let bundle = Bundle::new(&id).args(&["sh", "-c", "exit 3"]).write();
//! assert_eq!(runtime.run(&id, &bundle).status, 3);
//! ```

mod binary;
mod bundle;
pub mod console;
mod failure;
mod host;
pub mod mountinfo;
mod output;
mod probe;
mod process;
pub mod rootless;
mod runtime;
pub mod script;
pub mod seccomp_profile;
mod spec;

pub use binary::runtime_under_test;
pub use bundle::Bundle;
pub use failure::assert_failed_cleanly;
pub use host::{
    host_has_v1_controller, host_ns, host_uptime_secs, leftover_cgroups, test_cgroups_path,
    CGROUP_TEST_PARENT,
};
pub use output::{ContainerStdout, Output};
pub use probe::{syscall_probe, without_clone3};
pub use process::{is_alive, parent_pid, wait_exit, COMMAND_TIMEOUT};
pub use runtime::{unique_id, Runtime};
pub use spec::{default_config, fixture, fixture_path, DEFAULT_HOSTNAME};
