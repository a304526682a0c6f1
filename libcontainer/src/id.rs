//! Container ids: checked once, at the edge, so that an id can always be used as a
//! path component under `--root` and as a cgroup name.

use std::fmt;

/// A container id that is a plain name: non-empty, no `/`, not `.` or `..`, and made
/// only of the characters runc accepts (`[A-Za-z0-9_+.-]`, max 1024 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerId(String);

#[derive(Debug, thiserror::Error)]
#[error("invalid container id {id:?}: {reason}")]
pub struct InvalidId {
    id: String,
    reason: &'static str,
}

impl ContainerId {
    pub fn parse(id: &str) -> Result<Self, InvalidId> {
        let reject = |reason| {
            Err(InvalidId {
                id: id.to_owned(),
                reason,
            })
        };
        if id.is_empty() {
            return reject("must not be empty");
        }
        if id.len() > 1024 {
            return reject("longer than 1024 bytes");
        }
        if id == "." || id == ".." {
            return reject("must not be . or ..");
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'))
        {
            return reject("may only contain letters, digits, '_', '+', '-' and '.'");
        }
        Ok(Self(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::ContainerId;

    #[test]
    fn plain_names_are_accepted() {
        for id in ["a", "web-1", "k8s_pod.v1+x", "0123"] {
            assert_eq!(ContainerId::parse(id).unwrap().as_str(), id);
        }
    }

    #[test]
    fn names_that_are_paths_are_refused() {
        for id in ["", ".", "..", "../x", "a/b", "/abs", "a b", "x\0y"] {
            let err = ContainerId::parse(id).unwrap_err().to_string();
            assert!(err.starts_with("invalid container id"), "{id:?}: {err}");
        }
    }
}
