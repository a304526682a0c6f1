//! A temporary OCI bundle: a static-busybox rootfs and a `config.json`.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use tempfile::TempDir;

use crate::host::test_cgroups_path;
use crate::spec::default_config;

/// Where the static busybox comes from (Debian's busybox-static).
const BUSYBOX_CANDIDATES: [&str; 2] = ["/bin/busybox", "/usr/bin/busybox"];

/// Users and groups inside the rootfs: root and an unprivileged test user.
const ETC_PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
                          test:x:1000:1000:test:/home/test:/bin/sh\n";
const ETC_GROUP: &str = "root:x:0:\ntty:x:5:\ntest:x:1000:\n";

/// A bundle directory for one container: `rootfs/` plus `config.json`.
///
/// The config starts as [`default_config`] with `linux.cgroupsPath` set to
/// `/truman-test/<id>` (so tests know where to look for leftovers and never
/// create cgroups inside someone else's). Edit it with the builder methods,
/// then [`Bundle::write`] it; [`Bundle::path`] refuses to hand out a bundle
/// whose edits were not written.
///
/// ```no_run
/// # use integration_tests::Bundle;
/// let bundle = Bundle::new("c1")
///     .args(&["sh", "-c", "id -u"])
///     .set("/process/user/uid", serde_json::json!(1000))
///     .write();
/// ```
pub struct Bundle {
    /// Shared with the [`crate::Runtime`] that creates a container from it,
    /// so the rootfs outlives the container even if the test drops the
    /// `Bundle` first.
    dir: Arc<TempDir>,
    config: Value,
    unwritten_edits: bool,
}

impl Bundle {
    /// A bundle for container `id` with the default config already written.
    pub fn new(id: &str) -> Bundle {
        let dir = tempfile::Builder::new()
            .prefix("truman-bundle-")
            .tempdir()
            .unwrap_or_else(|e| panic!("create bundle dir: {e}"));
        // A container whose root is mapped to an unprivileged host uid (user
        // namespace tests) must still be able to reach its rootfs.
        set_mode(dir.path(), 0o755);
        make_rootfs(&dir.path().join("rootfs"));
        let mut config = default_config();
        config["linux"]["cgroupsPath"] = Value::from(test_cgroups_path(id));
        Bundle {
            dir: Arc::new(dir),
            config,
            unwritten_edits: true,
        }
        .write()
    }

    /// A bundle as a rootless user makes one: the config `spec --rootless` writes
    /// when `runtime`'s user runs it, and a rootfs owned by that user (its root in
    /// the container). The config is then edited as any other.
    pub fn rootless(id: &str, runtime: &crate::Runtime) -> Bundle {
        let user = runtime
            .user()
            .expect("Bundle::rootless needs Runtime::rootless");
        let bundle = Bundle::new(id);
        let spec_dir = bundle.dir.path().join("spec");
        std::fs::create_dir(&spec_dir).expect("mkdir spec");
        crate::rootless::chown(&spec_dir, user.uid, user.gid);
        let spec_arg = spec_dir.to_str().expect("UTF-8 temp path");
        runtime
            .cmd(&["spec", "--rootless", "--bundle", spec_arg])
            .assert_success();
        let text = std::fs::read_to_string(spec_dir.join("config.json")).expect("read spec");
        let mut config: Value = serde_json::from_str(&text).expect("spec --rootless is JSON");
        config["process"]["terminal"] = Value::Bool(false);
        crate::rootless::chown_tree(&bundle.rootfs(), user.uid, user.gid);
        bundle.replace_config(config).write()
    }

    /// The bundle directory, to pass as `--bundle`.
    #[track_caller]
    pub fn path(&self) -> &Path {
        assert!(
            !self.unwritten_edits,
            "the bundle's config was edited but not written: call .write()"
        );
        self.dir.path()
    }

    /// A handle that keeps the bundle directory alive.
    pub(crate) fn keep_alive(&self) -> Arc<TempDir> {
        Arc::clone(&self.dir)
    }

    /// The rootfs directory on the host.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    /// The config as edited so far.
    pub fn config(&self) -> &Value {
        &self.config
    }

    /// Puts the syscall probe (see [`crate::syscall_probe`]) in the rootfs as
    /// `/bin/syscall`.
    pub fn with_syscall_probe(self) -> Bundle {
        let target = self.rootfs().join("bin/syscall");
        std::fs::copy(crate::syscall_probe(), &target)
            .unwrap_or_else(|e| panic!("copy the syscall probe to {}: {e}", target.display()));
        self
    }

    /// Sets `process.args`.
    pub fn args(self, args: &[&str]) -> Bundle {
        self.set("/process/args", Value::from(args.to_vec()))
    }

    /// Sets the value at a JSON pointer (`/process/terminal`), creating
    /// missing objects on the way; `-` as the last token appends to an array.
    #[track_caller]
    pub fn set(mut self, pointer: &str, value: Value) -> Bundle {
        let (parent, last) = split_pointer(pointer);
        let mut node = &mut self.config;
        for token in parent {
            node = child_or_insert(node, &token, pointer);
        }
        match node {
            Value::Object(map) => {
                map.insert(last, value);
            }
            Value::Array(items) if last == "-" => items.push(value),
            Value::Array(items) => {
                let index = array_index(&last, items.len(), pointer);
                items[index] = value;
            }
            other => panic!("{pointer}: cannot set a member of {other}"),
        }
        self.unwritten_edits = true;
        self
    }

