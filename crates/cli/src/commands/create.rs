//! `berth create`, plus what `run` shares with it: creating with a pull on a missing image,
//! and the `wait` request that must be in place before `start`.

use std::time::Duration;

use anyhow::Result;
use berth_api::container::WaitResponse;
use berth_api::progress::ProgressMessage;
use berth_client::Client;
use clap::Args;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use berth_reference::Reference;

use super::container_opts::{build_create, ContainerOpts, CreateRequest};
use crate::error::{api_error, not_found, Exit};

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
    let name = req.name.as_deref();
    let first = client
        .container_create(name, &req.body)
        .await
        .map_err(anyhow::Error::from);
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
                .container_create(name, &req.body)
                .await
                .map_err(|e| daemon_error(cmd, &e.into(), 125))?
        }
        Err(e) => return Err(daemon_error(cmd, &e, 125)),
    };
    for w in &resp.warnings {
        eprintln!("WARNING: {w}");
    }
    if resp.id.is_empty() {
        return Err(daemon_error(
            cmd,
            &anyhow::anyhow!("daemon returned no container ID"),
            125,
        ));
    }
    Ok(resp.id)
}

fn is_image_missing(err: &anyhow::Error) -> bool {
    api_error(err).is_some_and(|e| e.message.to_lowercase().contains("no such image"))
}

/// `POST /images/create?fromImage=...&tag=...` with the stored credentials, its progress
/// printed to stderr as docker's `run` does ("1: Pulling from bb", "Digest: ...").
pub async fn pull_image(client: &Client, image: &str) -> Result<()> {
    let r = Reference::parse_tagged(image)?;
    let opts = berth_client::ImagePullOptions {
        image: r.name(),
        tag: r.tag_or_digest().to_string(),
        platform: None,
        auth: super::pull::stored_auth(&r)?,
    };
    let stream = client.image_pull_with(&opts).await?;
    crate::progress::print_stream(stream, false, true).await?;
    Ok(())
}

/// The `fromImage` and `tag` of a pull: `busybox` → (`docker.io/library/busybox`, `latest`);
/// a digest goes as the tag.
pub fn pull_target(image: &str) -> Result<(String, String)> {
    let r = Reference::parse_tagged(image)?;
    Ok((r.name(), r.tag_or_digest().to_string()))
}

/// `busybox` → `busybox:latest`: the familiar form docker prints in "Unable to find image".
pub fn familiar_with_tag(image: &str) -> String {
    Reference::parse_tagged(image)
        .map(|r| r.familiar())
        .unwrap_or_else(|_| image.to_string())
}

/// One JSON progress message as docker prints it without a terminal.
pub fn progress_line(msg: &ProgressMessage) -> Option<String> {
    // Without a terminal docker skips the per-byte progress updates.
    if msg.status.is_empty() || msg.is_progress_update() {
        return None;
    }
    Some(if msg.id.is_empty() {
        msg.status.clone()
    } else {
        format!("{}: {}", msg.id, msg.status)
    })
}

/// Result of `POST /containers/{id}/wait`.
pub type WaitTask = JoinHandle<Result<i64>>;

/// Sends the wait request and returns once the daemon has answered with its headers (so it is
/// registered before `start`), or after a short grace period for daemons that hold them.
pub async fn start_wait(client: &Client, id: &str, condition: Option<&str>) -> Result<WaitTask> {
    let (tx, rx) = oneshot::channel::<Result<(), String>>();
    let c = client.clone();
    let id = id.to_string();
    let condition = condition.map(str::to_string);
    let task = tokio::spawn(async move {
        let pending = match c.container_wait_begin(&id, condition.as_deref()).await {
            Ok(p) => {
                let _ = tx.send(Ok(()));
                p
            }
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
                return Err(e.into());
            }
        };
        wait_status(&pending.result().await?)
    });
    if let Ok(Ok(Err(msg))) = tokio::time::timeout(Duration::from_secs(2), rx).await {
        return Err(anyhow::anyhow!("{msg}"));
    }
    Ok(task)
}

/// `{"Error":null,"StatusCode":N}` → N; an `Error.Message` is a failure to wait.
pub fn wait_status(w: &WaitResponse) -> Result<i64> {
    if let Some(e) = w.error.as_ref().filter(|e| !e.message.is_empty()) {
        anyhow::bail!("error waiting for container: {}", e.message);
    }
    Ok(w.status_code)
}

/// Starts a container; errors keep the daemon's message.
pub async fn start_container(client: &Client, id: &str) -> Result<()> {
    Ok(client.container_start(id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_client::ApiError;
    use serde_json::json;

    fn wait(v: serde_json::Value) -> Result<i64> {
        wait_status(&serde_json::from_value(v).unwrap())
    }

    fn progress(v: serde_json::Value) -> Option<String> {
        progress_line(&serde_json::from_value(v).unwrap())
    }

    #[test]
    fn wait_bodies() {
        assert_eq!(wait(json!({"Error": null, "StatusCode": 5})).unwrap(), 5);
        let err =
            wait(json!({"Error": {"Message": "context canceled"}, "StatusCode": -1})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "error waiting for container: context canceled"
        );
    }

    #[test]
    fn pull_progress_lines() {
        assert_eq!(
            progress(json!({"status": "Pulling from bb", "id": "1"})).unwrap(),
            "1: Pulling from bb"
        );
        assert_eq!(
            progress(json!({"status": "Status: Downloaded newer image for 127.0.0.1:5077/bb:1"}))
                .unwrap(),
            "Status: Downloaded newer image for 127.0.0.1:5077/bb:1"
        );
        assert!(progress(
            json!({"status": "Downloading", "id": "a", "progressDetail": {"current": 1}})
        )
        .is_none());
    }

    #[test]
    fn references() {
        assert_eq!(
            pull_target("busybox").unwrap(),
            ("docker.io/library/busybox".into(), "latest".into())
        );
        assert_eq!(
            pull_target("127.0.0.1:5077/bb:1").unwrap(),
            ("127.0.0.1:5077/bb".into(), "1".into())
        );
        assert_eq!(
            pull_target("me/app").unwrap(),
            ("docker.io/me/app".into(), "latest".into())
        );
        assert_eq!(pull_target("localhost/bb").unwrap().0, "localhost/bb");
        assert_eq!(familiar_with_tag("busybox"), "busybox:latest");
        assert_eq!(familiar_with_tag("x:1"), "x:1");
        assert_eq!(
            familiar_with_tag("127.0.0.1:5077/bb"),
            "127.0.0.1:5077/bb:latest"
        );
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
