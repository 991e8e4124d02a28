//! Engine API client: HTTP/1.1 over a unix socket, version negotiation, and hijacked
//! connections for attach and exec.
//!
//! Each request opens its own connection. Docker's CLI reuses connections, but only the order of
//! the calls matters to the daemon; a held connection (a pending `wait`, a hijacked stream)
//! makes docker open new ones anyway.

use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;

use anyhow::{Context, Result};
use bytes::Bytes;
use futures_util::Stream;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// The newest Engine API version the CLI speaks.
pub const MAX_API_VERSION: &str = "1.47";
pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";
const USER_AGENT: &str = concat!("berth-cli/", env!("CARGO_PKG_VERSION"), " (linux)");
// Docker's CLI sends this Host; using it keeps the wire identical.
const HOST_HEADER: &str = "api.moby.localhost";

pub type Body = BoxBody<Bytes, std::io::Error>;

/// An error answer from the daemon (`{"message": ...}` with a 4xx/5xx status).
#[derive(Debug, Clone)]
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
    pub fn is_not_found(&self) -> bool {
        self.status == 404
    }
}

/// The daemon's socket could not be reached.
#[derive(Debug)]
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

/// Returns the daemon's 404 error if `err` is one.
pub fn not_found(err: &anyhow::Error) -> bool {
    err.downcast_ref::<ApiError>()
        .is_some_and(ApiError::is_not_found)
}

/// Picks the host: `-H`, then `BERTH_HOST`, then `DOCKER_HOST`, then the default socket.
pub fn resolve_host(flag: Option<&str>) -> String {
    if let Some(h) = flag {
        return h.to_string();
    }
    for var in ["BERTH_HOST", "DOCKER_HOST"] {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                return v;
            }
        }
    }
    DEFAULT_HOST.to_string()
}

/// Turns `unix:///path` into a socket path; other schemes are not supported yet.
pub fn socket_path(host: &str) -> Result<PathBuf> {
    if let Some(p) = host.strip_prefix("unix://") {
        if p.is_empty() {
            anyhow::bail!("invalid host {host:?}: empty socket path");
        }
        return Ok(PathBuf::from(p));
    }
    if host.starts_with("tcp://") {
        anyhow::bail!(
            "{host}: tcp:// hosts are not supported by berth yet; use unix:///path/to/berth.sock"
        );
    }
    if host.starts_with('/') {
        return Ok(PathBuf::from(host));
    }
    anyhow::bail!("invalid host {host:?}: expected unix:///path/to/berth.sock")
}

