//! `berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]`

use anyhow::Result;
use clap::Args;

use berth_client::Client;
use berth_reference::{Reference, DEFAULT_TAG};

use crate::error::Exit;

#[derive(Args, Debug)]
pub struct TagArgs {
    #[arg(value_name = "SOURCE_IMAGE[:TAG]")]
    pub source: String,
    #[arg(value_name = "TARGET_IMAGE[:TAG]")]
    pub target: String,
}

/// docker's `ImageTag`: the target normalized (`docker.io/library/x`), tag defaulted to
/// latest; returns (repository, tag).
pub fn tag_target(target: &str) -> Result<(String, String)> {
    if target.contains('@') {
        return Err(Exit::new(1, "refusing to create a tag with a digest reference").into());
    }
    let r = Reference::parse(target).map_err(|e| {
        Exit::new(
            1,
            format!("Error parsing reference: \"{target}\" is not a valid repository/tag: {e}"),
        )
    })?;
    let tag = r.tag().unwrap_or(DEFAULT_TAG).to_string();
    Ok((r.name(), tag))
}

pub async fn run(client: &Client, a: TagArgs) -> Result<i32> {
    let (repo, tag) = tag_target(&a.target)?;
    client.image_tag(&a.source, &repo, &tag).await?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_client::Query;

    fn tag_query(target: &str) -> Result<Query> {
        let (repo, tag) = tag_target(target)?;
        Ok(Query::new().set("repo", repo).set("tag", tag))
    }

    #[test]
    fn tag_queries_match_traces() {
        assert_eq!(
            tag_query("127.0.0.1:5077/bb:1").unwrap().encode(),
            "repo=127.0.0.1%3A5077%2Fbb&tag=1"
        );
        assert_eq!(
            tag_query("committed").unwrap().encode(),
            "repo=docker.io%2Flibrary%2Fcommitted&tag=latest"
        );
        assert!(tag_query("Bad").is_err());
    }
}
