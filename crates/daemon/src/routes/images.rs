//! `/images/...` routes. Names may contain slashes (`127.0.0.1:5000/x/y:tag`), so everything
//! after `/images/` is matched as one path and split on its last verb.

use super::{filters, flag, json, ApiResult, AppState, Query, RequestBody};
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_engine::EngineError;
use futures_util::TryStreamExt;

pub async fn list(State(engine): State<AppState>, q: Query) -> ApiResult {
    let list = engine.list_images(flag(&q, "all"), &filters(&q)?)?;
    Ok(json(StatusCode::OK, &list))
}

/// `POST /images/create`: `fromSrc` imports a tarball (the body when `-`); `fromImage`
/// pulls from a registry.
pub async fn create(
    State(engine): State<AppState>,
    axum::extract::Query(pairs): axum::extract::Query<Vec<(String, String)>>,
    req: Request,
) -> ApiResult {
    // `changes` repeats, once per instruction.
    let changes: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "changes")
        .flat_map(|(_, v)| v.lines().map(String::from).collect::<Vec<_>>())
        .filter(|l| !l.is_empty())
        .collect();
    let q: std::collections::HashMap<String, String> = pairs.into_iter().collect();
    if let Some(src) = q.get("fromSrc") {
        if src != "-" {
            return Err(EngineError::invalid(
                "importing from a URL is not supported: pass the tarball as the request body (fromSrc=-)",
            )
            .into());
        }
        let repo = q.get("repo").cloned().unwrap_or_default();
        let tag = q.get("tag").cloned().unwrap_or_default();
        let message = q.get("message").cloned().unwrap_or_default();
        let body = req
            .into_body()
            .into_data_stream()
            .map_err(std::io::Error::other);
        let reader = tokio_util::io::StreamReader::new(body);
        let id = engine
            .import_image(Box::new(reader), &repo, &tag, &changes, &message)
            .await?;
        let line = serde_json::json!({ "status": id }).to_string() + "\r\n";
        return Ok(Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(line))
            .unwrap_or_default());
    }
    if q.contains_key("fromImage") {
        return super::distribution::pull(&engine, &q, req.headers()).await;
    }
    Err(EngineError::invalid("either fromSrc or fromImage must be given").into())
}

/// Splits `name/verb` for the verbs Docker has under `/images/{name}/`.
fn split_verb<'a>(rest: &'a str, verbs: &[&'a str]) -> (&'a str, Option<&'a str>) {
    for v in verbs {
        if let Some(name) = rest.strip_suffix(&format!("/{v}")) {
            return (name, Some(v));
        }
    }
    (rest, None)
}

pub async fn get_dispatch(State(engine): State<AppState>, Path(rest): Path<String>) -> ApiResult {
    match split_verb(&rest, &["json", "history", "get"]) {
        (name, Some("json")) => Ok(json(
            StatusCode::OK,
            &crate::convert::image::inspect(engine.images.inspect(name)?),
        )),
        (name, Some("get")) => super::distribution::save(&engine, vec![name.to_string()]).await,
        (name, Some("history")) => Ok(json(
            StatusCode::OK,
            &crate::convert::image::history(engine.images.history(name)?),
        )),
        _ => Err(EngineError::not_found(format!("page not found: /images/{rest}")).into()),
    }
}

pub async fn post_dispatch(
    State(engine): State<AppState>,
    Path(rest): Path<String>,
    q: Query,
    headers: axum::http::HeaderMap,
    _body: RequestBody,
) -> ApiResult {
    match split_verb(&rest, &["tag", "push"]) {
        (name, Some("push")) => super::distribution::push(&engine, name, &q, &headers).await,
        (name, Some("tag")) => {
            let repo = q.get("repo").cloned().unwrap_or_default();
            let tag = q.get("tag").cloned().unwrap_or_default();
            engine.tag_image(name, &repo, &tag)?;
            Ok(StatusCode::CREATED.into_response())
        }
        _ => Err(EngineError::not_found(format!("page not found: /images/{rest}")).into()),
    }
}

pub async fn remove(
    State(engine): State<AppState>,
    Path(name): Path<String>,
    q: Query,
) -> ApiResult {
    let deleted = engine.remove_image(&name, flag(&q, "force"))?;
    Ok(json(StatusCode::OK, &deleted))
}
