//! `POST /containers/{id}/exec`, `POST /exec/{id}/start`, `GET /exec/{id}/json`.

use crate::nullable::{is_none, zero};
use serde::{Deserialize, Serialize};

/// Body of `POST /containers/{id}/exec` (moby's `container.ExecOptions`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecConfig {
    #[serde(deserialize_with = "zero")]
    pub user: String,
    #[serde(deserialize_with = "zero")]
    pub privileged: bool,
    #[serde(deserialize_with = "zero")]
    pub tty: bool,
    /// `[height, width]`.
    #[serde(skip_serializing_if = "is_none")]
    pub console_size: Option<Vec<u16>>,
    #[serde(deserialize_with = "zero")]
    pub attach_stdin: bool,
    #[serde(deserialize_with = "zero")]
    pub attach_stderr: bool,
    #[serde(deserialize_with = "zero")]
    pub attach_stdout: bool,
    #[serde(deserialize_with = "zero")]
    pub detach: bool,
    #[serde(deserialize_with = "zero")]
    pub detach_keys: String,
    pub env: Option<Vec<String>>,
    #[serde(deserialize_with = "zero")]
    pub working_dir: String,
    pub cmd: Option<Vec<String>>,
}

/// Body of `POST /exec/{id}/start`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecStartConfig {
    #[serde(deserialize_with = "zero")]
    pub detach: bool,
    #[serde(deserialize_with = "zero")]
    pub tty: bool,
    /// `[height, width]`.
    #[serde(skip_serializing_if = "is_none")]
    pub console_size: Option<Vec<u16>>,
}

/// Answer of `POST /containers/{id}/exec` (and of other calls that only name what they made).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct IdResponse {
    #[serde(rename = "Id", deserialize_with = "zero")]
    pub id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExecProcessConfig {
    #[serde(deserialize_with = "zero")]
    pub tty: bool,
    #[serde(deserialize_with = "zero")]
    pub entrypoint: String,
    #[serde(deserialize_with = "zero")]
    pub arguments: Vec<String>,
    #[serde(deserialize_with = "zero")]
    pub privileged: bool,
    #[serde(deserialize_with = "zero")]
    pub user: String,
}

/// Answer of `GET /exec/{id}/json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecInspect {
    #[serde(rename = "ID", deserialize_with = "zero")]
    pub id: String,
    #[serde(deserialize_with = "zero")]
    pub running: bool,
    pub exit_code: Option<i32>,
    #[serde(deserialize_with = "zero")]
    pub process_config: ExecProcessConfig,
    #[serde(deserialize_with = "zero")]
    pub open_stdin: bool,
    #[serde(deserialize_with = "zero")]
    pub open_stderr: bool,
    #[serde(deserialize_with = "zero")]
    pub open_stdout: bool,
    #[serde(deserialize_with = "zero")]
    pub can_remove: bool,
    #[serde(rename = "ContainerID", deserialize_with = "zero")]
    pub container_id: String,
    #[serde(deserialize_with = "zero")]
    pub detach_keys: String,
    #[serde(deserialize_with = "zero")]
    pub pid: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_body_is_docker_s() {
        let s = ExecStartConfig::default();
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"Detach":false,"Tty":false}"#
        );
        let i: ExecInspect =
            serde_json::from_str(r#"{"ID":"a","Running":false,"ExitCode":3}"#).unwrap();
        assert_eq!(i.exit_code, Some(3));
    }
}
