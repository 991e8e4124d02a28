//! `/containers/{id}/exec` and `/exec/{id}/...`.

use super::stream::{self, bridge, hijack, wants_upgrade};
use super::{json, parse_body, read_body, ApiResult, AppState, Query, RequestBody};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use berth_api::exec::{ExecConfig, ExecStartConfig};
use berth_engine::EngineError;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// How long an ended exec stream waits for the exit code before closing, so that the
/// client's inspect right after sees it.
const EXIT_CODE_GRACE: Duration = Duration::from_secs(5);

pub async fn create(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RequestBody(body): RequestBody,
) -> ApiResult {
    let cfg: ExecConfig = parse_body(&body)?;
    let exec_id = engine.exec_create(&id, crate::convert::exec::spec(cfg))?;
    Ok(json(
        StatusCode::CREATED,
        &serde_json::json!({ "Id": exec_id }),
    ))
}

pub async fn start(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> ApiResult {
    let upgrade = wants_upgrade(req.headers());
    let (parts, body) = req.into_parts();
    let body = read_body(body).await?;
    let cfg = crate::convert::exec::start(parse_body::<ExecStartConfig>(&body)?);
    let inspect = engine.exec_inspect(&id)?;
    if cfg.detach {
        engine.exec_start(&id, cfg).await?;
        return Ok(StatusCode::OK.into_response());
    }
    let keys = stream::parse_detach_keys(&engine_detach_keys(&engine, &id))
        .map_err(EngineError::invalid)?;
    let stdin = inspect.spec.attach_stdin;
    let tty = inspect.spec.tty || cfg.tty;
    if upgrade {
        // Like dockerd, take the connection first: a process that cannot start is reported
        // on the stream, and its exit code (126/127) through exec inspect.
        let req = Request::from_parts(parts, axum::body::Body::empty());
        return Ok(hijack(
            req,
            stream::stream_content_type(tty),
            move |mut conn| async move {
                match engine.exec_start(&id, cfg).await {
                    Ok(started) => {
                        let mut done = started.done;
                        // The client reads the exit code once the stream ends: wait for it.
                        let exited = async move {
                            let _ = tokio::time::timeout(
                                EXIT_CODE_GRACE,
                                done.wait_for(Option::is_some),
                            )
                            .await;
                        };
                        if let Some(shim) = started.stream {
                            bridge(conn, shim, stdin, tty.then_some(keys), exited).await;
                        }
                    }
                    Err(e) => {
                        let msg = format!("{}\r\n", e.message());
                        let bytes = if tty {
                            msg.into_bytes()
                        } else {
                            super::containers::frame(2, msg.as_bytes())
                        };
                        let _ = conn.write_all(&bytes).await;
                        let _ = conn.shutdown().await;
                    }
                }
            },
        ));
    }
    let started = engine.exec_start(&id, cfg).await?;
    let Some(shim) = started.stream else {
        return Ok(StatusCode::OK.into_response());
    };
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(shim));
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(
            axum::http::header::CONTENT_TYPE,
            stream::stream_content_type(started.tty),
        )
        .body(body)
        .unwrap_or_default())
}

fn engine_detach_keys(engine: &AppState, id: &str) -> String {
    engine
        .exec_inspect(id)
        .map(|i| i.spec.detach_keys)
        .unwrap_or_default()
}

pub async fn resize(State(engine): State<AppState>, Path(id): Path<String>, q: Query) -> ApiResult {
    let dim = |k: &str| q.get(k).and_then(|v| v.parse::<u16>().ok()).unwrap_or(0);
    engine.exec_resize(&id, dim("h"), dim("w")).await?;
    Ok(StatusCode::OK.into_response())
}

pub async fn inspect(State(engine): State<AppState>, Path(id): Path<String>) -> ApiResult {
    Ok(json(
        StatusCode::OK,
        &crate::convert::exec::inspect(engine.exec_inspect(&id)?),
    ))
}
