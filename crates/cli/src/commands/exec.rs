//! `berth exec`: inspect → `POST /containers/{c}/exec` → hijacked `POST /exec/{id}/start` →
//! `GET /exec/{id}/json` for the exit code (traces, section 9).

use anyhow::{Context, Result};
use clap::Args;
use serde_json::{json, Value};

use super::container_opts::{expand_env, parse_env_file};
use super::create::{env_lookup, read_file};
use crate::client::{path_escape, Client, Query};
use crate::error::Exit;
use crate::stream::{self, parse_detach_keys, PumpEnd, PumpOpts, DEFAULT_DETACH_KEYS};
use crate::tty::{self, RawMode, ResizeTarget};

#[derive(Args, Debug)]
#[command(override_usage = "berth exec [OPTIONS] CONTAINER COMMAND [ARG...]")]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "list")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list")]
    pub env_file: Vec<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// Give extended privileges to the command
    #[arg(long = "privileged")]
    pub privileged: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long = "tty")]
    pub tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short = 'u', long = "user", value_name = "string")]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "string")]
    pub workdir: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    #[arg(
        value_name = "COMMAND",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

/// The exec create body, with docker's fields and order.
pub fn exec_body(
    a: &ExecArgs,
    lookup: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&str) -> Result<String>,
) -> Result<Value> {
    let mut env = Vec::new();
    for f in &a.env_file {
        let content = read(f).with_context(|| format!("open {f}"))?;
        env.extend(parse_env_file(&content, f, lookup)?);
    }
    for e in &a.env {
        env.push(expand_env(e, lookup)?);
    }
    let attach = !a.detach;
    Ok(json!({
        "User": a.user.clone().unwrap_or_default(),
        "Privileged": a.privileged,
        "Tty": a.tty,
        "AttachStdin": attach && a.interactive,
        "AttachStderr": attach,
        "AttachStdout": attach,
        "Detach": a.detach,
        "DetachKeys": a.detach_keys.clone().unwrap_or_default(),
        "Env": if env.is_empty() { Value::Null } else { json!(env) },
        "WorkingDir": a.workdir.clone().unwrap_or_default(),
        "Cmd": a.command,
    }))
}

pub async fn run(client: &Client, a: ExecArgs) -> Result<i32> {
    let name = path_escape(&a.container);
    client
        .get_json(&format!("/containers/{name}/json"), &Query::new())
        .await?;
    if !a.detach && a.interactive && a.tty && !tty::stdin_is_tty() {
        return Err(Exit::new(1, "the input device is not a TTY").into());
    }
    let detach_keys = match &a.detach_keys {
        Some(k) => parse_detach_keys(k)?,
        None => DEFAULT_DETACH_KEYS.to_vec(),
    };
    let mut body = exec_body(&a, &env_lookup, &read_file)?;
    // API 1.42+: the daemon sizes the new pty before the process runs.
    let console = if a.tty { tty::window_size() } else { None };
    if let Some((h, w)) = console {
        body["ConsoleSize"] = json!([h, w]);
    }
    let created = client
        .post_json(
            &format!("/containers/{name}/exec"),
            &Query::new(),
            Some(&body),
        )
        .await?;
    let exec_id = created
        .get("Id")
        .and_then(Value::as_str)
        .context("daemon returned no exec ID")?
        .to_string();

    let mut start_body = json!({"Detach": a.detach, "Tty": a.tty});
    if let Some((h, w)) = console {
        start_body["ConsoleSize"] = json!([h, w]);
    }
    if a.detach {
        client
            .post(
                &format!("/exec/{exec_id}/start"),
                &Query::new(),
                Some(&start_body),
            )
            .await?;
        return Ok(0);
    }

    let conn = client
        .hijack(
            &format!("/exec/{exec_id}/start"),
            &Query::new(),
            Some(&start_body),
        )
        .await?;
    let raw = if a.tty && a.interactive {
        RawMode::enable()
    } else {
        None
    };
    let resize = a
        .tty
        .then(|| tty::spawn_resize_monitor(client.clone(), ResizeTarget::Exec(exec_id.clone())));
    let end = stream::pump(
        conn,
        PumpOpts {
            tty: a.tty,
            stdin: a.interactive,
            detach_keys,
        },
    )
    .await;
    drop(raw);
    if let Some(r) = resize {
        r.abort();
    }
    if end? == PumpEnd::Detached {
        return Ok(0);
    }
    let info = client
        .get_json(&format!("/exec/{exec_id}/json"), &Query::new())
        .await?;
    Ok(info.get("ExitCode").and_then(Value::as_i64).unwrap_or(0) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: ExecArgs,
    }

    #[test]
    fn body_matches_trace() {
        let a = T::try_parse_from(["t", "t1", "sh", "-c", "exit 3"])
            .unwrap()
            .a;
        let b = exec_body(&a, &|_| None, &|_| anyhow::bail!("no")).unwrap();
        assert_eq!(
            b,
            json!({
                "User": "", "Privileged": false, "Tty": false, "AttachStdin": false,
                "AttachStderr": true, "AttachStdout": true, "Detach": false, "DetachKeys": "",
                "Env": null, "WorkingDir": "", "Cmd": ["sh", "-c", "exit 3"]
            })
        );
        let a = T::try_parse_from(["t", "-it", "-e", "A=1", "-w", "/tmp", "t1", "sh"])
            .unwrap()
            .a;
        let b = exec_body(&a, &|_| None, &|_| anyhow::bail!("no")).unwrap();
        assert_eq!(b["Tty"], true);
        assert_eq!(b["AttachStdin"], true);
        assert_eq!(b["Env"], json!(["A=1"]));
        assert_eq!(b["WorkingDir"], "/tmp");
        let a = T::try_parse_from(["t", "-d", "t1", "sleep", "5"])
            .unwrap()
            .a;
        let b = exec_body(&a, &|_| None, &|_| anyhow::bail!("no")).unwrap();
        assert_eq!(b["Detach"], true);
        assert_eq!(b["AttachStdout"], false);
    }
}
