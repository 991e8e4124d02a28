//! The distribution API (`/v2/`) over HTTP: [`Registry`] picks a registry's endpoint and
//! opens a [`Session`] on one repository; a session's requests carry the authorization the
//! registry asked for and are sent once more after a `401` (an expired token, a new scope).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE,
};
use reqwest::{Method, Response, StatusCode, Url};

use super::auth::{
    authorization, error_chain, parse_challenges, Challenge, Credentials, TokenCache,
};
use super::error::{ErrorBody, RegistryError, Result};
use super::hosts::{self, Endpoint, Insecure, RegistryConfig};
use super::tls;
use crate::config::{MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_OCI_MANIFEST};
use crate::digest::Digest;

pub const MEDIA_TYPE_DOCKER_MANIFEST_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
pub const MEDIA_TYPE_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MEDIA_TYPE_DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
const MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED: &str =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// Manifests (and lists) larger than this are refused, as containerd does.
pub const MAX_MANIFEST_SIZE: u64 = 4 << 20;

/// A client of registries, shared by every pull, push and login of a daemon: it keeps one
/// HTTP client per TLS configuration and the bearer tokens it was given.
pub struct Registry {
    config: RegistryConfig,
    insecure: Insecure,
    mirrors: Vec<Url>,
    clients: Mutex<HashMap<(String, bool), reqwest::Client>>,
    tokens: Arc<TokenCache>,
}

/// What a successful `docker login` gives back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginOutcome {
    /// A refresh token to store instead of the password (the API's `IdentityToken`).
    pub identity_token: Option<String>,
}

/// A manifest (or list) as fetched: its exact bytes, its media type and its digest.
#[derive(Debug, Clone)]
pub(crate) struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: Digest,
}

/// How an upload begins: the blob was mounted from another repository, or a session URL.
#[derive(Debug)]
pub(crate) enum UploadStart {
    Mounted,
    Session(Url),
}

impl Registry {
    pub fn new(config: RegistryConfig) -> Result<Registry> {
        Ok(Registry {
            insecure: Insecure::parse(&config.insecure_registries, config.insecure_loopback)?,
            mirrors: hosts::parse_mirrors(&config.mirrors)?,
            config,
            clients: Mutex::new(HashMap::new()),
            tokens: Arc::new(TokenCache::default()),
        })
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    fn http(&self, ep: &Endpoint) -> Result<reqwest::Client> {
        let key = (ep.host.clone(), ep.skip_verify);
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = clients.get(&key) {
            return Ok(c.clone());
        }
        let tls = tls::client_config(&self.config.certs_dirs, &ep.host, ep.skip_verify)?;
        let c = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .user_agent(self.config.user_agent.clone())
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| RegistryError::Config(error_chain(&e)))?;
        clients.insert(key, c.clone());
        Ok(c)
    }

    /// Where `domain` may be reached, in the order to try (mirrors first for pulls of
    /// Docker Hub images).
    pub(crate) async fn endpoints(&self, domain: &str, for_pull: bool) -> Result<Vec<Endpoint>> {
        hosts::endpoints(domain, &self.mirrors, &self.insecure, for_pull).await
    }

    /// `GET /v2/`: whether the endpoint speaks the API, and the challenge it answers with.
    async fn ping(&self, http: &reqwest::Client, ep: &Endpoint) -> Result<Option<Challenge>> {
        let url = join(&ep.base, "v2/")?;
        let res = http
            .get(url.clone())
            .send()
            .await
            .map_err(transport("GET", &url))?;
        match res.status() {
            s if s.is_success() => Ok(None),
            StatusCode::UNAUTHORIZED => {
                let challenges = header_challenges(res.headers());
                // Prefer a token flow when both are offered.
                Ok(challenges
                    .iter()
                    .find(|c| matches!(c, Challenge::Bearer { .. }))
                    .or(challenges.first())
                    .cloned())
            }
            s => Err(RegistryError::Status {
                method: "GET",
                url: url.to_string(),
                status: s.as_u16(),
                detail: format!("not a registry API endpoint: {s}"),
            }),
        }
    }

