//! `docker exec`: exec instances are created, started through the container's shim, and
//! inspected for their exit code. Like Docker, they are not kept across daemon restarts.

use super::attach::ShimStream;
use crate::error::{EngineError, IoContext, Result};
use crate::model::{ExecDetails, ExecSpec, ExecStart};
use crate::Engine;
use berth_shim_protocol::client::ShimClient;
use berth_shim_protocol::{Request, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

pub struct ExecInstance {
    pub id: String,
    pub container_id: String,
    pub config: ExecSpec,
    state: Mutex<ExecState>,
    /// `Some(code)` once the process has exited.
    done: watch::Sender<Option<i32>>,
}

#[derive(Default, Clone)]
struct ExecState {
    started: bool,
    running: bool,
    pid: i32,
    exit_code: Option<i32>,
}

#[derive(Default)]
pub struct ExecTable(Mutex<HashMap<String, Arc<ExecInstance>>>);

impl ExecTable {
    fn get(&self, id: &str) -> Result<Arc<ExecInstance>> {
        self.0
            .lock()
            .ok()
            .and_then(|m| m.get(id).cloned())
            .ok_or_else(|| EngineError::not_found(format!("No such exec instance: {id}")))
    }
    fn insert(&self, e: Arc<ExecInstance>) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(e.id.clone(), e);
        }
    }
}

/// A started exec: its stream (none when detached) and a watch on its exit code.
pub struct ExecStream {
    pub tty: bool,
    pub stream: Option<ShimStream>,
    pub done: watch::Receiver<Option<i32>>,
}

impl ExecInstance {
    fn state(&self) -> ExecState {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }
    fn set(&self, f: impl FnOnce(&mut ExecState)) {
        if let Ok(mut s) = self.state.lock() {
            f(&mut s);
        }
    }
    fn finish(&self, code: i32) {
        self.set(|s| {
            s.running = false;
            s.exit_code = Some(code);
        });
        self.done.send_replace(Some(code));
    }
}

/// `docker exec --privileged`: every capability the daemon holds, in every set but ambient.
fn grant_capabilities(process: &mut oci_spec::runtime::Process, names: &[String]) {
    use oci_spec::runtime::{Capability, LinuxCapabilitiesBuilder};
    let set: std::collections::HashSet<Capability> = names
        .iter()
        .filter_map(|n| serde_json::from_value(serde_json::Value::String(n.clone())).ok())
        .collect();
    if let Ok(caps) = LinuxCapabilitiesBuilder::default()
        .bounding(set.clone())
        .effective(set.clone())
        .permitted(set.clone())
        .inheritable(std::collections::HashSet::new())
        .ambient(std::collections::HashSet::new())
        .build()
    {
        process.set_capabilities(Some(caps));
    }
}

impl Engine {
    pub fn exec_create(&self, name: &str, config: ExecSpec) -> Result<String> {
        let c = self.container(name)?;
        let rec = c.snapshot();
        if !rec.state.is_running() {
            return Err(EngineError::conflict(format!(
                "container {} is not running",
                rec.id
            )));
        }
        if rec.state.is_paused() {
            return Err(EngineError::conflict(format!(
                "Container {} is paused, unpause the container before exec",
                rec.id
            )));
        }
        if config.cmd.as_ref().is_none_or(|c| c.is_empty()) {
            return Err(EngineError::invalid("No exec command specified"));
        }
        let id = hex::encode(rand::random::<[u8; 32]>());
        let cmdline = config.cmd.clone().unwrap_or_default().join(" ");
        self.execs.insert(Arc::new(ExecInstance {
            id: id.clone(),
            container_id: rec.id.clone(),
            config,
            state: Mutex::new(ExecState::default()),
            done: watch::channel(None).0,
        }));
        self.container_event(
            &rec,
            &format!("exec_create: {cmdline}"),
            &[("execID", id.clone())],
        );
        Ok(id)
    }

