//! What the tests read back: a runtime invocation's result and a created
//! container's stdout.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::process::COMMAND_TIMEOUT;

/// What one runtime invocation did, as a user at a shell would see it.
#[derive(Debug, Clone)]
pub struct Output {
    /// The command line, for messages.
    pub command: String,
    /// Exit code, or 128 + signal number if the runtime was killed.
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == 0
    }

    #[track_caller]
    pub fn assert_success(&self) -> &Output {
        assert!(self.success(), "expected success: {self}");
        self
    }

    #[track_caller]
    pub fn assert_failure(&self) -> &Output {
        assert!(!self.success(), "expected failure: {self}");
        self
    }

    #[track_caller]
    pub fn assert_status(&self, status: i32) -> &Output {
        assert_eq!(self.status, status, "unexpected exit status: {self}");
        self
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` exited {}\n--- stdout ---\n{}--- stderr ---\n{}--------------",
            self.command, self.status, self.stdout, self.stderr
        )
    }
}

/// The read end of a pipe that is a created container's stdout.
pub struct ContainerStdout {
    pipe: File,
    buffered: Vec<u8>,
}

impl ContainerStdout {
    pub(crate) fn new(pipe: File) -> ContainerStdout {
        ContainerStdout {
            pipe,
            buffered: Vec::new(),
        }
    }

    /// The next line (without `\n`), or `None` at end of file. Panics if
    /// nothing arrives within [`COMMAND_TIMEOUT`].
    #[track_caller]
    pub fn read_line(&mut self) -> Option<String> {
        loop {
            if let Some(newline) = self.buffered.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffered.drain(..=newline).collect();
                return Some(String::from_utf8_lossy(&line[..newline]).into_owned());
            }
            if !self.fill() {
                if self.buffered.is_empty() {
                    return None;
                }
                let rest = std::mem::take(&mut self.buffered);
                return Some(String::from_utf8_lossy(&rest).into_owned());
            }
        }
    }

    /// Everything up to end of file, i.e. until every process holding the
    /// write end (the container's processes) has closed it or exited.
    #[track_caller]
    pub fn read_to_end(&mut self) -> String {
        while self.fill() {}
        String::from_utf8_lossy(&std::mem::take(&mut self.buffered)).into_owned()
    }

    /// Reads what is available; false at end of file.
    #[track_caller]
    fn fill(&mut self) -> bool {
        let millis = u16::try_from(COMMAND_TIMEOUT.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.pipe.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(millis)) {
            Ok(0) => panic!("container wrote nothing for {COMMAND_TIMEOUT:?}"),
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return true,
            Err(e) => panic!("poll container stdout: {e}"),
        }
        let mut chunk = [0u8; 4096];
        match self.pipe.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buffered.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => true,
            Err(e) => panic!("read container stdout: {e}"),
        }
    }
}
