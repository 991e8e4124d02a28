//! Platforms (`linux/arm64/v8`) and picking one image of a manifest list, as containerd's
//! `platforms` package normalizes and matches them.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::{RegistryError, Result};
use crate::import::host_architecture;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// The host's platform (`linux/amd64`, `linux/arm64`, `linux/arm/v7`).
    pub fn host() -> Platform {
        Platform::new("linux", host_architecture(), None)
    }

    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Platform {
        let (architecture, variant) = normalize_arch(architecture, variant.unwrap_or_default());
        Platform {
            os: os.to_lowercase(),
            architecture,
            variant: (!variant.is_empty()).then_some(variant),
        }
    }

    /// `os[/arch[/variant]]` or `arch` (`--platform`).
    pub fn parse(s: &str) -> Result<Platform> {
        let bad = |reason: &str| RegistryError::InvalidPlatform {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let parts: Vec<&str> = s.trim().split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad("empty component"));
        }
        let valid = |p: &str| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if !parts.iter().all(|p| valid(p)) {
            return Err(bad("invalid characters"));
        }
        match parts.as_slice() {
            [one] if is_os(one) => Ok(Platform::new(one, host_architecture(), None)),
            [one] => Ok(Platform::new("linux", one, None)),
            [os, arch] => Ok(Platform::new(os, arch, None)),
            [os, arch, variant] => Ok(Platform::new(os, arch, Some(variant))),
            _ => Err(bad("too many components")),
        }
    }

    /// Whether an image of platform `other` runs here, and how well: lower is better.
    pub fn rank(&self, other: &Platform) -> Option<usize> {
        if self.os != other.os || self.architecture != other.architecture {
            return None;
        }
        let mine = self.variant.as_deref().unwrap_or_default();
        let theirs = other.variant.as_deref().unwrap_or_default();
        if mine == theirs {
            return Some(0);
        }
        // An older variant of the same architecture runs on a newer one (arm v7 runs v6
        // and v5); an image that names no variant runs anywhere.
        if theirs.is_empty() {
            return Some(1);
        }
        let (m, t) = (variant_number(mine)?, variant_number(theirs)?);
        (t < m).then(|| 2 + (m - t) as usize)
    }
}

fn variant_number(v: &str) -> Option<u32> {
    v.strip_prefix('v').and_then(|n| n.parse().ok())
}

fn is_os(s: &str) -> bool {
    matches!(
        s.to_lowercase().as_str(),
        "linux" | "windows" | "darwin" | "freebsd" | "netbsd" | "openbsd" | "solaris" | "illumos"
    )
}

/// containerd's `normalizeArch`.
fn normalize_arch(arch: &str, variant: &str) -> (String, String) {
    let arch = arch.to_lowercase();
    let variant = variant.to_lowercase();
    match arch.as_str() {
        "i386" => ("386".into(), String::new()),
        "x86_64" | "x86-64" | "amd64" => {
            let v = if variant == "v1" {
                String::new()
            } else {
                variant
            };
            ("amd64".into(), v)
        }
        "aarch64" | "arm64" => {
            let v = if matches!(variant.as_str(), "8" | "v8" | "v8.0") {
                String::new()
            } else {
                variant
            };
            ("arm64".into(), v)
        }
        "armhf" => ("arm".into(), "v7".into()),
        "armel" => ("arm".into(), "v6".into()),
        "arm" => {
            let v = match variant.as_str() {
                "" | "7" => "v7".to_string(),
                "5" | "6" | "8" => format!("v{variant}"),
                _ => variant,
            };
            ("arm".into(), v)
        }
        _ => (arch, variant),
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// The platform object of a manifest list entry (`platform: {os, architecture, variant}`).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct EntryPlatform {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl EntryPlatform {
    pub fn normalized(&self) -> Platform {
        Platform::new(&self.os, &self.architecture, self.variant.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalizes() {
        let p = Platform::parse("linux/arm64/v8").unwrap();
        assert_eq!(p.to_string(), "linux/arm64");
        assert_eq!(
            Platform::parse("linux/arm").unwrap().to_string(),
            "linux/arm/v7"
        );
        assert_eq!(
            Platform::parse("linux/x86_64").unwrap().to_string(),
            "linux/amd64"
        );
        assert_eq!(Platform::parse("arm64").unwrap().to_string(), "linux/arm64");
        assert!(Platform::parse("linux//v7").is_err());
        assert!(Platform::parse("a/b/c/d").is_err());
        assert!(Platform::parse("linux/am d64").is_err());
    }

    #[test]
    fn ranks_variants() {
        let v7 = Platform::parse("linux/arm/v7").unwrap();
        assert_eq!(v7.rank(&Platform::parse("linux/arm/v7").unwrap()), Some(0));
        let v6 = v7.rank(&Platform::parse("linux/arm/v6").unwrap()).unwrap();
        let v5 = v7.rank(&Platform::parse("linux/arm/v5").unwrap()).unwrap();
        assert!(v6 < v5);
        assert_eq!(v7.rank(&Platform::parse("linux/arm/v8").unwrap()), None);
        assert_eq!(v7.rank(&Platform::parse("linux/arm64").unwrap()), None);
        let amd = Platform::parse("linux/amd64").unwrap();
        assert_eq!(
            amd.rank(&Platform::new("linux", "amd64", Some("v1"))),
            Some(0)
        );
        assert_eq!(amd.rank(&Platform::parse("windows/amd64").unwrap()), None);
    }
}
