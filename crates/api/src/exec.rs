//! `POST /containers/{id}/exec`, `POST /exec/{id}/start`, `GET /exec/{id}/json`.

use crate::nullable::zero;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecConfig {
    #[serde(deserialize_with = "zero")]
    pub attach_stdin: bool,
    #[serde(deserialize_with = "zero")]
    pub attach_stdout: bool,
    #[serde(deserialize_with = "zero")]
    pub attach_stderr: bool,
    #[serde(deserialize_with = "zero")]
    pub detach_keys: String,
    #[serde(deserialize_with = "zero")]
    pub tty: bool,
    pub console_size: Option<Vec<u16>>,
    pub env: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    #[serde(deserialize_with = "zero")]
    pub privileged: bool,
    #[serde(deserialize_with = "zero")]
    pub user: String,
    #[serde(deserialize_with = "zero")]
    pub working_dir: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecStartConfig {
    #[serde(deserialize_with = "zero")]
    pub detach: bool,
    #[serde(deserialize_with = "zero")]
    pub tty: bool,
    pub console_size: Option<Vec<u16>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecProcessConfig {
    pub tty: bool,
    pub entrypoint: String,
    pub arguments: Vec<String>,
    pub privileged: bool,
    pub user: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecInspect {
    #[serde(rename = "ID")]
    pub id: String,
    pub running: bool,
    pub exit_code: Option<i32>,
    pub process_config: ExecProcessConfig,
    pub open_stdin: bool,
    pub open_stderr: bool,
    pub open_stdout: bool,
    pub can_remove: bool,
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    pub detach_keys: String,
    pub pid: i32,
}
