//! `berth login [-u USER] [-p PASS | --password-stdin] [SERVER]` and `berth logout
//! [SERVER]`: credentials checked by the daemon (`POST /auth`), kept in docker's
//! `config.json` or its credential helper, as the docker CLI keeps them.

use std::io::{BufRead, IsTerminal, Read, Write};

use anyhow::{Context, Result};
use berth_api::auth::AuthConfig;
use berth_client::Client;
use berth_credentials::{server_key, ConfigFile, Credential, DOCKER_HUB_KEY};
use clap::Args;

use crate::error::Exit;

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Username
    #[arg(short = 'u', long, value_name = "string")]
    pub username: Option<String>,
    /// Password
    #[arg(short = 'p', long, value_name = "string")]
    pub password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}

#[derive(Args, Debug)]
pub struct LogoutArgs {
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}

/// What is sent as `serveraddress`: Docker Hub's URL, else the server as typed.
fn server_address(server: Option<&str>) -> String {
    match server.map(str::trim).filter(|s| !s.is_empty()) {
        None => DOCKER_HUB_KEY.to_string(),
        Some(s) if server_key(s) == DOCKER_HUB_KEY => DOCKER_HUB_KEY.to_string(),
        Some(s) => s.to_string(),
    }
}

pub async fn login(client: &Client, a: LoginArgs) -> Result<i32> {
    let server = server_address(a.server.as_deref());
    let mut password = a.password.clone();
    if a.password_stdin {
        if a.password.is_some() {
            anyhow::bail!("--password and --password-stdin are mutually exclusive");
        }
        if a.username.as_deref().unwrap_or_default().is_empty() {
            anyhow::bail!("Must provide --username with --password-stdin");
        }
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the password from stdin")?;
        password = Some(text.trim_end_matches(['\n', '\r']).to_string());
    } else if password.is_some() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    let mut config = ConfigFile::load_default()?;

    // No credentials given: those stored, if the registry still takes them.
    if a.username.is_none() && password.is_none() {
        if let Some(c) = config.get(&server)? {
            let auth = auth_config(&server, &c.username, &c.password, &c.identity_token);
            if client.registry_login(&auth).await.is_ok() {
                outln!("Login Succeeded");
                return Ok(0);
            }
        }
    }
    let username = match a.username {
        Some(u) => u,
        None => prompt("Username: ")?,
    };
    if username.trim().is_empty() {
        anyhow::bail!("Error: Non-null Username Required");
    }
    let password = match password {
        Some(p) => p,
        None => prompt_password()?,
    };
    if password.is_empty() {
        anyhow::bail!("Error: Password Required");
    }
    let auth = auth_config(&server, username.trim(), &password, "");
    let resp = client.registry_login(&auth).await?;
    let stored = Credential {
        username: username.trim().to_string(),
        // A token from the registry is kept instead of the password.
        password: if resp.identity_token.is_empty() {
            password
        } else {
            String::new()
        },
        identity_token: resp.identity_token.clone(),
    };
    config
        .store(&server, &stored)
        .map_err(|e| Exit::new(1, format!("Error saving credentials: {e}")))?;
    if config.helper_for(&server).is_none() {
        eprintln!(
            "WARNING! Your credentials are stored unencrypted in '{}'.\n\
             Configure a credential helper to remove this warning. See\n\
             https://docs.docker.com/go/credential-store/\n",
            config.path().display()
        );
    }
    outln!(
        "{}",
        if resp.status.is_empty() {
            "Login Succeeded"
        } else {
            &resp.status
        }
    );
    Ok(0)
}

fn auth_config(server: &str, username: &str, password: &str, token: &str) -> AuthConfig {
    AuthConfig {
        username: username.to_string(),
        password: password.to_string(),
        identity_token: token.to_string(),
        server_address: server.to_string(),
        ..AuthConfig::default()
    }
}

fn no_tty() -> anyhow::Error {
    Exit::new(
        1,
        "Error: Cannot perform an interactive login from a non TTY device",
    )
    .into()
}

fn prompt(label: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        return Err(no_tty());
    }
    eprint!("{label}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Reads a password with the terminal's echo off.
fn prompt_password() -> Result<String> {
    use nix::sys::termios::{self, LocalFlags, SetArg};
    use std::os::fd::AsFd;
    if !std::io::stdin().is_terminal() {
        return Err(no_tty());
    }
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    let saved = termios::tcgetattr(fd)?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    termios::tcsetattr(fd, SetArg::TCSANOW, &quiet)?;
    eprint!("Password: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    let _ = termios::tcsetattr(fd, SetArg::TCSANOW, &saved);
    eprintln!();
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

pub async fn logout(a: LogoutArgs) -> Result<i32> {
    let server = server_address(a.server.as_deref());
    let key = server_key(&server);
    let mut config = ConfigFile::load_default()?;
    if config.get(&server).ok().flatten().is_none() {
        outln!("Not logged in to {key}");
        return Ok(0);
    }
    outln!("Removing login credentials for {key}");
    config
        .erase(&server)
        .map_err(|e| Exit::new(1, format!("WARNING: could not erase credentials: {e}")))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_as_docker_sends_them() {
        assert_eq!(server_address(None), DOCKER_HUB_KEY);
        assert_eq!(server_address(Some("docker.io")), DOCKER_HUB_KEY);
        assert_eq!(server_address(Some("127.0.0.1:5000")), "127.0.0.1:5000");
    }
}
