//! runc's seccomp agent protocol: the notification fd of a filter with SCMP_ACT_NOTIFY
//! rules goes to the agent listening at `listenerPath` (AF_UNIX, SOCK_STREAM), in one
//! message whose payload is the container process state and whose SCM_RIGHTS carries
//! the fd; one connection per process.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use serde::Serialize;

use super::seccomp::Listener;
use crate::container::ContainerState;
use crate::process::send_fd::send_fd;
use crate::{Error, Result};

/// `specs.ContainerProcessState`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContainerProcessState<'a> {
    oci_version: &'a str,
    /// The names of the fds sent, in order.
    fds: [&'static str; 1],
    /// The process whose filter it is (the init, or an exec'd process), host pid.
    pid: i32,
    metadata: &'a str,
    state: &'a ContainerState,
}

pub fn send(listener: &Listener, fd: &OwnedFd, pid: i32, state: &ContainerState) -> Result<()> {
    let payload = serde_json::to_string(&ContainerProcessState {
        oci_version: &state.oci_version,
        fds: ["seccompFd"],
        pid,
        metadata: &listener.metadata,
        state,
    })
    .map_err(|e| Error::Sys {
        op: "serialize the seccomp agent's state".into(),
        source: e.into(),
    })?;
    let stream = UnixStream::connect(&listener.path).map_err(Error::sys(format!(
        "failed to connect with seccomp agent specified in the seccomp profile {}",
        listener.path.display()
    )))?;
    send_fd(&stream, fd.as_raw_fd(), &payload).map_err(Error::sys(format!(
        "cannot send seccomp fd to {}",
        listener.path.display()
    )))
}
