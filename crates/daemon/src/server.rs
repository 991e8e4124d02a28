//! The HTTP/1.1 server: accepts connections, strips the `/vX.Y` prefix, checks the version,
//! adds Docker's headers, and hands requests to the router. Upgrades (attach, exec) are
//! enabled on every connection.

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, Uri};
use berth_api::{API_VERSION, MIN_API_VERSION};
use berth_engine::Engine;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::UnixListener;
use tower::ServiceExt;

pub async fn serve(engine: Arc<Engine>, listeners: Vec<UnixListener>) -> anyhow::Result<()> {
    let router = crate::routes::router(engine);
    let mut tasks = tokio::task::JoinSet::new();
    for listener in listeners {
        let router = router.clone();
        tasks.spawn(async move {
            loop {
                let (stream, _) = match listener.accept().await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!("accept: {e}");
                        continue;
                    }
                };
                let router = router.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let router = router.clone();
                        async move { Ok::<_, Infallible>(handle(router, req).await) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades();
                    if let Err(e) = conn.await {
                        tracing::debug!("connection: {e}");
                    }
                });
            }
        });
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = tasks.join_next() => {}
    }
    // Containers keep running under their shims: a daemon restart picks them up again.
    tracing::info!("shutting down; containers keep running");
    Ok(())
}

async fn handle(router: axum::Router, req: Request<hyper::body::Incoming>) -> Response<Body> {
    let (mut parts, body) = req.into_parts();
    match strip_version(&parts.uri) {
        Ok((uri, _version)) => parts.uri = uri,
        Err(msg) => {
            return with_headers(crate::routes::error_response(StatusCode::BAD_REQUEST, &msg))
        }
    };
    let req = Request::from_parts(parts, Body::new(body));
    let resp = match router.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    with_headers(resp)
}

fn with_headers(mut resp: Response<Body>) -> Response<Body> {
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        return resp;
    }
    let h = resp.headers_mut();
    h.insert("Api-Version", HeaderValue::from_static(API_VERSION));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("Ostype", HeaderValue::from_static("linux"));
    h.insert(
        "Server",
        HeaderValue::from_static(concat!("berth/", env!("CARGO_PKG_VERSION"), " (linux)")),
    );
    resp
}

/// `/v1.47/containers/json` → (`/containers/json`, Some("1.47")); rejects versions outside
/// what this daemon supports, with Docker's messages.
fn strip_version(uri: &Uri) -> Result<(Uri, Option<String>), String> {
    let path = uri.path();
    let Some(rest) = path.strip_prefix("/v") else {
        return Ok((uri.clone(), None));
    };
    let (ver, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => return Ok((uri.clone(), None)),
    };
    let Some(parsed) = parse_version(ver) else {
        return Ok((uri.clone(), None));
    };
    if parsed > parse_version(API_VERSION).unwrap_or((1, 47)) {
        return Err(format!(
            "client version {ver} is too new. Maximum supported API version is {API_VERSION}"
        ));
    }
    if parsed < parse_version(MIN_API_VERSION).unwrap_or((1, 24)) {
        return Err(format!(
            "client version {ver} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
        ));
    }
    let pq = match uri.query() {
        Some(q) => format!("{tail}?{q}"),
        None => tail.to_string(),
    };
    let new = pq.parse::<Uri>().map_err(|e| e.to_string())?;
    Ok((new, Some(ver.to_string())))
}

fn parse_version(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_prefix_is_stripped_and_checked() {
        let uri: Uri = "/v1.41/containers/json?all=1".parse().unwrap();
        let (u, v) = strip_version(&uri).unwrap();
        assert_eq!(u.to_string(), "/containers/json?all=1");
        assert_eq!(v.as_deref(), Some("1.41"));
        let uri: Uri = "/_ping".parse().unwrap();
        assert_eq!(strip_version(&uri).unwrap().0.to_string(), "/_ping");
        assert!(strip_version(&"/v1.99/info".parse().unwrap()).is_err());
        assert!(strip_version(&"/v1.12/info".parse().unwrap()).is_err());
    }
}
