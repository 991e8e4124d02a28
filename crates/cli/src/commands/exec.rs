//! `berth exec`: inspect → `POST /containers/{c}/exec` → hijacked `POST /exec/{id}/start` →
//! `GET /exec/{id}/json` for the exit code (traces, section 9).

use anyhow::{Context, Result};
use berth_api::exec::{ExecConfig, ExecStartConfig};
use berth_client::Client;
use clap::Args;

use super::container_opts::{expand_env, parse_env_file};
use super::create::{env_lookup, read_file};
use crate::error::Exit;
use crate::stream::{self, PumpEnd, PumpOpts};
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
) -> Result<ExecConfig> {
    let mut env = Vec::new();
    for f in &a.env_file {
        let content = read(f).with_context(|| format!("open {f}"))?;
        env.extend(parse_env_file(&content, f, lookup)?);
    }
    for e in &a.env {
        env.push(expand_env(e, lookup)?);
    }
    let attach = !a.detach;
    Ok(ExecConfig {
        user: a.user.clone().unwrap_or_default(),
        privileged: a.privileged,
        tty: a.tty,
        console_size: None,
        attach_stdin: attach && a.interactive,
        attach_stderr: attach,
        attach_stdout: attach,
        detach: a.detach,
        detach_keys: stream::chosen_detach_keys(a.detach_keys.as_deref()).unwrap_or_default(),
        env: (!env.is_empty()).then_some(env),
        working_dir: a.workdir.clone().unwrap_or_default(),
        cmd: Some(a.command.clone()),
    })
}

pub async fn run(client: &Client, a: ExecArgs) -> Result<i32> {
    client.container_inspect(&a.container, false).await?;
    if !a.detach && a.interactive && a.tty && !tty::stdin_is_tty() {
        return Err(Exit::new(1, "the input device is not a TTY").into());
    }
    let keys = stream::chosen_detach_keys(a.detach_keys.as_deref());
    let detach_keys = stream::detach_key_bytes(keys.as_deref()).map_err(anyhow::Error::msg)?;
    let mut body = exec_body(&a, &env_lookup, &read_file)?;
    // API 1.42+: the daemon sizes the new pty before the process runs.
    let console = if a.tty { tty::window_size() } else { None };
    let console_size = console.map(|(h, w)| vec![h, w]);
    body.console_size = console_size.clone();
    let exec_id = client.exec_create(&a.container, &body).await?.id;
    if exec_id.is_empty() {
        anyhow::bail!("daemon returned no exec ID");
    }

    let start = ExecStartConfig {
        detach: a.detach,
        tty: a.tty,
        console_size,
    };
    if a.detach {
        client.exec_start(&exec_id, &start).await?;
        return Ok(0);
    }

    let conn = client.exec_start_attached(&exec_id, &start).await?;
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
    let info = client.exec_inspect(&exec_id).await?;
    Ok(info.exit_code.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use serde_json::json;

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
        let b = serde_json::to_value(exec_body(&a, &|_| None, &|_| anyhow::bail!("no")).unwrap())
            .unwrap();
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
        let b = serde_json::to_value(exec_body(&a, &|_| None, &|_| anyhow::bail!("no")).unwrap())
            .unwrap();
        assert_eq!(b["Tty"], true);
        assert_eq!(b["AttachStdin"], true);
        assert_eq!(b["Env"], json!(["A=1"]));
        assert_eq!(b["WorkingDir"], "/tmp");
        let a = T::try_parse_from(["t", "-d", "t1", "sleep", "5"])
            .unwrap()
            .a;
        let b = serde_json::to_value(exec_body(&a, &|_| None, &|_| anyhow::bail!("no")).unwrap())
            .unwrap();
        assert_eq!(b["Detach"], true);
        assert_eq!(b["AttachStdout"], false);
    }
}
