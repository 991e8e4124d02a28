//! `/_ping`, `/version`, `/info`, `/events`.

use super::{filters, json, ApiResult, AppState, Query};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;
use berth_api::system::{Platform, Version, VersionComponent};
use berth_api::{API_VERSION, MIN_API_VERSION};
use berth_engine::events::EventFilter;
use berth_engine::EngineError;
use futures_util::StreamExt;

pub async fn ping() -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-cache, no-store, must-revalidate")
        .header(header::PRAGMA, "no-cache")
        .header("Builder-Version", "1")
        .body(Body::from("OK"))
        .unwrap_or_default()
}

pub async fn version() -> Response {
    let kernel = berth_engine::system::kernel_version();
    let details = [
        ("ApiVersion", API_VERSION),
        ("MinAPIVersion", MIN_API_VERSION),
        ("Os", "linux"),
        ("Arch", go_arch()),
        ("KernelVersion", &kernel),
        ("GitCommit", "berth"),
        ("GoVersion", "rust"),
        ("BuildTime", ""),
        ("Experimental", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let v = Version {
        platform: Platform {
            name: "berth".into(),
        },
        components: Some(vec![VersionComponent {
            name: "Engine".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            details: Some(details),
        }]),
        version: env!("CARGO_PKG_VERSION").into(),
        api_version: API_VERSION.into(),
        min_api_version: MIN_API_VERSION.into(),
        git_commit: "berth".into(),
        go_version: "rust".into(),
        os: "linux".into(),
        arch: go_arch().into(),
        kernel_version: kernel,
        experimental: false,
        build_time: String::new(),
    };
    json(StatusCode::OK, &v)
}

/// Go's name for this architecture.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub async fn info(State(engine): State<AppState>) -> Response {
    json(StatusCode::OK, &engine.info())
}

/// Parses `since`/`until`: Unix seconds (with fraction) or RFC 3339.
fn parse_time(s: &str) -> Result<Option<i128>, EngineError> {
    if s == "0" {
        return Ok(Some(0));
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_nanos_opt().map(i128::from));
    }
    berth_engine::container::parse_timestamp(s)
}

pub async fn events(State(engine): State<AppState>, q: Query) -> ApiResult {
    let filter = EventFilter::new(filters(&q)?)?;
    let since = q.get("since").map(|s| parse_time(s)).transpose()?.flatten();
    let until = q.get("until").map(|s| parse_time(s)).transpose()?.flatten();
    let (history, rx) = engine.events.subscribe();
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0) as i128;
    let past: Vec<_> = match since {
        Some(s) => history
            .into_iter()
            .filter(|e| e.time_nano as i128 >= s && until.is_none_or(|u| e.time_nano as i128 <= u))
            .filter(|e| filter.matches(e))
            .collect(),
        None => Vec::new(),
    };
    let line = |e: &berth_api::event::EventMessage| {
        let mut b = serde_json::to_vec(e).unwrap_or_default();
        b.push(b'\n');
        Ok::<_, std::io::Error>(bytes::Bytes::from(b))
    };
    let past_stream = futures_util::stream::iter(past.iter().map(line).collect::<Vec<_>>());
    let body = if until.is_some_and(|u| u <= now) {
        Body::from_stream(past_stream)
    } else {
        let live = tokio_stream_from(rx)
            .take_while(move |e| {
                let keep = until.is_none_or(|u| (e.time_nano as i128) <= u);
                async move { keep }
            })
            .filter(move |e| {
                let ok = filter.matches(e);
                async move { ok }
            })
            .map(move |e| line(&e));
        let stream = past_stream.chain(live);
        match until {
            Some(u) => {
                let wait = std::time::Duration::from_nanos((u - now).max(0) as u64);
                Body::from_stream(stream.take_until(tokio::time::sleep(wait)))
            }
            None => Body::from_stream(stream),
        }
    };
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .unwrap_or_default())
}

/// A broadcast receiver as a stream that skips over lagged messages.
fn tokio_stream_from(
    rx: tokio::sync::broadcast::Receiver<berth_api::event::EventMessage>,
) -> impl futures_util::Stream<Item = berth_api::event::EventMessage> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(e) => return Some((e, rx)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return None,
            }
        }
    })
}
