//! `/containers/...` routes.

use super::stream::{self, bridge, hijack, wants_upgrade};
use super::{filters, flag, json, parse_body, ApiError, ApiResult, AppState, Query, RequestBody};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_api::container::{
    ContainerCreateRequest, ContainerCreateResponse, ContainerPruneResponse,
    ContainerUpdateRequest, ContainerUpdateResponse, WaitResponse,
};
use berth_engine::container::{AttachOptions, ListOptions, LogOptions, WaitCondition};
use berth_engine::EngineError;
use futures_util::StreamExt;

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn int_param(q: &Query, key: &str) -> Result<Option<i64>, ApiError> {
    match q.get(key).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| EngineError::invalid(format!("invalid value for {key}: {v}")).into()),
    }
}

pub async fn list(State(engine): State<AppState>, q: Query) -> ApiResult {
    let limit = int_param(&q, "limit")?
        .filter(|n| *n > 0)
        .map(|n| n as usize);
    let opts = ListOptions {
        all: flag(&q, "all"),
        limit,
        size: flag(&q, "size"),
        filters: filters(&q)?,
    };
    Ok(json(StatusCode::OK, &engine.list_containers(&opts)?))
}

pub async fn prune(State(engine): State<AppState>, q: Query) -> ApiResult {
    let report = engine.prune_containers(&filters(&q)?).await?;
    let deleted = (!report.deleted.is_empty()).then_some(report.deleted);
    Ok(json(
        StatusCode::OK,
        &ContainerPruneResponse {
            containers_deleted: deleted,
            space_reclaimed: report.space_reclaimed,
        },
    ))
}

pub async fn update(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RequestBody(body): RequestBody,
) -> ApiResult {
    let req: ContainerUpdateRequest = parse_body(&body)?;
    let warnings = engine.update_container(&id, req).await?;
    Ok(json(StatusCode::OK, &ContainerUpdateResponse { warnings }))
}

pub async fn create(
    State(engine): State<AppState>,
    q: Query,
    RequestBody(body): RequestBody,
) -> ApiResult {
    let req: ContainerCreateRequest = parse_body(&body)?;
    let (id, warnings) = engine
        .create_container(q.get("name").map(String::as_str), req)
        .await?;
    Ok(json(
        StatusCode::CREATED,
        &ContainerCreateResponse { id, warnings },
    ))
}

pub async fn inspect(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    q: Query,
) -> ApiResult {
    Ok(json(
        StatusCode::OK,
        &engine.inspect_container(&id, flag(&q, "size"))?,
    ))
}

pub async fn start(State(engine): State<AppState>, Path(id): Path<String>) -> ApiResult {
    engine.start_container(&id).await?;
    Ok(no_content())
}

pub async fn stop(State(engine): State<AppState>, Path(id): Path<String>, q: Query) -> ApiResult {
    engine
        .stop_container(
            &id,
            int_param(&q, "t")?,
            q.get("signal").map(String::as_str),
        )
        .await?;
    Ok(no_content())
}

pub async fn restart(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    q: Query,
) -> ApiResult {
    engine
        .restart_container(
            &id,
            int_param(&q, "t")?,
            q.get("signal").map(String::as_str),
        )
        .await?;
    Ok(no_content())
}

pub async fn kill(State(engine): State<AppState>, Path(id): Path<String>, q: Query) -> ApiResult {
    engine
        .kill_container(&id, q.get("signal").map(String::as_str))
        .await?;
    Ok(no_content())
}

pub async fn pause(State(engine): State<AppState>, Path(id): Path<String>) -> ApiResult {
    engine.pause_container(&id).await?;
    Ok(no_content())
}

pub async fn unpause(State(engine): State<AppState>, Path(id): Path<String>) -> ApiResult {
    engine.unpause_container(&id).await?;
    Ok(no_content())
}

pub async fn rename(State(engine): State<AppState>, Path(id): Path<String>, q: Query) -> ApiResult {
    let name = q.get("name").cloned().unwrap_or_default();
    engine.rename_container(&id, &name).await?;
    Ok(no_content())
}

pub async fn remove(State(engine): State<AppState>, Path(id): Path<String>, q: Query) -> ApiResult {
    if flag(&q, "link") {
        return Err(EngineError::invalid("links are not supported").into());
    }
    engine.remove_container(&id, flag(&q, "force")).await?;
    Ok(no_content())
}

/// Headers now, body when the condition is met, as dockerd does.
pub async fn wait(State(engine): State<AppState>, Path(id): Path<String>, q: Query) -> ApiResult {
    let cond = WaitCondition::parse(q.get("condition").map_or("", String::as_str))?;
    let done = engine.wait_container(&id, cond)?;
    let body = futures_util::stream::once(async move {
        let code = done.await;
        let mut b = serde_json::to_vec(&WaitResponse {
            status_code: code,
            error: None,
        })
        .unwrap_or_default();
        b.push(b'\n');
        Ok::<_, std::io::Error>(Bytes::from(b))
    });
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(body))
        .unwrap_or_default())
}

pub async fn resize(State(engine): State<AppState>, Path(id): Path<String>, q: Query) -> ApiResult {
    let h = int_param(&q, "h")?.unwrap_or(0).clamp(0, u16::MAX as i64) as u16;
    let w = int_param(&q, "w")?.unwrap_or(0).clamp(0, u16::MAX as i64) as u16;
    engine.resize_container(&id, h, w).await?;
    Ok(StatusCode::OK.into_response())
}

