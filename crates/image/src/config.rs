//! Image config (Docker/OCI image config JSON) and image manifest.
//!
//! The image ID is the sha256 of the config's exact bytes, so the bytes are
//! kept as stored; these structs are for reading and for writing new configs.
//! Unknown keys are kept in `extra` so nothing Docker-only is lost on a round
//! trip (oci-spec would drop Healthcheck, Shell, OnBuild).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::digest::Digest;

pub const MEDIA_TYPE_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const MEDIA_TYPE_DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const MEDIA_TYPE_DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const MEDIA_TYPE_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_TYPE_OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_TYPE_OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid image config {digest:?}: {source}")]
    Parse {
        digest: Option<Digest>,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot encode image config: {source}")]
    Encode {
        #[source]
        source: serde_json::Error,
    },
}

impl ConfigError {
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            ConfigError::Parse { .. } => crate::ErrorKind::InvalidArgument,
            ConfigError::Encode { .. } => crate::ErrorKind::Internal,
        }
    }
}

/// `{}` as Docker writes set members (`ExposedPorts`, `Volumes`).
pub type EmptyObject = Map<String, Value>;

/// The image config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    /// RFC 3339, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub os: String,
    #[serde(default)]
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Keys this struct does not name (docker_version, container_config, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ImageConfig {
    pub fn from_slice(bytes: &[u8], digest: Option<&Digest>) -> Result<ImageConfig, ConfigError> {
        serde_json::from_slice(bytes).map_err(|source| ConfigError::Parse {
            digest: digest.cloned(),
            source,
        })
    }

    /// Canonical bytes for a new config (their sha256 is the image ID).
    pub fn to_vec(&self) -> Result<Vec<u8>, ConfigError> {
        serde_json::to_vec(self).map_err(|source| ConfigError::Encode { source })
    }

    pub fn created_time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.created
            .as_deref()
            .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

impl Default for RootFs {
    fn default() -> Self {
        RootFs {
            kind: "layers".to_string(),
            diff_ids: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `config` object: defaults for containers made from the image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, EmptyObject>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, EmptyObject>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_escaped: Option<bool>,
    /// Hostname, AttachStdin, Tty, StopTimeout, Image, ... as found.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Durations are nanoseconds, as in Docker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Healthcheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// Image manifest (Docker schema2 or OCI; same shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Manifest {
    /// A Docker schema2 manifest (what `docker push` of a local image sends).
    pub fn docker(config: (Digest, u64), layers: &[(Digest, u64)]) -> Manifest {
        Manifest {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_DOCKER_MANIFEST.to_string()),
            config: Descriptor {
                media_type: MEDIA_TYPE_DOCKER_CONFIG.to_string(),
                digest: config.0,
                size: config.1,
                annotations: None,
            },
            layers: layers
                .iter()
                .map(|(d, s)| Descriptor {
                    media_type: MEDIA_TYPE_DOCKER_LAYER_GZIP.to_string(),
                    digest: d.clone(),
                    size: *s,
                    annotations: None,
                })
                .collect(),
            extra: Map::new(),
        }
    }

    pub fn from_slice(bytes: &[u8], digest: Option<&Digest>) -> Result<Manifest, ConfigError> {
        serde_json::from_slice(bytes).map_err(|source| ConfigError::Parse {
            digest: digest.cloned(),
            source,
        })
    }

    pub fn to_vec(&self) -> Result<Vec<u8>, ConfigError> {
        serde_json::to_vec(self).map_err(|source| ConfigError::Encode { source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER_CONFIG: &str = r#"{"architecture":"amd64","config":{"Hostname":"","Env":["PATH=/bin"],"Cmd":["sh"],"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":30000000000},"Shell":["/bin/bash","-c"],"OnBuild":["RUN x"],"Image":"","Volumes":null,"WorkingDir":"/w","Entrypoint":null,"Labels":{"a":"b"},"StopSignal":"SIGTERM","ExposedPorts":{"80/tcp":{}}},"container_config":{"Cmd":["x"]},"created":"2024-01-02T03:04:05.123456789Z","docker_version":"24.0.0","history":[{"created":"2024-01-02T03:04:05Z","created_by":"/bin/sh -c #(nop) ADD file","empty_layer":true,"custom":1}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]}}"#;

    #[test]
    fn docker_only_keys_survive() {
        let c = ImageConfig::from_slice(DOCKER_CONFIG.as_bytes(), None).unwrap();
        let cc = c.config.as_ref().unwrap();
        assert_eq!(cc.cmd.as_deref(), Some(&["sh".to_string()][..]));
        assert_eq!(cc.shell.as_ref().unwrap()[0], "/bin/bash");
        assert_eq!(
            cc.healthcheck.as_ref().unwrap().interval,
            Some(30_000_000_000)
        );
        assert!(cc.exposed_ports.as_ref().unwrap().contains_key("80/tcp"));
        assert_eq!(c.extra["docker_version"], "24.0.0");
        assert!(cc.extra.contains_key("Hostname"));
        assert_eq!(c.history[0].extra["custom"], 1);
        assert!(c.history[0].empty_layer);
        assert_eq!(c.rootfs.diff_ids.len(), 1);
        assert_eq!(
            c.created_time().unwrap().to_rfc3339(),
            "2024-01-02T03:04:05.123456789+00:00"
        );
        let again = ImageConfig::from_slice(&c.to_vec().unwrap(), None).unwrap();
        assert_eq!(again, c);
        let v: Value = serde_json::from_slice(&c.to_vec().unwrap()).unwrap();
        assert!(v["container_config"].is_object());
        assert_eq!(v["config"]["OnBuild"][0], "RUN x");
    }

    #[test]
    fn bad_config_is_invalid_argument() {
        let e = ImageConfig::from_slice(
            b"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"x\"]}}",
            None,
        )
        .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
    }

    #[test]
    fn manifest_shape() {
        let m = Manifest::docker((Digest::of(b"c"), 1), &[(Digest::of(b"l"), 2)]);
        let v: Value = serde_json::from_slice(&m.to_vec().unwrap()).unwrap();
        assert_eq!(v["schemaVersion"], 2);
        assert_eq!(v["mediaType"], MEDIA_TYPE_DOCKER_MANIFEST);
        assert_eq!(v["config"]["mediaType"], MEDIA_TYPE_DOCKER_CONFIG);
        assert_eq!(v["layers"][0]["size"], 2);
        assert_eq!(Manifest::from_slice(&m.to_vec().unwrap(), None).unwrap(), m);
    }
}
