//! `berth top CONTAINER [ps OPTIONS]`

use anyhow::Result;
use clap::Args;
use serde_json::Value;

use crate::client::{path_escape, Client, Query};
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
    let q = Query::new().set_if(!a.ps_args.is_empty(), "ps_args", a.ps_args.join(" "));
    let v = client
        .get_json(
            &format!("/containers/{}/top", path_escape(&a.container)),
            &q,
        )
        .await?;
    out!("{}", render(&v));
    Ok(0)
}

/// Titles and processes through Go's tabwriter (min width 20, padding 3), as docker does.
pub fn render(v: &Value) -> String {
    let cells = |row: &Value| -> String {
        row.as_array()
            .map(|r| {
                r.iter()
                    .map(|c| {
                        c.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| c.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join("\t")
            })
            .unwrap_or_default()
    };
    let mut text = cells(&v["Titles"]);
    text.push('\n');
    if let Some(procs) = v["Processes"].as_array() {
        for p in procs {
            text.push_str(&cells(p));
            text.push('\n');
        }
    }
    tabwrite(&text, 20, 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn top_matches_trace() {
        let v = json!({
            "Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
            "Processes": [["root", "20843", "20821", "0", "15:40", "?", "00:00:00", "sleep 1000"]]
        });
        assert_eq!(
            render(&v),
            "UID                 PID                 PPID                C                   STIME               TTY                 TIME                CMD\n\
             root                20843               20821               0                   15:40               ?                   00:00:00            sleep 1000\n"
        );
    }
}
