//! Docker image references: parsing, normalization (`busybox` →
//! `docker.io/library/busybox:latest`) and the familiar short form for display.
//! Follows github.com/distribution/reference (grammar and error messages).
//!
//! The one home of reference handling: the image store, the daemon and the CLI all use it.
//! It has no dependencies beyond `thiserror`, so a client can use it without the image
//! crate's stores.

use std::fmt;
use std::str::FromStr;

pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
pub const DEFAULT_TAG: &str = "latest";
const NAME_TOTAL_LENGTH_MAX: usize = 255;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("invalid reference format")]
    InvalidFormat { input: String },
    #[error("invalid reference format: repository name ({name}) must be lowercase")]
    Uppercase { name: String },
    #[error("invalid repository name ({input}), cannot specify 64-byte hexadecimal strings")]
    HexRepository { input: String },
    #[error("repository name must not be more than 255 characters")]
    NameTooLong { input: String },
    #[error("invalid reference format: unsupported or invalid digest in {input}")]
    Digest { input: String },
}

/// A normalized image reference: always has a domain; `path` is the repository
/// path (`library/busybox`); tag and digest are optional (both may be present).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    /// `sha256:<64 lowercase hex>`.
    digest: Option<String>,
}

impl Reference {
    /// Docker's `ParseNormalizedNamed`: accepts short forms, adds `docker.io` and
    /// `library/`. Does not add a default tag; see [`Reference::parse_tagged`].
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        if is_hex64(s) {
            return Err(ReferenceError::HexRepository {
                input: s.to_string(),
            });
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote_name = match remainder.find(':') {
            Some(i) => &remainder[..i],
            None => &remainder[..],
        };
        if remote_name.to_lowercase() != remote_name {
            return Err(ReferenceError::Uppercase {
                name: remote_name.to_string(),
            });
        }
        parse_full(&format!("{domain}/{remainder}"), s)
    }

    /// Like [`Reference::parse`] but adds `:latest` when neither a tag nor a digest
    /// is given (Docker's `TagNameOnly`).
    pub fn parse_tagged(s: &str) -> Result<Reference, ReferenceError> {
        Ok(Reference::parse(s)?.with_default_tag())
    }

    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }

    /// Same repository with another tag and no digest.
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        if !valid_tag(tag) {
            return Err(ReferenceError::InvalidFormat {
                input: tag.to_string(),
            });
        }
        Ok(Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: Some(tag.to_string()),
            digest: None,
        })
    }

    /// Same repository pinned to a digest (`sha256:<hex>`), no tag.
    pub fn with_digest(&self, digest: &str) -> Result<Reference, ReferenceError> {
        if !valid_digest(digest) {
            return Err(ReferenceError::Digest {
                input: digest.to_string(),
            });
        }
        Ok(Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: Some(digest.to_string()),
        })
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Repository path without domain, e.g. `library/busybox`.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// `sha256:<hex>`.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// What the API's `tag` parameter of a pull takes: the digest, the tag, or `latest`.
    pub fn tag_or_digest(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or(DEFAULT_TAG)
    }

    /// Full repository name: `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// Repository as `docker images` shows it: `busybox`, `myreg:5000/x/y`.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
                Some(rest) if !rest.contains('/') => rest.to_string(),
                _ => self.path.clone(),
            }
        } else {
            self.name()
        }
    }

    /// Short display form: `busybox:latest`, `busybox@sha256:...`.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

impl fmt::Display for Reference {
    /// Full normalized form: `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.path)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.find('/') {
        Some(i) => {
            let first = &name[..i];
            if !first.contains(['.', ':']) && first != "localhost" && first.to_lowercase() == first
            {
                (DEFAULT_DOMAIN.to_string(), name.to_string())
            } else {
                (first.to_string(), name[i + 1..].to_string())
            }
        }
        None => (DEFAULT_DOMAIN.to_string(), name.to_string()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.to_string();
    }
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        remainder = format!("{OFFICIAL_REPO_PREFIX}{remainder}");
    }
    (domain, remainder)
}

/// Parses `domain/path[:tag][@digest]` where the first component is the domain.
fn parse_full(s: &str, input: &str) -> Result<Reference, ReferenceError> {
    let invalid = || ReferenceError::InvalidFormat {
        input: input.to_string(),
    };
    let (rest, digest) = match s.split_once('@') {
        Some((rest, d)) => {
            if !valid_digest_syntax(d) {
                return Err(invalid());
            }
            if !valid_digest(d) {
                return Err(ReferenceError::Digest {
                    input: input.to_string(),
                });
            }
            (rest, Some(d.to_string()))
        }
        None => (s, None),
    };
    let (name, tag) = split_tag(rest);
    if let Some(t) = tag {
        if !valid_tag(t) {
            return Err(invalid());
        }
    }
    let (domain, path) = name.split_once('/').ok_or_else(invalid)?;
    if !valid_domain(domain) || path.is_empty() || !path.split('/').all(valid_path_component) {
        return Err(invalid());
    }
    if name.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(ReferenceError::NameTooLong {
            input: input.to_string(),
        });
    }
    Ok(Reference {
        domain: domain.to_string(),
        path: path.to_string(),
        tag: tag.map(str::to_string),
        digest,
    })
}

/// Splits `name[:tag]` at the last colon after the last slash (a registry's port is not a
/// tag). No validation: `busybox:1` → (`busybox`, Some(`1`)).
pub fn split_tag(s: &str) -> (&str, Option<&str>) {
    let last_slash = s.rfind('/').unwrap_or(0);
    match s[last_slash..].rfind(':') {
        Some(i) => (&s[..last_slash + i], Some(&s[last_slash + i + 1..])),
        None => (s, None),
    }
}

