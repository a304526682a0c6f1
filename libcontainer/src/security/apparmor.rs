//! `process.apparmorProfile`: the profile a container process is confined by from its
//! exec on, where the host runs AppArmor.

use std::path::Path;

use super::lsm::{write_attr, LsmError};

/// True if the host's kernel has AppArmor enabled.
pub fn enabled() -> bool {
    enabled_in(Path::new("/sys"))
}

fn enabled_in(sys: &Path) -> bool {
    std::fs::read_to_string(sys.join("module/apparmor/parameters/enabled"))
        .is_ok_and(|v| v.trim() == "Y")
}

/// The file below `/proc/self/` and the text that confine the next exec by `profile`:
/// the AppArmor-only attribute where the kernel stacks LSMs (Linux 5.8+), else the
/// shared one.
pub fn exec_attr(profile: &str, stacked: bool) -> (&'static str, String) {
    let file = if stacked {
        "attr/apparmor/exec"
    } else {
        "attr/exec"
    };
    (file, format!("exec {profile}"))
}

/// Confines the calling process by `profile` from its next exec on.
pub fn apply(profile: &str) -> Result<(), LsmError> {
    // Whether the kernel stacks LSMs shows in which attribute exists, asked of the
    // same procfs the write goes to.
    let (file, text) = exec_attr(profile, true);
    let written = match write_attr(file, &text) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (file, text) = exec_attr(profile, false);
            write_attr(file, &text)
        }
        other => other,
    };
    written.map_err(|e| LsmError::Apply {
        what: format!("apparmor profile {profile:?}"),
        source: e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exec_transition_goes_to_apparmors_own_attribute_where_lsms_stack() {
        assert_eq!(
            exec_attr("docker-default", true),
            ("attr/apparmor/exec", "exec docker-default".to_owned())
        );
        assert_eq!(
            exec_attr("docker-default", false),
            ("attr/exec", "exec docker-default".to_owned())
        );
    }

    #[test]
    fn enabled_is_read_from_the_module_parameter() {
        let sys = tempfile::tempdir().unwrap();
        assert!(!enabled_in(sys.path()));
        let param = sys.path().join("module/apparmor/parameters");
        std::fs::create_dir_all(&param).unwrap();
        std::fs::write(param.join("enabled"), "N\n").unwrap();
        assert!(!enabled_in(sys.path()));
        std::fs::write(param.join("enabled"), "Y\n").unwrap();
        assert!(enabled_in(sys.path()));
    }
}