    /// Opens a session on repository `path` of the endpoint: pings it, then requests go
    /// with `creds` for `scopes` (`repository:<path>:pull`, ...).
    pub(crate) async fn session(
        &self,
        ep: &Endpoint,
        path: &str,
        creds: Option<&Credentials>,
        scopes: Vec<String>,
    ) -> Result<Session> {
        let http = self.http(ep)?;
        let challenge = self.ping(&http, ep).await?;
        Ok(Session {
            http,
            endpoint: ep.clone(),
            path: path.to_string(),
            creds: creds.filter(|c| !c.is_empty()).cloned(),
            challenge: Mutex::new(challenge),
            scopes: Mutex::new(scopes),
            tokens: self.tokens.clone(),
        })
    }

    /// A session on the first endpoint of `domain` that answers.
    pub(crate) async fn connect(
        &self,
        domain: &str,
        path: &str,
        creds: Option<&Credentials>,
        scopes: Vec<String>,
        for_pull: bool,
    ) -> Result<Session> {
        let mut last = None;
        for ep in self.endpoints(domain, for_pull).await? {
            match self.session(&ep, path, creds, scopes.clone()).await {
                Ok(s) => return Ok(s),
                Err(e) => {
                    tracing::debug!(endpoint = %ep.base, error = %e, "registry endpoint failed, trying the next");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| RegistryError::Config(format!("no endpoint for {domain}"))))
    }

    /// `docker login`: checks `creds` against the registry `server` names (a host, a URL,
    /// or empty for Docker Hub).
    pub async fn login(&self, server: &str, creds: &Credentials) -> Result<LoginOutcome> {
        let domain = hosts::login_domain(server);
        let mut last = None;
        for ep in self.endpoints(&domain, false).await? {
            let http = self.http(&ep)?;
            let challenge = match self.ping(&http, &ep).await {
                Ok(c) => c,
                Err(e) => {
                    last = Some(e);
                    continue;
                }
            };
            return self.login_at(&http, &ep, challenge, creds).await;
        }
        Err(last.unwrap_or_else(|| RegistryError::Config(format!("no endpoint for {domain}"))))
    }

    async fn login_at(
        &self,
        http: &reqwest::Client,
        ep: &Endpoint,
        challenge: Option<Challenge>,
        creds: &Credentials,
    ) -> Result<LoginOutcome> {
        match challenge {
            None => Ok(LoginOutcome::default()),
            Some(Challenge::Bearer { realm, service, .. }) => {
                let t = self
                    .tokens
                    .token(http, Some(creds), &realm, service.as_deref(), &[], true)
                    .await?;
                Ok(LoginOutcome {
                    identity_token: t.refresh_token,
                })
            }
            Some(Challenge::Basic) => {
                let url = join(&ep.base, "v2/")?;
                let auth = authorization(
                    http,
                    &self.tokens,
                    Some(&Challenge::Basic),
                    Some(creds),
                    &[],
                )
                .await?;
                let mut req = http.get(url.clone());
                if let Some(a) = auth {
                    req = req.header(AUTHORIZATION, a);
                }
                let res = req.send().await.map_err(transport("GET", &url))?;
                if res.status().is_success() {
                    Ok(LoginOutcome::default())
                } else {
                    Err(RegistryError::Unauthorized {
                        detail: format!(
                            "login attempt to {url} failed with status: {}",
                            status_text(res.status())
                        ),
                    })
                }
            }
        }
    }
}

fn status_text(s: StatusCode) -> String {
    format!(
        "{} {}",
        s.as_u16(),
        s.canonical_reason().unwrap_or_default()
    )
}

fn header_challenges(h: &HeaderMap) -> Vec<Challenge> {
    h.get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_challenges)
        .collect()
}

fn join(base: &Url, rel: &str) -> Result<Url> {
    base.join(rel).map_err(|e| RegistryError::Invalid {
        what: "registry URL".to_string(),
        reason: format!("{base}{rel}: {e}"),
    })
}

pub(crate) fn transport(
    method: &'static str,
    url: &Url,
) -> impl FnOnce(reqwest::Error) -> RegistryError {
    let url = url.to_string();
    move |e| {
        let mut message = error_chain(&e);
        // Go's wording, which tells a user what happened.
        if message.contains("InvalidContentType") || message.contains("CorruptMessage") {
            message = "http: server gave HTTP response to HTTPS client".to_string();
        }
        RegistryError::Transport {
            method,
            url,
            message,
        }
    }
}

/// Requests on one repository of one endpoint.
pub(crate) struct Session {
    http: reqwest::Client,
    pub endpoint: Endpoint,
    /// The repository path on the registry (`library/busybox`).
    pub path: String,
    creds: Option<Credentials>,
    challenge: Mutex<Option<Challenge>>,
    scopes: Mutex<Vec<String>>,
    tokens: Arc<TokenCache>,
}

