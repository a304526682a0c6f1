//! Signals as `kill` accepts them: names with or without `SIG`, any case, real-time
//! names (`RTMIN+3`), or numbers, as runc's `kill` does. Docker sends `37`
//! (SIGRTMIN+3) to stop systemd in a container, which nix's `Signal` cannot name.

use std::str::FromStr;

use nix::sys::signal::Signal;

#[derive(Debug, thiserror::Error)]
#[error("unknown signal {0:?}")]
pub struct UnknownSignal(String);

/// A signal number the kernel knows: 0 (existence check) to SIGRTMAX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalNumber(i32);

impl SignalNumber {
    pub const KILL: SignalNumber = SignalNumber(libc::SIGKILL);

    pub fn as_raw(self) -> i32 {
        self.0
    }
}

impl std::fmt::Display for SignalNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match Signal::try_from(self.0) {
            Ok(signal) => write!(f, "{signal}"),
            Err(_) => write!(f, "signal {}", self.0),
        }
    }
}

/// Parses `TERM`, `SIGTERM`, `term`, `15`, `RTMIN+3` or `SIGRTMAX-1`.
pub fn parse_signal(text: &str) -> Result<SignalNumber, UnknownSignal> {
    let unknown = || UnknownSignal(text.to_owned());
    let in_range = |n: i32| {
        (0..=libc::SIGRTMAX())
            .contains(&n)
            .then_some(SignalNumber(n))
    };
    if let Ok(number) = text.parse::<i32>() {
        return in_range(number).ok_or_else(unknown);
    }
    let upper = text.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(realtime) = parse_realtime(bare) {
        return realtime
            .filter(|n| (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(n))
            .and_then(in_range)
            .ok_or_else(unknown);
    }
    Signal::from_str(&format!("SIG{bare}"))
        .map(|s| SignalNumber(s as i32))
        .map_err(|_| unknown())
}

/// `RTMIN`, `RTMIN+n`, `RTMAX`, `RTMAX-n`: `None` if not a real-time name at all.
fn parse_realtime(bare: &str) -> Option<Option<i32>> {
    let offset = |rest: &str, sign: char| -> Option<i32> {
        match rest {
            "" => Some(0),
            _ => rest.strip_prefix(sign)?.parse::<i32>().ok(),
        }
    };
    if let Some(rest) = bare.strip_prefix("RTMIN") {
        return Some(offset(rest, '+').map(|n| libc::SIGRTMIN() + n));
    }
    if let Some(rest) = bare.strip_prefix("RTMAX") {
        return Some(offset(rest, '-').map(|n| libc::SIGRTMAX() - n));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> i32 {
        parse_signal(text).unwrap().as_raw()
    }

    #[test]
    fn names_numbers_and_prefixes() {
        assert_eq!(raw("TERM"), libc::SIGTERM);
        assert_eq!(raw("SIGKILL"), libc::SIGKILL);
        assert_eq!(raw("hup"), libc::SIGHUP);
        assert_eq!(raw("9"), libc::SIGKILL);
        assert_eq!(raw("0"), 0);
    }

    #[test]
    fn real_time_signals() {
        assert_eq!(raw("37"), 37);
        assert_eq!(raw("RTMIN+3"), libc::SIGRTMIN() + 3);
        assert_eq!(raw("SIGRTMIN"), libc::SIGRTMIN());
        assert_eq!(raw("sigrtmax-1"), libc::SIGRTMAX() - 1);
    }

    #[test]
    fn unknown_signals_are_refused() {
        for bad in ["NOPE", "65", "-1", "", "RTMIN+99", "RTMIN-1", "RTMAXX"] {
            assert!(parse_signal(bad).is_err(), "{bad}");
        }
    }
}
