//! berth-shim: supervises one container. See `berth_shim_protocol` for the contract.
//!
//! Modules depend one way: [`start`] → `supervise` (create, then serve until init exits) →
//! `server` (the socket) → `health` (probes on a timer) → `exec` → `shim` (the shared state)
//! → `driver` (libcontainer or runc), `cgroup`, `stdio`, `output` and the other leaves.

pub mod args;
mod cgroup;
mod clock;
mod daemonize;
mod driver;
mod exec;
mod exec_record;
mod exit;
mod forked;
mod health;
mod memory;
mod output;
mod readonly_mounts;
mod server;
mod shim;
mod stdio;
mod supervise;
mod wire;

use anyhow::{Context, Result};
use berth_shim_protocol::StartReport;
use std::os::unix::fs::DirBuilderExt;

/// Runs `berth-shim start` with parsed arguments: prepares, detaches from the daemon, and
/// supervises the container until it exits. Returns the process's exit code.
pub fn start(args: args::StartArgs) -> i32 {
    let args = match prepare(args) {
        Ok(a) => a,
        Err(e) => return refuse(&e),
    };
    let report = match daemonize::detach() {
        Ok(r) => r,
        Err(_) => return 1,
    };
    run(args, report)
}

/// Answers a start that failed before the shim detached: still in the daemon's process, on
/// stdout like any start failure. Returns the exit code.
pub fn refuse(e: &anyhow::Error) -> i32 {
    let report = StartReport::Failed {
        message: format!("{e:#}"),
    };
    if let Ok(line) = serde_json::to_string(&report) {
        println!("{line}");
    }
    eprintln!("berth-shim: {e:#}");
    2
}

/// Makes paths absolute (the shim leaves its working directory) and creates the state
/// directory.
fn prepare(mut args: args::StartArgs) -> Result<args::StartArgs> {
    daemonize::reset_signals()?;
    daemonize::drop_inherited_caps()?;
    // The daemon made it already; if not, it is private all the same.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&args.state)
        .with_context(|| format!("creating state dir {}", args.state.display()))?;
    args.state = args.state.canonicalize()?;
    args.bundle = args
        .bundle
        .canonicalize()
        .with_context(|| format!("bundle {}", args.bundle.display()))?;
    let cwd = std::env::current_dir()?;
    if args.log.is_relative() {
        args.log = cwd.join(&args.log);
    }
    if let Some(cache) = args.seccomp_cache.as_mut().filter(|c| c.is_relative()) {
        *cache = cwd.join(&*cache);
    }
    if let args::RuntimeKind::External(bin) = &mut args.runtime {
        if bin.is_relative() && bin.components().count() > 1 {
            *bin = cwd.join(&*bin);
        }
    }
    Ok(args)
}

fn run(args: args::StartArgs, mut report: daemonize::Report) -> i32 {
    // One thread only: libcontainer forks, which is only safe from a single-threaded process.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            report.send(&StartReport::Failed {
                message: format!("building the tokio runtime: {e}"),
            });
            return 1;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, supervise::run(args, report))
}
