//! The supervisor: creates the container, then serves the socket, pumps output and reaps
//! until init exits, records the exit and cleans up.

use crate::args::StartArgs;
use crate::cgroup::{self, Cgroup};
use crate::clock::now_rfc3339_nanos;
use crate::daemonize::Report;
use crate::driver::{self, RuntimeDriver};
use crate::exit;
use crate::health::HealthMonitor;
use crate::output::{self, Hub, STREAM_STDERR, STREAM_STDOUT};
use crate::readonly_mounts;
use crate::server;
use crate::shim::{Shim, DRAIN_GRACE};
use crate::stdio::{self, FdIo, Streams};
use anyhow::{bail, Context, Result};
use berth_logging::{ForkCompressor, LogConfig, LogWriter};
use berth_shim_protocol::{
    ExitStatus, ShimConfig, StartReport, INIT_PID_FILE, SHIM_PID_FILE, SOCKET_NAME,
};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::os::unix::net::UnixListener as StdUnixListener;
use std::rc::Rc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// Runs the long-lived shim; returns its exit code.
pub async fn run(args: StartArgs, mut report: Report) -> i32 {
    let created = match create(&args) {
        Ok(s) => s,
        Err(e) => {
            // Nothing of a failed create may outlive it (an OCI runtime process stuck on a
            // channel, an init that never joined the cgroup): the daemon is told only after.
            exit::kill_children();
            report.send(&StartReport::Failed {
                message: format!("{e:#}"),
            });
            return 1;
        }
    };
    report.send(&StartReport::Created { pid: created.pid });
    drop(report);
    crate::memory::shed_startup_memory_soon();
    supervise(args, created).await;
    0
}

struct Created {
    driver: Box<dyn RuntimeDriver>,
    pid: i32,
    cgroup: Cgroup,
    listener: StdUnixListener,
    streams: Streams,
    log: LogWriter,
    config: ShimConfig,
    /// The spec's `process`, the template of health probes.
    init_process: serde_json::Value,
}

/// Everything up to a created container whose init waits for `Start`. On error, whatever
/// was created is removed.
fn create(args: &StartArgs) -> Result<Created> {
    let state = &args.state;
    std::fs::write(state.join(SHIM_PID_FILE), std::process::id().to_string())
        .context("writing shim.pid")?;
    let config_path = args.bundle.join("config.json");
    let spec: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&config_path)
            .with_context(|| format!("reading {}", config_path.display()))?,
    )
    .with_context(|| format!("parsing {}", config_path.display()))?;
    let terminal = spec
        .pointer("/process/terminal")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    if terminal != args.tty {
        bail!(
            "--tty is {} but process.terminal in config.json is {terminal}",
            args.tty
        );
    }
    let cgroup = Cgroup::new(&cgroup::cgroups_path_of(&spec).unwrap_or_default());

    // Orphans of the container (exec'd processes, daemons) are re-parented to us to reap.
    nix::sys::prctl::set_child_subreaper(true).context("PR_SET_CHILD_SUBREAPER")?;
    let config = ShimConfig::read(state).context("reading shim-config.json")?;
    let log = open_log(&config, &args.log)?;

    // Listen before the container exists, so a client may connect (e.g. to attach) as soon
    // as the socket appears.
    let sock = state.join(SOCKET_NAME);
    let _ = std::fs::remove_file(&sock);
    let listener =
        StdUnixListener::bind(&sock).with_context(|| format!("binding {}", sock.display()))?;

    let result = (|| {
        let (pio, sio) = stdio::setup(args.tty, args.stdin, &state.join("console.sock"))?;
        let driver = driver::new(args);
        let created = driver.create(&spec, pio).and_then(|pid| {
            let streams = sio.into_streams()?;
            if readonly_mounts::wanted(&spec) {
                readonly_mounts::apply(pid)?;
            }
            streams.apply_console_size(&spec["process"]);
            std::fs::write(state.join(INIT_PID_FILE), pid.to_string())
                .context("writing init.pid")?;
            Ok((pid, streams))
        });
        match created {
            Ok(c) => Ok((driver, c)),
            Err(e) => {
                let _ = driver.delete();
                Err(e)
            }
        }
    })();
    match result {
        Ok((driver, (pid, streams))) => Ok(Created {
            driver,
            pid,
            cgroup,
            listener,
            streams,
            log,
            config,
            init_process: spec["process"].clone(),
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&sock);
            Err(e)
        }
    }
}

