//! berthd, the berth daemon, as a library: its settings (flags and config file), its unix
//! listeners, the HTTP server and the routes from the Engine API to the engine.

mod config;
mod convert;
mod listen;
mod routes;
mod server;

pub use config::Args;

use anyhow::Context;

/// Runs the daemon with parsed flags until it fails: loads its settings, opens the engine
/// and serves the Engine API.
pub async fn run(args: Args) -> anyhow::Result<()> {
    // As dockerd: files berth makes for containers (etc files, copied layers, the
    // containers' own umask) do not depend on how the daemon was started.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    let settings = config::Settings::load(args)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&settings.log_level)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let deps = berth_engine::seams::EngineDeps::real(&settings.engine);
    let engine = berth_engine::Engine::open(settings.engine.clone(), deps)
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
