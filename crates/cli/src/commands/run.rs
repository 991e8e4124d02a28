//! `berth run`: create → attach (hijacked) → wait → start → stream → exit with the
//! container's status, in the order docker 28 uses (traces, "docker run without -d").

use anyhow::Result;
use clap::{ArgAction, Args};

use super::container_opts::{build_create, ContainerOpts};
use super::create::{
    create_container, daemon_error, env_lookup, read_file, start_container, start_wait, usage_error,
};
use berth_client::{AttachOptions, Client};

use crate::error::{run_status, Exit};
use crate::stream::{self, PumpEnd, PumpOpts};
use crate::tty::{self, RawMode, ResizeTarget};

#[derive(Args, Debug)]
#[command(
    disable_help_flag = true,
    override_usage = "berth run [OPTIONS] IMAGE [COMMAND] [ARG...]",
    after_help = "Networking: the default network is none until berth's networking issue lands; \
                  --network host shares the host's network namespace, and -p is accepted and \
                  passed on but not yet published."
)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long = "detach")]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    /// Proxy received signals to the process
    #[arg(
        long = "sig-proxy",
        value_name = "bool",
        default_value_t = true,
        action = ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true",
        require_equals = true
    )]
    pub sig_proxy: bool,
    #[command(flatten)]
    pub opts: ContainerOpts,
}

pub async fn run(client: &Client, args: RunArgs) -> Result<i32> {
    let o = &args.opts;
    let detach = args.detach;
    if o.tty && o.interactive && !detach && !tty::stdin_is_tty() {
        return Err(Exit::new(1, "the input device is not a TTY").into());
    }
    let keys = stream::chosen_detach_keys(args.detach_keys.as_deref());
    let detach_keys =
        stream::detach_key_bytes(keys.as_deref()).map_err(|e| usage_error("run", &e))?;
    let console = if o.tty { tty::window_size() } else { None };
    let req = build_create(o, !detach, console, &env_lookup, &read_file)
        .map_err(|e| usage_error("run", &e.to_string()))?;
    let id = create_container(client, &req, &o.pull, "run").await?;

    if detach {
        let _wait = start_wait(client, &id, Some("next-exit"))
            .await
            .map_err(|e| daemon_error("run", &e, 125))?;
        if let Err(e) = start_container(client, &id).await {
            let code = run_status(&e.to_string());
            return Err(daemon_error("run", &e, code));
        }
        outln!("{id}");
        return Ok(0);
    }

    let attach = AttachOptions {
        stream: true,
        stdout: true,
        stderr: true,
        stdin: o.interactive,
        detach_keys: keys,
        ..AttachOptions::default()
    };
    let conn = client
        .container_attach(&id, &attach)
        .await
        .map_err(|e| daemon_error("run", &e.into(), 125))?;
    let condition = if o.rm { "removed" } else { "next-exit" };
    let wait = start_wait(client, &id, Some(condition))
        .await
        .map_err(|e| daemon_error("run", &e, 125))?;

    let raw = if o.tty && o.interactive {
        RawMode::enable()
    } else {
        None
    };
    let pump = tokio::spawn(stream::pump(
        conn,
        PumpOpts {
            tty: o.tty,
            stdin: o.interactive,
            detach_keys,
        },
    ));
    // In tty mode keys reach the container through the pty; signals are not proxied.
    let proxy =
        (!o.tty && args.sig_proxy).then(|| crate::signals::spawn_proxy(client.clone(), id.clone()));

    if let Err(e) = start_container(client, &id).await {
        pump.abort();
        drop(raw);
        if o.rm {
            // Let the daemon finish removing it before we report.
            let _ = wait.await;
        }
        let code = run_status(&e.to_string());
        return Err(daemon_error("run", &e, code));
    }
    let resize = o
        .tty
        .then(|| tty::spawn_resize_monitor(client.clone(), ResizeTarget::Container(id.clone())));

    let end = pump.await;
    drop(raw);
    if let Some(r) = resize {
        r.abort();
    }
    match end {
        Ok(Ok(PumpEnd::Detached)) => return Ok(0),
        Ok(Ok(PumpEnd::Eof)) => {}
        Ok(Err(e)) => return Err(e),
        Err(e) => return Err(e.into()),
    }
    let status = wait.await;
    if let Some(p) = proxy {
        p.abort();
    }
    match status {
        Ok(Ok(code)) => Ok(code as i32),
        Ok(Err(e)) => Err(Exit::new(125, format!("{e:#}")).into()),
        Err(e) => Err(Exit::new(125, format!("error waiting for container: {e}")).into()),
    }
}
