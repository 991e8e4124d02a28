//! `berth load [-i FILE] [-q]`: streams an archive (a file, or stdin when it is not a
//! terminal) to `POST /images/load` and prints what was loaded.

use std::io::IsTerminal;

use anyhow::{Context, Result};
use berth_client::{reader_body, Client};
use clap::Args;

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short = 'i', long, value_name = "string")]
    pub input: Option<String>,
    /// Suppress the load output
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

pub async fn run(client: &Client, a: LoadArgs) -> Result<i32> {
    let body = match a.input.as_deref().filter(|i| !i.is_empty()) {
        Some(path) => {
            let f = tokio::fs::File::open(path)
                .await
                .with_context(|| format!("open {path}"))?;
            reader_body(f)
        }
        None => {
            if std::io::stdin().is_terminal() {
                anyhow::bail!("requested load from stdin, but stdin is empty");
            }
            reader_body(tokio::io::stdin())
        }
    };
    // Quiet or not a terminal, the daemon leaves the byte counts out.
    let quiet = a.quiet || !std::io::stdout().is_terminal();
    let stream = client.image_load(body, quiet).await?;
    crate::progress::print_stream(stream, false, false).await?;
    Ok(0)
}
