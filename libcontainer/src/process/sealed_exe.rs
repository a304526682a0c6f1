//! CVE-2019-5736: a container process starts as a copy of truman, so a container that
//! makes it exec `/proc/self/exe` (`#!/proc/self/exe`) runs truman's binary inside,
//! and could reopen that file for writing once truman has exited. truman therefore
//! runs `create`, `run` and `exec` from an image of itself that cannot be written:
//! a read-only mount of its binary that is in no mount table (crun execs a read-only
//! bind too; runc >= 1.2 a read-only overlay), or, where truman may not mount (a
//! rootless caller), a sealed in-memory copy.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use rustix::mount::OpenTreeFlags;

const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Returns if truman already runs from an image no one can write (a sealed copy, or a
/// read-only mount: its own, or a read-only filesystem's); otherwise re-executes
/// truman, with the same arguments and environment, from one, and does not return.
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
    let image = match read_only_mount() {
        Ok(mount) => mount,
        Err(_) => sealed_copy(&exe)?,
    };
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
    let Err(e) = nix::unistd::fexecve(image.as_raw_fd(), &args, &env);
    Err(e.into())
}

/// truman's binary on a read-only bind mount of its own: a detached clone
/// (`open_tree`) that no mount namespace holds, so nothing shows in any mount table or
/// wakes whoever watches one (systemd, with thousands of containers), and the mount
/// goes away with the last process running from it. Writing through it, or through
/// `/proc/<pid>/exe` of a process running from it, fails with EROFS; it cannot be
/// remounted, being in no namespace. No copy is made: about 0.5 ms against several
/// for copying the binary. Needs CAP_SYS_ADMIN over the caller's mount namespace.
fn read_only_mount() -> io::Result<OwnedFd> {
    let flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
    let mount = rustix::mount::open_tree(rustix::fs::CWD, "/proc/self/exe", flags)?;
    crate::mount_attr::set(mount.as_fd(), false, libc::MOUNT_ATTR_RDONLY, 0)?;
    Ok(mount)
}

/// A sealed in-memory copy of truman's binary.
fn sealed_copy(exe: &File) -> io::Result<OwnedFd> {
    let copy = memfd()?;
    let mut writer = File::from(copy);
    // std copies file to file inside the kernel (copy_file_range or sendfile).
    io::copy(&mut &*exe, &mut writer)?;
    // SAFETY: F_ADD_SEALS changes the seals of an fd we own.
    if unsafe { libc::fcntl(writer.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(writer.into())
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