/// 64 lowercase hex characters (an image ID without its `sha256:`).
pub fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The digests berth can verify: `sha256:<64 lowercase hex>`.
fn valid_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(is_hex64)
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: ".", "_", "__" or "-+".
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `host[:port]`, host a dotted DNS name or a bracketed IPv6 address.
fn valid_domain(d: &str) -> bool {
    let (host, port) = if let Some(stripped) = d.strip_prefix('[') {
        let Some(end) = stripped.find(']') else {
            return false;
        };
        let ip = &stripped[..end];
        if ip.is_empty() || !ip.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        let after = &stripped[end + 1..];
        match after.strip_prefix(':') {
            Some(p) => (None, Some(p)),
            None if after.is_empty() => (None, None),
            None => return false,
        }
    } else {
        match d.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(d), None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    match host {
        None => true,
        Some(h) => h.split('.').all(|c| {
            let b = c.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
        }),
    }
}

/// `[\w][\w.-]{0,127}`
fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b.iter().all(|x| word(*x) || *x == b'.' || *x == b'-')
}

/// `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
fn valid_digest_syntax(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    let alg_ok = alg.split(['-', '_', '+', '.']).all(|c| {
        let b = c.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(|x| x.is_ascii_alphanumeric())
    });
    alg_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn full(s: &str) -> String {
        Reference::parse_tagged(s).unwrap().to_string()
    }

    #[test]
    fn normalizes() {
        assert_eq!(full("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(full("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(full("library/busybox"), "docker.io/library/busybox:latest");
        assert_eq!(
            full("index.docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(full("docker.io/foo/bar:x"), "docker.io/foo/bar:x");
        assert_eq!(full("myreg:5000/x/y:tag"), "myreg:5000/x/y:tag");
        assert_eq!(full("localhost/x"), "localhost/x:latest");
        assert_eq!(full("localhost:5000/x"), "localhost:5000/x:latest");
        assert_eq!(full("[::1]:5000/x"), "[::1]:5000/x:latest");
        assert_eq!(full("a/b/c"), "docker.io/a/b/c:latest");
        assert_eq!(
            full("foo__bar/a-b.c_d---e"),
            "docker.io/foo__bar/a-b.c_d---e:latest"
        );
        let d = format!("busybox@sha256:{HEX}");
        let r = Reference::parse_tagged(&d).unwrap();
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest().unwrap(), format!("sha256:{HEX}"));
        assert_eq!(r.tag_or_digest(), format!("sha256:{HEX}"));
        assert_eq!(
            r.to_string(),
            format!("docker.io/library/busybox@sha256:{HEX}")
        );
        let both = Reference::parse(&format!("busybox:1@sha256:{HEX}")).unwrap();
        assert_eq!(both.tag(), Some("1"));
        assert!(both.digest().is_some());
    }

    #[test]
    fn familiar_forms() {
        let r = Reference::parse_tagged("docker.io/library/busybox").unwrap();
        assert_eq!(r.familiar_name(), "busybox");
        assert_eq!(r.familiar(), "busybox:latest");
        assert_eq!(
            Reference::parse_tagged("foo/bar").unwrap().familiar(),
            "foo/bar:latest"
        );
        assert_eq!(
            Reference::parse_tagged("library/a/b")
                .unwrap()
                .familiar_name(),
            "library/a/b"
        );
        assert_eq!(
            Reference::parse("myreg:5000/x/y:t").unwrap().familiar(),
            "myreg:5000/x/y:t"
        );
    }

    #[test]
    fn errors_match_docker() {
        assert_eq!(
            Reference::parse("Busybox").unwrap_err().to_string(),
            "invalid reference format: repository name (library/Busybox) must be lowercase"
        );
        for bad in [
            "",
            ":",
            "busybox:",
            "busybox:-x",
            "a//b",
            "-a",
            "a-",
            "a..b",
            "a___b",
            "busybox@sha256:abc",
            "UPPER.example.com/x/ Y",
            "myreg:port/x",
            "a b",
            "busybox:tag:tag",
        ] {
            let e = Reference::parse(bad).unwrap_err();
            assert!(
                e.to_string().starts_with("invalid reference format"),
                "{bad:?} gave {e}"
            );
        }
        assert!(matches!(
            Reference::parse(HEX),
            Err(ReferenceError::HexRepository { .. })
        ));
        let long = format!("x/{}", "a".repeat(260));
        assert!(matches!(
            Reference::parse(&long),
            Err(ReferenceError::NameTooLong { .. })
        ));
        assert!(Reference::parse(&format!("busybox:{}", "t".repeat(129))).is_err());
    }

    #[test]
    fn digests_and_tags() {
        let r = Reference::parse("127.0.0.1:5077/bb").unwrap();
        assert_eq!(r.tag_or_digest(), "latest");
        let d = r.with_digest(&format!("sha256:{HEX}")).unwrap();
        assert_eq!(d.familiar(), format!("127.0.0.1:5077/bb@sha256:{HEX}"));
        assert!(r.with_digest("sha256:abc").is_err());
        assert!(matches!(
            Reference::parse(&format!("busybox@sha512:{HEX}")),
            Err(ReferenceError::Digest { .. })
        ));
        assert_eq!(split_tag("127.0.0.1:5077/bb"), ("127.0.0.1:5077/bb", None));
        assert_eq!(
            split_tag("127.0.0.1:5077/bb:1"),
            ("127.0.0.1:5077/bb", Some("1"))
        );
    }

    #[test]
    fn uppercase_domain_is_a_domain() {
        // Docker treats an uppercase first component as a registry host.
        assert_eq!(full("Foo/bar"), "Foo/bar:latest");
    }
}
