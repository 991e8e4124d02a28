//! Signals as Docker reads them (`moby/sys/signal.ParseSignal` on Linux): a number, or a name
//! in any case with or without `SIG`, real-time ones as `RTMIN+n` / `RTMAX-n`. One home for
//! `kill --signal`, `stop --signal`, `--stop-signal` and the Dockerfile's `STOPSIGNAL`.

use std::fmt;

/// The first and last real-time signals as Docker numbers them (glibc reserves 32 and 33).
const RTMIN: i32 = 34;
const RTMAX: i32 = 64;
/// How far `RTMIN+n` and `RTMAX-n` go in Docker's table.
const RT_NAMED: i32 = 15;

const NAMED: &[(&str, i32)] = &[
    ("ABRT", libc::SIGABRT),
    ("ALRM", libc::SIGALRM),
    ("BUS", libc::SIGBUS),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("FPE", libc::SIGFPE),
    ("HUP", libc::SIGHUP),
    ("ILL", libc::SIGILL),
    ("INT", libc::SIGINT),
    ("IO", libc::SIGIO),
    ("IOT", libc::SIGIOT),
    ("KILL", libc::SIGKILL),
    ("PIPE", libc::SIGPIPE),
    ("POLL", libc::SIGPOLL),
    ("PROF", libc::SIGPROF),
    ("PWR", libc::SIGPWR),
    ("QUIT", libc::SIGQUIT),
    ("SEGV", libc::SIGSEGV),
    ("STKFLT", libc::SIGSTKFLT),
    ("STOP", libc::SIGSTOP),
    ("SYS", libc::SIGSYS),
    ("TERM", libc::SIGTERM),
    ("TRAP", libc::SIGTRAP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("USR1", libc::SIGUSR1),
    ("USR2", libc::SIGUSR2),
    ("VTALRM", libc::SIGVTALRM),
    ("WINCH", libc::SIGWINCH),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
];

/// A signal nobody knows, with Docker's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSignal(pub String);

impl fmt::Display for InvalidSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid signal: {}", self.0)
    }
}

impl std::error::Error for InvalidSignal {}

/// Reads `9`, `KILL`, `SIGKILL`, `sigkill`, `SIGRTMIN+3` into a signal number.
pub fn parse(raw: &str) -> Result<i32, InvalidSignal> {
    let invalid = || InvalidSignal(raw.to_string());
    if let Ok(n) = raw.parse::<i64>() {
        // Docker takes any non-zero number; the kernel knows 1..=64.
        return match i32::try_from(n) {
            Ok(n) if (1..=RTMAX).contains(&n) => Ok(n),
            _ => Err(invalid()),
        };
    }
    let upper = raw.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(&(_, n)) = NAMED.iter().find(|(known, _)| *known == name) {
        return Ok(n);
    }
    realtime(name).ok_or_else(invalid)
}

/// `RTMIN`, `RTMIN+n`, `RTMAX`, `RTMAX-n` with n in 1..=15, as in Docker's table.
fn realtime(name: &str) -> Option<i32> {
    let offset = |rest: &str, sign: char| -> Option<i32> {
        if rest.is_empty() {
            return Some(0);
        }
        let n: i32 = rest.strip_prefix(sign)?.parse().ok()?;
        (1..=RT_NAMED).contains(&n).then_some(n)
    };
    if let Some(rest) = name.strip_prefix("RTMIN") {
        return offset(rest, '+').map(|n| RTMIN + n);
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        // Docker's table stops at RTMAX-14 (= RTMIN+16): RTMAX-15 would name RTMIN+15 twice.
        return offset(rest, '-')
            .filter(|n| *n < RT_NAMED)
            .map(|n| RTMAX - n);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_any_case_with_or_without_sig() {
        for raw in ["KILL", "SIGKILL", "sigkill", "kill", "9"] {
            assert_eq!(parse(raw), Ok(libc::SIGKILL), "{raw}");
        }
        assert_eq!(parse("usr1"), Ok(libc::SIGUSR1));
        assert_eq!(parse("SIGCLD"), Ok(libc::SIGCHLD));
    }

    #[test]
    fn realtime_signals_as_docker_numbers_them() {
        assert_eq!(parse("SIGRTMIN"), Ok(34));
        assert_eq!(parse("SIGRTMIN+3"), Ok(37));
        assert_eq!(parse("rtmin+15"), Ok(49));
        assert_eq!(parse("RTMAX"), Ok(64));
        assert_eq!(parse("RTMAX-1"), Ok(63));
        assert_eq!(parse("RTMAX-14"), Ok(50));
        for bad in ["RTMIN+16", "RTMIN+0", "RTMAX-15", "RTMIN3", "RTMIN+x"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_signals_get_dockers_message() {
        for bad in ["0", "65", "-1", "NOPE", "", "SIG"] {
            assert_eq!(
                parse(bad).map_err(|e| e.to_string()),
                Err(format!("Invalid signal: {bad}")),
                "{bad}"
            );
        }
    }
}
