//! `berth pull [-q] [--platform P] NAME[:TAG|@DIGEST]`, and the stored credentials every
//! registry operation sends (`X-Registry-Auth`), as the docker CLI finds them.

use anyhow::{Context, Result};
use berth_api::auth::AuthConfig;
use berth_client::{Client, ImagePullOptions};
use berth_reference::Reference;
use clap::Args;

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Download all tagged images in the repository
    #[arg(short = 'a', long = "all-tags")]
    pub all_tags: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string")]
    pub platform: Option<String>,
    /// Suppress verbose output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    pub name: String,
}

/// The credentials `config.json` (or its helper) holds for the registry of `r`: what
/// `docker pull` and `docker push` send.
pub fn stored_auth(r: &Reference) -> Result<Option<AuthConfig>> {
    let server = registry_server(r.domain());
    let config = berth_credentials::ConfigFile::load_default()?;
    Ok(config.get(&server)?.map(|c| AuthConfig {
        username: c.username,
        password: c.password,
        identity_token: c.identity_token,
        server_address: server,
        ..AuthConfig::default()
    }))
}

/// The server a domain's credentials are kept for: Docker Hub's URL for `docker.io`.
pub fn registry_server(domain: &str) -> String {
    if domain == berth_reference::DEFAULT_DOMAIN {
        berth_credentials::DOCKER_HUB_KEY.to_string()
    } else {
        domain.to_string()
    }
}

pub async fn run(client: &Client, a: PullArgs) -> Result<i32> {
    let parsed = Reference::parse(&a.name)?;
    let name_only = parsed.tag().is_none() && parsed.digest().is_none();
    if a.all_tags && !name_only {
        anyhow::bail!("tag can't be used with --all-tags/-a");
    }
    let r = if a.all_tags {
        parsed
    } else {
        if name_only && !a.quiet {
            outln!("Using default tag: latest");
        }
        parsed.with_default_tag()
    };
    let opts = ImagePullOptions {
        image: r.name(),
        // No tag: every tag of the repository.
        tag: if a.all_tags {
            String::new()
        } else {
            r.tag_or_digest().to_string()
        },
        platform: a.platform.clone(),
        auth: stored_auth(&r).context("reading the stored credentials")?,
    };
    let stream = client.image_pull_with(&opts).await?;
    crate::progress::print_stream(stream, a.quiet, false).await?;
    outln!("{r}");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_credentials_are_under_its_url() {
        assert_eq!(registry_server("docker.io"), "https://index.docker.io/v1/");
        assert_eq!(registry_server("127.0.0.1:5000"), "127.0.0.1:5000");
    }
}
