//! What the process needs before truman's code runs, done in place of Rust's own
//! `main` wrapper. That wrapper costs about 0.2 ms of every command (a hello world
//! 1.34 ms with it, 1.16 ms without; truman --version 0.91x, paired): it finds the
//! main thread's stack guard through `pthread_getattr_np`, which reads and parses
//! /proc/self/maps, and installs stack-overflow handlers on an alternate stack.
//! create, run and exec start twice (the re-exec of CVE-2019-5736), so they paid it
//! twice. Of what it does, truman
//! relies on two things, kept here; a stack overflow is a plain SIGSEGV without it.

/// Ignores SIGPIPE, so that writing to a reader that went away (a closed log pipe,
/// `truman list | head`) fails with EPIPE instead of killing truman halfway through
/// a command, and opens /dev/null on any of fds 0-2 that is closed, so that no file
/// truman opens later takes a standard fd's number and is written to as stdout or
/// handed to a container as its stdin.
pub fn prepare() {
    // SAFETY: setting a signal's disposition to SIG_IGN runs no code of ours.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: poll reads and writes only the array it is given, of the length given.
    if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) } < 0 {
        return;
    }
    for fd in fds {
        if fd.revents & libc::POLLNVAL != 0 {
            // open returns the lowest free number: the closed one, as they are
            // taken in order. A failure leaves it closed, as Rust's wrapper would
            // abort for: nothing better can be done before logging exists.
            // SAFETY: a NUL-terminated literal path; the fd is kept for the process's life.
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        }
    }
}
