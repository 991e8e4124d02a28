//! `berthd`: the berth daemon. Parses its settings, opens the engine, serves the Engine API.

mod config;
mod listen;
mod routes;
mod server;

use anyhow::Context;
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // As dockerd: files berth makes for containers (etc files, copied layers, the
    // containers' own umask) do not depend on how the daemon was started.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    let args = config::Args::parse();
    let settings = config::Settings::load(args)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&settings.log_level)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let engine = berth_engine::Engine::open(settings.engine.clone())
        .await
        .context("opening the engine")?;
    let listeners = listen::bind_all(
        &settings.hosts,
        settings.group.as_deref(),
        &settings.engine.exec_root,
    )?;
    tracing::info!(hosts = ?settings.hosts, "API listen");
    server::serve(engine, listeners).await
}
