//! The client side of registry credentials, as the docker CLI keeps them, so `berth login`
//! and `docker login` share one `config.json`:
//!
//! - `auths`: per registry, `auth` (base64 of `user:password`) and `identitytoken`;
//! - `credsStore`: a helper program `docker-credential-<name>` holding every credential;
//! - `credHelpers`: a helper per registry, before `credsStore`.
//!
//! Helpers speak docker-credential-helpers' protocol ([`Helper`]): `get`, `store`, `erase`,
//! `list`, one request on stdin, one answer on stdout. Keys other than these are kept as
//! they are when the file is written back.

mod helper;

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Map, Value};

pub use helper::Helper;

/// Where Docker Hub's credentials are kept.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: invalid configuration file: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("error getting credentials - err: {0}")]
    Helper(String),
}

pub type Result<T, E = CredentialsError> = std::result::Result<T, E>;

/// One registry's credentials.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub password: String,
    /// A refresh token a login returned: stored instead of the password.
    pub identity_token: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The key a registry's credentials are stored under: Docker Hub's URL for Docker Hub
/// (`""`, `docker.io`, `index.docker.io`, `registry-1.docker.io`), else `host[:port]`.
pub fn server_key(server: &str) -> String {
    let s = server.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = s.split('/').next().unwrap_or_default().to_lowercase();
    match host.as_str() {
        "" | "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB_KEY.to_string(),
        _ => host,
    }
}

/// `config.json` of a docker CLI configuration directory.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
    doc: Map<String, Value>,
    /// Where helpers are looked for before `PATH` (tests).
    helper_dir: Option<PathBuf>,
}

/// The CLI's configuration directory: `$DOCKER_CONFIG`, else `~/.docker`.
pub fn config_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".docker")
}

