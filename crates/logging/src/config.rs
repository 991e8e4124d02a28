//! Which driver writes a container's log, with which options: Docker's `HostConfig.LogConfig`,
//! validated as Docker validates it, with berth's default rotation filled in.

use crate::error::{LogError, Result};
use std::collections::BTreeMap;

/// berth's rotation when the user sets neither `max-size` nor `max-file`: 20 MB × 5 files
/// (Docker's `local` driver defaults). Docker's json-file grows without bound by default.
pub const DEFAULT_MAX_SIZE: u64 = 20 * 1024 * 1024;
pub const DEFAULT_MAX_FILES: u32 = 5;

/// The drivers berth has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// Docker's `json-file`: one JSON object per line in `<id>-json.log`.
    JsonFile,
    /// Docker's `local`: a compact binary file, `local-logs/container.log` (see docs/logging.md).
    Local,
    /// Nothing is kept; `logs` has nothing to read.
    None,
}

impl Driver {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "" | "json-file" => Ok(Driver::JsonFile),
            "local" => Ok(Driver::Local),
            "none" => Ok(Driver::None),
            other => Err(LogError::UnknownDriver(other.to_string())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Driver::JsonFile => "json-file",
            Driver::Local => "local",
            Driver::None => "none",
        }
    }

    /// Option keys the driver accepts (Docker's `ValidateLogOpt`).
    fn accepts(self, key: &str) -> bool {
        match self {
            Driver::JsonFile => matches!(
                key,
                "max-file"
                    | "max-size"
                    | "compress"
                    | "labels"
                    | "labels-regex"
                    | "env"
                    | "env-regex"
                    | "tag"
            ),
            Driver::Local => matches!(key, "max-file" | "max-size" | "compress"),
            Driver::None => false,
        }
    }

    /// Whether `logs` can read what this driver keeps.
    pub fn readable(self) -> bool {
        self != Driver::None
    }
}

/// When to rotate a log file and what to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate before a write would take the file past this size; `None`: never.
    pub max_size: Option<u64>,
    /// Files kept, the one being written included (≥ 1). With 1, the file is truncated.
    pub max_files: u32,
    /// Gzip rotated files, in the background.
    pub compress: bool,
}

impl Default for Rotation {
    fn default() -> Self {
        Rotation {
            max_size: Some(DEFAULT_MAX_SIZE),
            max_files: DEFAULT_MAX_FILES,
            compress: false,
        }
    }
}

/// A validated log configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub driver: Driver,
    pub rotation: Rotation,
    /// The raw options as given (`labels`, `env`, `tag`... are for the daemon to turn into
    /// `attrs`).
    pub opts: BTreeMap<String, String>,
}

impl Default for LogConfig {
    /// json-file with berth's default rotation: what a container gets when nothing is said.
    fn default() -> Self {
        LogConfig {
            driver: Driver::JsonFile,
            rotation: Rotation::default(),
            opts: BTreeMap::new(),
        }
    }
}

impl LogConfig {
    /// Validates a driver name and its options as Docker does at create; an empty name is
    /// json-file. Errors carry Docker's messages.
    pub fn parse(driver: &str, opts: &BTreeMap<String, String>) -> Result<Self> {
        let driver = Driver::parse(driver)?;
        if let Some(key) = opts.keys().find(|k| !driver.accepts(k)) {
            return Err(LogError::UnknownOption {
                key: key.clone(),
                driver: driver.name().to_string(),
            });
        }
        let rotation = match driver {
            Driver::JsonFile => json_file_rotation(opts)?,
            Driver::Local => local_rotation(opts)?,
            Driver::None => Rotation::default(),
        };
        Ok(LogConfig {
            driver,
            rotation,
            opts: opts.clone(),
        })
    }
}

