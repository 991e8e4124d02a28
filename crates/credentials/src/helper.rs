//! Credential helpers (`docker-credential-<name>`): `get`, `store`, `erase`, `list`, each
//! one program run with the action as its argument, the request on stdin, the answer on
//! stdout. An identity token travels as the username `<token>` with the token as secret.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::{Credential, CredentialsError, Result};

const TOKEN_USERNAME: &str = "<token>";
const NOT_FOUND: &str = "credentials not found in native keychain";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helper {
    program: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(rename = "ServerURL", default)]
    server_url: String,
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

impl Helper {
    /// The helper program at `path`.
    pub fn at(path: &Path) -> Helper {
        Helper {
            program: path.to_path_buf(),
        }
    }

    /// `docker-credential-<name>`: in `dir` if it is there, else wherever `PATH` finds it.
    pub fn find(name: &str, dir: Option<&Path>) -> Helper {
        let program = format!("docker-credential-{name}");
        if let Some(p) = dir.map(|d| d.join(&program)).filter(|p| p.is_file()) {
            return Helper::at(&p);
        }
        Helper {
            program: PathBuf::from(program),
        }
    }

    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Runs `action` with `input`; the exit status and stdout.
    fn run(&self, action: &str, input: &[u8]) -> Result<(bool, String)> {
        let mut child = Command::new(&self.program)
            .arg(action)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                CredentialsError::Helper(format!(
                    "exec: {:?}: {e}",
                    self.program.display().to_string()
                ))
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input).map_err(|e| {
                CredentialsError::Helper(format!("writing to {}: {e}", self.program.display()))
            })?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| CredentialsError::Helper(format!("{}: {e}", self.program.display())))?;
        let mut text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if text.is_empty() {
            text = String::from_utf8_lossy(&out.stderr).trim().to_string();
        }
        Ok((out.status.success(), text))
    }

    pub fn get(&self, server: &str) -> Result<Option<Credential>> {
        let (ok, out) = self.run("get", server.as_bytes())?;
        if !ok {
            if out.contains(NOT_FOUND) {
                return Ok(None);
            }
            return Err(CredentialsError::Helper(out));
        }
        let w: Wire = serde_json::from_str(&out).map_err(|e| {
            CredentialsError::Helper(format!("{}: invalid answer: {e}", self.program.display()))
        })?;
        Ok(Some(if w.username == TOKEN_USERNAME {
            Credential {
                identity_token: w.secret,
                ..Default::default()
            }
        } else {
            Credential {
                username: w.username,
                password: w.secret,
                identity_token: String::new(),
            }
        }))
    }

    pub fn store(&self, server: &str, c: &Credential) -> Result<()> {
        let w = if c.identity_token.is_empty() {
            Wire {
                server_url: server.to_string(),
                username: c.username.clone(),
                secret: c.password.clone(),
            }
        } else {
            Wire {
                server_url: server.to_string(),
                username: TOKEN_USERNAME.to_string(),
                secret: c.identity_token.clone(),
            }
        };
        let json = serde_json::to_vec(&w).map_err(|e| CredentialsError::Helper(e.to_string()))?;
        match self.run("store", &json)? {
            (true, _) => Ok(()),
            (false, out) => Err(CredentialsError::Helper(out)),
        }
    }

    /// Whether there was something to erase.
    pub fn erase(&self, server: &str) -> Result<bool> {
        match self.run("erase", server.as_bytes())? {
            (true, _) => Ok(true),
            (false, out) if out.contains(NOT_FOUND) => Ok(false),
            (false, out) => Err(CredentialsError::Helper(out)),
        }
    }

    /// Server → username of every credential the helper holds.
    pub fn list(&self) -> Result<BTreeMap<String, String>> {
        match self.run("list", b"")? {
            (true, out) => serde_json::from_str(&out).map_err(|e| {
                CredentialsError::Helper(format!("{}: invalid answer: {e}", self.program.display()))
            }),
            (false, out) => Err(CredentialsError::Helper(out)),
        }
    }
}