    pub async fn exec_start(&self, exec_id: &str, start: ExecStart) -> Result<ExecStream> {
        let exec = self.execs.get(exec_id)?;
        let first = {
            let mut first = false;
            exec.set(|s| {
                if !s.started {
                    s.started = true;
                    first = true;
                }
            });
            first
        };
        if !first {
            return Err(EngineError::conflict(format!(
                "Error: Exec command {exec_id} has already run"
            )));
        }
        let c = self.container(&exec.container_id)?;
        let rec = c.snapshot();
        if !rec.state.is_running() {
            return Err(EngineError::conflict(format!(
                "container {} is not running",
                rec.id
            )));
        }
        let cfg = &exec.config;
        let tty = cfg.tty || start.tty;
        let dir = self.config.container_dir(&rec.id);
        let spec_path = dir.join("bundle/config.json");
        let spec_bytes = std::fs::read(&spec_path).at(&spec_path)?;
        let spec: oci_spec::runtime::Spec = serde_json::from_slice(&spec_bytes)?;
        let user = if cfg.user.is_empty() {
            None
        } else {
            Some(super::user::resolve(&dir.join("rootfs"), &cfg.user, &[])?)
        };
        let mut process = berth_spec::exec_process(
            &spec,
            cfg.cmd.as_deref().unwrap_or_default(),
            cfg.env.as_deref().unwrap_or_default(),
            Some(cfg.working_dir.as_str()),
            user.as_ref(),
            tty,
        );
        if cfg.privileged {
            grant_capabilities(&mut process, &self.host_info.capabilities);
        }
        let size = start.console_size.as_ref().or(cfg.console_size.as_ref());
        if let Some([h, w]) = size.map(|s| s.as_slice()).filter(|s| s.len() == 2) {
            if tty && *h > 0 && *w > 0 {
                let console = oci_spec::runtime::BoxBuilder::default()
                    .height(u64::from(*h))
                    .width(u64::from(*w))
                    .build()
                    .map_err(|e| EngineError::internal(e.to_string()))?;
                process.set_console_size(Some(console));
            }
        }
        let process = serde_json::to_value(&process)?;
        let req = Request::Exec {
            id: exec_id.to_string(),
            process,
            tty,
            stdin: cfg.attach_stdin && !start.detach,
        };
        let shim = ShimClient::new(&self.config.shim_state_dir(&rec.id));
        let (pid, stream) = match shim.open(&req).await {
            Ok((Response::Started { pid }, stream)) => (pid, stream),
            Ok((Response::Error { message }, _)) => {
                let program = cfg
                    .cmd
                    .as_ref()
                    .and_then(|c| c.first())
                    .cloned()
                    .unwrap_or_default();
                let why = super::process_start_error(&program, &message);
                // Docker's exit codes for an exec that cannot start.
                exec.finish(super::process_start_exit_code(&why, 126));
                return Err(EngineError::internal(format!(
                    "OCI runtime exec failed: exec failed: {why}: unknown"
                )));
            }
            Ok((other, _)) => {
                exec.finish(126);
                return Err(EngineError::internal(format!(
                    "unexpected answer: {other:?}"
                )));
            }
            Err(e) => {
                exec.finish(126);
                return Err(EngineError::internal(format!("exec: {e}")));
            }
        };
        exec.set(|s| {
            s.running = true;
            s.pid = pid;
        });
        self.container_event(
            &rec,
            &format!(
                "exec_start: {}",
                cfg.cmd.clone().unwrap_or_default().join(" ")
            ),
            &[("execID", exec_id.to_string())],
        );
        let done = exec.done.subscribe();
        let waiter = exec.clone();
        let id = exec_id.to_string();
        let events_rec = rec.clone();
        let bus = self.events_handle();
        tokio::spawn(async move {
            let code = match shim.call(&Request::ExecWait { id: id.clone() }).await {
                Ok(Response::Exited(st)) => st.exit_code,
                _ => 255,
            };
            waiter.finish(code);
            let mut attrs = events_rec.config.labels.clone().unwrap_or_default();
            attrs.insert("name".into(), events_rec.name.clone());
            attrs.insert("image".into(), events_rec.config.image.clone());
            attrs.insert("execID".into(), id);
            attrs.insert("exitCode".into(), code.to_string());
            bus.publish("container", "exec_die", &events_rec.id, attrs);
        });
        Ok(ExecStream {
            tty,
            stream: (!start.detach).then_some(stream),
            done,
        })
    }

    pub fn exec_inspect(&self, exec_id: &str) -> Result<ExecDetails> {
        let exec = self.execs.get(exec_id)?;
        let st = exec.state();
        Ok(ExecDetails {
            id: exec.id.clone(),
            container_id: exec.container_id.clone(),
            running: st.running,
            exit_code: st.exit_code,
            pid: st.pid,
            spec: exec.config.clone(),
        })
    }

    pub async fn exec_resize(&self, exec_id: &str, height: u16, width: u16) -> Result<()> {
        let exec = self.execs.get(exec_id)?;
        if !exec.state().running {
            return Err(EngineError::conflict(
                "cannot resize a stopped container: unknown",
            ));
        }
        let shim = ShimClient::new(&self.config.shim_state_dir(&exec.container_id));
        let req = Request::ExecResize {
            id: exec_id.to_string(),
            width,
            height,
        };
        match shim.call(&req).await {
            Ok(Response::Ok) => Ok(()),
            Ok(Response::Error { message }) => Err(EngineError::internal(message)),
            Ok(other) => Err(EngineError::internal(format!(
                "unexpected answer: {other:?}"
            ))),
            Err(e) => Err(EngineError::internal(format!("resizing exec: {e}"))),
        }
    }
}
