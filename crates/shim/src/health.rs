//! Healthchecks on the shim's own timer: the probe runs as an exec in the container (same
//! namespaces, cgroup, seccomp filter, user and environment as init's process), its result is
//! applied as Docker applies it, and the container's [`Health`] is kept in `health.json` (for
//! a daemon that restarts) and published to `Health` requests waiting for a change.

use crate::clock::now_rfc3339_nanos;
use crate::exec;
use crate::exit::write_atomic;
use crate::shim::Shim;
use crate::stdio::{FdIo, Streams};
use crate::wire::error;
use berth_shim_protocol::health::{MAX_LOG_ENTRIES, MAX_OUTPUT};
use berth_shim_protocol::{
    Health, HealthConfig, HealthResult, HealthStatus, Response, HEALTH_FILE,
};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// How long a finished probe's output may still flow (a child of the probe can hold the pipes).
const OUTPUT_GRACE: Duration = Duration::from_millis(500);

/// The healthcheck of the supervised container.
pub struct HealthMonitor {
    config: HealthConfig,
    /// The OCI process of a probe: init's, with the probe's args.
    process: serde_json::Value,
    state: watch::Sender<Health>,
    seq: Cell<u32>,
}

impl HealthMonitor {
    /// A monitor for `config`, or `None` when it asks for no probe (`NONE`, empty).
    pub fn new(config: Option<&HealthConfig>, init_process: &serde_json::Value) -> Option<Self> {
        let config = config?;
        let args = config.probe_args()?;
        let mut process = init_process.clone();
        let obj = process.as_object_mut()?;
        obj.insert("args".into(), serde_json::json!(args));
        obj.insert("terminal".into(), serde_json::Value::Bool(false));
        obj.remove("consoleSize");
        Some(Self {
            config: config.clone(),
            process,
            state: watch::channel(Health::default()).0,
            seq: Cell::new(0),
        })
    }

    pub fn current(&self) -> Health {
        self.state.borrow().clone()
    }
}

/// Runs the probes from init's start until it exits.
pub async fn monitor(shim: Rc<Shim>) {
    let Some(h) = &shim.health else {
        return;
    };
    let started = Instant::now();
    publish(&shim, h, Health::default());
    let mut exit = shim.exit.subscribe();
    loop {
        let starting = h.state.borrow().status == HealthStatus::Starting;
        let wait = if starting && started.elapsed() < h.config.start_period() {
            h.config.start_interval()
        } else {
            h.config.interval()
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = exit.wait_for(|e| e.is_some()) => return,
        }
        if shim.reaped.get() {
            return;
        }
        // A paused container answers no probe; Docker does not probe it either.
        if shim.cgroup.frozen() {
            continue;
        }
        let probe_start = Instant::now();
        let result = probe(&shim, h).await;
        if shim.reaped.get() {
            return;
        }
        let in_start_period = probe_start.duration_since(started) < h.config.start_period();
        let next = apply(&h.current(), result, h.config.retries(), in_start_period);
        publish(&shim, h, next);
    }
}

/// Docker's `handleProbeResult`: a success makes the container healthy; a failure counts
/// toward `retries` unless it comes in the start period before any success.
pub fn apply(old: &Health, result: HealthResult, retries: u32, in_start_period: bool) -> Health {
    let mut h = old.clone();
    let ok = result.exit_code == 0;
    h.log.push(result);
    if h.log.len() > MAX_LOG_ENTRIES {
        let extra = h.log.len() - MAX_LOG_ENTRIES;
        h.log.drain(..extra);
    }
    if ok {
        h.failing_streak = 0;
        h.status = HealthStatus::Healthy;
    } else if !(h.status == HealthStatus::Starting && in_start_period) {
        h.failing_streak += 1;
        if h.failing_streak >= retries {
            h.status = HealthStatus::Unhealthy;
        }
    }
    h
}

fn publish(shim: &Shim, h: &HealthMonitor, health: Health) {
    if let Ok(bytes) = serde_json::to_vec(&health) {
        let _ = write_atomic(&shim.args.state, HEALTH_FILE, &bytes);
    }
    h.state.send_replace(health);
}

/// Runs one probe to its end or its timeout.
async fn probe(shim: &Rc<Shim>, h: &HealthMonitor) -> HealthResult {
    let start = now_rfc3339_nanos();
    let seq = h.seq.get() + 1;
    h.seq.set(seq);
    let id = format!("health-{seq}");
    let mut process = h.process.clone();
    let (exec, streams) = match exec::start(shim, &id, &mut process, false, false) {
        Ok(s) => s,
        Err(e) => return result(start, -1, format!("{e:#}")),
    };
    shim.execs.borrow_mut().insert(id.clone(), exec.clone());
    let output = Rc::new(RefCell::new(Vec::new()));
    let reader = read_output(streams, output.clone());
    tokio::pin!(reader);
    let deadline = Instant::now() + h.config.timeout();
    let mut output_done = false;
    let code = loop {
        tokio::select! {
            (code, _) = exec.wait() => break Some(code),
            _ = &mut reader, if !output_done => output_done = true,
            _ = tokio::time::sleep_until(deadline) => break None,
        }
    };
    let res = match code {
        Some(code) => {
            if !output_done {
                let _ = tokio::time::timeout(OUTPUT_GRACE, &mut reader).await;
            }
            let out = String::from_utf8_lossy(&output.borrow()).into_owned();
            result(start, i64::from(code), out)
        }
        None => {
            // SAFETY: kill(2) has no memory-safety preconditions; the pid is our unreaped child.
            unsafe { libc::kill(exec.pid, libc::SIGKILL) };
            result(
                start,
                -1,
                format!(
                    "Health check exceeded timeout ({})",
                    go_duration(h.config.timeout())
                ),
            )
        }
    };
    forget(shim, &id, &exec);
    res
}

