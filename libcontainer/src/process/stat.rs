//! The three fields of `/proc/<pid>/stat` truman reads: the run state, the flags and
//! the start time. procfs parses all 52 into a struct (17,000 instructions a call,
//! a third of `list`'s own work per container); these three take a scan of one line.

use std::os::fd::BorrowedFd;
use std::path::Path;

/// What `/proc/<pid>/stat` says of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    /// Field 3: `R`, `S`, `D`, `Z`, `X`, ...
    pub state: u8,
    /// Field 9: the kernel's `PF_*` flags.
    pub flags: u32,
    /// Field 22: clock ticks after boot.
    pub start_time: u64,
}

impl Stat {
    /// The stat of `pid`, or `None` if it is gone (or its line cannot be read).
    pub(crate) fn of(pid: i32) -> Option<Self> {
        Self::of_in(None, pid)
    }

    /// As [`Stat::of`], found below `proc`, an open `/proc`, when the caller holds one.
    pub(crate) fn of_in(proc: Option<BorrowedFd<'_>>, pid: i32) -> Option<Self> {
        let bytes = match proc {
            Some(proc) => crate::small_file::read_at(proc, Path::new(&format!("{pid}/stat"))),
            None => crate::small_file::read(Path::new(&format!("/proc/{pid}/stat"))),
        };
        Self::parse(&bytes.ok()?)
    }

    /// Parses a stat line. The command name (field 2) is in parentheses and may hold
    /// spaces and parentheses of its own: the fields are counted after its last `)`.
    fn parse(line: &[u8]) -> Option<Self> {
        let close = line.iter().rposition(|&b| b == b')')?;
        let mut fields = line[close + 1..]
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        // After the name come field 3 (state) and then 4, 5, ... in order.
        let state = match fields.next()? {
            [state] => *state,
            _ => return None,
        };
        let flags = number(fields.nth(5)?)?;
        let start_time = number(fields.nth(12)?)?;
        Some(Self {
            state,
            flags: u32::try_from(flags).ok()?,
            start_time,
        })
    }
}

fn number(field: &[u8]) -> Option<u64> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fields_of_a_name_with_spaces_and_parentheses_are_counted_after_it() {
        let line = b"4242 (a) (b c)) S 1 4242 4242 0 -1 4194624 99 0 0 0 0 0 0 0 20 0 1 0 \
            987654 1105920 123 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 \
            0 0 0 0 0 0 0 0\n";
        assert_eq!(
            Stat::parse(line),
            Some(Stat {
                state: b'S',
                flags: 4194624,
                start_time: 987654,
            })
        );
    }

    #[test]
    fn a_cut_line_is_not_a_stat() {
        assert_eq!(
            Stat::parse(b"4242 (sh) S 1 4242 4242 0 -1 4194624 99"),
            None
        );
        assert_eq!(Stat::parse(b"4242 (sh"), None);
        assert_eq!(Stat::parse(b""), None);
    }

    #[test]
    fn this_process_reads_as_procfs_reads_it() {
        use procfs::FromRead;
        let me = std::process::id() as i32;
        let bytes = crate::small_file::read(Path::new("/proc/self/stat")).unwrap();
        let full = procfs::process::Stat::from_read(&bytes[..]).unwrap();
        let ours = Stat::parse(&bytes).unwrap();
        assert_eq!(ours.state, full.state as u8);
        assert_eq!(ours.flags, full.flags);
        assert_eq!(ours.start_time, full.starttime);
        assert_eq!(Stat::of(me).unwrap().start_time, full.starttime);
        let proc = std::fs::File::open("/proc").unwrap();
        use std::os::fd::AsFd;
        assert_eq!(
            Stat::of_in(Some(proc.as_fd()), me).unwrap().start_time,
            full.starttime
        );
    }
}
