//! What confines a container process beyond its namespaces: its seccomp filter and,
//! where the host has them, its AppArmor profile and SELinux label.

pub mod apparmor;
pub mod lsm;
pub mod seccomp;
pub mod seccomp_agent;
pub mod selinux;
