//! `inspect`, `container inspect`, `image inspect`: the daemon's JSON as an array indented with
//! four spaces (key order kept, like docker's `json.Indent` of the raw answers), or a Go
//! template per object.

use anyhow::Result;
use berth_client::Client;
use clap::Args;
use serde_json::Value;

use crate::error::{not_found, Exit};
use crate::format;

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format output using a custom template: 'json', 'TEMPLATE'
    #[arg(short = 'f', long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short = 's', long = "size")]
    pub size: bool,
    /// Only inspect objects of the given type
    #[arg(long = "type", value_name = "string")]
    pub kind: Option<String>,
    #[arg(value_name = "NAME|ID", required = true)]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ContainerInspectArgs {
    /// Format output using a custom template: 'json', 'TEMPLATE'
    #[arg(short = 'f', long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Display total file sizes
    #[arg(short = 's', long = "size")]
    pub size: bool,
    #[arg(value_name = "CONTAINER", required = true)]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ImageInspectArgs {
    /// Format output using a custom template: 'json', 'TEMPLATE'
    #[arg(short = 'f', long = "format", value_name = "string")]
    pub format: Option<String>,
    #[arg(value_name = "IMAGE", required = true)]
    pub names: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Any,
    Container,
    Image,
}

pub async fn run(client: &Client, a: InspectArgs) -> Result<i32> {
    let kind = match a.kind.as_deref() {
        None | Some("") => Kind::Any,
        Some("container") => Kind::Container,
        Some("image") => Kind::Image,
        Some(
            t @ ("network" | "volume" | "node" | "service" | "task" | "plugin" | "secret"
            | "config"),
        ) => {
            return Err(
                Exit::new(1, format!("berth cannot inspect objects of type {t} yet")).into(),
            )
        }
        Some(t) => {
            return Err(Exit::new(1, format!("\"{t}\" is not a valid value for --type")).into())
        }
    };
    inspect(client, &a.names, a.format.as_deref(), a.size, kind).await
}

pub async fn run_container(client: &Client, a: ContainerInspectArgs) -> Result<i32> {
    inspect(
        client,
        &a.names,
        a.format.as_deref(),
        a.size,
        Kind::Container,
    )
    .await
}

pub async fn run_image(client: &Client, a: ImageInspectArgs) -> Result<i32> {
    inspect(client, &a.names, a.format.as_deref(), false, Kind::Image).await
}

/// The raw answer: inspect prints the daemon's JSON document, in the daemon's key order.
async fn fetch(client: &Client, name: &str, size: bool, kind: Kind) -> Result<String> {
    if kind != Kind::Image {
        match client.container_inspect_raw(name, size).await {
            Ok(b) => return Ok(String::from_utf8_lossy(&b).into_owned()),
            Err(e) if kind == Kind::Any && e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    match client
        .image_inspect_raw(name)
        .await
        .map_err(anyhow::Error::from)
    {
        Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
        Err(e) if kind == Kind::Any && not_found(&e) => {
            Err(anyhow::anyhow!("Error: No such object: {name}"))
        }
        Err(e) => Err(e),
    }
}

async fn inspect(
    client: &Client,
    names: &[String],
    fmt: Option<&str>,
    size: bool,
    kind: Kind,
) -> Result<i32> {
    let mut raws = Vec::new();
    let mut errors = Vec::new();
    for name in names {
        match fetch(client, name, size, kind).await {
            Ok(raw) => raws.push(raw),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    let out = render(&raws, fmt, &mut errors);
    out!("{out}");
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(Exit::new(1, errors.join("\n")).into())
    }
}

/// Renders the raw answers: indented array, or the template once per object.
pub fn render(raws: &[String], fmt: Option<&str>, errors: &mut Vec<String>) -> String {
    match fmt.map(str::trim) {
        None | Some("") => {
            if raws.is_empty() {
                return "[]\n".to_string();
            }
            let joined = format!("[{}]", raws.join(","));
            format!("{}\n", format::json_indent(&joined, "    "))
        }
        Some(f) => {
            let src = if f == "json" { "{{json .}}" } else { f };
            let mut out = String::new();
            for raw in raws {
                if src == "{{json .}}" {
                    // Keep the daemon's key order for the whole object.
                    out.push_str(raw.trim());
                    out.push('\n');
                    continue;
                }
                let v: Value = match serde_json::from_str(raw) {
                    Ok(v) => v,
                    Err(e) => {
                        errors.push(format!("invalid JSON from daemon: {e}"));
                        continue;
                    }
                };
                match format::render_json_with(src, &v) {
                    Ok(s) => {
                        out.push_str(&s);
                        out.push('\n');
                    }
                    Err(e) => errors.push(format!("{e:#}")),
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = "{\"Id\":\"e936\",\"State\":{\"Status\":\"running\",\"Running\":true},\"Config\":{\"Labels\":{\"k\":\"v\"},\"Env\":null}}\n";

    #[test]
    fn indented_array_keeps_order() {
        let mut errs = Vec::new();
        let out = render(&[RAW.to_string()], None, &mut errs);
        assert_eq!(
            out,
            "[\n    {\n        \"Id\": \"e936\",\n        \"State\": {\n            \"Status\": \"running\",\n            \"Running\": true\n        },\n        \"Config\": {\n            \"Labels\": {\n                \"k\": \"v\"\n            },\n            \"Env\": null\n        }\n    }\n]\n"
        );
        assert_eq!(render(&[], None, &mut errs), "[]\n");
        assert!(errs.is_empty());
    }

    #[test]
    fn templates_per_object() {
        let mut errs = Vec::new();
        let raws = vec![RAW.to_string(), RAW.to_string()];
        assert_eq!(
            render(&raws, Some("{{.State.Status}}"), &mut errs),
            "running\nrunning\n"
        );
        assert_eq!(
            render(
                &raws[..1],
                Some("{{index .Config.Labels \"k\"}}"),
                &mut errs
            ),
            "v\n"
        );
        assert_eq!(
            render(&raws[..1], Some("{{json .State}}"), &mut errs),
            "{\"Running\":true,\"Status\":\"running\"}\n"
        );
        assert_eq!(render(&raws[..1], Some("json"), &mut errs), RAW);
        assert!(errs.is_empty());
    }
}