    /// Removes the value at a JSON pointer; panics if there is none, so a
    /// test cannot "remove" something that was never there.
    #[track_caller]
    pub fn remove(mut self, pointer: &str) -> Bundle {
        let (parent, last) = split_pointer(pointer);
        let parent_pointer: String = parent.iter().map(|t| format!("/{}", escape(t))).collect();
        let removed = match self.config.pointer_mut(&parent_pointer) {
            Some(Value::Object(map)) => map.remove(&last).is_some(),
            Some(Value::Array(items)) => {
                let index = array_index(&last, items.len(), pointer);
                items.remove(index);
                true
            }
            _ => false,
        };
        assert!(removed, "{pointer}: nothing to remove in the config");
        self.unwritten_edits = true;
        self
    }

    /// Removes the `linux.namespaces` entry of `kind` (`pid`, `network`...).
    #[track_caller]
    pub fn without_namespace(self, kind: &str) -> Bundle {
        let index = self.namespace_index(kind);
        let index = index.unwrap_or_else(|| panic!("config has no {kind} namespace to remove"));
        self.remove(&format!("/linux/namespaces/{index}"))
    }

    /// Adds a `linux.namespaces` entry of `kind` if there is none.
    pub fn with_namespace(self, kind: &str) -> Bundle {
        if self.namespace_index(kind).is_some() {
            return self;
        }
        self.set("/linux/namespaces/-", serde_json::json!({ "type": kind }))
    }

    fn namespace_index(&self, kind: &str) -> Option<usize> {
        self.config["linux"]["namespaces"]
            .as_array()?
            .iter()
            .position(|ns| ns["type"] == kind)
    }

    /// Replaces the whole config (e.g. with one loaded from a fixture).
    pub fn replace_config(mut self, config: Value) -> Bundle {
        self.config = config;
        self.unwritten_edits = true;
        self
    }

    /// Writes the config to `config.json`.
    pub fn write(mut self) -> Bundle {
        let text = serde_json::to_string_pretty(&self.config).expect("serialize config");
        let path = self.dir.path().join("config.json");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self.unwritten_edits = false;
        self
    }

    /// Replaces `config.json` with arbitrary bytes (a broken fixture).
    pub fn write_raw_config(self, contents: &str) -> Bundle {
        let path = self.dir.path().join("config.json");
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        Bundle {
            unwritten_edits: false,
            ..self
        }
    }

    /// Deletes `config.json`.
    pub fn remove_config(self) -> Bundle {
        let path = self.dir.path().join("config.json");
        std::fs::remove_file(&path).unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
        Bundle {
            unwritten_edits: false,
            ..self
        }
    }
}

/// Splits a JSON pointer into its unescaped parent tokens and last token.
#[track_caller]
fn split_pointer(pointer: &str) -> (Vec<String>, String) {
    let rest = pointer
        .strip_prefix('/')
        .unwrap_or_else(|| panic!("JSON pointer {pointer:?} must start with '/'"));
    let mut tokens: Vec<String> = rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let last = tokens.pop().unwrap_or_default();
    (tokens, last)
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[track_caller]
fn array_index(token: &str, len: usize, pointer: &str) -> usize {
    match token.parse::<usize>() {
        Ok(index) if index < len => index,
        _ => panic!("{pointer}: {token:?} is not an index into an array of {len}"),
    }
}

#[track_caller]
fn child_or_insert<'a>(node: &'a mut Value, token: &str, pointer: &str) -> &'a mut Value {
    match node {
        Value::Object(map) => map
            .entry(token.to_string())
            .or_insert_with(|| Value::Object(Default::default())),
        Value::Array(items) => {
            let index = array_index(token, items.len(), pointer);
            &mut items[index]
        }
        other => panic!("{pointer}: {token:?} walks into {other}"),
    }
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// The static busybox on the host and its applet names, found once.
fn busybox() -> &'static (PathBuf, Vec<String>) {
    static BUSYBOX: OnceLock<(PathBuf, Vec<String>)> = OnceLock::new();
    BUSYBOX.get_or_init(|| {
        let path = BUSYBOX_CANDIDATES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("no static busybox at {BUSYBOX_CANDIDATES:?}"));
        let list = Command::new(&path)
            .arg("--list")
            .output()
            .unwrap_or_else(|e| panic!("{} --list: {e}", path.display()));
        assert!(list.status.success(), "{} --list failed", path.display());
        let applets = String::from_utf8_lossy(&list.stdout)
            .lines()
            .map(str::trim)
            // "busybox" itself is listed; linking it would replace the binary.
            .filter(|name| !name.is_empty() && *name != "busybox" && !name.contains('/'))
            .map(String::from)
            .collect();
        (path, applets)
    })
}

/// Builds a minimal root filesystem: busybox with every applet linked in
/// `/bin`, the usual mount points, and `/etc/passwd` + `/etc/group`.
fn make_rootfs(rootfs: &Path) {
    let (busybox, applets) = busybox();
    for dir in [
        "bin",
        "proc",
        "sys",
        "dev",
        "tmp",
        "etc",
        "root",
        "home/test",
    ] {
        let path = rootfs.join(dir);
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
    }
    set_mode(&rootfs.join("tmp"), 0o1777);
    // A copy, not a hard link: a container with a writable root must not be
    // able to modify the host's busybox.
    let target = rootfs.join("bin/busybox");
    std::fs::copy(busybox, &target)
        .unwrap_or_else(|e| panic!("copy {} to {}: {e}", busybox.display(), target.display()));
    // Relative links: `busybox --install -s` would point them at the host path.
    for applet in applets {
        let link = rootfs.join("bin").join(applet);
        symlink("busybox", &link).unwrap_or_else(|e| panic!("symlink {}: {e}", link.display()));
    }
    for (name, contents) in [("etc/passwd", ETC_PASSWD), ("etc/group", ETC_GROUP)] {
        let path = rootfs.join(name);
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}
