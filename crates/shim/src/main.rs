//! berth-shim: supervises one container. See `berth_shim_protocol` for the contract.

mod args;
mod cgroup;
mod daemonize;
mod driver;
mod exec;
mod exit;
mod forked;
mod logfile;
mod memory;
mod output;
mod readonly_mounts;
mod server;
mod shim;
mod stdio;

use anyhow::{Context, Result};
use berth_shim_protocol::StartReport;
use std::os::unix::fs::DirBuilderExt;

fn main() {
    let args = match prepare() {
        Ok(a) => a,
        Err(e) => {
            // Still in the daemon's process: answer on stdout like any start failure.
            let report = StartReport::Failed {
                message: format!("{e:#}"),
            };
            if let Ok(line) = serde_json::to_string(&report) {
                println!("{line}");
            }
            eprintln!("berth-shim: {e:#}");
            std::process::exit(2);
        }
    };
    let report = match daemonize::detach() {
        Ok(r) => r,
        Err(_) => std::process::exit(1),
    };
    std::process::exit(run(args, report));
}

/// Parses and checks the arguments, makes paths absolute (the shim leaves its working
/// directory) and creates the state directory.
fn prepare() -> Result<args::StartArgs> {
    let mut args = args::parse(std::env::args().skip(1))?;
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
    local.block_on(&rt, shim::run(args, report))
}
