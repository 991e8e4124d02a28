//! Registry authentication: the challenge a registry answers `401` with
//! (`WWW-Authenticate`), Basic credentials, and the Bearer token flow of the distribution
//! spec (`token.md`, `oauth.md`): a token asked of the challenge's realm for a service and
//! the scopes an operation needs, cached per scope until it expires.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::Url;
use serde::Deserialize;

use super::error::{ErrorBody, RegistryError, Result};

/// What a client hands over for one registry (the Engine API's `AuthConfig`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    /// A refresh token from an earlier login (`identitytoken`): used instead of the password.
    pub identity_token: String,
    /// A bearer token to send as is (`registrytoken`).
    pub registry_token: String,
}

impl Credentials {
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            password: password.into(),
            ..Default::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.username.is_empty() && self.identity_token.is_empty() && self.registry_token.is_empty()
    }

    fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field(
                "password",
                &(!self.password.is_empty()).then_some("<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        /// The scope the registry asked for (on a `401` for one request).
        scope: Option<String>,
    },
}

/// Parses the challenges of a `WWW-Authenticate` header (RFC 7235: a scheme, then
/// `key=value` or `key="quoted value"` parameters separated by commas).
pub(crate) fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut out = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        let (scheme, after) = match rest.find(char::is_whitespace) {
            Some(i) => (&rest[..i], rest[i..].trim_start()),
            None => (rest, ""),
        };
        let (params, next) = parse_params(after);
        rest = next;
        let get = |k: &str| {
            params
                .iter()
                .find(|(pk, _)| pk.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => out.push(Challenge::Basic),
            "bearer" => {
                if let Some(realm) = get("realm") {
                    out.push(Challenge::Bearer {
                        realm,
                        service: get("service"),
                        scope: get("scope"),
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// Reads `k=v, k2="v 2"` up to the start of the next challenge.
fn parse_params(mut s: &str) -> (Vec<(String, String)>, &str) {
    let mut params = Vec::new();
    loop {
        s = s.trim_start_matches([',', ' ', '\t']);
        let Some(eq) = s.find('=') else {
            return (params, s);
        };
        let key = &s[..eq];
        if key.is_empty() || key.contains(char::is_whitespace) {
            // A new scheme begins.
            return (params, s);
        }
        let after = &s[eq + 1..];
        let (value, rest) = if let Some(q) = after.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => v.push(c),
                }
            }
            (v, &q[end.min(q.len())..])
        } else {
            let end = after.find([',', ' ']).unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        params.push((key.to_string(), value));
        s = rest;
    }
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: String,
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    expires_in: u64,
    #[serde(default)]
    refresh_token: String,
}

/// A bearer token and, after a login asking for one, the refresh token that came with it.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub token: String,
    pub refresh_token: Option<String>,
    expires: Instant,
}

/// Tokens by (user, realm, service, scopes). A token is good until shortly before the
/// `expires_in` the server gave (60 s when it gave none, as the spec says).
#[derive(Default)]
pub(crate) struct TokenCache {
    tokens: Mutex<HashMap<String, Token>>,
}

fn cache_key(creds: Option<&Credentials>, realm: &str, service: &str, scopes: &[String]) -> String {
    let user = creds.map(|c| c.username.as_str()).unwrap_or_default();
    format!("{user}\n{realm}\n{service}\n{}", scopes.join(" "))
}

impl TokenCache {
    fn get(&self, key: &str) -> Option<Token> {
        let map = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key).filter(|t| t.expires > Instant::now()).cloned()
    }

    fn put(&self, key: String, t: Token) {
        let mut map = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, v| v.expires > Instant::now());
        map.insert(key, t);
    }

    pub fn forget(
        &self,
        creds: Option<&Credentials>,
        realm: &str,
        service: &str,
        scopes: &[String],
    ) {
        let mut map = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&cache_key(creds, realm, service, scopes));
    }

    /// A token for `scopes`, cached or fetched from `realm`. `offline` asks for a refresh
    /// token too (a login).
    #[allow(clippy::too_many_arguments)]
    pub async fn token(
        &self,
        http: &reqwest::Client,
        creds: Option<&Credentials>,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
        offline: bool,
    ) -> Result<Token> {
        let service = service.unwrap_or_default();
        let key = cache_key(creds, realm, service, scopes);
        if !offline {
            if let Some(t) = self.get(&key) {
                return Ok(t);
            }
        }
        let t = fetch_token(http, creds, realm, service, scopes, offline).await?;
        self.put(key, t.clone());
        Ok(t)
    }
}

