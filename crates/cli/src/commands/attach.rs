//! `berth attach`: wait → inspect → attach (hijacked) → inspect, then stream with signals
//! proxied, and exit with the container's status (traces, "attach").

use anyhow::Result;
use berth_api::container::ContainerInspect;
use berth_client::{AttachOptions, Client};
use clap::{ArgAction, Args};

use super::create::start_wait;
use crate::error::Exit;
use crate::stream::{self, PumpEnd, PumpOpts};
use crate::tty::{self, RawMode, ResizeTarget};

#[derive(Args, Debug)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    /// Proxy all received signals to the process
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
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// Docker's refusals for containers that cannot be attached to.
pub fn check_attachable(info: &ContainerInspect) -> Result<()> {
    let state = info.state();
    if !state.running {
        return Err(Exit::new(
            1,
            "You cannot attach to a stopped container, start it first",
        )
        .into());
    }
    if state.paused {
        return Err(Exit::new(
            1,
            "You cannot attach to a paused container, unpause it first",
        )
        .into());
    }
    if state.restarting {
        return Err(Exit::new(
            1,
            "You cannot attach to a restarting container, wait until it is running",
        )
        .into());
    }
    Ok(())
}

pub async fn run(client: &Client, a: AttachArgs) -> Result<i32> {
    let name = a.container.clone();
    let wait = start_wait(client, &name, None).await?;
    let info = client.container_inspect(&name, false).await?;
    check_attachable(&info)?;
    let tty_mode = info.tty();
    let open_stdin = info.open_stdin();
    let with_stdin = open_stdin && !a.no_stdin;
    if with_stdin && tty_mode && !tty::stdin_is_tty() {
        return Err(Exit::new(1, "the input device is not a TTY").into());
    }
    let keys = stream::chosen_detach_keys(a.detach_keys.as_deref());
    let detach_keys = stream::detach_key_bytes(keys.as_deref()).map_err(anyhow::Error::msg)?;
    let attach = AttachOptions {
        stream: true,
        stdout: true,
        stderr: true,
        stdin: with_stdin,
        detach_keys: keys,
        ..AttachOptions::default()
    };
    let conn = client.container_attach(&name, &attach).await?;
    // Docker inspects again after attaching (the container may have stopped meanwhile).
    let _ = client.container_inspect(&name, false).await;

    let raw = if tty_mode && with_stdin {
        RawMode::enable()
    } else {
        None
    };
    let resize = tty_mode
        .then(|| tty::spawn_resize_monitor(client.clone(), ResizeTarget::Container(name.clone())));
    let proxy = (a.sig_proxy && !tty_mode)
        .then(|| crate::signals::spawn_proxy(client.clone(), name.clone()));
    let end = stream::pump(
        conn,
        PumpOpts {
            tty: tty_mode,
            stdin: with_stdin,
            detach_keys,
        },
    )
    .await;
    drop(raw);
    if let Some(r) = resize {
        r.abort();
    }
    if let Some(p) = proxy {
        p.abort();
    }
    if end? == PumpEnd::Detached {
        return Ok(0);
    }
    match wait.await {
        Ok(Ok(code)) => Ok(code as i32),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: serde_json::Value) -> Result<()> {
        check_attachable(&serde_json::from_value(v).unwrap())
    }

    #[test]
    fn attachable_states() {
        assert!(check(json!({"State": {"Running": true}})).is_ok());
        let e = check(json!({"State": {"Running": false}})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "You cannot attach to a stopped container, start it first"
        );
        let e = check(json!({"State": {"Running": true, "Paused": true}})).unwrap_err();
        assert!(e.to_string().contains("paused"));
    }
}
