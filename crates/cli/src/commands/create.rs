//! `berth create`, plus what `run` shares with it: creating with a pull on a missing image,
//! and the `wait` request that must be in place before `start`.

use std::time::Duration;

use anyhow::Result;
use clap::Args;
use hyper::Method;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::container_opts::{
    build_create, familiar_with_tag, normalize_name, split_reference, ContainerOpts, CreateRequest,
};
use crate::client::{empty_body, not_found, read_json, ApiError, Client, JsonLines, Query};
use crate::error::Exit;

#[derive(Args, Debug)]
#[command(
    disable_help_flag = true,
    override_usage = "berth create [OPTIONS] IMAGE [COMMAND] [ARG...]"
)]
pub struct CreateArgs {
    #[command(flatten)]
    pub opts: ContainerOpts,
}

pub async fn run(client: &Client, args: CreateArgs) -> Result<i32> {
    let o = &args.opts;
    let console = if o.tty {
        crate::tty::window_size()
    } else {
        None
    };
    let req = build_create(o, false, console, &env_lookup, &read_file)
        .map_err(|e| usage_error("create", &e.to_string()))?;
    let id = create_container(client, &req, &o.pull, "create").await?;
    outln!("{id}");
    Ok(0)
}

pub fn env_lookup(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

pub fn read_file(path: &str) -> Result<String> {
    Ok(std::fs::read_to_string(path)?)
}

/// Bad flags: docker's `reportError(..., withHelp=true)` and status 125.
pub fn usage_error(cmd: &str, msg: &str) -> anyhow::Error {
    let msg = msg.trim_end_matches('.');
    Exit::new(125, format!("berth: {msg}.\nSee 'berth {cmd} --help'.")).into()
}

/// A daemon failure in `run`/`create`: "berth: <error>" and the pointer to `--help`.
/// An [`Exit`] made by an inner step keeps its own status and text.
pub fn daemon_error(cmd: &str, err: &anyhow::Error, code: i32) -> anyhow::Error {
    if let Some(e) = err.downcast_ref::<Exit>() {
        return Exit::new(e.code, e.message.clone()).into();
    }
    Exit::new(
        code,
        format!("berth: {err:#}\n\nRun 'berth {cmd} --help' for more information"),
    )
    .into()
}

/// `POST /containers/create`; on "No such image" pull it (docker prints
/// "Unable to find image 'x:latest' locally") and create again.
pub async fn create_container(
    client: &Client,
    req: &CreateRequest,
    pull: &str,
    cmd: &str,
) -> Result<String> {
    if !matches!(pull, "missing" | "always" | "never") {
        return Err(usage_error(
            cmd,
            &format!("invalid pull option: '{pull}': must be one of \"always\", \"missing\" or \"never\""),
        ));
    }
    if pull == "always" {
        pull_image(client, &req.image)
            .await
            .map_err(|e| daemon_error(cmd, &e, 125))?;
    }
    let first = client
        .post_json("/containers/create", &req.query, Some(&req.body))
        .await;
    let resp = match first {
        Ok(v) => v,
        Err(e) if not_found(&e) && pull == "missing" && is_image_missing(&e) => {
            eprintln!(
                "Unable to find image '{}' locally",
                familiar_with_tag(&req.image)
            );
            pull_image(client, &req.image)
                .await
                .map_err(|e| daemon_error(cmd, &e, 125))?;
            client
                .post_json("/containers/create", &req.query, Some(&req.body))
                .await
                .map_err(|e| daemon_error(cmd, &e, 125))?
        }
        Err(e) => return Err(daemon_error(cmd, &e, 125)),
    };
    if let Some(warnings) = resp.get("Warnings").and_then(Value::as_array) {
        for w in warnings.iter().filter_map(Value::as_str) {
            eprintln!("WARNING: {w}");
        }
    }
    resp.get("Id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            daemon_error(
                cmd,
                &anyhow::anyhow!("daemon returned no container ID"),
                125,
            )
        })
}

fn is_image_missing(err: &anyhow::Error) -> bool {
    err.downcast_ref::<ApiError>()
        .is_some_and(|e| e.message.to_lowercase().contains("no such image"))
}

