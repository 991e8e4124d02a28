//! `berthd`: parses its flags and runs the daemon library.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    berthd::run(berthd::Args::parse()).await
}