/// Docker's json-file rules, except that with neither `max-size` nor `max-file` berth rotates
/// at 20 MB × 5. Once the user sets one of them, the other takes Docker's default (no size
/// limit; one file).
fn json_file_rotation(opts: &BTreeMap<String, String>) -> Result<Rotation> {
    let size = opts
        .get("max-size")
        .map(|s| parse_max_size(s))
        .transpose()?;
    let files = opts
        .get("max-file")
        .map(|s| parse_max_file(s))
        .transpose()?;
    let (max_size, max_files) = match (size, files) {
        (None, None) => (Some(DEFAULT_MAX_SIZE), DEFAULT_MAX_FILES),
        (size, files) => (size, files.unwrap_or(1)),
    };
    let compress = opts
        .get("compress")
        .map(|s| parse_bool(s))
        .transpose()?
        .unwrap_or(false);
    if compress && (max_files == 1 || max_size.is_none()) {
        return Err(LogError::InvalidOption(
            "compress cannot be true when max-file is less than 2 or max-size is not set".into(),
        ));
    }
    Ok(Rotation {
        max_size,
        max_files,
        compress,
    })
}

/// Docker's local driver: each option has its own default (20m, 5, compressed).
fn local_rotation(opts: &BTreeMap<String, String>) -> Result<Rotation> {
    let max_size = opts
        .get("max-size")
        .map(|s| parse_max_size(s))
        .transpose()?
        .unwrap_or(DEFAULT_MAX_SIZE);
    let max_files = opts
        .get("max-file")
        .map(|s| parse_max_file(s))
        .transpose()?
        .unwrap_or(DEFAULT_MAX_FILES);
    let compress = opts
        .get("compress")
        .map(|s| parse_bool(s))
        .transpose()?
        .unwrap_or(true);
    Ok(Rotation {
        max_size: Some(max_size),
        max_files,
        compress: compress && max_files > 1,
    })
}

fn parse_max_size(s: &str) -> Result<u64> {
    let size = ram_in_bytes(s)?;
    if size == 0 {
        return Err(LogError::InvalidOption(
            "max-size must be a positive number".into(),
        ));
    }
    Ok(size)
}

fn parse_max_file(s: &str) -> Result<u32> {
    let n: i64 = s.parse().map_err(|_| {
        LogError::InvalidOption(format!("strconv.Atoi: parsing {s:?}: invalid syntax"))
    })?;
    if n < 1 {
        return Err(LogError::InvalidOption(
            "max-file cannot be less than 1".into(),
        ));
    }
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Go's `strconv.ParseBool`.
fn parse_bool(s: &str) -> Result<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(LogError::InvalidOption(format!(
            "strconv.ParseBool: parsing {s:?}: invalid syntax"
        ))),
    }
}