pub async fn attach(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    q: Query,
    req: Request,
) -> ApiResult {
    let opts = AttachOptions {
        stdin: flag(&q, "stdin"),
        stdout: flag(&q, "stdout"),
        stderr: flag(&q, "stderr"),
    };
    let keys = stream::parse_detach_keys(q.get("detachKeys").map_or("", String::as_str))
        .map_err(EngineError::invalid)?;
    // Resolve now so a bad name is a 404, not a broken stream.
    let rec = engine.container(&id)?.snapshot();
    let tty = rec.config.tty;
    let upgrade = wants_upgrade(req.headers());
    if !flag(&q, "stream") {
        // Logs only (`logs=1` without `stream=1`): the log so far.
        return logs_response(&engine, &id, opts.stdout, opts.stderr, false, tty);
    }
    // Registered now, before the 101: the client starts the container right after it.
    let (_, handle) = engine.attach_container(&id, opts).await?;
    if upgrade {
        return Ok(hijack(
            req,
            stream::stream_content_type(tty),
            move |conn| async move {
                match handle.stream().await {
                    Ok(shim) => {
                        let detach = tty.then_some(keys);
                        bridge(conn, shim, opts.stdin, detach, std::future::ready(())).await
                    }
                    Err(e) => tracing::debug!("attach {id}: {e}"),
                }
            },
        ));
    }
    // No upgrade asked: output only, as a plain streamed body.
    let shim = handle.stream().await?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(shim));
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, stream::stream_content_type(tty))
        .body(body)
        .unwrap_or_default())
}

/// Frames one log line for a non-TTY stream (8-byte header, then the payload).
pub(super) fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.push(stream);
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn logs_response(
    engine: &AppState,
    id: &str,
    stdout: bool,
    stderr: bool,
    follow: bool,
    tty: bool,
) -> ApiResult {
    let opts = LogOptions {
        stdout,
        stderr,
        follow,
        ..Default::default()
    };
    log_stream(engine, id, opts, false, tty)
}

fn log_stream(
    engine: &AppState,
    id: &str,
    opts: LogOptions,
    timestamps: bool,
    tty: bool,
) -> ApiResult {
    let (_, rx) = engine.logs(id, opts)?;
    let body =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|r| (r, rx)) })
            .map(move |r| {
                let mut payload = Vec::with_capacity(r.line.len() + 32);
                if timestamps {
                    payload.extend_from_slice(r.time.as_bytes());
                    payload.push(b' ');
                }
                payload.extend_from_slice(&r.line);
                let bytes = if tty {
                    payload
                } else {
                    frame(r.stream, &payload)
                };
                Ok::<_, std::io::Error>(Bytes::from(bytes))
            });
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(
            axum::http::header::CONTENT_TYPE,
            super::stream::stream_content_type(tty),
        )
        .body(Body::from_stream(body))
        .unwrap_or_default())
}

pub async fn logs(State(engine): State<AppState>, Path(id): Path<String>, q: Query) -> ApiResult {
    let stdout = flag(&q, "stdout");
    let stderr = flag(&q, "stderr");
    if !stdout && !stderr {
        return Err(
            EngineError::invalid("Bad parameters: you must choose at least one stream").into(),
        );
    }
    let tail =
        match q.get("tail").map(String::as_str) {
            None | Some("") | Some("all") => None,
            Some(n) => Some(n.parse::<i64>().map_err(|_| {
                EngineError::invalid(format!("invalid value for \"tail\": \"{n}\""))
            })?)
            .filter(|n| *n >= 0)
            .map(|n| n as usize),
        };
    let since =
        berth_engine::container::parse_timestamp(q.get("since").map_or("", String::as_str))?;
    let until =
        berth_engine::container::parse_timestamp(q.get("until").map_or("", String::as_str))?;
    let tty = engine.container(&id)?.snapshot().config.tty;
    let opts = LogOptions {
        stdout,
        stderr,
        follow: flag(&q, "follow"),
        tail,
        since,
        until,
    };
    log_stream(&engine, &id, opts, flag(&q, "timestamps"), tty)
}

pub async fn top(State(engine): State<AppState>, Path(id): Path<String>, q: Query) -> ApiResult {
    let args = q.get("ps_args").map_or("", String::as_str);
    Ok(json(
        StatusCode::OK,
        &engine.top_container(&id, args).await?,
    ))
}

pub async fn stats(State(engine): State<AppState>, Path(id): Path<String>, q: Query) -> ApiResult {
    // `stream` defaults to true.
    let stream = q.get("stream").is_none_or(|_| flag(&q, "stream"));
    let rx = engine.stats(&id, stream, flag(&q, "one-shot"))?;
    let body =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) })
            .map(|v| {
                let mut b = serde_json::to_vec(&v).unwrap_or_default();
                b.push(b'\n');
                Ok::<_, std::io::Error>(Bytes::from(b))
            });
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(body))
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_dockers_header() {
        assert_eq!(
            frame(2, b"err\n"),
            vec![2, 0, 0, 0, 0, 0, 0, 4, b'e', b'r', b'r', b'\n']
        );
    }
}
