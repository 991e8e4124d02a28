//! `berth events`: `GET /events` (one JSON object per line), printed like docker's
//! `printOutput` or through `--format`.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use berth_api::event::EventMessage;
use berth_client::{Client, EventsOptions};
use chrono::{Local, TimeZone, Utc};
use clap::Args;
use gotmpl::Value as TValue;

use super::filters;
use crate::format::{self, to_tvalue, JSON_KEY};
use berth_api::timetypes::get_timestamp;

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

pub fn events_options(a: &EventsArgs) -> Result<EventsOptions> {
    let now = Utc::now();
    Ok(EventsOptions {
        since: a
            .since
            .as_deref()
            .map(|s| get_timestamp(s, now))
            .transpose()?,
        until: a
            .until
            .as_deref()
            .map(|u| get_timestamp(u, now))
            .transpose()?,
        filters: filters(&a.filter)?,
    })
}

pub async fn run(client: &Client, a: EventsArgs) -> Result<i32> {
    let opts = events_options(&a)?;
    let tmpl = match a.format.as_deref() {
        None | Some("") => None,
        Some(f) => Some(format::parse(f, "{{json .}}")?),
    };
    let mut lines = client.events(&opts).await?;
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
pub fn default_line(ev: &EventMessage) -> String {
    let mut out = String::new();
    let (nano, secs) = (ev.time_nano, ev.time);
    if nano != 0 {
        out.push_str(&rfc3339_nano_fixed(nano));
        out.push(' ');
    } else if secs != 0 {
        out.push_str(&rfc3339_nano_fixed(secs * 1_000_000_000));
        out.push(' ');
    }
    out.push_str(&format!("{} {} {}", ev.kind, ev.action, ev.actor.id));
    let attrs = &ev.actor.attributes;
    if !attrs.is_empty() {
        // A BTreeMap: already sorted by key.
        let joined: Vec<String> = attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push_str(&format!(" ({})", joined.join(", ")));
    }
    out
}

/// Template data with Go's field names (`.Status`, `.ID`, `.TimeNano`...); `{{json .}}` gives
/// the wire JSON.
pub fn context(ev: &EventMessage) -> TValue {
    let ev = serde_json::to_value(ev).unwrap_or_default();
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
    use serde_json::{json, Value};

    fn event(v: &Value) -> EventMessage {
        serde_json::from_value(v.clone()).unwrap()
    }

    #[test]
    fn default_lines_match_trace() {
        // Runs in whatever TZ the test has; compare against the same conversion.
        let ev = json!({"status":"die","id":"1a789a01f04a","from":"busybox","Type":"container","Action":"die","Actor":{"ID":"1a789a01f04a","Attributes":{"name":"gallant_kirch","image":"busybox","exitCode":"0"}},"scope":"local","time":1795448408,"timeNano":1795448408438599025i64});
        let line = default_line(&event(&ev));
        let ts = rfc3339_nano_fixed(1795448408438599025);
        assert_eq!(
            line,
            format!(
                "{ts} container die 1a789a01f04a (exitCode=0, image=busybox, name=gallant_kirch)"
            )
        );
        let ev = json!({"Type":"network","Action":"connect","Actor":{"ID":"7ff7","Attributes":{}},"time":0,"timeNano":0});
        assert_eq!(default_line(&event(&ev)), "network connect 7ff7");
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
        assert_eq!(
            t.render(&context(&event(&ev))).unwrap(),
            "start abc t3 1000000000"
        );
        let t = format::parse("{{json .}}", "").unwrap();
        let out: Value = serde_json::from_str(&t.render(&context(&event(&ev))).unwrap()).unwrap();
        assert_eq!(out, ev);
    }
}
