//! The caller's side of `--console-socket` (runtime contract §5), for `create`,
//! `run` and `exec` with a terminal: the socket, the one message the runtime sends,
//! and what the container writes to its pty.

use std::fs::File;
use std::io::{IoSliceMut, Read};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;

use nix::cmsg_space;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{recv, recvmsg, ControlMessageOwned, MsgFlags};
use tempfile::TempDir;

use crate::COMMAND_TIMEOUT;

/// The caller's side of `--console-socket`: a listening `AF_UNIX`
/// `SOCK_STREAM` socket, as go-runc and conmon make.
pub struct ConsoleSocket {
    _dir: TempDir,
    path: PathBuf,
    listener: UnixListener,
}

impl Default for ConsoleSocket {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsoleSocket {
    pub fn new() -> ConsoleSocket {
        let dir = tempfile::Builder::new()
            .prefix("truman-console-")
            .tempdir()
            .unwrap_or_else(|e| panic!("create console socket dir: {e}"));
        let path = dir.path().join("console.sock");
        let listener =
            UnixListener::bind(&path).unwrap_or_else(|e| panic!("bind {}: {e}", path.display()));
        ConsoleSocket {
            _dir: dir,
            path,
            listener,
        }
    }

    /// For a runtime run by another user (see [`crate::rootless`]), which must
    /// reach and connect to the socket.
    pub fn owned_by(self, uid: u32, gid: u32) -> ConsoleSocket {
        crate::rootless::chown(self._dir.path(), uid, gid);
        crate::rootless::chown(&self.path, uid, gid);
        self
    }

    pub fn path(&self) -> &str {
        self.path.to_str().expect("UTF-8 socket path")
    }

    /// The connection the runtime made, which must already be queued:
    /// `create` has returned.
    #[track_caller]
    pub fn accept_queued(&self) -> UnixStream {
        self.listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let (stream, _) = self.listener.accept().unwrap_or_else(|e| {
            panic!("create returned without having connected to the console socket: {e}")
        });
        stream
    }
}

/// The one message the runtime sent: its payload and the fd it carried.
/// Panics unless it is already queued and holds exactly one `SCM_RIGHTS`
/// control message with exactly one fd.
#[track_caller]
pub fn receive_master(stream: &UnixStream) -> (Vec<u8>, OwnedFd) {
    let mut payload = vec![0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut payload)];
    let mut control = cmsg_space!([RawFd; 4]);
    let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_CMSG_CLOEXEC;
    let msg = recvmsg::<()>(stream.as_raw_fd(), &mut iov, Some(&mut control), flags)
        .unwrap_or_else(|e| panic!("no console message queued when create returned: {e}"));
    let bytes = msg.bytes;
    let mut fds: Vec<OwnedFd> = Vec::new();
    let mut other_messages = Vec::new();
    let cmsgs = msg
        .cmsgs()
        .unwrap_or_else(|e| panic!("control data truncated: {e}"));
    let mut rights_messages = 0;
    for cmsg in cmsgs {
        match cmsg {
            ControlMessageOwned::ScmRights(received) => {
                rights_messages += 1;
                // SAFETY: the kernel just installed these fds for us.
                fds.extend(
                    received
                        .iter()
                        .map(|&fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                );
            }
            other => other_messages.push(format!("{other:?}")),
        }
    }
    assert!(
        other_messages.is_empty(),
        "unexpected control messages {other_messages:?}"
    );
    assert_eq!(rights_messages, 1, "exactly one SCM_RIGHTS message");
    assert_eq!(fds.len(), 1, "exactly one fd");
    assert!(bytes > 0, "the message's payload must not be empty");
    payload.truncate(bytes);

    (payload, fds.remove(0))
}

/// The runtime has exited, so its end of the connection must be closed:
/// end of stream, not a second message, and no process (such as the
/// container's init, `init_pid`) still holding the socket.
#[track_caller]
pub fn assert_nothing_more(stream: &UnixStream, init_pid: i32) {
    let mut more = [0u8; 4096];
    match recv(stream.as_raw_fd(), &mut more, MsgFlags::MSG_DONTWAIT) {
        Ok(0) => {}
        Ok(n) => panic!(
            "more than one message on the console socket: {:?}",
            String::from_utf8_lossy(&more[..n])
        ),
        Err(Errno::EAGAIN) => panic!(
            "the console socket is still open on the runtime's side after create exited; \
             the init's fds: {:?}",
            fd_targets(init_pid)
        ),
        Err(e) => panic!("recv on the console socket: {e}"),
    }
}

/// `fd -> target` for each open fd of `pid`, for failure messages.
pub fn fd_targets(pid: i32) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let mut targets: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| {
            let target = std::fs::read_link(entry.path()).unwrap_or_default();
            format!(
                "{} -> {}",
                entry.file_name().to_string_lossy(),
                target.display()
            )
        })
        .collect();
    targets.sort();
    targets
}

/// Everything the container writes to its terminal, until the last process
/// holding the pty slave has closed it (the master then reads EIO).
#[track_caller]
pub fn read_until_hangup(master: OwnedFd) -> String {
    let mut master = File::from(master);
    let millis = u16::try_from(COMMAND_TIMEOUT.as_millis()).unwrap_or(u16::MAX);
    let mut output = Vec::new();
    loop {
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(millis)) {
            Ok(0) => panic!(
                "the terminal stayed silent for {COMMAND_TIMEOUT:?}; so far: {:?}",
                String::from_utf8_lossy(&output)
            ),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => panic!("poll the pty master: {e}"),
        }
        let mut chunk = [0u8; 4096];
        match master.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => output.extend_from_slice(&chunk[..n]),
            Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read the pty master: {e}"),
        }
    }
    String::from_utf8_lossy(&output).replace("\r\n", "\n")
}
