//! The `attrs` of json-file entries from the `labels`, `labels-regex`, `env`, `env-regex` and
//! `tag` options, as Docker's `Info.ExtraAttributes` and `ParseLogTag` make them. The daemon
//! computes them (it knows the container) and hands them to the shim.

use crate::error::{LogError, Result};
use std::collections::BTreeMap;

/// What the options may refer to.
#[derive(Debug, Clone, Default)]
pub struct ContainerInfo {
    /// The full container id.
    pub id: String,
    /// The name, with or without its leading `/`.
    pub name: String,
    /// The full image id (`sha256:...` or hex).
    pub image_id: String,
    /// The image as the user named it.
    pub image_name: String,
    pub labels: BTreeMap<String, String>,
    /// `KEY=value` entries.
    pub env: Vec<String>,
}

/// The attributes `opts` ask for; empty when they ask for none.
pub fn extra_attrs(
    opts: &BTreeMap<String, String>,
    info: &ContainerInfo,
) -> Result<BTreeMap<String, String>> {
    let mut extra = BTreeMap::new();
    let list = |key: &str| {
        opts.get(key)
            .filter(|v| !v.is_empty())
            .map(|v| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    for key in list("labels") {
        if let Some(v) = info.labels.get(&key) {
            extra.insert(key, v.clone());
        }
    }
    if let Some(re) = regex_opt(opts, "labels-regex")? {
        for (k, v) in &info.labels {
            if re.is_match(k) {
                extra.insert(k.clone(), v.clone());
            }
        }
    }
    let env: BTreeMap<&str, &str> = info.env.iter().filter_map(|e| e.split_once('=')).collect();
    for key in list("env") {
        if let Some(v) = env.get(key.as_str()) {
            extra.insert(key, v.to_string());
        }
    }
    if let Some(re) = regex_opt(opts, "env-regex")? {
        for (k, v) in &env {
            if re.is_match(k) {
                extra.insert(k.to_string(), v.to_string());
            }
        }
    }
    // json-file has no default tag: only one the user asked for.
    if let Some(template) = opts.get("tag").filter(|t| !t.is_empty()) {
        extra.insert("tag".into(), render_tag(template, info)?);
    }
    Ok(extra)
}

fn regex_opt(opts: &BTreeMap<String, String>, key: &str) -> Result<Option<regex::Regex>> {
    match opts.get(key).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(re) => regex::Regex::new(re)
            .map(Some)
            .map_err(|e| LogError::InvalidOption(format!("error parsing regexp: {e}"))),
    }
}

/// Docker's log tag template: `{{.ID}}` (12 characters), `{{.FullID}}`, `{{.Name}}`,
/// `{{.ImageID}}` (12), `{{.ImageFullID}}`, `{{.ImageName}}`, `{{.DaemonName}}`.
pub fn render_tag(template: &str, info: &ContainerInfo) -> Result<String> {
    let short = |s: &str| s.chars().take(12).collect::<String>();
    let image_hex = info
        .image_id
        .strip_prefix("sha256:")
        .unwrap_or(&info.image_id);
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| {
            LogError::InvalidOption(format!(
                "template: log-tag:1: unclosed action in {template:?}"
            ))
        })?;
        let value = match after[..close].trim() {
            ".ID" => short(&info.id),
            ".FullID" => info.id.clone(),
            ".Name" => info.name.trim_start_matches('/').to_string(),
            ".ImageID" => short(image_hex),
            ".ImageFullID" => info.image_id.clone(),
            ".ImageName" => info.image_name.clone(),
            ".DaemonName" => "docker".to_string(),
            other => {
                return Err(LogError::InvalidOption(format!(
                    "template: log-tag:1: unsupported field {other:?}"
                )))
            }
        };
        out.push_str(&value);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ContainerInfo {
        ContainerInfo {
            id: "0123456789abcdef0123".into(),
            name: "/web".into(),
            image_id: "sha256:fedcba9876543210aa".into(),
            image_name: "busybox:latest".into(),
            labels: BTreeMap::from([
                ("app".into(), "shop".into()),
                ("com.x.tier".into(), "front".into()),
                ("other".into(), "no".into()),
            ]),
            env: vec!["REGION=eu".into(), "SECRET=s".into(), "ZONE=b".into()],
        }
    }

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn labels_env_and_regexes() {
        let a = extra_attrs(
            &opts(&[
                ("labels", "app,missing"),
                ("labels-regex", "^com\\.x\\."),
                ("env", "REGION"),
                ("env-regex", "^ZO"),
            ]),
            &info(),
        )
        .unwrap();
        assert_eq!(
            a,
            BTreeMap::from([
                ("app".to_string(), "shop".to_string()),
                ("com.x.tier".into(), "front".into()),
                ("REGION".into(), "eu".into()),
                ("ZONE".into(), "b".into()),
            ])
        );
        assert!(extra_attrs(&opts(&[]), &info()).unwrap().is_empty());
        assert!(extra_attrs(&opts(&[("env-regex", "(")]), &info()).is_err());
    }

    #[test]
    fn tag_templates() {
        let a = extra_attrs(
            &opts(&[("tag", "{{.Name}}/{{.ID}}/{{.ImageName}}")]),
            &info(),
        )
        .unwrap();
        assert_eq!(a["tag"], "web/0123456789ab/busybox:latest");
        assert_eq!(
            render_tag("{{ .ImageID }}-{{.DaemonName}}", &info()).unwrap(),
            "fedcba987654-docker"
        );
        assert!(render_tag("{{.Nope}}", &info()).is_err());
        assert!(render_tag("{{.ID", &info()).is_err());
        assert_eq!(render_tag("plain", &info()).unwrap(), "plain");
    }
}
