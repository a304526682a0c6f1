//! Mount tables as the tests read them (`/proc/<pid>/mountinfo`), and private mount
//! namespaces to try propagation in without touching the host's.

use std::path::Path;

use nix::mount::{mount, MsFlags};

/// One line of `/proc/<pid>/mountinfo`.
#[derive(Debug)]
pub struct MountLine {
    /// The mounted path inside its filesystem.
    pub root: String,
    pub mount_point: String,
    pub options: Vec<String>,
    /// The optional fields: `shared:N`, `master:N`...
    pub tags: Vec<String>,
    pub fstype: String,
    pub source: String,
    pub super_options: Vec<String>,
}

pub fn parse_mountinfo(text: &str) -> Vec<MountLine> {
    let list = |s: &str| s.split(',').map(String::from).collect();
    text.lines()
        .filter_map(|line| {
            let (mount, fs) = line.split_once(" - ")?;
            let fields: Vec<&str> = mount.split(' ').collect();
            let fs: Vec<&str> = fs.split(' ').collect();
            Some(MountLine {
                root: fields.get(3)?.to_string(),
                mount_point: fields.get(4)?.to_string(),
                options: list(fields.get(5)?),
                tags: fields.get(6..)?.iter().map(|t| t.to_string()).collect(),
                fstype: fs.first()?.to_string(),
                source: fs.get(1)?.to_string(),
                super_options: list(fs.get(2)?),
            })
        })
        .collect()
}

impl MountLine {
    /// The peer group of a `shared:N` or `master:N` tag.
    pub fn tag(&self, kind: &str) -> Option<&str> {
        let prefix = format!("{kind}:");
        self.tags.iter().find_map(|t| t.strip_prefix(&prefix))
    }
}

/// The mount visible at `mount_point` (the last one mounted there).
#[track_caller]
pub fn mount_at<'a>(mounts: &'a [MountLine], mount_point: &str, context: &str) -> &'a MountLine {
    mounts
        .iter()
        .rev()
        .find(|m| m.mount_point == mount_point)
        .unwrap_or_else(|| panic!("nothing mounted at {mount_point}:\n{context}"))
}

/// The mount table of the calling thread's mount namespace.
pub fn own_mounts() -> Vec<MountLine> {
    let text = std::fs::read_to_string("/proc/thread-self/mountinfo")
        .unwrap_or_else(|e| panic!("read /proc/thread-self/mountinfo: {e}"));
    parse_mountinfo(&text)
}

/// Mount points in the test process's (the host's) mount namespace at or
/// below any of `dirs`.
pub fn host_mounts_under(dirs: &[&Path]) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_else(|e| panic!("read /proc/self/mountinfo: {e}"));
    parse_mountinfo(&text)
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|point| dirs.iter().any(|dir| Path::new(point).starts_with(dir)))
        .collect()
}

/// Runs `scenario` on a thread of its own, in a new mount namespace where
/// every mount is private: what it mounts never reaches the host and
/// disappears with the thread, and the runtime it starts inherits the
/// namespace, as a container manager's own namespace would be.
pub fn in_private_mount_ns<T: Send>(scenario: impl FnOnce() -> T + Send) -> T {
    let mut thread = std::thread::Builder::new();
    // unique_id() names containers after the test's thread.
    if let Some(name) = std::thread::current().name() {
        thread = thread.name(name.to_string());
    }
    std::thread::scope(|scope| {
        let handle = thread
            .spawn_scoped(scope, || {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
                    .unwrap_or_else(|e| panic!("unshare(CLONE_NEWNS): {e}"));
                let private = MsFlags::MS_REC | MsFlags::MS_PRIVATE;
                mount(None::<&str>, "/", None::<&str>, private, None::<&str>)
                    .unwrap_or_else(|e| panic!("make / rprivate: {e}"));
                scenario()
            })
            .unwrap_or_else(|e| panic!("spawn a thread: {e}"));
        handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Mounts a small tmpfs named `source` on `dir`.
pub fn mount_tmpfs(source: &str, dir: &Path) {
    mount(
        Some(source),
        dir,
        Some("tmpfs"),
        MsFlags::empty(),
        Some("size=64k"),
    )
    .unwrap_or_else(|e| panic!("mount tmpfs on {}: {e}", dir.display()));
}

/// Bind-mounts `dir` on itself and makes it shared (in the caller's
/// namespace: see [`in_private_mount_ns`]); returns its peer group.
pub fn make_shared_mount(dir: &Path) -> String {
    mount(Some(dir), dir, None::<&str>, MsFlags::MS_BIND, None::<&str>)
        .unwrap_or_else(|e| panic!("bind {} on itself: {e}", dir.display()));
    mount(
        None::<&str>,
        dir,
        None::<&str>,
        MsFlags::MS_SHARED,
        None::<&str>,
    )
    .unwrap_or_else(|e| panic!("make {} shared: {e}", dir.display()));
    let dir = dir.to_str().expect("UTF-8 path");
    own_mounts()
        .iter()
        .rev()
        .find(|m| m.mount_point == dir)
        .and_then(|m| m.tag("shared").map(String::from))
        .unwrap_or_else(|| panic!("{dir} is not shared after --make-shared"))
}
