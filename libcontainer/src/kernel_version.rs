//! The running kernel's version, for what a config asks of a feature the kernel has
//! since removed (and would accept and ignore).

/// Whether the running kernel is `major.minor` or later (yes when it cannot be told:
/// refusing a removed feature is the safer mistake).
pub fn at_least(major: u32, minor: u32) -> bool {
    let Ok(uname) = nix::sys::utsname::uname() else {
        return true;
    };
    let release = uname.release().to_string_lossy().into_owned();
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let number = |p: Option<&str>| p.and_then(|n| n.parse::<u32>().ok()).unwrap_or(0);
    let (have_major, have_minor) = (number(parts.next()), number(parts.next()));
    (have_major, have_minor) >= (major, minor)
}
