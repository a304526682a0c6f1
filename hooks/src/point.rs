//! The points in a container's lifecycle where hooks run.

use std::fmt;

/// The hook points of the OCI spec, in lifecycle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookPoint {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl HookPoint {
    /// Every point, in lifecycle order.
    pub const ALL: [HookPoint; 6] = [
        HookPoint::Prestart,
        HookPoint::CreateRuntime,
        HookPoint::CreateContainer,
        HookPoint::StartContainer,
        HookPoint::Poststart,
        HookPoint::Poststop,
    ];

    /// The spec's name for this point, as it appears under `hooks` in `config.json`.
    pub fn name(&self) -> &'static str {
        match self {
            HookPoint::Prestart => "prestart",
            HookPoint::CreateRuntime => "createRuntime",
            HookPoint::CreateContainer => "createContainer",
            HookPoint::StartContainer => "startContainer",
            HookPoint::Poststart => "poststart",
            HookPoint::Poststop => "poststop",
        }
    }
}

impl fmt::Display for HookPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::HookPoint;

    #[test]
    fn names_are_the_spec_keys() {
        let names: Vec<_> = [
            HookPoint::Prestart,
            HookPoint::CreateRuntime,
            HookPoint::CreateContainer,
            HookPoint::StartContainer,
            HookPoint::Poststart,
            HookPoint::Poststop,
        ]
        .iter()
        .map(HookPoint::name)
        .collect();
        assert_eq!(
            names,
            [
                "prestart",
                "createRuntime",
                "createContainer",
                "startContainer",
                "poststart",
                "poststop"
            ]
        );
    }
}
