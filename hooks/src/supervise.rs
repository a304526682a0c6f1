//! Watching one running hook without threads.
//!
//! One `poll` covers a pidfd for the hook (readable once it exits), its stdin (to feed
//! it the state) and its stdout and stderr (so a chatty hook never blocks on a full
//! pipe). All pipes are non-blocking: a readiness that turns out spurious costs one
//! EAGAIN, never a hang.

use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::process::{Child, ChildStdin, ExitStatus};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::output::Captured;
use crate::sigpipe::IgnoreSigpipe;

/// How a supervised hook ended.
pub(crate) enum Ending {
    Exited(ExitStatus),
    /// It outlived its timeout and was killed with SIGKILL and reaped.
    TimedOut,
}

pub(crate) struct Finished {
    pub(crate) ending: Ending,
    pub(crate) stdout: Captured,
    pub(crate) stderr: Captured,
}

pub(crate) enum Failure {
    WriteState(io::Error),
    Os { op: &'static str, source: io::Error },
}

/// One read's worth of a pipe; a pipe holds 64 KiB by default.
const CHUNK: usize = 64 * 1024;

/// Reads per stream once the hook is gone. What the hook left in the pipe is read, but
/// a grandchild that inherited the pipe could keep writing forever, so it is bounded.
const DRAIN_READS: usize = 16;

/// Feeds `state` to the hook's stdin and waits for it to exit, or kills it once
/// `timeout` has passed. Whatever happens, the hook has been reaped on return.
pub(crate) fn supervise(
    child: Child,
    state: &[u8],
    timeout: Option<Duration>,
) -> Result<Finished, Failure> {
    let mut reaper = Reaper {
        child,
        reaped: false,
    };
    // A deadline too far away to represent is as good as none.
    let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
    let pidfd = pidfd_open(reaper.child.id()).map_err(os("pidfd_open"))?;

    let mut stdin = reaper.child.stdin.take().filter(|_| !state.is_empty());
    let mut stdout = reaper.child.stdout.take();
    let mut stderr = reaper.child.stderr.take();
    let pipes = [
        stdin.as_ref().map(AsFd::as_fd),
        stdout.as_ref().map(AsFd::as_fd),
        stderr.as_ref().map(AsFd::as_fd),
    ];
    for fd in pipes.into_iter().flatten() {
        set_nonblocking(fd).map_err(os("set O_NONBLOCK on hook pipe"))?;
    }
    let _sigpipe = IgnoreSigpipe::new();

    let mut written = 0;
    let (mut out, mut err) = (Captured::default(), Captured::default());
    // On the heap: a hook may run in a forked child with a small stack.
    let mut buf = vec![0; CHUNK];
    let ending = loop {
        let wait = match deadline {
            None => PollTimeout::NONE,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    tracing::debug!("hook timed out, killing it");
                    reaper.kill().map_err(os("kill"))?;
                    break Ending::TimedOut;
                }
                poll_timeout(left)
            }
        };
        let ready = wait_ready(
            pidfd.as_fd(),
            [
                stdin.as_ref().map(AsFd::as_fd),
                stdout.as_ref().map(AsFd::as_fd),
                stderr.as_ref().map(AsFd::as_fd),
            ],
            wait,
        )
        .map_err(|errno| os("poll")(errno.into()))?;

        if ready.stdin {
            if let Some(pipe) = stdin.as_mut() {
                if write_state(pipe, state, &mut written).map_err(Failure::WriteState)? {
                    // Closing stdin is how the hook learns the state is complete.
                    stdin = None;
                }
            }
        }
        if ready.stdout {
            pump(&mut stdout, &mut out, &mut buf, 1).map_err(os("read hook stdout"))?;
        }
        if ready.stderr {
            pump(&mut stderr, &mut err, &mut buf, 1).map_err(os("read hook stderr"))?;
        }
        if ready.exited {
            // The pidfd is readable only once the hook has exited, so this does not block.
            break Ending::Exited(reaper.wait().map_err(os("waitpid"))?);
        }
    };
    drop(stdin);
    pump(&mut stdout, &mut out, &mut buf, DRAIN_READS).map_err(os("read hook stdout"))?;
    pump(&mut stderr, &mut err, &mut buf, DRAIN_READS).map_err(os("read hook stderr"))?;
    Ok(Finished {
        ending,
        stdout: out,
        stderr: err,
    })
}

