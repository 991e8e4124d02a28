//! Registry credentials on the wire: moby's `registry.AuthConfig`, the body of `POST /auth`
//! and, as base64url JSON, the `X-Registry-Auth` header of pulls and pushes; and
//! `registry.AuthenticateOKBody`, the answer of `POST /auth`.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::nullable::{is_empty, zero};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub username: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub password: String,
    /// base64 of `username:password`, as `config.json` keeps it.
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub auth: String,
    /// Deprecated, still sent by old clients.
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub email: String,
    #[serde(
        rename = "serveraddress",
        skip_serializing_if = "is_empty",
        deserialize_with = "zero"
    )]
    pub server_address: String,
    /// A refresh token from an earlier login, used instead of the password.
    #[serde(
        rename = "identitytoken",
        skip_serializing_if = "is_empty",
        deserialize_with = "zero"
    )]
    pub identity_token: String,
    /// A bearer token to send to the registry as it is.
    #[serde(
        rename = "registrytoken",
        skip_serializing_if = "is_empty",
        deserialize_with = "zero"
    )]
    pub registry_token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid X-Registry-Auth header: {0}")]
pub struct AuthHeaderError(pub String);

impl AuthConfig {
    /// The `X-Registry-Auth` value: base64url (padded, as Go's `URLEncoding`) of the JSON.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec());
        base64::engine::general_purpose::URL_SAFE.encode(json)
    }

    /// Reads an `X-Registry-Auth` value; an empty one is no credentials. Standard and
    /// URL-safe alphabets, padded or not, are accepted (clients differ).
    pub fn decode(header: &str) -> Result<AuthConfig, AuthHeaderError> {
        let h = header.trim();
        if h.is_empty() {
            return Ok(AuthConfig::default());
        }
        let unpadded = h.trim_end_matches('=');
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(unpadded)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(unpadded))
            .map_err(|e| AuthHeaderError(e.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|e| AuthHeaderError(e.to_string()))
    }

    /// Username and password: the fields, else what `auth` holds.
    pub fn user_password(&self) -> (String, String) {
        if !self.username.is_empty() || self.auth.is_empty() {
            return (self.username.clone(), self.password.clone());
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(self.auth.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        match decoded.split_once(':') {
            Some((u, p)) => (u.to_string(), p.to_string()),
            None => (String::new(), String::new()),
        }
    }
}

/// The answer of `POST /auth`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthResponse {
    #[serde(rename = "Status", deserialize_with = "zero")]
    pub status: String,
    /// Sent empty too, as dockerd does.
    #[serde(rename = "IdentityToken", deserialize_with = "zero")]
    pub identity_token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_docker_s_empty_auth() {
        let a = AuthConfig {
            username: "bob".into(),
            password: "p?ss>".into(),
            server_address: "localhost:5000".into(),
            ..Default::default()
        };
        let h = a.encode();
        assert!(!h.contains('+') && !h.contains('/'), "{h}");
        assert_eq!(AuthConfig::decode(&h).unwrap(), a);
        // What the docker CLI sends without credentials.
        assert_eq!(AuthConfig::decode("e30=").unwrap(), AuthConfig::default());
        assert_eq!(AuthConfig::decode("").unwrap(), AuthConfig::default());
        assert!(AuthConfig::decode("!!!").is_err());
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(
            json,
            r#"{"username":"bob","password":"p?ss>","serveraddress":"localhost:5000"}"#
        );
    }

    #[test]
    fn auth_field_holds_user_and_password() {
        let a = AuthConfig {
            auth: "Ym9iOmh1bnRlcjI=".into(),
            ..Default::default()
        };
        assert_eq!(a.user_password(), ("bob".into(), "hunter2".into()));
        let r: AuthResponse =
            serde_json::from_str(r#"{"Status":"Login Succeeded","IdentityToken":""}"#).unwrap();
        assert_eq!(r.status, "Login Succeeded");
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"Status":"Login Succeeded","IdentityToken":""}"#
        );
    }
}
