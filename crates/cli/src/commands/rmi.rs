//! `berth rmi [-f] [--no-prune] IMAGE...`: prints "Untagged: ..." / "Deleted: ...".

use anyhow::Result;
use berth_api::image::ImageDeleteItem;
use berth_client::Client;
use clap::Args;

use super::finish;

#[derive(Args, Debug)]
pub struct RmiArgs {
    /// Force removal of the image
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// Do not delete untagged parents
    #[arg(long = "no-prune")]
    pub no_prune: bool,
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

pub fn render(items: &[ImageDeleteItem]) -> String {
    let mut out = String::new();
    for item in items {
        if let Some(u) = &item.untagged {
            out.push_str(&format!("Untagged: {u}\n"));
        }
        if let Some(d) = &item.deleted {
            out.push_str(&format!("Deleted: {d}\n"));
        }
    }
    out
}

pub async fn run(client: &Client, a: RmiArgs) -> Result<i32> {
    let mut errors = Vec::new();
    for img in &a.images {
        match client.image_remove(img, a.force, a.no_prune).await {
            Ok(v) => out!("{}", render(&v)),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    finish(errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rmi_output_matches_trace() {
        let v: Vec<ImageDeleteItem> = serde_json::from_value(json!([{"Untagged": "127.0.0.1:5077/bb:1"}, {"Untagged": "127.0.0.1:5077/bb@sha256:68b2"}, {"Deleted": "sha256:abc"}])).unwrap();
        assert_eq!(
            render(&v),
            "Untagged: 127.0.0.1:5077/bb:1\nUntagged: 127.0.0.1:5077/bb@sha256:68b2\nDeleted: sha256:abc\n"
        );
    }
}