fn os(op: &'static str) -> impl FnOnce(io::Error) -> Failure {
    move |source| Failure::Os { op, source }
}

/// Kills and reaps the hook if we return early, so an error never leaves it running
/// or a zombie behind.
struct Reaper {
    child: Child,
    reaped: bool,
}

impl Reaper {
    fn wait(&mut self) -> io::Result<ExitStatus> {
        // Even a failed waitpid (ECHILD) means there is nothing left to kill.
        self.reaped = true;
        self.child.wait()
    }

    fn kill(&mut self) -> io::Result<ExitStatus> {
        self.child.kill()?;
        self.wait()
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if !self.reaped {
            // Best effort on an error path that is already being reported.
            let _ = self.kill();
        }
    }
}

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from(Errno::ESRCH))?;
    // SAFETY: pidfd_open takes a pid and flags by value and touches none of our memory.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(ret).map_err(|_| io::Error::from(Errno::EBADF))?;
    // SAFETY: the kernel just returned this fd (O_CLOEXEC) to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = OFlag::from_bits_retain(fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL)?);
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

fn poll_timeout(left: Duration) -> PollTimeout {
    // Round up: rounding a sub-millisecond wait down to 0 would spin until the deadline.
    let millis = left.as_nanos().div_ceil(1_000_000);
    PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX)
}

/// What the last poll found ready. All false after EINTR, so the caller just goes round.
#[derive(Default)]
struct Ready {
    exited: bool,
    stdin: bool,
    stdout: bool,
    stderr: bool,
}

fn wait_ready(
    pidfd: BorrowedFd<'_>,
    [stdin, stdout, stderr]: [Option<BorrowedFd<'_>>; 3],
    timeout: PollTimeout,
) -> Result<Ready, Errno> {
    let watched = [
        (Some(pidfd), PollFlags::POLLIN),
        (stdin, PollFlags::POLLOUT),
        (stdout, PollFlags::POLLIN),
        (stderr, PollFlags::POLLIN),
    ];
    let mut fds = Vec::with_capacity(watched.len());
    let mut slots = [None; 4];
    for (slot, (fd, events)) in slots.iter_mut().zip(watched) {
        if let Some(fd) = fd {
            *slot = Some(fds.len());
            fds.push(PollFd::new(fd, events));
        }
    }
    match poll(&mut fds, timeout) {
        Ok(_) => {}
        Err(Errno::EINTR) => return Ok(Ready::default()),
        Err(errno) => return Err(errno),
    }
    // Any event, POLLHUP and POLLERR included, means the next non-blocking call on the
    // fd returns something: data, EOF or the error itself.
    let is_ready = |slot: Option<usize>| slot.is_some_and(|i| fds[i].any().unwrap_or(true));
    Ok(Ready {
        exited: is_ready(slots[0]),
        stdin: is_ready(slots[1]),
        stdout: is_ready(slots[2]),
        stderr: is_ready(slots[3]),
    })
}

/// Writes as much of the rest of the state as the pipe takes. Returns true when stdin
/// should be closed: the state is all written, or the hook closed its end unread.
fn write_state(stdin: &mut ChildStdin, state: &[u8], written: &mut usize) -> io::Result<bool> {
    while *written < state.len() {
        match stdin.write(&state[*written..]) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => *written += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                // runc ignores this too: a hook need not read the state.
                tracing::debug!(
                    written,
                    "hook closed its stdin before reading all the state"
                );
                return Ok(true);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Reads up to `reads` chunks from `pipe` into `into`, stopping early once the pipe is
/// empty. Closes the pipe (sets it to None) at EOF.
fn pump<R: Read>(
    pipe: &mut Option<R>,
    into: &mut Captured,
    buf: &mut [u8],
    reads: usize,
) -> io::Result<()> {
    for _ in 0..reads {
        let Some(reader) = pipe.as_mut() else {
            return Ok(());
        };
        match reader.read(buf) {
            Ok(0) => *pipe = None,
            Ok(n) => into.push(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
