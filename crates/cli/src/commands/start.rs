//! `berth start [-a] [-i] CONTAINER...`

use anyhow::Result;
use berth_client::{AttachOptions, Client};
use clap::Args;

use super::create::{start_container, start_wait};
use crate::error::{run_status, Exit};
use crate::stream::{self, PumpEnd, PumpOpts};
use crate::tty::{self, RawMode, ResizeTarget};

#[derive(Args, Debug)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long = "attach")]
    pub attach: bool,
    /// Attach container's STDIN
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

pub async fn run(client: &Client, args: StartArgs) -> Result<i32> {
    if args.attach || args.interactive {
        if args.containers.len() > 1 {
            return Err(
                Exit::new(1, "you cannot start and attach multiple containers at once").into(),
            );
        }
        return start_attached(client, &args).await;
    }
    let mut failed = Vec::new();
    for c in &args.containers {
        match start_container(client, c).await {
            Ok(()) => outln!("{c}"),
            Err(e) => {
                eprintln!("{e:#}");
                failed.push(c.clone());
            }
        }
    }
    if failed.is_empty() {
        Ok(0)
    } else {
        Err(Exit::new(
            1,
            format!("Error: failed to start containers: {}", failed.join(", ")),
        )
        .into())
    }
}

/// Docker's order: inspect → attach → wait → start → (resize) → stream → exit status.
async fn start_attached(client: &Client, args: &StartArgs) -> Result<i32> {
    let name = &args.containers[0];
    let info = client.container_inspect(name, false).await?;
    let id = if info.id.is_empty() {
        name.clone()
    } else {
        info.id.clone()
    };
    let tty_mode = info.tty();
    let open_stdin = info.open_stdin();
    let auto_remove = info.auto_remove();
    let with_stdin = args.interactive && open_stdin;
    if with_stdin && tty_mode && !tty::stdin_is_tty() {
        return Err(Exit::new(1, "the input device is not a TTY").into());
    }
    let keys = stream::chosen_detach_keys(args.detach_keys.as_deref());
    let detach_keys = stream::detach_key_bytes(keys.as_deref()).map_err(anyhow::Error::msg)?;
    let attach = AttachOptions {
        stream: true,
        stdout: true,
        stderr: true,
        stdin: with_stdin,
        detach_keys: keys,
        ..AttachOptions::default()
    };
    let conn = client.container_attach(&id, &attach).await?;
    let cond = if auto_remove { "removed" } else { "next-exit" };
    let wait = start_wait(client, &id, Some(cond)).await?;
    let raw = if tty_mode && with_stdin {
        RawMode::enable()
    } else {
        None
    };
    let pump = tokio::spawn(stream::pump(
        conn,
        PumpOpts {
            tty: tty_mode,
            stdin: with_stdin,
            detach_keys,
        },
    ));
    let proxy = (!tty_mode).then(|| crate::signals::spawn_proxy(client.clone(), id.clone()));
    if let Err(e) = start_container(client, &id).await {
        pump.abort();
        drop(raw);
        let code = run_status(&e.to_string());
        return Err(Exit::new(code, format!("{e:#}")).into());
    }
    let resize = tty_mode
        .then(|| tty::spawn_resize_monitor(client.clone(), ResizeTarget::Container(id.clone())));
    let end = pump.await;
    drop(raw);
    if let Some(r) = resize {
        r.abort();
    }
    if let Some(p) = proxy {
        p.abort();
    }
    match end {
        Ok(Ok(PumpEnd::Detached)) => return Ok(0),
        Ok(Ok(PumpEnd::Eof)) => {}
        Ok(Err(e)) => return Err(e),
        Err(e) => return Err(e.into()),
    }
    match wait.await {
        Ok(Ok(code)) => Ok(code as i32),
        Ok(Err(e)) => Err(Exit::new(125, format!("{e:#}")).into()),
        Err(e) => Err(e.into()),
    }
}
