//! Signals as `kill` accepts them: names with or without `SIG`, any case, or numbers.

use std::str::FromStr;

use nix::sys::signal::Signal;

#[derive(Debug, thiserror::Error)]
#[error("unknown signal {0:?}")]
pub struct UnknownSignal(String);

/// Parses `TERM`, `SIGTERM`, `term` or `15` into a signal, as runc's `kill` does.
pub fn parse_signal(text: &str) -> Result<Signal, UnknownSignal> {
    let unknown = || UnknownSignal(text.to_owned());
    if let Ok(number) = text.parse::<i32>() {
        return Signal::try_from(number).map_err(|_| unknown());
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).map_err(|_| unknown())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_prefixes() {
        assert_eq!(parse_signal("TERM").unwrap(), Signal::SIGTERM);
        assert_eq!(parse_signal("SIGKILL").unwrap(), Signal::SIGKILL);
        assert_eq!(parse_signal("hup").unwrap(), Signal::SIGHUP);
        assert_eq!(parse_signal("9").unwrap(), Signal::SIGKILL);
    }

    #[test]
    fn unknown_signals_are_refused() {
        for bad in ["NOPE", "0", "65", "-1", ""] {
            assert!(parse_signal(bad).is_err(), "{bad}");
        }
    }
}
