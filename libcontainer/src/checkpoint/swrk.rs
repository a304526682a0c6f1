//! One conversation with CRIU in its service-worker mode (`criu swrk 3`): a request
//! over a SOCK_SEQPACKET pair, the notifications CRIU sends at each action-script
//! point (each answered), then the response. The messages are rust-criu's protobuf
//! types; the loop is truman's own, because rust-criu's takes a plain `fn` for the
//! notifications, gives CRIU no stdio of the caller's choosing, and drops the
//! response (the restored pid, the error number).

#[cfg(test)]
use std::fs::File;
use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use nix::sys::socket::{
    recvmsg, send, socketpair, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};
use protobuf::{Enum, Message};
use rust_criu::rust_criu_protobuf::rpc::{
    Criu_features, Criu_notify, Criu_opts, Criu_req, Criu_req_type, Criu_resp,
};

use crate::{Error, Result};

/// The fd number of CRIU's end of the socket; the extra fds follow it.
const SOCKET_FD: RawFd = 3;
/// Larger than any response: CRIU's messages are a few hundred bytes.
const BUFFER: usize = 64 << 10;

/// CRIU's standard streams for the conversation.
pub(crate) enum Stdio3 {
    /// `/dev/null` in, truman's stderr for its complaints: a dump.
    Quiet,
    /// truman's own: a restore makes the container's stdio pipes again from CRIU's
    /// fds 0, 1 and 2 (`inherit_fd`), which are the caller's.
    Inherited,
}

/// A notification, as CRIU names its action-script points (`setup-namespaces`,
/// `post-restore`, `orphan-pts-master`, ...), with the pid it concerns and the fd it
/// carries, if any.
pub(crate) struct Notice<'a> {
    pub script: &'a str,
    pub pid: i32,
    pub fd: Option<OwnedFd>,
}

/// A running `criu swrk`, before its request is sent. Dropped without its call (an
/// error on the way there), it is killed and reaped: no CRIU outlives truman's
/// attempt.
pub(crate) struct Worker {
    child: Option<Child>,
    socket: OwnedFd,
}

/// The most fds a worker is handed (the socket, then the namespaces).
const MOST_FDS: usize = 8;

