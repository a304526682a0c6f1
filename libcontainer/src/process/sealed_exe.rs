//! CVE-2019-5736: a container process starts as a copy of truman, so a container that
//! makes it exec `/proc/self/exe` (`#!/proc/self/exe`) runs truman's binary inside,
//! and could reopen that file for writing once truman has exited. truman therefore
//! runs `create`, `run` and `exec` from a sealed in-memory copy of itself, as crun
//! does: the container can only ever reach that copy, which cannot be written.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Returns if truman already runs from a sealed copy, or from a read-only filesystem
/// (whose binary cannot be written anyway); otherwise re-executes truman, with the
/// same arguments and environment, from a sealed copy, and does not return.
pub fn ensure_sealed() -> io::Result<()> {
    let exe = File::open("/proc/self/exe")?;
    // SAFETY: F_GET_SEALS reads the seals of an fd we own; -1 if it has none.
    let seals = unsafe { libc::fcntl(exe.as_raw_fd(), libc::F_GET_SEALS) };
    if seals >= 0 && seals & SEALS == SEALS {
        return Ok(());
    }
    if nix::sys::statvfs::fstatvfs(&exe)
        .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
    {
        return Ok(());
    }
    let copy = memfd()?;
    let mut writer = File::from(copy);
    // std copies file to file inside the kernel (copy_file_range or sendfile).
    io::copy(&mut &exe, &mut writer)?;
    // SAFETY: F_ADD_SEALS changes the seals of an fd we own.
    if unsafe { libc::fcntl(writer.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let args = std::env::args_os()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io::Error::other)?;
    let env = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(io::Error::other)?;
    let Err(e) = nix::unistd::fexecve(writer.as_raw_fd(), &args, &env);
    Err(e.into())
}

/// A sealable, executable, close-on-exec memfd. MFD_EXEC asks for exec rights where
/// the kernel would otherwise give a memfd none (vm.memfd_noexec); older kernels do
/// not know the flag.
fn memfd() -> io::Result<OwnedFd> {
    const MFD_EXEC: libc::c_uint = 0x10;
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    for extra in [MFD_EXEC, 0] {
        // SAFETY: memfd_create takes a NUL-terminated name and flags.
        let fd = unsafe { libc::memfd_create(c"truman".as_ptr(), flags | extra) };
        if fd >= 0 {
            // SAFETY: the kernel just returned this fd; nothing else owns it.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINVAL) => continue,
            Some(libc::EACCES) => {
                return Err(io::Error::other(
                    "the kernel refuses executable memfds (vm.memfd_noexec = 2)",
                ))
            }
            _ => return Err(e),
        }
    }
    Err(io::Error::from_raw_os_error(libc::EINVAL))
}
