//! `berth push [-a] [-q] NAME[:TAG]`: uploads an image (or every tag of a repository) to
//! its registry, with the stored credentials.

use anyhow::{Context, Result};
use berth_client::Client;
use berth_reference::Reference;
use clap::Args;

#[derive(Args, Debug)]
pub struct PushArgs {
    /// Push all tags of an image to the repository
    #[arg(short = 'a', long = "all-tags")]
    pub all_tags: bool,
    /// Suppress verbose output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    #[arg(value_name = "NAME[:TAG]")]
    pub name: String,
}

pub async fn run(client: &Client, a: PushArgs) -> Result<i32> {
    let parsed = Reference::parse(&a.name)?;
    let tagged = parsed.tag().is_some() || parsed.digest().is_some();
    if a.all_tags && tagged {
        anyhow::bail!("tag can't be used with --all-tags/-a");
    }
    let r = if !a.all_tags && !tagged {
        if !a.quiet {
            outln!("Using default tag: latest");
        }
        parsed.with_default_tag()
    } else {
        parsed
    };
    let auth = super::pull::stored_auth(&r).context("reading the stored credentials")?;
    let name = r.familiar_name();
    let stream = client.image_push(&name, r.tag(), auth.as_ref()).await?;
    crate::progress::print_stream(stream, a.quiet, false).await?;
    if a.quiet {
        outln!("{}", r.familiar());
    }
    Ok(0)
}