impl ConfigFile {
    /// Reads `path`; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<ConfigFile> {
        let doc = match fs::read(path) {
            Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Ok(b) => match serde_json::from_slice::<Value>(&b) {
                Ok(Value::Object(m)) => m,
                Ok(_) => {
                    return Err(CredentialsError::Invalid {
                        path: path.to_path_buf(),
                        reason: "not a JSON object".to_string(),
                    })
                }
                Err(e) => {
                    return Err(CredentialsError::Invalid {
                        path: path.to_path_buf(),
                        reason: e.to_string(),
                    })
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => Map::new(),
            Err(source) => {
                return Err(CredentialsError::Io {
                    op: "reading",
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Ok(ConfigFile {
            path: path.to_path_buf(),
            doc,
            helper_dir: None,
        })
    }

    /// `config.json` of [`config_dir`].
    pub fn load_default() -> Result<ConfigFile> {
        ConfigFile::load(&config_dir().join("config.json"))
    }

    /// `detachKeys`: the key sequence `attach`, `run`, `start -a` and `exec` detach with when
    /// no `--detach-keys` is given.
    pub fn detach_keys(&self) -> Option<String> {
        self.doc
            .get("detachKeys")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .map(str::to_string)
    }

    /// Looks for helper programs in `dir` first.
    pub fn with_helper_dir(mut self, dir: &Path) -> ConfigFile {
        self.helper_dir = Some(dir.to_path_buf());
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn creds_store(&self) -> Option<&str> {
        self.doc
            .get("credsStore")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn cred_helpers(&self) -> BTreeMap<String, String> {
        self.doc
            .get("credHelpers")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The helper holding `server`'s credentials: its `credHelpers` entry, else `credsStore`.
    pub fn helper_for(&self, server: &str) -> Option<Helper> {
        let key = server_key(server);
        let helpers = self.cred_helpers();
        let name = helpers
            .iter()
            .find(|(k, _)| server_key(k) == key)
            .map(|(_, v)| v.as_str())
            .or(self.creds_store())?;
        Some(Helper::find(name, self.helper_dir.as_deref()))
    }

    fn auths(&self) -> Option<&Map<String, Value>> {
        self.doc.get("auths").and_then(Value::as_object)
    }

    fn auths_mut(&mut self) -> &mut Map<String, Value> {
        let entry = self
            .doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        match entry {
            Value::Object(m) => m,
            _ => unreachable!("made an object just above"),
        }
    }

    /// The `auths` key naming `server` (exact, else one that normalizes to the same).
    fn auth_key(&self, server: &str) -> Option<String> {
        let key = server_key(server);
        let auths = self.auths()?;
        if auths.contains_key(&key) {
            return Some(key);
        }
        auths.keys().find(|k| server_key(k) == key).cloned()
    }

    /// `server`'s credentials, from its helper or from `auths`.
    pub fn get(&self, server: &str) -> Result<Option<Credential>> {
        if let Some(h) = self.helper_for(server) {
            return h.get(&server_key(server));
        }
        let Some(key) = self.auth_key(server) else {
            return Ok(None);
        };
        let entry = &self
            .auths()
            .and_then(|a| a.get(&key))
            .cloned()
            .unwrap_or_default();
        let text = |k: &str| {
            entry
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let mut c = Credential {
            username: text("username"),
            password: text("password"),
            identity_token: text("identitytoken"),
        };
        let auth = text("auth");
        if !auth.is_empty() {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| CredentialsError::Invalid {
                    path: self.path.clone(),
                    reason: format!("invalid auth for {key}"),
                })?;
            let (u, p) = decoded
                .split_once(':')
                .ok_or_else(|| CredentialsError::Invalid {
                    path: self.path.clone(),
                    reason: format!("invalid auth for {key}"),
                })?;
            c.username = u.to_string();
            c.password = p.to_string();
        }
        if c.username.is_empty() && c.identity_token.is_empty() {
            return Ok(None);
        }
        Ok(Some(c))
    }

    /// Stores `server`'s credentials (in its helper, else in `auths`) and writes the file.
    pub fn store(&mut self, server: &str, c: &Credential) -> Result<()> {
        let key = server_key(server);
        if let Some(h) = self.helper_for(server) {
            h.store(&key, c)?;
            // As docker does: the file remembers the registry, the helper the secret.
            self.auths_mut().insert(key, Value::Object(Map::new()));
            return self.save();
        }
        let mut entry = Map::new();
        if !c.username.is_empty() {
            let raw = format!("{}:{}", c.username, c.password);
            entry.insert(
                "auth".into(),
                base64::engine::general_purpose::STANDARD.encode(raw).into(),
            );
        }
        if !c.identity_token.is_empty() {
            entry.insert("identitytoken".into(), c.identity_token.clone().into());
        }
        if let Some(old) = self.auth_key(server) {
            self.auths_mut().remove(&old);
        }
        self.auths_mut().insert(key, Value::Object(entry));
        self.save()
    }

    /// `docker logout`: forgets `server`'s credentials. Whether there were any.
    pub fn erase(&mut self, server: &str) -> Result<bool> {
        let key = server_key(server);
        let mut found = false;
        if let Some(h) = self.helper_for(server) {
            found |= h.erase(&key)?;
        }
        while let Some(k) = self.auth_key(server) {
            self.auths_mut().remove(&k);
            found = true;
        }
        self.save()?;
        Ok(found)
    }

    /// Writes the file (0600, in a 0700 directory), whole or not at all.
    pub fn save(&self) -> Result<()> {
        let io_err = |op, path: &Path| {
            let path = path.to_path_buf();
            move |source| CredentialsError::Io { op, path, source }
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        if !dir.exists() {
            fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(io_err("setting the mode of", dir))?;
        }
        let json = serde_json::to_vec_pretty(&Value::Object(self.doc.clone())).map_err(|e| {
            CredentialsError::Invalid {
                path: self.path.clone(),
                reason: e.to_string(),
            }
        })?;
        let tmp = dir.join(format!(
            ".{}.tmp-{}",
            self.path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("config.json"),
            std::process::id()
        ));
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io_err("creating", &tmp))?;
        f.write_all(&json)
            .and_then(|()| f.write_all(b"\n"))
            .and_then(|()| f.sync_all())
            .map_err(io_err("writing", &tmp))?;
        fs::rename(&tmp, &self.path).map_err(io_err("renaming into", &self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_as_docker_s() {
        assert_eq!(server_key(""), DOCKER_HUB_KEY);
        assert_eq!(server_key("docker.io"), DOCKER_HUB_KEY);
        assert_eq!(server_key(DOCKER_HUB_KEY), DOCKER_HUB_KEY);
        assert_eq!(server_key("https://LOCALHOST:5000/v2/"), "localhost:5000");
        assert_eq!(server_key("myreg:5000"), "myreg:5000");
    }
}