/// Drops a probe's record and files once it has been reaped (probes run every few seconds
/// for the container's life: nothing may pile up).
fn forget(shim: &Rc<Shim>, id: &str, exec: &Rc<crate::exec_record::Exec>) {
    let shim = shim.clone();
    let (id, exec) = (id.to_string(), exec.clone());
    tokio::task::spawn_local(async move {
        exec.wait().await;
        shim.execs.borrow_mut().remove(&id);
        let _ = std::fs::remove_file(shim.args.state.join(format!("exec-{id}.json")));
        let _ = std::fs::remove_file(shim.args.state.join(format!("exec-{id}.exit")));
    });
}

/// Reads stdout and stderr to their ends into `out`, keeping the first [`MAX_OUTPUT`] bytes.
async fn read_output(streams: Streams, out: Rc<RefCell<Vec<u8>>>) {
    let Streams::Pipes { stdout, stderr, .. } = streams else {
        return;
    };
    let read = |fd| {
        let out = out.clone();
        async move {
            let Ok(io) = FdIo::new(fd) else {
                return;
            };
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = io.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let mut o = out.borrow_mut();
                let room = MAX_OUTPUT.saturating_sub(o.len());
                o.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    };
    tokio::join!(read(stdout), read(stderr));
}

fn result(start: String, exit_code: i64, output: String) -> HealthResult {
    HealthResult {
        start,
        end: now_rfc3339_nanos(),
        exit_code,
        output,
    }
}

/// The `Health` request: the current health, or once its status differs from `from` (or the
/// container has exited).
pub async fn request(shim: &Shim, from: Option<HealthStatus>) -> Response {
    let Some(h) = &shim.health else {
        return error(format!("container {} has no healthcheck", shim.args.id));
    };
    let mut rx = h.state.subscribe();
    if let Some(from) = from {
        let mut exit = shim.exit.subscribe();
        tokio::select! {
            _ = rx.wait_for(|health| health.status != from) => {}
            _ = exit.wait_for(|e| e.is_some()) => {}
        }
    }
    let health = rx.borrow().clone();
    Response::Health(health)
}

/// Go's `time.Duration` `String()`: `30s`, `1m30s`, `1.5s`, `500ms`.
pub fn go_duration(d: Duration) -> String {
    let n = d.as_nanos();
    let frac = |n: u128, unit: u128| {
        let (whole, rest) = (n / unit, n % unit);
        if rest == 0 {
            return whole.to_string();
        }
        let width = unit.ilog10() as usize;
        let digits = format!("{rest:0width$}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    };
    const S: u128 = 1_000_000_000;
    match n {
        0 => "0s".into(),
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => format!("{}µs", frac(n, 1_000)),
        n if n < S => format!("{}ms", frac(n, 1_000_000)),
        n => {
            let (h, m) = (n / (3600 * S), n / (60 * S) % 60);
            let s = frac(n % (60 * S), S);
            if h > 0 {
                format!("{h}h{m}m{s}s")
            } else if m > 0 {
                format!("{m}m{s}s")
            } else {
                format!("{s}s")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(code: i64) -> HealthResult {
        HealthResult {
            exit_code: code,
            ..Default::default()
        }
    }

    #[test]
    fn dockers_state_machine() {
        let h = Health::default();
        assert_eq!(h.status, HealthStatus::Starting);
        // Failures in the start period do not count while starting.
        let h = apply(&h, res(1), 2, true);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Starting, 0));
        // A success makes it healthy, in the start period or not.
        let h = apply(&h, res(0), 2, true);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Healthy, 0));
        // Once healthy, failures count even in the start period.
        let h = apply(&h, res(1), 2, true);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Healthy, 1));
        let h = apply(&h, res(-1), 2, false);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Unhealthy, 2));
        let mut h = apply(&h, res(0), 2, false);
        assert_eq!((h.status, h.failing_streak), (HealthStatus::Healthy, 0));
        for _ in 0..10 {
            h = apply(&h, res(3), 2, false);
        }
        assert_eq!(h.log.len(), MAX_LOG_ENTRIES);
        assert_eq!(h.failing_streak, 10);
    }

    #[test]
    fn probe_process_is_inits_with_the_probe_args() {
        let init = serde_json::json!({
            "args": ["nginx"], "env": ["A=1"], "cwd": "/srv", "user": {"uid": 7, "gid": 8},
            "terminal": true, "consoleSize": {"width": 80, "height": 24},
        });
        let config = HealthConfig {
            test: vec!["CMD-SHELL".into(), "exit 0".into()],
            ..Default::default()
        };
        let h = HealthMonitor::new(Some(&config), &init).unwrap();
        assert_eq!(
            h.process["args"],
            serde_json::json!(["/bin/sh", "-c", "exit 0"])
        );
        assert_eq!(h.process["terminal"], false);
        assert!(h.process.get("consoleSize").is_none());
        assert_eq!(h.process["user"]["uid"], 7);
        assert_eq!(h.process["env"], serde_json::json!(["A=1"]));
        assert_eq!(h.process["cwd"], "/srv");
        assert_eq!(h.current().status, HealthStatus::Starting);
        let none = HealthConfig {
            test: vec!["NONE".into()],
            ..Default::default()
        };
        assert!(HealthMonitor::new(Some(&none), &init).is_none());
        assert!(HealthMonitor::new(None, &init).is_none());
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_secs(60)), "1m0s");
        assert_eq!(go_duration(Duration::from_secs(7200)), "2h0m0s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(go_duration(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(go_duration(Duration::ZERO), "0s");
    }
}
