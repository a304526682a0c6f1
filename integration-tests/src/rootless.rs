//! A user of the host's, made for the tests, to run truman without privilege as a
//! rootless podman user would: subordinate ids in /etc/subuid and /etc/subgid (which
//! newuidmap and newgidmap read), and a runtime directory for `$XDG_RUNTIME_DIR`.

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The test user's name; its subordinate ids are [`SUBORDINATE`].. (65536 of them),
/// clear of the 100000.. the user namespace tests map to.
pub const TEST_USER: &str = "truman-test";
pub const SUBORDINATE: u32 = 400_000;

pub struct TestUser {
    pub name: &'static str,
    pub uid: u32,
    pub gid: u32,
    /// `/run/user/<uid>`, the user's own, as logind would make it.
    pub runtime_dir: PathBuf,
}

/// The test user, made on first use (useradd, and its entries in /etc/subuid and
/// /etc/subgid), under a lock: test binaries run side by side.
pub fn test_user() -> &'static TestUser {
    static USER: OnceLock<TestUser> = OnceLock::new();
    USER.get_or_init(|| {
        let path = std::env::temp_dir().join("truman-test-user.lock");
        let lock = File::create(&path).expect("create the user lock");
        nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
            .map(|held| {
                let user = make_user();
                drop(held);
                user
            })
            .unwrap_or_else(|(_, e)| panic!("lock {}: {e}", path.display()))
    })
}

fn id(flag: &str) -> Option<u32> {
    let output = Command::new("id").args([flag, TEST_USER]).output().ok()?;
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn make_user() -> TestUser {
    if id("-u").is_none() {
        // Without the ranges useradd would pick itself.
        run(
            "useradd",
            &[
                "-m",
                "-s",
                "/bin/sh",
                "-K",
                "SUB_UID_COUNT=0",
                "-K",
                "SUB_GID_COUNT=0",
                TEST_USER,
            ],
        );
    }
    // Written directly: a fresh machine may have neither file, and usermod refuses
    // to add ranges to a file that does not exist.
    let entry = format!("{TEST_USER}:{SUBORDINATE}:65536");
    for file in ["/etc/subuid", "/etc/subgid"] {
        let mut text = std::fs::read_to_string(file).unwrap_or_default();
        if !text.lines().any(|l| l == entry) {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&entry);
            text.push('\n');
            std::fs::write(file, text).unwrap_or_else(|e| panic!("write {file}: {e}"));
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644))
                .unwrap_or_else(|e| panic!("chmod {file}: {e}"));
        }
    }
    let uid = id("-u").expect("the test user's uid");
    let gid = id("-g").expect("the test user's gid");
    let runtime_dir = PathBuf::from(format!("/run/user/{uid}"));
    std::fs::create_dir_all(&runtime_dir).expect("mkdir the user's runtime dir");
    chown(&runtime_dir, uid, gid);
    std::fs::set_permissions(&runtime_dir, std::fs::Permissions::from_mode(0o700))
        .expect("chmod the user's runtime dir");
    TestUser {
        name: TEST_USER,
        uid,
        gid,
        runtime_dir,
    }
}

pub fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
}

/// `path` and everything below it, for `uid`:`gid`.
pub(crate) fn chown_tree(path: &Path, uid: u32, gid: u32) {
    chown(path, uid, gid);
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path).expect("read dir") {
            chown_tree(&entry.expect("read dir").path(), uid, gid);
        }
    }
}

/// `binary` itself where anyone may run it there; else a copy in `dir`: the
/// checkout may be below a directory only root may enter (`/root`).
pub(crate) fn runnable(binary: &Path, dir: &Path) -> PathBuf {
    let mode = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.permissions().mode());
    let reachable = binary
        .ancestors()
        .skip(1)
        .all(|d| d.as_os_str().is_empty() || mode(d) & 0o001 != 0);
    if reachable && mode(binary) & 0o005 == 0o005 {
        return binary.to_owned();
    }
    let path = dir.join("truman");
    std::fs::copy(binary, &path).expect("copy truman");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}
