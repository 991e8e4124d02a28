//! `berth top CONTAINER [ps OPTIONS]`

use anyhow::Result;
use berth_api::container::TopResponse;
use berth_client::Client;
use clap::Args;

use crate::format::tabwrite;

#[derive(Args, Debug)]
pub struct TopArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// ps options
    #[arg(
        value_name = "ps OPTIONS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub ps_args: Vec<String>,
}

pub async fn run(client: &Client, a: TopArgs) -> Result<i32> {
    let ps_args = (!a.ps_args.is_empty()).then(|| a.ps_args.join(" "));
    let v = client
        .container_top(&a.container, ps_args.as_deref())
        .await?;
    out!("{}", render(&v));
    Ok(0)
}

/// Titles and processes through Go's tabwriter (min width 20, padding 3), as docker does.
pub fn render(v: &TopResponse) -> String {
    let mut text = v.titles.join("\t");
    text.push('\n');
    for p in &v.processes {
        text.push_str(&p.join("\t"));
        text.push('\n');
    }
    tabwrite(&text, 20, 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn top_matches_trace() {
        let v: TopResponse = serde_json::from_value(json!({
            "Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
            "Processes": [["root", "20843", "20821", "0", "15:40", "?", "00:00:00", "sleep 1000"]]
        }))
        .unwrap();
        assert_eq!(
            render(&v),
            "UID                 PID                 PPID                C                   STIME               TTY                 TIME                CMD\n\
             root                20843               20821               0                   15:40               ?                   00:00:00            sleep 1000\n"
        );
    }
}