async fn fetch_token(
    http: &reqwest::Client,
    creds: Option<&Credentials>,
    realm: &str,
    service: &str,
    scopes: &[String],
    offline: bool,
) -> Result<Token> {
    let mut url = Url::parse(realm).map_err(|e| RegistryError::Invalid {
        what: "token realm".to_string(),
        reason: format!("{realm:?}: {e}"),
    })?;
    let refresh = creds
        .map(|c| c.identity_token.as_str())
        .filter(|t| !t.is_empty());
    let req = if let Some(refresh) = refresh {
        // OAuth2 refresh-token grant (distribution's oauth.md).
        let mut form = vec![
            ("grant_type", "refresh_token".to_string()),
            ("refresh_token", refresh.to_string()),
            ("client_id", "berth".to_string()),
            ("service", service.to_string()),
        ];
        if !scopes.is_empty() {
            form.push(("scope", scopes.join(" ")));
        }
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        http.post(url.clone())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
    } else {
        {
            let mut q = url.query_pairs_mut();
            if !service.is_empty() {
                q.append_pair("service", service);
            }
            for s in scopes {
                q.append_pair("scope", s);
            }
            if let Some(c) = creds.filter(|c| !c.username.is_empty()) {
                q.append_pair("account", &c.username);
            }
            if offline {
                q.append_pair("offline_token", "true");
                q.append_pair("client_id", "berth");
            }
        }
        let mut r = http.get(url.clone());
        if let Some(c) = creds.filter(|c| !c.username.is_empty()) {
            r = r.header("Authorization", c.basic_header());
        }
        r
    };
    let res = req.send().await.map_err(|e| RegistryError::Transport {
        method: "GET",
        url: url.to_string(),
        message: error_chain(&e),
    })?;
    let status = res.status();
    let body = res.bytes().await.map_err(|e| RegistryError::Transport {
        method: "GET",
        url: url.to_string(),
        message: error_chain(&e),
    })?;
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        let detail = serde_json::from_slice::<ErrorBody>(&body)
            .ok()
            .and_then(|b| b.describe())
            .unwrap_or_else(|| "unauthorized: incorrect username or password".to_string());
        return Err(RegistryError::Unauthorized { detail });
    }
    if !status.is_success() {
        return Err(RegistryError::Status {
            method: "GET",
            url: url.to_string(),
            status: status.as_u16(),
            detail: format!("token server answered {status}"),
        });
    }
    let t: TokenResponse = serde_json::from_slice(&body).map_err(|e| RegistryError::Invalid {
        what: "token response".to_string(),
        reason: e.to_string(),
    })?;
    let token = if t.token.is_empty() {
        t.access_token
    } else {
        t.token
    };
    if token.is_empty() {
        return Err(RegistryError::Invalid {
            what: "token response".to_string(),
            reason: "no token in it".to_string(),
        });
    }
    let secs = t.expires_in.max(60);
    Ok(Token {
        token,
        refresh_token: (!t.refresh_token.is_empty()).then_some(t.refresh_token),
        // Renew a little early: a token must not expire between the check and its use.
        expires: Instant::now() + Duration::from_secs(secs - secs / 10),
    })
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The authorization header for a request, given the registry's challenge.
pub(crate) async fn authorization(
    http: &reqwest::Client,
    cache: &TokenCache,
    challenge: Option<&Challenge>,
    creds: Option<&Credentials>,
    scopes: &[String],
) -> Result<Option<String>> {
    if let Some(c) = creds.filter(|c| !c.registry_token.is_empty()) {
        return Ok(Some(format!("Bearer {}", c.registry_token)));
    }
    match challenge {
        None => Ok(None),
        // docker's wording when a Basic registry gets no credentials.
        Some(Challenge::Basic) => match creds.filter(|c| !c.username.is_empty()) {
            Some(c) => Ok(Some(c.basic_header())),
            None => Err(RegistryError::Unauthorized {
                detail: "no basic auth credentials".to_string(),
            }),
        },
        Some(Challenge::Bearer { realm, service, .. }) => {
            let t = cache
                .token(http, creds, realm, service.as_deref(), scopes, false)
                .await?;
            Ok(Some(format!("Bearer {}", t.token)))
        }
    }
}

/// reqwest's error with its causes (`error sending request: connection refused`).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_hub_challenge() {
        let c = parse_challenges(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#,
        );
        assert_eq!(
            c,
            vec![Challenge::Bearer {
                realm: "https://auth.docker.io/token".to_string(),
                service: Some("registry.docker.io".to_string()),
                scope: Some("repository:library/busybox:pull".to_string()),
            }]
        );
    }

    #[test]
    fn parses_basic_and_several() {
        assert_eq!(
            parse_challenges(r#"Basic realm="basic-realm""#),
            vec![Challenge::Basic]
        );
        let c = parse_challenges(r#"Basic realm="a, b", Bearer realm=https://t/x,service=s"#);
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(
            c[1],
            Challenge::Bearer {
                realm: "https://t/x".to_string(),
                service: Some("s".to_string()),
                scope: None
            }
        );
        assert!(parse_challenges("Negotiate").is_empty());
        assert!(parse_challenges("Bearer service=x").is_empty(), "no realm");
    }

    #[test]
    fn quoted_escapes() {
        let c = parse_challenges(r#"Bearer realm="http://a/\"q\"""#);
        assert_eq!(
            c,
            vec![Challenge::Bearer {
                realm: "http://a/\"q\"".to_string(),
                service: None,
                scope: None
            }]
        );
    }

    #[test]
    fn credentials_debug_hides_secrets() {
        let c = Credentials::basic("u", "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(c.basic_header(), "Basic dTpodW50ZXIy");
        assert_eq!(urlencode("a b/c"), "a%20b%2Fc");
    }
}