/// `POST /images/create?fromImage=...&tag=...` and print its progress like docker's
/// non-terminal output ("1: Pulling from bb", "Digest: ...", "Status: ...").
pub async fn pull_image(client: &Client, image: &str) -> Result<()> {
    let (repo, tag) = split_reference(image);
    let q = Query::new()
        .set("fromImage", normalize_name(&repo))
        .set("tag", tag);
    let resp = client
        .request_with(
            Method::POST,
            "/images/create",
            &q,
            empty_body(),
            None,
            &[("X-Registry-Auth", "e30=")],
        )
        .await?;
    let mut lines = JsonLines::new(resp);
    while let Some(msg) = lines.next().await? {
        if let Some(err) = msg.get("error").and_then(Value::as_str) {
            anyhow::bail!("{err}");
        }
        if let Some(line) = progress_line(&msg) {
            eprintln!("{line}");
        }
    }
    Ok(())
}

/// One JSON progress message as docker prints it without a terminal.
pub fn progress_line(msg: &Value) -> Option<String> {
    let status = msg.get("status").and_then(Value::as_str)?;
    // Without a terminal docker skips the per-byte progress updates.
    if msg
        .get("progressDetail")
        .is_some_and(|p| p.as_object().is_some_and(|o| !o.is_empty()))
    {
        return None;
    }
    Some(match msg.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => format!("{id}: {status}"),
        _ => status.to_string(),
    })
}

/// Result of `POST /containers/{id}/wait`.
pub type WaitTask = JoinHandle<Result<i64>>;

/// Sends the wait request and returns once the daemon has answered with its headers (so it is
/// registered before `start`), or after a short grace period for daemons that hold them.
pub async fn start_wait(client: &Client, id: &str, condition: Option<&str>) -> Result<WaitTask> {
    let (tx, rx) = oneshot::channel::<Result<(), String>>();
    let c = client.clone();
    let path = format!("/containers/{id}/wait");
    let q = match condition {
        Some(cond) => Query::new().set("condition", cond),
        None => Query::new(),
    };
    let task = tokio::spawn(async move {
        let resp = match c.post(&path, &q, None).await {
            Ok(r) => {
                let _ = tx.send(Ok(()));
                r
            }
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
                return Err(e);
            }
        };
        let v = read_json(resp).await?;
        wait_status(&v)
    });
    if let Ok(Ok(Err(msg))) = tokio::time::timeout(Duration::from_secs(2), rx).await {
        return Err(anyhow::anyhow!("{msg}"));
    }
    Ok(task)
}

/// `{"Error":null,"StatusCode":N}` → N; an `Error.Message` is a failure to wait.
pub fn wait_status(v: &Value) -> Result<i64> {
    if let Some(msg) = v
        .get("Error")
        .and_then(|e| e.get("Message"))
        .and_then(Value::as_str)
    {
        if !msg.is_empty() {
            anyhow::bail!("error waiting for container: {msg}");
        }
    }
    Ok(v.get("StatusCode").and_then(Value::as_i64).unwrap_or(0))
}

/// Starts a container; errors keep the daemon's message.
pub async fn start_container(client: &Client, id: &str) -> Result<()> {
    client
        .request(
            Method::POST,
            &format!("/containers/{id}/start"),
            &Query::new(),
            empty_body(),
            None,
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wait_bodies() {
        assert_eq!(
            wait_status(&json!({"Error": null, "StatusCode": 5})).unwrap(),
            5
        );
        let err = wait_status(&json!({"Error": {"Message": "context canceled"}, "StatusCode": -1}))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "error waiting for container: context canceled"
        );
    }

    #[test]
    fn pull_progress_lines() {
        assert_eq!(
            progress_line(&json!({"status": "Pulling from bb", "id": "1"})).unwrap(),
            "1: Pulling from bb"
        );
        assert_eq!(
            progress_line(
                &json!({"status": "Status: Downloaded newer image for 127.0.0.1:5077/bb:1"})
            )
            .unwrap(),
            "Status: Downloaded newer image for 127.0.0.1:5077/bb:1"
        );
        assert!(progress_line(
            &json!({"status": "Downloading", "id": "a", "progressDetail": {"current": 1}})
        )
        .is_none());
    }

    #[test]
    fn error_formats() {
        let e = usage_error("run", "invalid size: '1x'");
        assert_eq!(
            crate::error::exit_status(&e),
            (
                125,
                "berth: invalid size: '1x'.\nSee 'berth run --help'.".to_string()
            )
        );
        let api: anyhow::Error = ApiError {
            status: 404,
            message: "No such image: x:latest".into(),
        }
        .into();
        let e = daemon_error("run", &api, 125);
        assert_eq!(
            crate::error::exit_status(&e),
            (
                125,
                "berth: Error response from daemon: No such image: x:latest\n\nRun 'berth run --help' for more information"
                    .to_string()
            )
        );
    }
}
