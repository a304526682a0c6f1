//! Reading a small file whole in as few system calls as the kernel allows: open, one
//! read, close. `std::fs::read` also asks for the file's size first and reads again
//! to see the end, five calls where three do; `list` reads three files per container
//! (its record, its init's `/proc/<pid>/stat`, its freezer state).

use std::fs::File;
use std::io;
use std::os::fd::BorrowedFd;
use std::path::Path;

/// The bytes of the file at `path`. A read that leaves the buffer unfilled is taken
/// as the end: true of regular files, and of the one-page files of procfs and
/// cgroupfs this is used for; a fuller one is read on until the end.
pub(crate) fn read(path: &Path) -> io::Result<Vec<u8>> {
    read_whole(File::open(path)?)
}

/// The bytes of `name` found relative to `dir`: a walk of its own components only,
/// for a caller that reads many files under one directory.
pub(crate) fn read_at(dir: BorrowedFd<'_>, name: &Path) -> io::Result<Vec<u8>> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    read_whole(File::from(fd))
}

fn read_whole(file: File) -> io::Result<Vec<u8>> {
    // Read into the vector's spare room, which is never zeroed first: zeroing a page
    // per file was a tenth of `list`'s own work.
    let mut bytes = Vec::with_capacity(4096);
    loop {
        let room = bytes.capacity() - bytes.len();
        let n = match rustix::io::read(&file, rustix::buffer::spare_capacity(&mut bytes)) {
            Ok(n) => n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        };
        if n == 0 || n < room {
            return Ok(bytes);
        }
        bytes.reserve(bytes.capacity());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_larger_than_the_first_buffer_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        for size in [0, 1, 4095, 4096, 4097, 20_000] {
            let path = dir.path().join(format!("f{size}"));
            let content: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            std::fs::write(&path, &content).unwrap();
            assert_eq!(read(&path).unwrap(), content, "size {size}");
        }
    }

    #[test]
    fn a_procfs_file_is_read_whole() {
        let text = String::from_utf8(read(Path::new("/proc/self/stat")).unwrap()).unwrap();
        assert!(
            text.starts_with(&format!("{} (", std::process::id())),
            "{text}"
        );
        // All 52 fields, up to the exit code and its newline.
        assert!(text.ends_with('\n'), "{text}");
        let after_name = text.rsplit_once(") ").unwrap().1;
        assert_eq!(after_name.split_whitespace().count(), 50, "{text}");
    }
}
