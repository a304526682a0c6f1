//! The last step of every container process: find the program, wait for `start`, exec.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::unistd::{access, AccessFlags};

use super::error::{InitError, Step};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The program and arguments, checked before the init says it is ready, so that a
/// missing executable fails `create` (podman maps this message to exit code 127).
pub struct Program {
    path: CString,
    args: Vec<CString>,
    env: Vec<CString>,
}

fn cstring(s: &str, what: &str) -> Result<CString, InitError> {
    CString::new(s).map_err(|_| InitError::Other(format!("{what} contains a NUL byte: {s:?}")))
}

impl Program {
    pub fn resolve(args: &[String], env: &[String]) -> Result<Self, InitError> {
        let name = args.first().map(String::as_str).unwrap_or_default();
        let path = if name.contains('/') {
            PathBuf::from(name)
        } else {
            let search = env
                .iter()
                .find_map(|e| e.strip_prefix("PATH="))
                .unwrap_or(DEFAULT_PATH);
            search
                .split(':')
                .map(|dir| Path::new(dir).join(name))
                .find(|p| is_executable(p))
                .ok_or_else(|| InitError::NotFound(name.to_owned()))?
        };
        if !path.exists() {
            return Err(InitError::Path {
                step: "exec",
                path,
                source: std::io::Error::from_raw_os_error(libc::ENOENT),
            });
        }
        Ok(Self {
            path: CString::new(path.as_os_str().as_bytes()).map_err(|_| {
                InitError::Other(format!("process.args[0] contains a NUL byte: {name:?}"))
            })?,
            args: args
                .iter()
                .map(|a| cstring(a, "process.args"))
                .collect::<Result<_, _>>()?,
            env: env
                .iter()
                .map(|e| cstring(e, "process.env"))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Closes every descriptor but stdio and the preserved ones at exec, and execs.
    pub fn exec(self, preserve_fds: u32) -> InitError {
        close_on_exec_from(3 + preserve_fds);
        // truman's Rust runtime ignores SIGPIPE, and an ignored signal stays ignored
        // across exec: the container's programs must get the default back (a shell
        // pipeline relies on dying of it). Nothing may stay blocked either.
        // SAFETY: resetting one disposition to the default touches no memory of ours.
        unsafe {
            let _ = nix::sys::signal::signal(
                nix::sys::signal::Signal::SIGPIPE,
                nix::sys::signal::SigHandler::SigDfl,
            );
        }
        let _ = nix::sys::signal::SigSet::empty().thread_set_mask();
        match nix::unistd::execve(&self.path, &self.args, &self.env) {
            Err(e) => InitError::Sys {
                step: format!("exec {:?}", self.path),
                source: e,
            },
        }
    }
}

/// Marks every descriptor from `first` on close-on-exec: none of truman's (nor any its
/// caller leaked to it) may reach the container's programs, the hooks the container
/// process runs included (CVE-2024-21626).
pub fn close_on_exec_from(first: u32) {
    // SAFETY: close_range only changes descriptor flags; CLOSE_RANGE_CLOEXEC keeps
    // every fd valid until execve, so nothing still in use goes away early.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if ret < 0 {
        // Without close_range (before Linux 5.11), mark each open fd by hand.
        mark_cloexec_from(first as i32);
    }
}

fn mark_cloexec_from(first: i32) {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<i32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= first)
        .collect();
    for fd in fds {
        // SAFETY: setting FD_CLOEXEC on a descriptor number changes no memory.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

fn is_executable(path: &Path) -> bool {
    path.is_file() && access(path, AccessFlags::X_OK).is_ok()
}

/// Blocks until `start` writes its byte into the exec fifo.
pub fn wait_for_start(fifo: std::os::fd::OwnedFd) -> Result<(), InitError> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    loop {
        let mut fds = [PollFd::new(fifo.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => {
                other.step("wait for start")?;
            }
        }
        let mut byte = [0u8; 1];
        match nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(&fifo), &mut byte) {
            Ok(1) => return Ok(()),
            // Woken without a byte (a signal): keep waiting for a real start.
            Ok(_) | Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).step("read exec fifo"),
        }
    }
}
