//! `linux.sysctl` keys: `net.ipv4.ip_forward`, or as sysctl.d(5) also allows, the path
//! form `net/ipv4/conf/eth0.100/rp_filter` (an interface name may hold a dot). runc
//! takes both; a key becomes a file below `/proc/sys` only through [`proc_sys_path`].

use std::path::PathBuf;

use oci_spec::runtime::LinuxNamespaceType;

/// The key in dotted form, with dots that belong to a name kept as `/` (sysctl.d's
/// convention): `net/ipv4/conf/eth0.100/rp_filter` is `net.ipv4.conf.eth0/100.rp_filter`.
pub fn dotted(key: &str) -> String {
    match key.find(['.', '/']) {
        Some(i) if key.as_bytes()[i] == b'/' => key
            .chars()
            .map(|c| match c {
                '.' => '/',
                '/' => '.',
                other => other,
            })
            .collect(),
        _ => key.to_owned(),
    }
}

/// The file of `key` below `/proc/sys`, or `None` for a key that names none (an empty
/// part, `.` or `..`: nothing may lead out of `/proc/sys`).
pub fn proc_sys_path(key: &str) -> Option<PathBuf> {
    let parts: Vec<String> = dotted(key)
        .split('.')
        .map(|part| part.replace('/', "."))
        .collect();
    let valid = parts
        .iter()
        .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains('/'));
    valid.then(|| parts.iter().collect())
}

/// The namespace a sysctl belongs to, as runc decides it; `None` for a sysctl that
/// no namespace isolates.
pub fn namespace_of(key: &str) -> Option<LinuxNamespaceType> {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let key = dotted(key);
    if IPC.contains(&key.as_str()) || key.starts_with("fs.mqueue.") {
        Some(LinuxNamespaceType::Ipc)
    } else if key.starts_with("net.") {
        Some(LinuxNamespaceType::Network)
    } else if key == "kernel.domainname" {
        Some(LinuxNamespaceType::Uts)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_name_the_same_file() {
        let want = Some(PathBuf::from("net/ipv4/conf/eth0.100/rp_filter"));
        assert_eq!(proc_sys_path("net.ipv4.conf.eth0/100.rp_filter"), want);
        assert_eq!(proc_sys_path("net/ipv4/conf/eth0.100/rp_filter"), want);
        assert_eq!(
            proc_sys_path("kernel.shmmax"),
            Some(PathBuf::from("kernel/shmmax"))
        );
    }

    #[test]
    fn a_key_cannot_lead_out_of_proc_sys() {
        for bad in [
            "net/../../sysrq-trigger",
            "net..x",
            "net/./x",
            "",
            "net.",
            "/net/x",
        ] {
            assert_eq!(proc_sys_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_path_form_is_classified_as_the_dotted_one() {
        assert_eq!(
            namespace_of("net/ipv4/ip_forward"),
            Some(LinuxNamespaceType::Network)
        );
        assert_eq!(
            namespace_of("fs/mqueue/msg_max"),
            Some(LinuxNamespaceType::Ipc)
        );
        assert_eq!(namespace_of("kernel/panic"), None);
    }
}
