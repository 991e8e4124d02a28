//! What can go wrong talking to a registry, worded as dockerd words it.

use std::io;

use serde::Deserialize;

use crate::config::ConfigError;
use crate::content::ContentError;
use crate::digest::Digest;
use crate::reference::ReferenceError;
use crate::snapshot::SnapshotError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("manifest for {reference} not found: {detail}")]
    ManifestUnknown { reference: String, detail: String },
    #[error("pull access denied for {repository}, repository does not exist or may require 'docker login': {detail}")]
    PullDenied { repository: String, detail: String },
    /// Credentials refused or missing (`docker login`, a push).
    #[error("{detail}")]
    Unauthorized { detail: String },
    #[error("no matching manifest for {platform} in the manifest list entries")]
    NoMatchingPlatform { platform: String },
    #[error("invalid platform {input:?}: {reason}")]
    InvalidPlatform { input: String, reason: String },
    #[error("unsupported manifest media type {media_type:?} for {reference}")]
    UnsupportedManifest {
        reference: String,
        media_type: String,
    },
    #[error("unsupported layer media type {media_type:?} (blob {digest})")]
    UnsupportedLayer { digest: Digest, media_type: String },
    /// A blob or manifest whose bytes do not hash to the digest that names it.
    #[error("{what} verification failed: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("{what} {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        what: &'static str,
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("{what} is larger than {limit} bytes")]
    TooLarge { what: String, limit: u64 },
    #[error("invalid {what}: {reason}")]
    Invalid { what: String, reason: String },
    /// The registry answered with an error status.
    #[error("{method} {url}: {detail}")]
    Status {
        method: &'static str,
        url: String,
        status: u16,
        detail: String,
    },
    /// No answer: refused connection, TLS failure, a stream cut short.
    #[error("{method} \"{url}\": {message}")]
    Transport {
        method: &'static str,
        url: String,
        message: String,
    },
    #[error("registry configuration: {0}")]
    Config(String),
    #[error("TLS configuration for {host}: {message}")]
    Tls { host: String, message: String },
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Content(#[from] ContentError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    ImageConfig(#[from] ConfigError),
    #[error("{op}: {source}")]
    Io {
        op: String,
        #[source]
        source: io::Error,
    },
    #[error("{0} was cancelled")]
    Cancelled(String),
    #[error("An image does not exist locally with the tag: {reference}")]
    NoSuchLocalImage { reference: String },
    #[error("{message}")]
    BadRequest { message: String },
}

impl RegistryError {
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind as K;
        match self {
            RegistryError::ManifestUnknown { .. } | RegistryError::PullDenied { .. } => K::NotFound,
            RegistryError::NoMatchingPlatform { .. } | RegistryError::NoSuchLocalImage { .. } => {
                K::NotFound
            }
            RegistryError::BadRequest { .. } => K::InvalidArgument,
            RegistryError::Status { status: 404, .. } => K::NotFound,
            RegistryError::Unauthorized { .. }
            | RegistryError::InvalidPlatform { .. }
            | RegistryError::Config(_)
            | RegistryError::Reference(_) => K::InvalidArgument,
            RegistryError::Content(e) => e.kind(),
            RegistryError::Snapshot(e) => e.kind(),
            RegistryError::Store(e) => e.kind(),
            RegistryError::ImageConfig(e) => e.kind(),
            _ => K::Internal,
        }
    }

    /// Whether the registry refused the credentials (dockerd answers `/auth` with 401).
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self,
            RegistryError::Unauthorized { .. } | RegistryError::Status { status: 401, .. }
        )
    }

    pub(crate) fn io(op: impl Into<String>) -> impl FnOnce(io::Error) -> RegistryError {
        let op = op.into();
        move |source| RegistryError::Io { op, source }
    }
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// The distribution API's error body: `{"errors":[{"code":..,"message":..}]}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub errors: Vec<ErrorEntry>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorEntry {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

impl ErrorBody {
    /// docker's wording: `manifest unknown: manifest unknown` (code in lower case, then the
    /// message), entries joined by `, `.
    pub fn describe(&self) -> Option<String> {
        let parts: Vec<String> = self
            .errors
            .iter()
            .map(|e| {
                let code = e.code.replace('_', " ").to_lowercase();
                match (code.is_empty(), e.message.is_empty()) {
                    (false, false) => format!("{code}: {}", e.message),
                    (false, true) => code,
                    _ => e.message.clone(),
                }
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_as_docker() {
        let b: ErrorBody = serde_json::from_str(
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#,
        )
        .unwrap();
        assert_eq!(
            b.describe().as_deref(),
            Some("manifest unknown: manifest unknown")
        );
        assert_eq!(ErrorBody::default().describe(), None);
    }
}