impl Session {
    fn url(&self, rel: &str) -> Result<Url> {
        join(&self.endpoint.base, &format!("v2/{}/{rel}", self.path))
    }

    fn challenge(&self) -> Option<Challenge> {
        self.challenge
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn scopes(&self) -> Vec<String> {
        self.scopes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sends a request with the authorization the registry wants; after a `401`, learns the
    /// new challenge, drops the cached token and sends it once more.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        headers: HeaderMap,
        body: Option<Bytes>,
    ) -> Result<Response> {
        let name = method_name(&method);
        for attempt in 0..2 {
            let challenge = self.challenge();
            let scopes = self.scopes();
            let auth = authorization(
                &self.http,
                &self.tokens,
                challenge.as_ref(),
                self.creds.as_ref(),
                &scopes,
            )
            .await?;
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            if let Some(a) = auth {
                req = req.header(AUTHORIZATION, a);
            }
            if let Some(b) = &body {
                req = req.body(b.clone());
            }
            let res = req.send().await.map_err(transport(name, &url))?;
            if res.status() != StatusCode::UNAUTHORIZED || attempt == 1 {
                return Ok(res);
            }
            let fresh = header_challenges(res.headers());
            let Some(next) = fresh
                .iter()
                .find(|c| matches!(c, Challenge::Bearer { .. }))
                .or(fresh.first())
                .cloned()
            else {
                return Ok(res);
            };
            if let Some(Challenge::Bearer { realm, service, .. }) = &challenge {
                self.tokens.forget(
                    self.creds.as_ref(),
                    realm,
                    service.as_deref().unwrap_or_default(),
                    &scopes,
                );
            }
            if let Challenge::Bearer { scope: Some(s), .. } = &next {
                let mut mine = self.scopes.lock().unwrap_or_else(|e| e.into_inner());
                for part in s.split(' ').filter(|p| !p.is_empty()) {
                    if !mine.iter().any(|m| m == part) {
                        mine.push(part.to_string());
                    }
                }
            }
            *self.challenge.lock().unwrap_or_else(|e| e.into_inner()) = Some(next);
        }
        unreachable_status(name, &url)
    }

    /// The response if it succeeded, else the registry's error in docker's words.
    pub async fn check(&self, res: Response, method: &'static str) -> Result<Response> {
        if res.status().is_success() {
            return Ok(res);
        }
        Err(error_from(res, method).await)
    }

    /// `GET /v2/<name>/manifests/<reference>`, the digest verified.
    pub async fn get_manifest(&self, reference: &str) -> Result<FetchedManifest> {
        let url = self.url(&format!("manifests/{reference}"))?;
        let mut h = HeaderMap::new();
        h.insert(
            ACCEPT,
            HeaderValue::from_static(
                "application/vnd.docker.distribution.manifest.v2+json, \
                 application/vnd.docker.distribution.manifest.list.v2+json, \
                 application/vnd.oci.image.manifest.v1+json, \
                 application/vnd.oci.image.index.v1+json",
            ),
        );
        let res = self.send(Method::GET, url.clone(), h, None).await?;
        let res = self.check(res, "GET").await?;
        let header_digest = res
            .headers()
            .get("Docker-Content-Digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<Digest>().ok());
        let content_type = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_string())
            .unwrap_or_default();
        let bytes = read_limited(res, MAX_MANIFEST_SIZE, &url, "manifest").await?;
        let digest = Digest::of(&bytes);
        let expected = reference.parse::<Digest>().ok().or(header_digest);
        if let Some(want) = expected.filter(|w| *w != digest) {
            return Err(RegistryError::DigestMismatch {
                what: format!("manifest {reference}"),
                expected: want,
                actual: digest,
            });
        }
        let media_type = manifest_media_type(&content_type, &bytes);
        Ok(FetchedManifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// `GET /v2/<name>/tags/list`, following the `Link: <...>; rel="next"` pages.
    pub async fn tags(&self) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut url = self.url("tags/list")?;
        let mut tags = Vec::new();
        // A registry that keeps pointing onwards is cut off.
        for _ in 0..1000 {
            let res = self
                .send(Method::GET, url.clone(), HeaderMap::new(), None)
                .await?;
            let res = self.check(res, "GET").await?;
            let next = res
                .headers()
                .get(reqwest::header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link)
                .map(|l| url.join(&l))
                .transpose()
                .map_err(|e| RegistryError::Invalid {
                    what: "tags list link".to_string(),
                    reason: e.to_string(),
                })?;
            let bytes = read_limited(res, MAX_MANIFEST_SIZE, &url, "tags list").await?;
            let page: Page =
                serde_json::from_slice(&bytes).map_err(|e| RegistryError::Invalid {
                    what: "tags list".to_string(),
                    reason: e.to_string(),
                })?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(n) => url = n,
                None => break,
            }
        }
        Ok(tags)
    }

    /// `GET /v2/<name>/blobs/<digest>` from `offset` on (a `Range` request when resuming).
    /// Returns the response and whether the registry honoured the range.
    pub async fn get_blob(&self, digest: &Digest, offset: u64) -> Result<(Response, bool)> {
        let url = self.url(&format!("blobs/{digest}"))?;
        let mut h = HeaderMap::new();
        if offset > 0 {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes={offset}-")) {
                h.insert(reqwest::header::RANGE, v);
            }
        }
        let res = self.send(Method::GET, url, h, None).await?;
        let res = self.check(res, "GET").await?;
        let ranged = res.status() == StatusCode::PARTIAL_CONTENT
            && res
                .headers()
                .get(reqwest::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|s| s.parse::<u64>().ok())
                == Some(offset);
        Ok((res, ranged))
    }

