//! Command-line parsing, by hand: the shim stays small (no clap).

use anyhow::{anyhow, bail, Context, Result};
use std::path::PathBuf;

/// Which OCI runtime drives the container.
#[derive(Debug, Clone, PartialEq)]
pub enum RuntimeKind {
    /// libcontainer, linked into the shim.
    Builtin,
    /// An external runc-compatible binary.
    External(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct StartArgs {
    pub id: String,
    pub bundle: PathBuf,
    pub state: PathBuf,
    pub log: PathBuf,
    pub runtime: RuntimeKind,
    pub tty: bool,
    pub stdin: bool,
    pub stdin_once: bool,
    /// Where compiled seccomp filters are kept between containers (the builtin libcontainer).
    pub seccomp_cache: Option<PathBuf>,
}

pub const USAGE: &str = "usage: berth-shim start --id ID --bundle BUNDLE_DIR --state STATE_DIR \
--log LOG_FILE [--runtime builtin|/path/to/runc] [--seccomp-cache DIR] [--tty] [--stdin] \
[--stdin-once]";

/// Parses `argv[1..]`.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<StartArgs> {
    let mut it = args.into_iter();
    match it.next().as_deref() {
        Some("start") => {}
        Some(other) => bail!("unknown command {other:?}\n{USAGE}"),
        None => bail!("{USAGE}"),
    }
    let (mut id, mut bundle, mut state, mut log, mut runtime) = (None, None, None, None, None);
    let mut seccomp_cache = None;
    let (mut tty, mut stdin, mut stdin_once) = (false, false, false);
    while let Some(flag) = it.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag.clone(), None),
        };
        let mut value = || -> Result<String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it.next().ok_or_else(|| anyhow!("{name} needs a value")),
            }
        };
        match name.as_str() {
            "--id" => id = Some(value()?),
            "--bundle" => bundle = Some(PathBuf::from(value()?)),
            "--state" => state = Some(PathBuf::from(value()?)),
            "--log" => log = Some(PathBuf::from(value()?)),
            "--runtime" => runtime = Some(value()?),
            "--seccomp-cache" => seccomp_cache = Some(PathBuf::from(value()?)),
            "--tty" => tty = true,
            "--stdin" => stdin = true,
            "--stdin-once" => stdin_once = true,
            _ => bail!("unknown flag {flag:?}\n{USAGE}"),
        }
    }
    let id = id.context("--id is required")?;
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c))
        || id == "."
        || id == ".."
    {
        bail!("invalid container id {id:?}");
    }
    let runtime = match runtime.as_deref() {
        None | Some("builtin") | Some("") => RuntimeKind::Builtin,
        Some(path) => RuntimeKind::External(PathBuf::from(path)),
    };
    Ok(StartArgs {
        id,
        bundle: bundle.context("--bundle is required")?,
        state: state.context("--state is required")?,
        log: log.context("--log is required")?,
        runtime,
        tty,
        stdin,
        stdin_once,
        seccomp_cache,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_full_command() {
        let a = parse(v(
            "start --id abc --bundle /b --state /s --log=/l --runtime /usr/sbin/runc --tty --stdin --stdin-once --seccomp-cache /c",
        ))
        .unwrap();
        assert_eq!(a.id, "abc");
        assert_eq!(a.bundle, PathBuf::from("/b"));
        assert_eq!(a.log, PathBuf::from("/l"));
        assert_eq!(a.runtime, RuntimeKind::External("/usr/sbin/runc".into()));
        assert!(a.tty && a.stdin && a.stdin_once);
        assert_eq!(a.seccomp_cache, Some(PathBuf::from("/c")));
    }

    #[test]
    fn defaults_and_errors() {
        let a = parse(v("start --id a1 --bundle b --state s --log l")).unwrap();
        assert_eq!(a.runtime, RuntimeKind::Builtin);
        assert!(!a.tty && !a.stdin);
        assert_eq!(a.seccomp_cache, None);
        assert!(parse(v("start --bundle b --state s --log l")).is_err());
        assert!(parse(v("start --id a/b --bundle b --state s --log l")).is_err());
        assert!(parse(v("run --id a")).is_err());
        assert!(parse(v("start --id a --bogus")).is_err());
        assert!(parse(v("start --id")).is_err());
    }
}
