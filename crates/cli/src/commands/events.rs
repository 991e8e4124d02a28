//! `berth events`: `GET /events` (one JSON object per line), printed like docker's
//! `printOutput` or through `--format`.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use chrono::{Local, TimeZone, Utc};
use clap::Args;
use gotmpl::Value as TValue;
use serde_json::Value;

use super::filters_json;
use super::logs::get_timestamp;
use crate::client::{Client, JsonLines, Query};
use crate::format::{self, to_tvalue, JSON_KEY};

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'json', 'TEMPLATE'
    #[arg(long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Show all events created since timestamp
    #[arg(long = "since", value_name = "string")]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long = "until", value_name = "string")]
    pub until: Option<String>,
}

pub fn events_query(a: &EventsArgs) -> Result<Query> {
    let now = Utc::now();
    let mut q = Query::new();
    if let Some(s) = &a.since {
        q = q.set("since", get_timestamp(s, now)?);
    }
    if let Some(u) = &a.until {
        q = q.set("until", get_timestamp(u, now)?);
    }
    if let Some(f) = filters_json(&a.filter)? {
        q = q.set("filters", f);
    }
    Ok(q)
}

pub async fn run(client: &Client, a: EventsArgs) -> Result<i32> {
    let q = events_query(&a)?;
    let tmpl = match a.format.as_deref() {
        None | Some("") => None,
        Some(f) => Some(format::parse(f, "{{json .}}")?),
    };
    let resp = client.get("/events", &q).await?;
    let mut lines = JsonLines::new(resp);
    while let Some(ev) = lines.next().await? {
        let line = match &tmpl {
            None => default_line(&ev),
            Some(t) => t.render(&context(&ev))?,
        };
        outln!("{line}");
    }
    Ok(0)
}

/// Go's `RFC3339NanoFixed` in local time: "2026-11-23T15:51:14.123456789Z".
pub fn rfc3339_nano_fixed(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let sub = nanos.rem_euclid(1_000_000_000) as u32;
    match Local.timestamp_opt(secs, sub).single() {
        Some(t) => {
            let zone = if t.offset().local_minus_utc() == 0 {
                "Z".to_string()
            } else {
                t.format("%:z").to_string()
            };
            format!("{}{zone}", t.format("%Y-%m-%dT%H:%M:%S%.9f"))
        }
        None => String::new(),
    }
}

/// `<time> <type> <action> <actor id> (k=v, ...)` with the attributes sorted by key.
pub fn default_line(ev: &Value) -> String {
    let mut out = String::new();
    let nano = ev.get("timeNano").and_then(Value::as_i64).unwrap_or(0);
    let secs = ev.get("time").and_then(Value::as_i64).unwrap_or(0);
    if nano != 0 {
        out.push_str(&rfc3339_nano_fixed(nano));
        out.push(' ');
    } else if secs != 0 {
        out.push_str(&rfc3339_nano_fixed(secs * 1_000_000_000));
        out.push(' ');
    }
    let s = |k: &str| ev.get(k).and_then(Value::as_str).unwrap_or("");
    let actor_id = ev
        .pointer("/Actor/ID")
        .and_then(Value::as_str)
        .unwrap_or("");
    out.push_str(&format!("{} {} {}", s("Type"), s("Action"), actor_id));
    if let Some(attrs) = ev.pointer("/Actor/Attributes").and_then(Value::as_object) {
        if !attrs.is_empty() {
            let mut kv: Vec<(String, String)> = attrs
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect();
            kv.sort();
            let joined: Vec<String> = kv.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!(" ({})", joined.join(", ")));
        }
    }
    out
}

/// Template data with Go's field names (`.Status`, `.ID`, `.TimeNano`...); `{{json .}}` gives
/// the wire JSON.
pub fn context(ev: &Value) -> TValue {
    let mut m: BTreeMap<Arc<str>, TValue> = BTreeMap::new();
    let get = |k: &str| {
        ev.get(k)
            .map(to_tvalue)
            .unwrap_or(TValue::String("".into()))
    };
    for (go, wire) in [
        ("Status", "status"),
        ("ID", "id"),
        ("From", "from"),
        ("Type", "Type"),
        ("Action", "Action"),
        ("Actor", "Actor"),
        ("Scope", "scope"),
        ("Time", "time"),
        ("TimeNano", "timeNano"),
    ] {
        m.insert(Arc::from(go), get(wire));
    }
    m.insert(Arc::from(JSON_KEY), TValue::String(ev.to_string().into()));
    TValue::Map(Arc::new(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn default_lines_match_trace() {
        // Runs in whatever TZ the test has; compare against the same conversion.
        let ev = json!({"status":"die","id":"1a789a01f04a","from":"busybox","Type":"container","Action":"die","Actor":{"ID":"1a789a01f04a","Attributes":{"name":"gallant_kirch","image":"busybox","exitCode":"0"}},"scope":"local","time":1795448408,"timeNano":1795448408438599025i64});
        let line = default_line(&ev);
        let ts = rfc3339_nano_fixed(1795448408438599025);
        assert_eq!(
            line,
            format!(
                "{ts} container die 1a789a01f04a (exitCode=0, image=busybox, name=gallant_kirch)"
            )
        );
        let ev = json!({"Type":"network","Action":"connect","Actor":{"ID":"7ff7","Attributes":{}},"time":0,"timeNano":0});
        assert_eq!(default_line(&ev), "network connect 7ff7");
    }

    #[test]
    fn utc_timestamp_format() {
        if Local
            .timestamp_opt(0, 0)
            .single()
            .map(|t| t.offset().local_minus_utc())
            == Some(0)
        {
            assert_eq!(
                rfc3339_nano_fixed(1795448408438599025),
                "2026-11-23T15:40:08.438599025Z"
            );
        }
    }

    #[test]
    fn templates() {
        let ev = json!({"status":"start","id":"abc","from":"busybox","Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"name":"t3"}},"scope":"local","time":1,"timeNano":1000000000});
        let t = format::parse(
            "{{.Status}} {{.ID}} {{.Actor.Attributes.name}} {{.TimeNano}}",
            "",
        )
        .unwrap();
        assert_eq!(t.render(&context(&ev)).unwrap(), "start abc t3 1000000000");
        let t = format::parse("{{json .}}", "").unwrap();
        let out: Value = serde_json::from_str(&t.render(&context(&ev)).unwrap()).unwrap();
        assert_eq!(out, ev);
    }
}
