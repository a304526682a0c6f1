//! `linux.memoryPolicy`: the NUMA policy of the container's processes,
//! set_mempolicy(2), which needs no capability. A mode and its nodes are checked as
//! runc checks them (none for MPOL_DEFAULT and MPOL_LOCAL, at least one for the modes
//! that spread or bind), and nodes the host does not have are refused by name unless
//! a flag makes them relative or static (then the kernel judges them).

use nix::errno::Errno;
use oci_spec::runtime::{LinuxMemoryPolicy, MemoryPolicyFlagType, MemoryPolicyModeType};

use super::{called, Refused};

/// Node masks of up to 1024 nodes (the kernel's MAX_NUMNODES is at most that).
const MASK_WORDS: usize = 16;
const MASK_BITS: usize = MASK_WORDS * libc::c_ulong::BITS as usize;

#[derive(Debug, Clone)]
pub struct MemoryPolicy {
    mode: libc::c_int,
    nodes: [libc::c_ulong; MASK_WORDS],
}

/// The nodes this host has online; a kernel without NUMA shows no node directory
/// and has node 0 alone.
pub fn host_nodes() -> Vec<u32> {
    match std::fs::read_to_string("/sys/devices/system/node/online") {
        Ok(text) => crate::kernel_list::parse(&text).unwrap_or_default(),
        Err(_) => vec![0],
    }
}

fn mode_number(mode: MemoryPolicyModeType) -> libc::c_int {
    match mode {
        MemoryPolicyModeType::MpolDefault => 0,
        MemoryPolicyModeType::MpolPreferred => 1,
        MemoryPolicyModeType::MpolBind => 2,
        MemoryPolicyModeType::MpolInterleave => 3,
        MemoryPolicyModeType::MpolLocal => 4,
        MemoryPolicyModeType::MpolPreferredMany => 5,
        MemoryPolicyModeType::MpolWeightedInterleave => 6,
    }
}

fn flag_bit(flag: MemoryPolicyFlagType) -> libc::c_int {
    match flag {
        MemoryPolicyFlagType::MpolFStaticNodes => 1 << 15,
        MemoryPolicyFlagType::MpolFRelativeNodes => 1 << 14,
        MemoryPolicyFlagType::MpolFNumaBalancing => 1 << 13,
    }
}

/// The modes this kernel has, in the spec's names (for `features`).
pub fn modes() -> Vec<&'static str> {
    let mut modes = vec![
        "MPOL_DEFAULT",
        "MPOL_PREFERRED",
        "MPOL_BIND",
        "MPOL_INTERLEAVE",
        "MPOL_LOCAL",
    ];
    if crate::kernel_version::at_least(5, 15) {
        modes.push("MPOL_PREFERRED_MANY");
    }
    if crate::kernel_version::at_least(6, 9) {
        modes.push("MPOL_WEIGHTED_INTERLEAVE");
    }
    modes
}

/// The mode flags, in the spec's names (all three since Linux 5.12).
pub const FLAGS: [&str; 3] = [
    "MPOL_F_NUMA_BALANCING",
    "MPOL_F_RELATIVE_NODES",
    "MPOL_F_STATIC_NODES",
];

impl MemoryPolicy {
    pub fn plan(asked: &LinuxMemoryPolicy, host_nodes: &[u32]) -> Result<MemoryPolicy, Refused> {
        let mode = asked.mode();
        let nodes = match asked.nodes().as_deref().map(str::trim) {
            None | Some("") => Vec::new(),
            Some(list) => crate::kernel_list::parse_below(list, MASK_BITS as u32)
                .map_err(|why| Refused::new("linux.memoryPolicy.nodes", why))?,
        };
        let flags = asked.flags().as_deref().unwrap_or_default();
        match mode {
            MemoryPolicyModeType::MpolDefault | MemoryPolicyModeType::MpolLocal
                if !nodes.is_empty() =>
            {
                return Err(Refused::new(
                    "linux.memoryPolicy.nodes",
                    format!("{mode} takes no nodes"),
                ))
            }
            MemoryPolicyModeType::MpolBind
            | MemoryPolicyModeType::MpolInterleave
            | MemoryPolicyModeType::MpolPreferredMany
            | MemoryPolicyModeType::MpolWeightedInterleave
                if nodes.is_empty() =>
            {
                return Err(Refused::new(
                    "linux.memoryPolicy.nodes",
                    format!("{mode} needs at least one node"),
                ))
            }
            _ => {}
        }
        let judged_by_kernel = flags.iter().any(|f| {
            matches!(
                f,
                MemoryPolicyFlagType::MpolFRelativeNodes | MemoryPolicyFlagType::MpolFStaticNodes
            )
        });
        if let Some(missing) = nodes.iter().find(|n| !host_nodes.contains(n)) {
            if !judged_by_kernel || *missing as usize >= MASK_BITS {
                return Err(Refused::new(
                    "linux.memoryPolicy.nodes",
                    format!("this host has no NUMA node {missing}"),
                ));
            }
        }
        let mut mask = [0; MASK_WORDS];
        let word_bits = libc::c_ulong::BITS as usize;
        for node in nodes {
            let node = node as usize;
            mask[node / word_bits] |= 1 << (node % word_bits);
        }
        Ok(MemoryPolicy {
            mode: flags
                .iter()
                .fold(mode_number(mode), |m, f| m | flag_bit(*f)),
            nodes: mask,
        })
    }

    pub fn apply(&self) -> Result<(), (String, Errno)> {
        // SAFETY: set_mempolicy reads maxnode - 1 bits of the mask we own.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_set_mempolicy,
                self.mode,
                self.nodes.as_ptr(),
                MASK_BITS + 1,
            )
        };
        called(rc, "linux.memoryPolicy: set_mempolicy")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(value: serde_json::Value) -> Result<MemoryPolicy, Refused> {
        MemoryPolicy::plan(&serde_json::from_value(value).unwrap(), &[0, 1])
    }

    #[test]
    fn modes_and_nodes_are_checked_as_runc_checks_them() {
        let why = |v| plan(v).unwrap_err().why;
        assert!(why(json!({"mode": "MPOL_DEFAULT", "nodes": "0"})).contains("takes no nodes"));
        assert!(why(json!({"mode": "MPOL_BIND"})).contains("at least one node"));
        assert!(plan(json!({"mode": "MPOL_PREFERRED"})).is_ok());
    }

    #[test]
    fn a_node_the_host_lacks_is_refused_unless_the_kernel_is_to_judge() {
        let refused = plan(json!({"mode": "MPOL_BIND", "nodes": "0,3"})).unwrap_err();
        assert_eq!(refused.field, "linux.memoryPolicy.nodes");
        assert!(refused.why.contains("node 3"), "{}", refused.why);
        let relative =
            json!({"mode": "MPOL_BIND", "nodes": "3", "flags": ["MPOL_F_RELATIVE_NODES"]});
        assert!(plan(relative).is_ok());
    }

    #[test]
    fn the_kernel_gets_mode_flags_and_mask() {
        let policy = plan(json!({
            "mode": "MPOL_INTERLEAVE", "nodes": "0-1", "flags": ["MPOL_F_STATIC_NODES"]
        }))
        .unwrap();
        assert_eq!(policy.mode, 3 | (1 << 15));
        assert_eq!(policy.nodes[0], 0b11);
    }
}
