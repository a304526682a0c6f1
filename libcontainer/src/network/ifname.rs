//! What the kernel accepts as a network interface name (`dev_valid_name` and
//! `dev_alloc_name` in net/core/dev.c): checked when the bundle is loaded, so that a
//! name the kernel would refuse is refused by field before anything exists.

/// `IFNAMSIZ`: a name and its terminating NUL.
const IFNAMSIZ: usize = 16;

/// Why `name` cannot name an interface, or `None` if it can. A name may be a template
/// with one `%d`, which the kernel replaces by the first free number.
pub(super) fn invalid(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("is empty");
    }
    if name.len() >= IFNAMSIZ {
        return Some("is longer than 15 bytes");
    }
    if name == "." || name == ".." {
        return Some("is not a valid interface name");
    }
    // The kernel's isspace(): the ASCII white space and Latin-1's no-break space.
    let forbidden = |b: u8| matches!(b, b'/' | b':' | b' ' | b'\t'..=b'\r' | 0xa0);
    if name.bytes().any(forbidden) {
        return Some("must not contain '/', ':' or white space");
    }
    if name.contains('%') && !is_template(name) {
        return Some("may hold '%' only as one \"%d\"");
    }
    None
}

/// A name the kernel completes with a number (`eth%d`): unknown until the move.
pub(super) fn is_template(name: &str) -> bool {
    name.matches('%').count() == 1 && name.contains("%d")
}

#[cfg(test)]
mod tests {
    use super::{invalid, is_template};

    #[test]
    fn names_the_kernel_takes() {
        for name in ["eth0", "ctr_dummy0", "a", "fifteen-bytes-x", "net%d", "x.y"] {
            assert_eq!(invalid(name), None, "{name}");
        }
    }

    #[test]
    fn names_the_kernel_refuses() {
        for name in [
            "",
            ".",
            "..",
            "sixteen-bytes-xx",
            "a/b",
            "a:b",
            "a b",
            "a\tb",
            "a\u{a0}b",
            "a%s",
            "%d%d",
            "a%",
        ] {
            assert!(invalid(name).is_some(), "{name:?}");
        }
    }

    #[test]
    fn templates() {
        assert!(is_template("eth%d"));
        assert!(!is_template("eth0"));
        assert!(!is_template("eth%%d"));
    }
}
