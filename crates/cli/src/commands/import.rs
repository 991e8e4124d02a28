//! `berth import FILE|URL|- [REPOSITORY[:TAG]]`: streams the tarball as the body of
//! `POST /images/create?fromSrc=-` and prints the new image ID.

use anyhow::{Context, Result};
use berth_client::{empty_body, reader_body, Client, ImageImportOptions};
use clap::Args;

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long = "change", value_name = "list")]
    pub change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short = 'm', long = "message", value_name = "string")]
    pub message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long = "platform", value_name = "string")]
    pub platform: Option<String>,
    #[arg(value_name = "file|URL|-")]
    pub source: String,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

/// docker's `ImageImport` options: the reference goes as typed in `repo`, each change once.
pub fn import_options(a: &ImportArgs, from_src: &str) -> ImageImportOptions {
    ImageImportOptions {
        source: from_src.to_string(),
        repo: a.reference.clone(),
        tag: None,
        message: a.message.clone(),
        platform: a.platform.clone(),
        changes: a.change.clone(),
    }
}

pub async fn run(client: &Client, a: ImportArgs) -> Result<i32> {
    let is_url = a.source.starts_with("http://") || a.source.starts_with("https://");
    let (opts, body) = if is_url {
        (import_options(&a, &a.source), empty_body())
    } else if a.source == "-" {
        (import_options(&a, "-"), reader_body(tokio::io::stdin()))
    } else {
        let f = tokio::fs::File::open(&a.source)
            .await
            .with_context(|| format!("open {}", a.source))?;
        (import_options(&a, "-"), reader_body(f))
    };
    let mut lines = client.image_import(&opts, body).await?;
    while let Some(msg) = lines.next().await? {
        if let Some(err) = msg.failure() {
            anyhow::bail!("{err}");
        }
        if let Some(line) = super::create::progress_line(&msg) {
            outln!("{line}");
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: ImportArgs,
    }

    #[test]
    fn query_like_docker() {
        let a = T::try_parse_from([
            "t",
            "-c",
            "CMD [\"sh\"]",
            "-c",
            "ENV A=1",
            "-m",
            "hi",
            "rootfs.tar",
            "busybox:latest",
        ])
        .unwrap()
        .a;
        assert_eq!(
            import_options(&a, "-").query().encode(),
            "changes=CMD+%5B%22sh%22%5D&changes=ENV+A%3D1&fromSrc=-&message=hi&repo=busybox%3Alatest"
        );
    }
}