async fn supervise(args: StartArgs, created: Created) {
    let Created {
        driver,
        pid,
        cgroup,
        listener,
        streams,
        log,
        config,
        init_process,
    } = created;
    let health = HealthMonitor::new(config.healthcheck.as_ref(), &init_process);
    let log = Rc::new(RefCell::new(log));
    let hub = Rc::new(Hub::default());

    // Output pumps: one task drives both streams so one handle covers the drain.
    let (pty, stdin, pumps) = match streams {
        Streams::Pty(master) => {
            let m = FdIo::new(master).ok().map(Rc::new);
            let (h, l) = (hub.clone(), log.clone());
            let pump_src = m.clone();
            let task = tokio::task::spawn_local(async move {
                if let Some(m) = pump_src {
                    output::pump(m, STREAM_STDOUT, h, Some(l)).await
                }
            });
            let stdin = if args.stdin { m.clone() } else { None };
            (m, stdin, task)
        }
        Streams::Pipes {
            stdin,
            stdout,
            stderr,
        } => {
            let out = FdIo::new(stdout).ok().map(Rc::new);
            let err = FdIo::new(stderr).ok().map(Rc::new);
            let (h1, h2, l1, l2) = (hub.clone(), hub.clone(), log.clone(), log.clone());
            let task = tokio::task::spawn_local(async move {
                let a = async {
                    if let Some(o) = out {
                        output::pump(o, STREAM_STDOUT, h1, Some(l1)).await
                    }
                };
                let b = async {
                    if let Some(e) = err {
                        output::pump(e, STREAM_STDERR, h2, Some(l2)).await
                    }
                };
                tokio::join!(a, b);
            });
            let stdin = stdin.and_then(|fd| FdIo::new(fd).ok()).map(Rc::new);
            (None, stdin, task)
        }
    };

    let shim = Rc::new(Shim {
        args,
        driver,
        init_pid: pid,
        cgroup,
        hub,
        stdin: RefCell::new(stdin),
        stdin_claimed: Cell::new(false),
        pty,
        reaped: Cell::new(false),
        started: Cell::new(false),
        init_code: Cell::new(None),
        init_exited: Notify::new(),
        exit: watch::channel(None).0,
        execs: RefCell::new(HashMap::new()),
        exec_seq: Cell::new(0),
        connections: Cell::new(0),
        idle: Notify::new(),
        health,
    });

    tokio::task::spawn_local(reaper(shim.clone()));
    // Without a socket the container still runs, logs and gets its exit recorded.
    if let Ok(l) = listener
        .set_nonblocking(true)
        .and_then(|_| tokio::net::UnixListener::from_std(listener))
    {
        tokio::task::spawn_local(server::serve(shim.clone(), l));
    }

    shim.init_exited.notified().await;
    let exit_code = shim.init_code.get().unwrap_or(255);
    // Read before delete: deleting the container removes its cgroup and the counter.
    let oom_killed = shim.cgroup.oom_killed();
    let finished_at = now_rfc3339_nanos();

    let mut pumps = pumps;
    if tokio::time::timeout(DRAIN_GRACE, &mut pumps).await.is_err() {
        pumps.abort();
    }
    shim.hub.close();
    shim.stdin.borrow_mut().take();
    let status = ExitStatus {
        exit_code,
        oom_killed,
        finished_at,
    };
    let _ = exit::write_exit_file(&shim.args.state, &status);
    // The run's OCI runtime state (libcontainer's state dir, the cgroup) and the socket go before
    // the exit is told: once the daemon hears of it, it may start the container again on the
    // same paths, which a teardown running later would destroy (killing the new init).
    let _ = shim.driver.delete();
    let _ = std::fs::remove_file(shim.args.state.join(SOCKET_NAME));
    shim.exit.send_replace(Some(status));

    // Let Wait answers and the tails of attach streams go out. The daemon waits for this
    // process to end before it releases (and reuses) the state dir.
    let deadline = tokio::time::Instant::now() + DRAIN_GRACE;
    while shim.connections.get() > 0 {
        if tokio::time::timeout_at(deadline, shim.idle.notified())
            .await
            .is_err()
        {
            break;
        }
    }
}

/// The container's log as `config` asks (json-file with berth's default rotation when it says
/// nothing). Rotated files are gzipped by a forked child: the shim stays single-threaded.
fn open_log(config: &ShimConfig, json_path: &std::path::Path) -> Result<LogWriter> {
    let log_config = LogConfig::parse(&config.log.driver, &config.log.opts)
        .map_err(|e| anyhow::anyhow!(e.at_start()))?;
    LogWriter::open(
        &log_config,
        json_path,
        config.log.attrs.clone(),
        Box::new(ForkCompressor::default()),
    )
    .map_err(|e| anyhow::anyhow!(e.at_start()))
}

async fn reaper(shim: Rc<Shim>) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut sigchld = signal(SignalKind::child()).ok();
    loop {
        for (pid, code) in exit::reap_all() {
            shim.on_child_exit(pid, code);
        }
        match sigchld.as_mut() {
            Some(s) => {
                if s.recv().await.is_none() {
                    return;
                }
            }
            // No signal stream: fall back to polling.
            None => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