impl Worker {
    /// Starts `criu swrk`, `criu` found on PATH as runc finds it. `extra` are given to
    /// CRIU as fds 4, 5, ... (the namespaces it restores into by `inherit_fd`); every
    /// other fd truman holds is closed in CRIU.
    pub fn start(stdio: Stdio3, extra: &[&OwnedFd]) -> Result<Self> {
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(Error::errno("socketpair for criu"))?;
        if extra.len() + 1 > MOST_FDS {
            return Err(Error::Usage(format!(
                "criu: at most {} namespaces can be handed over",
                MOST_FDS - 1
            )));
        }
        // Filled here: the child may not allocate between fork and exec.
        let mut handed = [-1 as RawFd; MOST_FDS];
        handed[0] = theirs.as_raw_fd();
        for (slot, fd) in handed[1..].iter_mut().zip(extra) {
            *slot = fd.as_raw_fd();
        }
        let count = extra.len() + 1;
        let mut command = Command::new("criu");
        command.arg("swrk").arg(SOCKET_FD.to_string());
        match stdio {
            Stdio3::Quiet => {
                command.stdin(Stdio::null()).stdout(Stdio::null());
            }
            Stdio3::Inherited => {}
        }
        // SAFETY: between fork and exec the child makes only system calls (fcntl,
        // dup2, close_range) on memory prepared before the fork.
        unsafe {
            command.pre_exec(move || place_fds(&mut handed[..count]));
        }
        let child = command.spawn().map_err(|e| {
            Error::Usage(match e.kind() {
                std::io::ErrorKind::NotFound => {
                    "criu: not found on PATH (checkpoint and restore need CRIU 3.15 or newer)"
                        .to_owned()
                }
                _ => format!("start criu: {e}"),
            })
        })?;
        drop(theirs);
        Ok(Self {
            child: Some(child),
            socket: ours,
        })
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    /// Sends `kind` with `opts`, answers each notification with what `notice` says
    /// (an error aborts the conversation: CRIU sees the socket close and gives up),
    /// and returns CRIU's response once it has exited.
    pub fn call(
        self,
        kind: Criu_req_type,
        opts: Option<Criu_opts>,
        notice: &mut dyn FnMut(Notice<'_>) -> Result<()>,
    ) -> std::result::Result<Criu_resp, Failed> {
        let mut request = Criu_req::new();
        request.set_type(kind);
        if let Some(opts) = opts {
            request.opts = protobuf::MessageField::some(opts);
        }
        self.exchange(request, notice)
    }

    /// Which of `asked` this CRIU has (a feature check answers each with yes or no).
    pub fn call_features(self, asked: Criu_features) -> Result<Criu_features> {
        let mut request = Criu_req::new();
        request.set_type(Criu_req_type::FEATURE_CHECK);
        request.features = protobuf::MessageField::some(asked);
        let response = self
            .exchange(request, &mut |_| Ok(()))
            .map_err(Failed::into_error)?;
        Ok(response.features.into_option().unwrap_or_default())
    }

    fn exchange(
        mut self,
        request: Criu_req,
        notice: &mut dyn FnMut(Notice<'_>) -> Result<()>,
    ) -> std::result::Result<Criu_resp, Failed> {
        let kind = request.type_();
        let answer = self.converse(request, notice);
        // Shutting our end down ends a CRIU still waiting for a request.
        let _ =
            nix::sys::socket::shutdown(self.socket.as_raw_fd(), nix::sys::socket::Shutdown::Both);
        let mut child = self
            .child
            .take()
            .ok_or_else(|| Error::Usage("criu is gone".into()))?;
        let status = child.wait().map_err(Error::sys("wait for criu"))?;
        let response = answer?;
        // After a pre-dump CRIU waits for the next request and leaves on the
        // hang-up with a failure of no consequence.
        if !status.success() && kind != Criu_req_type::PRE_DUMP {
            return Err(Error::Usage(format!("criu swrk: {status}")).into());
        }
        Ok(response)
    }

    fn converse(
        &mut self,
        request: Criu_req,
        notice: &mut dyn FnMut(Notice<'_>) -> Result<()>,
    ) -> std::result::Result<Criu_resp, Failed> {
        let kind = request.type_();
        self.send(&request)?;
        loop {
            let (response, fd) = self.receive()?;
            let got = response.type_();
            if !response.success() {
                return Err(Error::Usage(failure(kind, &response)).into());
            }
            if got == Criu_req_type::NOTIFY {
                let Criu_notify { script, pid, .. } = response.notify.clone().unwrap_or_default();
                let result = notice(Notice {
                    script: script.as_deref().unwrap_or_default(),
                    pid: pid.unwrap_or(0),
                    fd,
                });
                // Answered either way: told of a failure, CRIU undoes what it did
                // and says so in its log, instead of finding the socket closed.
                let mut reply = Criu_req::new();
                reply.set_type(Criu_req_type::NOTIFY);
                reply.set_notify_success(result.is_ok());
                let sent = self.send(&reply);
                result.map_err(Failed::Notice)?;
                sent?;
                continue;
            }
            if got != kind {
                return Err(Error::Usage(format!(
                    "criu answered {:?} to {:?}",
                    got.value(),
                    kind.value()
                ))
                .into());
            }
            return Ok(response);
        }
    }

    fn send(&self, request: &Criu_req) -> Result<()> {
        let bytes = request
            .write_to_bytes()
            .map_err(|e| Error::Usage(format!("encode the criu request: {e}")))?;
        send(self.socket.as_raw_fd(), &bytes, MsgFlags::empty())
            .map_err(Error::errno("send the request to criu"))?;
        Ok(())
    }

    fn receive(&self) -> Result<(Criu_resp, Option<OwnedFd>)> {
        let mut buffer = vec![0u8; BUFFER];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let mut iov = [IoSliceMut::new(&mut buffer)];
        let message = loop {
            match recvmsg::<()>(
                self.socket.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => break other.map_err(Error::errno("receive from criu"))?,
            }
        };
        if message
            .flags
            .intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC)
        {
            return Err(Error::Usage(
                "criu's answer does not fit truman's buffer".into(),
            ));
        }
        let mut fd = None;
        for cmsg in message.cmsgs().map_err(Error::errno("receive from criu"))? {
            if let ControlMessageOwned::ScmRights(fds) = cmsg {
                for raw in fds {
                    // SAFETY: the kernel just installed this fd for us; nothing else owns it.
                    let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                    fd.get_or_insert(owned);
                }
            }
        }
        let length = message.bytes;
        if length == 0 {
            return Err(Error::Usage(
                "criu ended the conversation without an answer (see its log)".into(),
            ));
        }
        let response = Criu_resp::parse_from_bytes(&buffer[..length])
            .map_err(|e| Error::Usage(format!("decode criu's answer: {e}")))?;
        Ok((response, fd))
    }
}

/// In the child before exec: `fds` to 3, 4, ..., without close-on-exec, and every fd
/// above them close-on-exec (what truman inherited must not reach CRIU, nor the
/// processes it restores). Each is first copied above them all, so that no placement
/// overwrites one still to be placed; the copies are close-on-exec.
fn place_fds(fds: &mut [RawFd]) -> std::io::Result<()> {
    let floor = SOCKET_FD + fds.len() as RawFd;
    for fd in fds.iter_mut() {
        // SAFETY: fcntl on an fd this process holds.
        let copy = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, floor) };
        if copy < 0 {
            return Err(std::io::Error::last_os_error());
        }
        *fd = copy;
    }
    for (i, copy) in fds.iter().enumerate() {
        // SAFETY: dup2 onto a number this process may use; the copy stays CLOEXEC.
        if unsafe { libc::dup2(*copy, SOCKET_FD + i as RawFd) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    // SAFETY: marks fds close-on-exec; no memory is touched.
    let marked = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            floor as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if marked < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Why a call failed: CRIU's doing (its log says more), or truman's own answer to a
/// notification (a hook that failed), to which CRIU's log has nothing to add.
#[derive(Debug)]
pub(crate) enum Failed {
    Criu(Error),
    Notice(Error),
}

impl From<Error> for Failed {
    fn from(e: Error) -> Self {
        Failed::Criu(e)
    }
}

impl Failed {
    /// The error, CRIU's first logged error line added when it was CRIU's.
    pub fn explained(self, log: &std::path::Path) -> Error {
        match self {
            Failed::Criu(e) => super::log::explain(e, log),
            Failed::Notice(e) => e,
        }
    }

    pub fn into_error(self) -> Error {
        match self {
            Failed::Criu(e) | Failed::Notice(e) => e,
        }
    }
}

/// What CRIU's failure says: its error number, as far as it gives one. Its message
/// is left out: it is the first error CRIU logged, often one of no consequence (a
/// host without CAP_SYS_RESOURCE logs one on every run); log.rs finds the real one.
fn failure(kind: Criu_req_type, response: &Criu_resp) -> String {
    let what = match kind {
        Criu_req_type::DUMP => "dump",
        Criu_req_type::PRE_DUMP => "pre-dump",
        Criu_req_type::RESTORE => "restore",
        Criu_req_type::VERSION => "version",
        Criu_req_type::FEATURE_CHECK => "feature check",
        _ => "request",
    };
    match response.cr_errno() {
        0 => format!("criu {what} failed"),
        e => format!(
            "criu {what} failed ({})",
            std::io::Error::from_raw_os_error(e)
        ),
    }
}

/// CRIU's version as runc compares it: major * 10000 + minor * 100 + sublevel, a
/// build from git counting as the next minor release.
pub(crate) fn version() -> Result<u32> {
    let worker = Worker::start(Stdio3::Quiet, &[])?;
    let response = worker
        .call(Criu_req_type::VERSION, None, &mut |_| Ok(()))
        .map_err(Failed::into_error)?;
    let version = response
        .version
        .as_ref()
        .ok_or_else(|| Error::Usage("criu gave no version".into()))?;
    Ok(number(
        version.major_number() as u32,
        version.minor_number() as u32,
        version.sublevel() as u32,
        !version.gitid().is_empty(),
    ))
}

fn number(major: u32, minor: u32, sublevel: u32, from_git: bool) -> u32 {
    let number = major * 10000 + minor * 100 + sublevel;
    match from_git {
        true => number - number % 100 + 100,
        false => number,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_runc_compares_them() {
        assert_eq!(number(3, 15, 0, false), 31500);
        assert_eq!(number(3, 14, 2, true), 31500);
        assert_eq!(number(4, 2, 0, false), 40200);
    }

    /// The fds are placed as the child sees them: fd 3 then 4, whatever numbers they
    /// had, every other fd closed on exec.
    #[test]
    fn a_worker_s_fds_land_in_order_and_nothing_else_reaches_it() {
        use std::os::unix::process::CommandExt;
        let first = File::open("/dev/null").unwrap();
        let second = File::open("/proc/self/stat").unwrap();
        let stray = File::open("/").unwrap();
        // Not close-on-exec: only place_fds keeps it from the child.
        let stray_fd = stray.as_raw_fd();
        unsafe { libc::fcntl(stray_fd, libc::F_SETFD, 0) };
        let mut fds = [second.as_raw_fd(), first.as_raw_fd()];
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "readlink /proc/self/fd/3 /proc/self/fd/4; ls /proc/self/fd",
        ]);
        unsafe { command.pre_exec(move || place_fds(&mut fds)) };
        let output = command.output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with("/stat"), "{text}");
        assert_eq!(lines[1], "/dev/null", "{text}");
        assert!(
            !lines[2..].contains(&stray_fd.to_string().as_str()) || stray_fd <= 4,
            "{text}"
        );
        drop((first, second, stray));
    }
}
