//! The client: connection, version negotiation, and the request helpers the endpoint methods
//! are written with.

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;

use crate::body::{empty_body, json_body, Body};
use crate::error::{ApiError, Error, Result};
use crate::host::{self, Host, Io};
use crate::query::Query;
use crate::stream::{ByteStream, JsonStream};

const USER_AGENT: &str = concat!("berth-cli/", env!("CARGO_PKG_VERSION"), " (linux)");

/// A connection to one daemon, with the API version agreed on.
#[derive(Clone, Debug)]
pub struct Client {
    /// The host as given (error messages name it so).
    shown: String,
    host: Host,
    version: String,
}

impl Client {
    /// Connects to `host` and negotiates the API version with `HEAD /_ping` (`GET` when the
    /// daemon refuses `HEAD`): the lower of the daemon's and ours.
    pub async fn connect(host: &str) -> Result<Client> {
        let mut client = Self::with_version(host, berth_api::API_VERSION)?;
        if let Some(v) = client.ping().await?.api_version {
            client.version = berth_api::negotiate(&v);
        }
        Ok(client)
    }

    /// A client using `version` as is, without asking the daemon.
    pub fn with_version(host: &str, version: &str) -> Result<Client> {
        Ok(Client {
            shown: host.to_string(),
            host: Host::parse(host)?,
            version: version.to_string(),
        })
    }

    /// The API version requests are sent with.
    pub fn api_version(&self) -> &str {
        &self.version
    }

    /// The host as given.
    pub fn host(&self) -> &str {
        &self.shown
    }

    pub(crate) fn url(&self, path: &str, query: &Query) -> String {
        let q = query.encode();
        if q.is_empty() {
            format!("/v{}{}", self.version, path)
        } else {
            format!("/v{}{}?{}", self.version, path, q)
        }
    }

    pub(crate) async fn open(&self) -> Result<Box<dyn Io>> {
        host::open(&self.host, &self.shown).await
    }

    pub(crate) fn host_header(&self) -> String {
        self.host.header()
    }

    /// Sends one request on a new connection; returns the response whatever its status.
    pub(crate) async fn send(
        &self,
        method: Method,
        uri: &str,
        body: Body,
        content_type: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Result<Response<Incoming>> {
        let stream = self.open().await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| Error::Transport(format!("HTTP handshake with the daemon: {e}")))?;
        tokio::spawn(async move {
            // The connection ends when the response body is dropped; errors surface there.
            let _ = conn.await;
        });
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header("Host", self.host_header())
            .header("User-Agent", USER_AGENT);
        if let Some(ct) = content_type {
            builder = builder.header("Content-Type", ct);
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        if method == Method::POST || method == Method::PUT {
            builder = match hyper::body::Body::size_hint(&body).exact() {
                Some(n) => builder.header("Content-Length", n),
                None => builder.header("Transfer-Encoding", "chunked"),
            };
        }
        let req = builder
            .body(body)
            .map_err(|e| Error::Protocol(format!("building the request: {e}")))?;
        sender
            .send_request(req)
            .await
            .map_err(|e| Error::Transport(format!("error during connect to {}: {e}", self.shown)))
    }

    /// Sends a versioned request; a 4xx/5xx answer becomes [`Error::Api`].
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        query: &Query,
        body: Body,
        content_type: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Result<Response<Incoming>> {
        let uri = self.url(path, query);
        let resp = self.send(method, &uri, body, content_type, headers).await?;
        let status = resp.status();
        if status.is_client_error() || status.is_server_error() {
            let bytes = ByteStream::new(resp.into_body()).collect().await?;
            return Err(ApiError::from_body(status.as_u16(), &bytes).into());
        }
        Ok(resp)
    }

    pub(crate) async fn get(&self, path: &str, query: &Query) -> Result<Response<Incoming>> {
        self.request(Method::GET, path, query, empty_body(), None, &[])
            .await
    }

    /// `POST` with a JSON body, or none.
    pub(crate) async fn post<B: serde::Serialize>(
        &self,
        path: &str,
        query: &Query,
        body: Option<&B>,
    ) -> Result<Response<Incoming>> {
        match body {
            Some(b) => {
                self.request(
                    Method::POST,
                    path,
                    query,
                    json_body(b),
                    Some("application/json"),
                    &[],
                )
                .await
            }
            None => {
                self.request(Method::POST, path, query, empty_body(), None, &[])
                    .await
            }
        }
    }

    /// `POST` without a body, answer ignored.
    pub(crate) async fn post_empty(&self, path: &str, query: &Query) -> Result<()> {
        let resp = self.post::<()>(path, query, None).await?;
        // Read the (empty) answer so the daemon sees a complete exchange.
        ByteStream::new(resp.into_body()).collect().await?;
        Ok(())
    }

    /// `GET` returning the raw body.
    pub async fn get_raw(&self, path: &str, query: &Query) -> Result<Bytes> {
        let resp = self.get(path, query).await?;
        ByteStream::new(resp.into_body()).collect().await
    }

    /// `GET` decoding a JSON answer.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str, query: &Query) -> Result<T> {
        read_json(self.get(path, query).await?).await
    }

    pub(crate) async fn stream<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Query,
    ) -> Result<JsonStream<T>> {
        Ok(JsonStream::new(self.get(path, query).await?.into_body()))
    }
}

/// Decodes a JSON answer; an empty body reads as `null`.
pub(crate) async fn read_json<T: DeserializeOwned>(resp: Response<Incoming>) -> Result<T> {
    let bytes = ByteStream::new(resp.into_body()).collect().await?;
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        &bytes
    };
    serde_json::from_slice(text).map_err(Error::Decode)
}
