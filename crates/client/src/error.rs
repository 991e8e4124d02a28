//! Errors, worded as docker's client words them.

use std::fmt;

/// An error answer from the daemon (`{"message": ...}` with a 4xx/5xx status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error response from daemon: {}", self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// Reads an error answer: its `message`, else the body as text, else the status.
    pub fn from_body(status: u16, body: &[u8]) -> Self {
        let text = || String::from_utf8_lossy(body).trim().to_string();
        let message = match serde_json::from_slice::<berth_api::error::ErrorResponse>(body) {
            Ok(e) if !e.message.is_empty() => e.message,
            _ => text(),
        };
        let message = if message.is_empty() {
            let reason = hyper::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("an error");
            format!("request returned {reason} for API route")
        } else {
            message
        };
        Self { status, message }
    }

    pub fn is_not_found(&self) -> bool {
        self.status == 404
    }
}

/// The daemon's socket could not be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectError {
    pub host: String,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Cannot connect to the berth daemon at {}. Is the daemon running?",
            self.host
        )
    }
}

impl std::error::Error for ConnectError {}

/// Everything a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// A host that is not `unix://`, `tcp://` or a socket path.
    #[error("{0}")]
    InvalidHost(String),
    /// The connection failed after it was made (the message says which request).
    #[error("{0}")]
    Transport(String),
    /// An answer that is not what the API says.
    #[error("{0}")]
    Protocol(String),
    #[error("decoding the daemon's JSON answer")]
    Decode(#[source] serde_json::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The daemon's error answer, if this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(e) => Some(e),
            _ => None,
        }
    }

    /// A 404 from the daemon.
    pub fn is_not_found(&self) -> bool {
        self.api().is_some_and(ApiError::is_not_found)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_message() {
        let e = ApiError::from_body(404, b"{\"message\":\"No such container: x\"}\n");
        assert_eq!(
            e.to_string(),
            "Error response from daemon: No such container: x"
        );
        assert!(Error::from(e).is_not_found());
        assert_eq!(ApiError::from_body(500, b"boom").message, "boom");
        assert_eq!(
            ApiError::from_body(502, b"").message,
            "request returned Bad Gateway for API route"
        );
    }
}