/// Query parameters, encoded like Go's `url.Values.Encode`: keys sorted, values escaped.
#[derive(Debug, Default, Clone)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(mut self, key: &str, value: impl Into<String>) -> Self {
        self.0.push((key.to_string(), value.into()));
        self
    }

    /// Sets `key` only when `cond` holds (docker omits unset options).
    pub fn set_if(self, cond: bool, key: &str, value: impl Into<String>) -> Self {
        if cond {
            self.set(key, value)
        } else {
            self
        }
    }

    pub fn encode(&self) -> String {
        let mut pairs: Vec<&(String, String)> = self.0.iter().collect();
        // Stable sort keeps repeated keys in insertion order, as Go does.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs
            .iter()
            .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Escapes what cannot appear in a path segment; names are sent as typed (docker does not
/// escape `:` or `/` in image names either).
pub fn path_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_graphic() && !matches!(b, b'%' | b'?' | b'#') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn empty_body() -> Body {
    Empty::<Bytes>::new().map_err(|e| match e {}).boxed()
}

pub fn json_body(v: &Value) -> Body {
    let mut bytes = serde_json::to_vec(v).unwrap_or_default();
    bytes.push(b'\n');
    Full::new(Bytes::from(bytes))
        .map_err(|e| match e {})
        .boxed()
}

pub fn stream_body<S>(s: S) -> Body
where
    S: Stream<Item = std::io::Result<Bytes>> + Send + Sync + 'static,
{
    use futures_util::TryStreamExt;
    BodyExt::boxed(StreamBody::new(s.map_ok(Frame::data)))
}

/// A hijacked connection: the raw socket plus any bytes read past the response head.
pub struct Hijacked {
    pub stream: UnixStream,
    pub buffered: Vec<u8>,
}

#[derive(Clone)]
pub struct Client {
    host: String,
    socket: PathBuf,
    version: String,
}

impl Client {
    /// Connects to `host` and negotiates the API version with `HEAD /_ping`.
    pub async fn connect(host: &str) -> Result<Client> {
        let socket = socket_path(host)?;
        let mut client = Client {
            host: host.to_string(),
            socket,
            version: MAX_API_VERSION.to_string(),
        };
        let resp = client
            .raw(Method::HEAD, "/_ping", empty_body(), None, &[])
            .await?;
        let header = resp
            .headers()
            .get("api-version")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let header = match header {
            Some(h) => Some(h),
            // Some servers refuse HEAD; docker falls back to GET.
            None if !resp.status().is_success() => {
                let resp = client
                    .raw(Method::GET, "/_ping", empty_body(), None, &[])
                    .await?;
                resp.headers()
                    .get("api-version")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            }
            None => None,
        };
        if let Some(v) = header {
            client.version = negotiate(&v);
        }
        Ok(client)
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    fn url(&self, path: &str, query: &Query) -> String {
        let q = query.encode();
        if q.is_empty() {
            format!("/v{}{}", self.version, path)
        } else {
            format!("/v{}{}?{}", self.version, path, q)
        }
    }

    async fn open(&self) -> Result<UnixStream> {
        UnixStream::connect(&self.socket).await.map_err(|_| {
            anyhow::Error::new(ConnectError {
                host: self.host.clone(),
            })
        })
    }

    /// Sends one request on a new connection; returns the response whatever its status.
    async fn raw(
        &self,
        method: Method,
        uri: &str,
        body: Body,
        content_type: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Result<Response<Incoming>> {
        let stream = self.open().await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP handshake with the daemon")?;
        tokio::spawn(async move {
            // The connection ends when the response body is dropped; errors surface there.
            let _ = conn.await;
        });
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header("Host", HOST_HEADER)
            .header("User-Agent", USER_AGENT);
        if let Some(ct) = content_type {
            builder = builder.header("Content-Type", ct);
        }
        for (k, v) in extra {
            builder = builder.header(*k, *v);
        }
        let known_len = hyper::body::Body::size_hint(&body).exact();
        if method == Method::POST || method == Method::PUT {
            match known_len {
                Some(n) => builder = builder.header("Content-Length", n),
                None => builder = builder.header("Transfer-Encoding", "chunked"),
            }
        }
        let req = builder.body(body).context("building request")?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| anyhow::anyhow!("error during connect to {}: {e}", self.host))?;
        Ok(resp)
    }

    /// Sends a versioned request; a 4xx/5xx status becomes an [`ApiError`].
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        query: &Query,
        body: Body,
        content_type: Option<&str>,
    ) -> Result<Response<Incoming>> {
        self.request_with(method, path, query, body, content_type, &[])
            .await
    }

    /// [`Client::request`] with extra headers (`X-Registry-Auth` on pulls).
    pub async fn request_with(
        &self,
        method: Method,
        path: &str,
        query: &Query,
        body: Body,
        content_type: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Result<Response<Incoming>> {
        let uri = self.url(path, query);
        let resp = self.raw(method, &uri, body, content_type, extra).await?;
        let status = resp.status();
        if status.is_client_error() || status.is_server_error() {
            let bytes = resp.into_body().collect().await?.to_bytes();
            return Err(api_error(status, &bytes).into());
        }
        Ok(resp)
    }

    pub async fn get(&self, path: &str, query: &Query) -> Result<Response<Incoming>> {
        self.request(Method::GET, path, query, empty_body(), None)
            .await
    }

    pub async fn get_json(&self, path: &str, query: &Query) -> Result<Value> {
        let resp = self.get(path, query).await?;
        read_json(resp).await
    }

    /// `GET` returning the raw body (inspect keeps the daemon's key order this way).
    pub async fn get_raw(&self, path: &str, query: &Query) -> Result<Bytes> {
        let resp = self.get(path, query).await?;
        Ok(resp.into_body().collect().await?.to_bytes())
    }

    pub async fn post(
        &self,
        path: &str,
        query: &Query,
        body: Option<&Value>,
    ) -> Result<Response<Incoming>> {
        match body {
            Some(v) => {
                self.request(
                    Method::POST,
                    path,
                    query,
                    json_body(v),
                    Some("application/json"),
                )
                .await
            }
            None => {
                self.request(Method::POST, path, query, empty_body(), None)
                    .await
            }
        }
    }

    /// `POST` and decode the JSON answer (`Value::Null` for an empty body).
    pub async fn post_json(
        &self,
        path: &str,
        query: &Query,
        body: Option<&Value>,
    ) -> Result<Value> {
        let resp = self.post(path, query, body).await?;
        read_json(resp).await
    }

    pub async fn delete(&self, path: &str, query: &Query) -> Result<Value> {
        let resp = self
            .request(Method::DELETE, path, query, empty_body(), None)
            .await?;
        read_json(resp).await
    }

    /// Hijacks a connection the way docker does: `Connection: Upgrade`, `Upgrade: tcp`, and
    /// after `101 UPGRADED` the socket is a raw byte pipe in both directions.
    pub async fn hijack(
        &self,
        path: &str,
        query: &Query,
        body: Option<&Value>,
    ) -> Result<Hijacked> {
        let uri = self.url(path, query);
        let (payload, content_type) = match body {
            Some(v) => {
                let mut b = serde_json::to_vec(v)?;
                b.push(b'\n');
                (b, "application/json")
            }
            None => (Vec::new(), "text/plain"),
        };
        let mut stream = self.open().await?;
        let head = format!(
            "POST {uri} HTTP/1.1\r\nHost: {HOST_HEADER}\r\nUser-Agent: {USER_AGENT}\r\n\
             Content-Length: {}\r\nConnection: Upgrade\r\nContent-Type: {content_type}\r\n\
             Upgrade: tcp\r\n\r\n",
            payload.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&payload).await?;
        stream.flush().await?;

        let mut buf = Vec::with_capacity(1024);
        let head_end = loop {
            if let Some(pos) = find(&buf, b"\r\n\r\n") {
                break pos + 4;
            }
            if buf.len() > 64 * 1024 {
                anyhow::bail!("daemon sent an oversized response head");
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                anyhow::bail!("daemon closed the connection before answering {uri}");
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let status = parse_status(&head)?;
        let rest = buf[head_end..].to_vec();
        if status == 101 || status == 200 {
            return Ok(Hijacked {
                stream,
                buffered: rest,
            });
        }
        let body = read_error_body(&head, rest, &mut stream).await;
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Err(api_error(status, &body).into())
    }
}

/// min(daemon's version, ours).
pub fn negotiate(server: &str) -> String {
    match (parse_version(server), parse_version(MAX_API_VERSION)) {
        (Some(s), Some(m)) if s < m => server.to_string(),
        _ => MAX_API_VERSION.to_string(),
    }
}

pub fn parse_version(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

pub fn api_error(status: StatusCode, body: &[u8]) -> ApiError {
    let message = match serde_json::from_slice::<Value>(body) {
        Ok(v) => v
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string()),
        Err(_) => String::from_utf8_lossy(body).trim().to_string(),
    };
    let message = if message.is_empty() {
        format!(
            "request returned {} for API route",
            status.canonical_reason().unwrap_or("an error")
        )
    } else {
        message
    };
    ApiError {
        status: status.as_u16(),
        message,
    }
}

pub async fn read_json(resp: Response<Incoming>) -> Result<Value> {
    let bytes = resp.into_body().collect().await?.to_bytes();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).context("decoding the daemon's JSON answer")
}

/// Reads a streamed body chunk by chunk.
pub async fn next_chunk(body: &mut Incoming) -> Result<Option<Bytes>> {
    loop {
        match body.frame().await {
            None => return Ok(None),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
        }
    }
}

/// Splits a JSON-lines stream (events, pull progress, stats) into values.
pub struct JsonLines {
    body: Incoming,
    buf: Vec<u8>,
    done: bool,
}

impl JsonLines {
    pub fn new(resp: Response<Incoming>) -> Self {
        JsonLines {
            body: resp.into_body(),
            buf: Vec::new(),
            done: false,
        }
    }

    pub async fn next(&mut self) -> Result<Option<Value>> {
        loop {
            // Go's json.Decoder accepts concatenated values; lines are the common case.
            let trimmed_start = self
                .buf
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(self.buf.len());
            self.buf.drain(..trimmed_start);
            if !self.buf.is_empty() {
                let mut de = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Value>();
                match de.next() {
                    Some(Ok(v)) => {
                        let used = de.byte_offset();
                        self.buf.drain(..used);
                        return Ok(Some(v));
                    }
                    Some(Err(e)) if !e.is_eof() => return Err(e.into()),
                    _ => {}
                }
            }
            if self.done {
                return Ok(None);
            }
            match next_chunk(&mut self.body).await? {
                Some(b) => self.buf.extend_from_slice(&b),
                None => self.done = true,
            }
        }
    }
}

type BoxStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send + Sync>>;

/// Streams a reader as a request body in 32 KiB chunks.
pub fn reader_body<R>(reader: R) -> Body
where
    R: tokio::io::AsyncRead + Send + Sync + Unpin + 'static,
{
    let s: BoxStream = Box::pin(futures_util::stream::unfold(reader, |mut r| async move {
        let mut buf = vec![0u8; 32 * 1024];
        match r.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), r))
            }
            Err(e) => Some((Err(e), r)),
        }
    }));
    stream_body(s)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_status(head: &str) -> Result<u16> {
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    let _proto = parts.next();
    parts
        .next()
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("malformed response from daemon: {line:?}"))
}

fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Reads the body of a non-101 answer to a hijack request (Content-Length, chunked, or EOF).
async fn read_error_body(head: &str, mut buf: Vec<u8>, stream: &mut UnixStream) -> Vec<u8> {
    let len = header_value(head, "content-length").and_then(|v| v.parse::<usize>().ok());
    let chunked =
        header_value(head, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(n) = len {
            if buf.len() >= n {
                buf.truncate(n);
                return buf;
            }
        } else if chunked {
            if let Some(body) = dechunk(&buf) {
                return body;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    if chunked {
        return dechunk_partial(&buf);
    }
    buf
}

/// Decodes a complete chunked body; `None` until the final zero-size chunk has arrived.
fn dechunk(buf: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let line_end = find(&buf[pos..], b"\r\n")? + pos;
        let size_str = String::from_utf8_lossy(&buf[pos..line_end]);
        let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
        let start = line_end + 2;
        if size == 0 {
            return Some(out);
        }
        if buf.len() < start + size + 2 {
            return None;
        }
        out.extend_from_slice(&buf[start..start + size]);
        pos = start + size + 2;
    }
}

fn dechunk_partial(buf: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(rel) = find(&buf[pos..], b"\r\n") {
        let line_end = pos + rel;
        let Ok(size) =
            usize::from_str_radix(String::from_utf8_lossy(&buf[pos..line_end]).trim(), 16)
        else {
            break;
        };
        let start = line_end + 2;
        if size == 0 || start >= buf.len() {
            break;
        }
        let end = (start + size).min(buf.len());
        out.extend_from_slice(&buf[start..end]);
        pos = end + 2;
        if pos >= buf.len() {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_sorted_and_escaped_like_go() {
        let q = Query::new()
            .set("stream", "1")
            .set("stdout", "1")
            .set("stderr", "1")
            .set("stdin", "1");
        assert_eq!(q.encode(), "stderr=1&stdin=1&stdout=1&stream=1");
        let q = Query::new()
            .set("tag", "1")
            .set("repo", "127.0.0.1:5077/bb");
        assert_eq!(q.encode(), "repo=127.0.0.1%3A5077%2Fbb&tag=1");
        assert_eq!(query_escape("a b&c"), "a+b%26c");
    }

    #[test]
    fn version_negotiation_takes_the_lower() {
        assert_eq!(negotiate("1.41"), "1.41");
        assert_eq!(negotiate("1.50"), "1.47");
        assert_eq!(negotiate("1.47"), "1.47");
        assert_eq!(negotiate("garbage"), "1.47");
    }

    #[test]
    fn hosts() {
        assert_eq!(
            socket_path("unix:///run/berth/berth.sock").unwrap(),
            PathBuf::from("/run/berth/berth.sock")
        );
        let err = socket_path("tcp://127.0.0.1:2375").unwrap_err().to_string();
        assert!(err.contains("not supported"), "{err}");
        assert!(socket_path("http://x").is_err());
    }

    #[test]
    fn api_error_message() {
        let e = api_error(
            StatusCode::NOT_FOUND,
            b"{\"message\":\"No such container: x\"}\n",
        );
        assert_eq!(
            e.to_string(),
            "Error response from daemon: No such container: x"
        );
        assert!(e.is_not_found());
        let e = api_error(StatusCode::INTERNAL_SERVER_ERROR, b"boom");
        assert_eq!(e.message, "boom");
    }

    #[test]
    fn dechunking() {
        let raw = b"1e\r\n{\"Error\":null,\"StatusCode\":0}\n\r\n0\r\n\r\n";
        assert_eq!(
            dechunk(raw).unwrap(),
            b"{\"Error\":null,\"StatusCode\":0}\n".to_vec()
        );
        assert!(dechunk(b"5\r\nab").is_none());
    }

    #[test]
    fn path_escaping_keeps_names() {
        assert_eq!(path_escape("127.0.0.1:5077/bb:1"), "127.0.0.1:5077/bb:1");
        assert_eq!(path_escape("a b"), "a%20b");
    }
}