    /// A whole small blob (a config), its digest verified.
    pub async fn get_small_blob(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>> {
        let url = self.url(&format!("blobs/{digest}"))?;
        let (res, _) = self.get_blob(digest, 0).await?;
        let bytes = read_limited(res, limit, &url, "blob").await?;
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("blob {digest}"),
                expected: digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// `HEAD /v2/<name>/blobs/<digest>`: its size when the registry has it.
    pub async fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        let url = self.url(&format!("blobs/{digest}"))?;
        let res = self.send(Method::HEAD, url, HeaderMap::new(), None).await?;
        if res.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let res = self.check(res, "HEAD").await?;
        Ok(Some(
            res.headers()
                .get(reqwest::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        ))
    }

    /// `POST /v2/<name>/blobs/uploads/`, with `?mount=<digest>&from=<repo>` to mount the
    /// blob from another repository of the registry.
    pub async fn start_upload(&self, mount: Option<(&Digest, &str)>) -> Result<UploadStart> {
        let mut url = self.url("blobs/uploads/")?;
        if let Some((d, from)) = mount {
            url.query_pairs_mut()
                .append_pair("mount", &d.to_string())
                .append_pair("from", from);
        }
        let res = self
            .send(Method::POST, url.clone(), HeaderMap::new(), None)
            .await?;
        let res = self.check(res, "POST").await?;
        if res.status() == StatusCode::CREATED && mount.is_some() {
            return Ok(UploadStart::Mounted);
        }
        Ok(UploadStart::Session(location(&res, &url)?))
    }

    /// `PATCH <location>` with bytes `offset..offset+len` (`Content-Range: start-end`);
    /// returns where the upload continues.
    pub async fn upload_chunk(&self, loc: &Url, offset: u64, chunk: Bytes) -> Result<Url> {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        let end = offset + chunk.len() as u64 - 1;
        if let Ok(v) = HeaderValue::from_str(&format!("{offset}-{end}")) {
            h.insert(reqwest::header::CONTENT_RANGE, v);
        }
        let res = self
            .send(Method::PATCH, loc.clone(), h, Some(chunk))
            .await?;
        let res = self.check(res, "PATCH").await?;
        location(&res, loc)
    }

    /// `PUT <location>?digest=<digest>`: the upload is complete.
    pub async fn finish_upload(&self, loc: &Url, digest: &Digest) -> Result<()> {
        let mut url = loc.clone();
        url.query_pairs_mut()
            .append_pair("digest", &digest.to_string());
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        let res = self.send(Method::PUT, url, h, Some(Bytes::new())).await?;
        self.check(res, "PUT").await?;
        Ok(())
    }

    /// `PUT /v2/<name>/manifests/<reference>`; returns the digest the registry gave it,
    /// checked against the bytes sent.
    pub async fn put_manifest(
        &self,
        reference: &str,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<Digest> {
        let url = self.url(&format!("manifests/{reference}"))?;
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(media_type) {
            h.insert(CONTENT_TYPE, v);
        }
        let ours = Digest::of(&bytes);
        let res = self.send(Method::PUT, url, h, Some(bytes)).await?;
        let res = self.check(res, "PUT").await?;
        if let Some(theirs) = res
            .headers()
            .get("Docker-Content-Digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<Digest>().ok())
        {
            if theirs != ours {
                return Err(RegistryError::DigestMismatch {
                    what: format!("pushed manifest {reference}"),
                    expected: ours,
                    actual: theirs,
                });
            }
        }
        Ok(ours)
    }
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        _ => "request",
    }
}

fn unreachable_status(method: &'static str, url: &Url) -> Result<Response> {
    Err(RegistryError::Unauthorized {
        detail: format!("{method} {url}: unauthorized"),
    })
}

/// The registry's error for a failed response.
pub(crate) async fn error_from(res: Response, method: &'static str) -> RegistryError {
    let status = res.status();
    let url = res.url().to_string();
    let body = res.bytes().await.unwrap_or_default();
    let parsed: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
    let detail = parsed.describe().unwrap_or_else(|| status_text(status));
    if status == StatusCode::UNAUTHORIZED {
        return RegistryError::Unauthorized { detail };
    }
    RegistryError::Status {
        method,
        url,
        status: status.as_u16(),
        detail,
    }
}

/// The target of a `Link` header's `rel="next"` entry.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim().replace('"', "") == "rel=next")
            .then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

fn location(res: &Response, base: &Url) -> Result<Url> {
    let loc = res
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| RegistryError::Invalid {
            what: "upload response".to_string(),
            reason: format!("{base}: no Location header"),
        })?;
    base.join(loc).map_err(|e| RegistryError::Invalid {
        what: "upload location".to_string(),
        reason: format!("{loc:?}: {e}"),
    })
}

async fn read_limited(res: Response, limit: u64, url: &Url, what: &str) -> Result<Vec<u8>> {
    if res.content_length().is_some_and(|n| n > limit) {
        return Err(RegistryError::TooLarge {
            what: format!("{what} at {url}"),
            limit,
        });
    }
    let mut out = Vec::new();
    let mut stream = res.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(transport("GET", url))?;
        out.extend_from_slice(&chunk);
        if out.len() as u64 > limit {
            return Err(RegistryError::TooLarge {
                what: format!("{what} at {url}"),
                limit,
            });
        }
    }
    Ok(out)
}

/// The manifest's media type: the registry's `Content-Type` when it names one, else the
/// document's `mediaType`, else its shape.
pub(crate) fn manifest_media_type(content_type: &str, bytes: &[u8]) -> String {
    const KNOWN: [&str; 6] = [
        MEDIA_TYPE_DOCKER_MANIFEST,
        MEDIA_TYPE_DOCKER_MANIFEST_LIST,
        MEDIA_TYPE_OCI_MANIFEST,
        MEDIA_TYPE_OCI_INDEX,
        MEDIA_TYPE_DOCKER_SCHEMA1,
        MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED,
    ];
    if KNOWN.contains(&content_type) {
        return content_type.to_string();
    }
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    if let Some(m) = v.get("mediaType").and_then(|m| m.as_str()) {
        return m.to_string();
    }
    if v.get("schemaVersion").and_then(|s| s.as_u64()) == Some(1) {
        return MEDIA_TYPE_DOCKER_SCHEMA1.to_string();
    }
    if v.get("manifests").is_some() {
        MEDIA_TYPE_OCI_INDEX.to_string()
    } else {
        MEDIA_TYPE_OCI_MANIFEST.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_pages_follow_the_next_link() {
        assert_eq!(
            next_link(r#"</v2/x/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/x/tags/list?last=b&n=2")
        );
        assert_eq!(next_link(r#"</a>; rel="prev""#), None);
    }

    #[test]
    fn media_type_detection() {
        assert_eq!(
            manifest_media_type(MEDIA_TYPE_DOCKER_MANIFEST, b"{}"),
            MEDIA_TYPE_DOCKER_MANIFEST
        );
        assert_eq!(
            manifest_media_type("application/json", br#"{"manifests":[]}"#),
            MEDIA_TYPE_OCI_INDEX
        );
        assert_eq!(
            manifest_media_type("", br#"{"schemaVersion":1}"#),
            MEDIA_TYPE_DOCKER_SCHEMA1
        );
        assert_eq!(
            manifest_media_type("text/plain", br#"{"schemaVersion":2,"config":{}}"#),
            MEDIA_TYPE_OCI_MANIFEST
        );
    }
}
