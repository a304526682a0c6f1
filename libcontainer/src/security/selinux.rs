//! `process.selinuxLabel` and `linux.mountLabel`, where the host runs SELinux.

use std::path::Path;

use super::lsm::{write_attr, LsmError};

/// True if the host's kernel has SELinux enabled (selinuxfs is mounted).
pub fn enabled() -> bool {
    enabled_in(Path::new("/sys/fs/selinux"))
}

fn enabled_in(selinuxfs: &Path) -> bool {
    selinuxfs.join("enforce").exists()
}

/// The file below `/proc/self/` and the text that label the next exec.
pub fn exec_attr(label: &str) -> (&'static str, String) {
    ("attr/exec", label.to_owned())
}

/// Labels the calling process's next exec.
pub fn apply(label: &str) -> Result<(), LsmError> {
    let (file, text) = exec_attr(label);
    write_attr(file, &text).map_err(|e| LsmError::Apply {
        what: format!("selinux label {label:?}"),
        source: e,
    })
}

/// The data of a mount that is to carry `mount_label` (tmpfs, devpts, mqueue...):
/// its own options, then `context="<label>"`, as runc formats it.
pub fn labeled_mount_data(data: Option<&str>, mount_label: &str) -> String {
    let context = format!("context=\"{mount_label}\"");
    match data {
        Some(d) if !d.is_empty() => format!("{d},{context}"),
        _ => context,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mount_label_is_added_as_a_context_option() {
        let label = "system_u:object_r:container_file_t:s0:c1,c2";
        assert_eq!(
            labeled_mount_data(Some("mode=755,size=65536k"), label),
            format!("mode=755,size=65536k,context=\"{label}\"")
        );
        assert_eq!(
            labeled_mount_data(None, label),
            format!("context=\"{label}\"")
        );
    }

    #[test]
    fn the_exec_label_goes_to_the_shared_exec_attribute() {
        assert_eq!(
            exec_attr("system_u:system_r:container_t:s0"),
            ("attr/exec", "system_u:system_r:container_t:s0".to_owned())
        );
    }

    #[test]
    fn enabled_means_selinuxfs_is_mounted() {
        let fs = tempfile::tempdir().unwrap();
        assert!(!enabled_in(fs.path()));
        std::fs::write(fs.path().join("enforce"), "1").unwrap();
        assert!(enabled_in(fs.path()));
    }
}
