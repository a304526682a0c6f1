//! What a hook writes to stdout and stderr, kept for the debug log and the error.

/// Keep at most this much of each stream. A chatty hook must not grow the runtime's
/// memory without bound; the end of the stream is what explains a failure.
const KEEP: usize = 64 * 1024;

/// The tail of one of a hook's output streams.
#[derive(Debug, Default)]
pub(crate) struct Captured {
    bytes: Vec<u8>,
    /// How many bytes were dropped from the front to stay under [`KEEP`].
    dropped: usize,
}

impl Captured {
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        if self.bytes.len() > KEEP {
            let excess = self.bytes.len() - KEEP;
            self.bytes.drain(..excess);
            self.dropped += excess;
        }
    }

    /// The last line with anything but whitespace in it, without its line ending.
    pub(crate) fn last_line(&self) -> Option<String> {
        String::from_utf8_lossy(&self.bytes)
            .lines()
            .map(str::trim_end)
            .rfind(|line| !line.trim_start().is_empty())
            .map(str::to_owned)
    }

    /// Logs the stream at debug level, if the hook wrote anything to it.
    pub(crate) fn log(&self, stream: &'static str) {
        if self.bytes.is_empty() {
            return;
        }
        tracing::debug!(
            stream,
            dropped = self.dropped,
            output = %String::from_utf8_lossy(&self.bytes),
            "hook output"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_line_skips_trailing_blank_lines() {
        let mut out = Captured::default();
        out.push(b"first\nsecond line  \r\n\n   \n");
        assert_eq!(out.last_line().as_deref(), Some("second line"));
    }

    #[test]
    fn last_line_of_nothing_is_none() {
        let mut out = Captured::default();
        assert_eq!(out.last_line(), None);
        out.push(b"\n\n");
        assert_eq!(out.last_line(), None);
    }

    #[test]
    fn keeps_only_the_tail() {
        let mut out = Captured::default();
        out.push(&vec![b'x'; KEEP]);
        out.push(b"\nthe end\n");
        assert_eq!(out.bytes.len(), KEEP);
        assert_eq!(out.dropped, "\nthe end\n".len());
        assert_eq!(out.last_line().as_deref(), Some("the end"));
    }
}