/// go-units `RAMInBytes`: `10m`, `1.5g`, `512`, `20MiB`, binary multiples.
pub fn ram_in_bytes(s: &str) -> Result<u64> {
    let invalid = || LogError::InvalidOption(format!("invalid size: '{s}'"));
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, rest) = s.split_at(num_end);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return Err(invalid());
    }
    let value: f64 = num.parse().map_err(|_| invalid())?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let mut chars = rest.chars();
    let mult: f64 = match chars.next().map(|c| c.to_ascii_lowercase()) {
        None => 1.0,
        Some('k') => 1024.0,
        Some('m') => 1024f64.powi(2),
        Some('g') => 1024f64.powi(3),
        Some('t') => 1024f64.powi(4),
        Some('p') => 1024f64.powi(5),
        Some('b') if chars.as_str().is_empty() => 1.0,
        Some(_) => return Err(invalid()),
    };
    let suffix = chars.as_str().to_ascii_lowercase();
    if mult > 1.0 && !matches!(suffix.as_str(), "" | "b" | "i" | "ib") {
        return Err(invalid());
    }
    Ok((value * mult) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn err(driver: &str, pairs: &[(&str, &str)]) -> String {
        LogConfig::parse(driver, &opts(pairs))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn default_rotates_at_20m_times_5() {
        let c = LogConfig::parse("", &BTreeMap::new()).unwrap();
        assert_eq!(c.driver, Driver::JsonFile);
        assert_eq!(c.rotation.max_size, Some(20 << 20));
        assert_eq!(c.rotation.max_files, 5);
        assert!(!c.rotation.compress);
        assert_eq!(c, LogConfig::default());
    }

    #[test]
    fn user_options_take_dockers_defaults_for_the_rest() {
        let c = LogConfig::parse("json-file", &opts(&[("max-size", "10m")])).unwrap();
        assert_eq!(c.rotation.max_size, Some(10 << 20));
        assert_eq!(c.rotation.max_files, 1);
        let c = LogConfig::parse("json-file", &opts(&[("max-file", "3")])).unwrap();
        assert_eq!(c.rotation.max_size, None);
        let c = LogConfig::parse(
            "json-file",
            &opts(&[("max-size", "1k"), ("max-file", "3"), ("compress", "true")]),
        )
        .unwrap();
        assert_eq!(
            c.rotation,
            Rotation {
                max_size: Some(1024),
                max_files: 3,
                compress: true
            }
        );
        // labels, env, tag are the daemon's business but accepted.
        LogConfig::parse(
            "json-file",
            &opts(&[("labels", "a"), ("env", "B"), ("tag", "t")]),
        )
        .unwrap();
    }

    #[test]
    fn dockers_messages() {
        assert_eq!(
            err("splunk2", &[]),
            "logger: no log driver named 'splunk2' is registered"
        );
        assert_eq!(
            LogError::UnknownDriver("x".into()).at_start(),
            "failed to initialize logging driver: logger: no log driver named 'x' is registered"
        );
        assert_eq!(
            err("json-file", &[("x", "1")]),
            "unknown log opt 'x' for json-file log driver"
        );
        assert_eq!(
            err("local", &[("tag", "1")]),
            "unknown log opt 'tag' for local log driver"
        );
        assert_eq!(
            err("none", &[("max-size", "1m")]),
            "unknown log opt 'max-size' for none log driver"
        );
        assert_eq!(
            err("json-file", &[("max-file", "0")]),
            "max-file cannot be less than 1"
        );
        assert_eq!(
            err("json-file", &[("max-file", "x")]),
            "strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            err("json-file", &[("max-size", "ten")]),
            "invalid size: 'ten'"
        );
        assert_eq!(
            err("json-file", &[("max-size", "0")]),
            "max-size must be a positive number"
        );
        assert_eq!(
            err("json-file", &[("compress", "yes")]),
            "strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
        assert_eq!(
            err("json-file", &[("max-size", "1m"), ("compress", "true")]),
            "compress cannot be true when max-file is less than 2 or max-size is not set"
        );
        let e = LogConfig::parse("bogus", &BTreeMap::new()).unwrap_err();
        assert_eq!(e.kind(), berth_errdefs::ErrorKind::InvalidArgument);
    }

    #[test]
    fn go_units_sizes() {
        assert_eq!(ram_in_bytes("10m").unwrap(), 10 << 20);
        assert_eq!(ram_in_bytes("1k").unwrap(), 1024);
        assert_eq!(ram_in_bytes("1K").unwrap(), 1024);
        assert_eq!(ram_in_bytes("2g").unwrap(), 2 << 30);
        assert_eq!(ram_in_bytes("20MiB").unwrap(), 20 << 20);
        assert_eq!(ram_in_bytes("20mb").unwrap(), 20 << 20);
        assert_eq!(ram_in_bytes("1.5k").unwrap(), 1536);
        assert_eq!(ram_in_bytes("512").unwrap(), 512);
        assert_eq!(ram_in_bytes("512b").unwrap(), 512);
        assert_eq!(ram_in_bytes("5 m").unwrap(), 5 << 20);
        for bad in ["", "m", "-1", "1x", "1mm", ".5k", "1..2"] {
            assert!(ram_in_bytes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn local_defaults_compress() {
        let c = LogConfig::parse("local", &BTreeMap::new()).unwrap();
        assert_eq!(
            c.rotation,
            Rotation {
                max_size: Some(20 << 20),
                max_files: 5,
                compress: true
            }
        );
    }
}
