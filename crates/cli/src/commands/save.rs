//! `berth save [-o FILE] IMAGE...`: the archive of `GET /images/get`, to a file (written
//! beside it, then renamed) or to stdout when it is not a terminal.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};
use berth_client::Client;
use clap::Args;

#[derive(Args, Debug)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long, value_name = "string")]
    pub output: Option<String>,
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

pub async fn run(client: &Client, a: SaveArgs) -> Result<i32> {
    let output = a.output.as_deref().filter(|o| !o.is_empty());
    if output.is_none() && std::io::stdout().is_terminal() {
        anyhow::bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    }
    let mut chunks = client.image_save(&a.images).await?;
    match output {
        Some(path) => {
            let path = Path::new(path);
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let mut tmp = tempfile::Builder::new()
                .prefix(".docker_temp_")
                .tempfile_in(dir)
                .with_context(|| {
                    format!(
                        "failed to save image: failed to create temporary file in {}",
                        dir.display()
                    )
                })?;
            while let Some(c) = chunks.next_chunk().await? {
                tmp.write_all(&c).context("failed to save image")?;
            }
            tmp.as_file().sync_all().context("failed to save image")?;
            tmp.persist(path)
                .map_err(|e| anyhow::anyhow!("failed to save image: {}", e.error))?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            while let Some(c) = chunks.next_chunk().await? {
                if let Err(e) = out.write_all(&c) {
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        std::process::exit(141);
                    }
                    return Err(e.into());
                }
            }
            out.flush()?;
        }
    }
    Ok(0)
}
