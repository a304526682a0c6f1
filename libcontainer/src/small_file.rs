//! Reading a small file whole in as few system calls as the kernel allows: open, one
//! read, close. `std::fs::read` also asks for the file's size first and reads again
//! to see the end, five calls where three do; `list` reads three files per container
//! (its record, its init's `/proc/<pid>/stat`, its freezer state).

use std::fs::File;
use std::io::{self, Read};
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

fn read_whole(mut file: File) -> io::Result<Vec<u8>> {
    const FIRST: usize = 4096;
    let mut bytes = vec![0; FIRST];
    let mut filled = 0;
    loop {
        let n = match file.read(&mut bytes[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        filled += n;
        if n == 0 || filled < bytes.len() {
            bytes.truncate(filled);
            return Ok(bytes);
        }
        bytes.resize(bytes.len() * 2, 0);
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
