//! `berth rmi [-f] [--no-prune] IMAGE...`: prints "Untagged: ..." / "Deleted: ...".

use anyhow::Result;
use clap::Args;
use serde_json::Value;

use super::finish;
use crate::client::{path_escape, Client, Query};

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

pub fn render(items: &Value) -> String {
    let mut out = String::new();
    for item in items.as_array().into_iter().flatten() {
        if let Some(u) = item.get("Untagged").and_then(Value::as_str) {
            out.push_str(&format!("Untagged: {u}\n"));
        }
        if let Some(d) = item.get("Deleted").and_then(Value::as_str) {
            out.push_str(&format!("Deleted: {d}\n"));
        }
    }
    out
}

pub async fn run(client: &Client, a: RmiArgs) -> Result<i32> {
    let q = Query::new()
        .set_if(a.force, "force", "1")
        .set_if(a.no_prune, "noprune", "1");
    let mut errors = Vec::new();
    for img in &a.images {
        match client
            .delete(&format!("/images/{}", path_escape(img)), &q)
            .await
        {
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
        let v = json!([{"Untagged": "127.0.0.1:5077/bb:1"}, {"Untagged": "127.0.0.1:5077/bb@sha256:68b2"}, {"Deleted": "sha256:abc"}]);
        assert_eq!(
            render(&v),
            "Untagged: 127.0.0.1:5077/bb:1\nUntagged: 127.0.0.1:5077/bb@sha256:68b2\nDeleted: sha256:abc\n"
        );
    }
}
