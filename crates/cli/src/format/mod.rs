//! `--format` support: Go templates (through `gotmpl`) with docker's extra functions, the
//! `table` prefix with a Go-style tabwriter, and JSON printing like Go's `json.Indent`.

pub mod units;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result};
use gotmpl::Value as TValue;
use serde_json::Value;

/// Key under which a context carries its own JSON form, for `{{json .}}` when the template
/// field names differ from the wire names (events use `status` on the wire, `.Status` here).
pub const JSON_KEY: &str = "__json__";

/// A parsed `--format`: table or plain, and the template for one row.
pub struct Format {
    tmpl: gotmpl::Template,
    pub table: bool,
}

/// Docker's rules: `table` / `table TEMPLATE` / `json` / `TEMPLATE`; literal `\t` and `\n`
/// in the text become tab and newline.
pub fn parse(format: &str, default_table: &str) -> Result<Format> {
    let trimmed = format.trim();
    let (table, body) = if trimmed.is_empty() || trimmed == "table" {
        let d = default_table.trim();
        match d.strip_prefix("table") {
            Some(rest) => (true, rest.trim().to_string()),
            None => (false, d.to_string()),
        }
    } else if trimmed == "json" {
        (false, "{{json .}}".to_string())
    } else if let Some(rest) = trimmed.strip_prefix("table") {
        (true, rest.trim().to_string())
    } else {
        (false, format.to_string())
    };
    let body = body.replace("\\t", "\t").replace("\\n", "\n");
    let body = rewrite_label_calls(&body);
    let tmpl = template(&body)?;
    Ok(Format { tmpl, table })
}

/// Builds a template with docker's function set.
pub fn template(src: &str) -> Result<gotmpl::Template> {
    gotmpl::Template::new("")
        .func("json", |args| {
            let v = args.first().cloned().unwrap_or(TValue::Nil);
            Ok(TValue::String(to_json_string(&v).into()))
        })
        .func("split", |args| {
            let s = arg_str(args, 0);
            let sep = arg_str(args, 1);
            let parts: Vec<TValue> = if sep.is_empty() {
                s.chars()
                    .map(|c| TValue::String(c.to_string().into()))
                    .collect()
            } else {
                s.split(sep.as_str())
                    .map(|p| TValue::String(p.into()))
                    .collect()
            };
            Ok(TValue::List(parts.into()))
        })
        .func("join", |args| {
            let sep = arg_str(args, 1);
            let items: Vec<String> = match args.first() {
                Some(TValue::List(l)) => l.iter().map(display).collect(),
                Some(v) => vec![display(v)],
                None => vec![],
            };
            Ok(TValue::String(items.join(&sep).into()))
        })
        .func("lower", |args| {
            Ok(TValue::String(arg_str(args, 0).to_lowercase().into()))
        })
        .func("upper", |args| {
            Ok(TValue::String(arg_str(args, 0).to_uppercase().into()))
        })
        .func("title", |args| {
            let s = arg_str(args, 0);
            let mut out = String::with_capacity(s.len());
            let mut start = true;
            for c in s.chars() {
                if start && c.is_alphabetic() {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                start = !c.is_alphanumeric();
            }
            Ok(TValue::String(out.into()))
        })
        .func("pad", |args| {
            let s = arg_str(args, 0);
            let before = args.get(1).and_then(TValue::as_int).unwrap_or(0).max(0) as usize;
            let after = args.get(2).and_then(TValue::as_int).unwrap_or(0).max(0) as usize;
            Ok(TValue::String(
                format!("{}{}{}", " ".repeat(before), s, " ".repeat(after)).into(),
            ))
        })
        .func("truncate", |args| {
            let s = arg_str(args, 0);
            let n = args.get(1).and_then(TValue::as_int).unwrap_or(0).max(0) as usize;
            Ok(TValue::String(s.chars().take(n).collect::<String>().into()))
        })
        .func("label", |args| {
            // Stands in for docker's `.Label "key"` method (see rewrite_label_calls).
            let key = arg_str(args, 1);
            let v = args
                .first()
                .and_then(|ctx| ctx.field("LabelMap"))
                .and_then(|m| m.field(&key))
                .cloned()
                .unwrap_or(TValue::String("".into()));
            Ok(v)
        })
        .parse(src)
        .map_err(|e| anyhow::anyhow!("template parsing error: {e}"))
}

/// gotmpl has no methods with arguments, so `.Label "k"` becomes `label . "k"`.
fn rewrite_label_calls(src: &str) -> String {
    src.replace("{{.Label ", "{{label . ")
        .replace("{{ .Label ", "{{ label . ")
}

fn arg_str(args: &[TValue], i: usize) -> String {
    args.get(i).map(display).unwrap_or_default()
}

fn display(v: &TValue) -> String {
    match v {
        TValue::String(s) => s.to_string(),
        other => other.to_string(),
    }
}

impl Format {
    pub fn render(&self, ctx: &TValue) -> Result<String> {
        self.tmpl
            .execute_to_string(ctx)
            .map_err(|e| anyhow::anyhow!("template: {e}"))
    }

    /// Renders rows (and, for tables, the header row) like docker's formatter.
    pub fn render_rows(&self, header: &TValue, rows: &[TValue]) -> Result<String> {
        let mut text = String::new();
        if self.table {
            text.push_str(&self.render(header)?);
            text.push('\n');
        }
        for row in rows {
            text.push_str(&self.render(row)?);
            text.push('\n');
        }
        if self.table {
            Ok(tabwrite(&text, 10, 3))
        } else {
            Ok(text)
        }
    }
}

/// Go's `tabwriter.NewWriter(w, minwidth, 1, padding, ' ', 0)`. Go pads a cell to
/// max(minwidth, width + padding); the tabwriter crate to max(minwidth, width) + padding,
/// hence the shifted minimum.
pub fn tabwrite(text: &str, minwidth: usize, padding: usize) -> String {
    let mut tw = tabwriter::TabWriter::new(Vec::new())
        .minwidth(minwidth.saturating_sub(padding))
        .padding(padding);
    if tw.write_all(text.as_bytes()).is_err() {
        return text.to_string();
    }
    match tw.into_inner() {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => text.to_string(),
    }
}

/// Converts the daemon's JSON into template data; integers stay integers so `{{.Created}}`
/// prints `1795448409`, not Go's float form.
pub fn to_tvalue(v: &Value) -> TValue {
    match v {
        Value::Null => TValue::Nil,
        Value::Bool(b) => TValue::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                TValue::Int(i)
            } else if let Some(u) = n.as_u64() {
                TValue::Uint(u)
            } else {
                TValue::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => TValue::String(s.as_str().into()),
        Value::Array(a) => TValue::List(a.iter().map(to_tvalue).collect::<Vec<_>>().into()),
        Value::Object(o) => {
            let m: BTreeMap<Arc<str>, TValue> = o
                .iter()
                .map(|(k, v)| (Arc::from(k.as_str()), to_tvalue(v)))
                .collect();
            TValue::Map(Arc::new(m))
        }
    }
}

/// Template data back to JSON, for the `json` function.
pub fn from_tvalue(v: &TValue) -> Value {
    match v {
        TValue::Nil => Value::Null,
        TValue::Bool(b) => Value::Bool(*b),
        TValue::Int(i) => Value::from(*i),
        TValue::Uint(u) => Value::from(*u),
        TValue::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        TValue::String(s) => Value::String(s.to_string()),
        TValue::List(l) => Value::Array(l.iter().map(from_tvalue).collect()),
        TValue::Map(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_ref() != JSON_KEY && k.as_ref() != "LabelMap")
                .map(|(k, v)| (k.to_string(), from_tvalue(v)))
                .collect(),
        ),
        TValue::Function(_) => Value::Null,
    }
}

fn to_json_string(v: &TValue) -> String {
    if let TValue::Map(m) = v {
        if let Some(TValue::String(raw)) = m.get(JSON_KEY) {
            return raw.to_string();
        }
    }
    serde_json::to_string(&from_tvalue(v)).unwrap_or_default()
}

/// Go's `json.Indent(dst, src, "", indent)`: re-indents raw JSON without reordering keys and
/// without touching string contents or escapes.
pub fn json_indent(src: &str, indent: &str) -> String {
    let mut out = String::with_capacity(src.len() * 2);
    let mut depth = 0usize;
    let mut need_indent = false;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(indent);
        }
    };
    for c in src.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c.is_ascii_whitespace() {
            continue;
        }
        if need_indent && c != ']' && c != '}' {
            need_indent = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                need_indent = true;
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => {
                out.push(c);
                out.push(' ');
            }
            '}' | ']' => {
                if need_indent {
                    // An empty object or array stays `{}` / `[]`.
                    need_indent = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Builds a template context from string fields, plus extra values.
pub fn ctx(fields: &[(&str, String)]) -> BTreeMap<Arc<str>, TValue> {
    fields
        .iter()
        .map(|(k, v)| (Arc::from(*k), TValue::String(v.as_str().into())))
        .collect()
}

pub fn map_value(m: BTreeMap<Arc<str>, TValue>) -> TValue {
    TValue::Map(Arc::new(m))
}

/// Parses raw JSON text into template data for a user template, with a helpful error.
pub fn render_json_with(format: &str, raw: &Value) -> Result<String> {
    let t = template(&rewrite_label_calls(format))?;
    t.execute_to_string(&to_tvalue(raw))
        .map_err(|e| anyhow::anyhow!("template: {e}"))
        .context("executing template")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ps_table_matches_trace() {
        // Section 5 of the traces.
        let f = parse(
            "",
            "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}",
        )
        .unwrap();
        let header = map_value(ctx(&[
            ("ID", "CONTAINER ID".into()),
            ("Image", "IMAGE".into()),
            ("Command", "COMMAND".into()),
            ("RunningFor", "CREATED".into()),
            ("Status", "STATUS".into()),
            ("Ports", "PORTS".into()),
            ("Names", "NAMES".into()),
        ]));
        let row = map_value(ctx(&[
            ("ID", "e936d9f2be8e".into()),
            ("Image", "busybox".into()),
            ("Command", "\"sh -c 'echo out; ec…\"".into()),
            ("RunningFor", "1 second ago".into()),
            ("Status", "Up Less than a second".into()),
            ("Ports", "".into()),
            ("Names", "t1".into()),
        ]));
        let out = f.render_rows(&header, &[row]).unwrap();
        assert_eq!(
            out,
            "CONTAINER ID   IMAGE     COMMAND                  CREATED        STATUS                  PORTS     NAMES\n\
             e936d9f2be8e   busybox   \"sh -c 'echo out; ec…\"   1 second ago   Up Less than a second             t1\n"
        );
    }

    #[test]
    fn plain_and_json_formats() {
        let row = map_value(ctx(&[("ID", "abc".into()), ("Names", "t1".into())]));
        let f = parse("{{.ID}} {{.Names}}", "").unwrap();
        assert_eq!(
            f.render_rows(&TValue::Nil, std::slice::from_ref(&row))
                .unwrap(),
            "abc t1\n"
        );
        let f = parse("json", "").unwrap();
        assert_eq!(
            f.render_rows(&TValue::Nil, std::slice::from_ref(&row))
                .unwrap(),
            "{\"ID\":\"abc\",\"Names\":\"t1\"}\n"
        );
        let f = parse("table {{.ID}}\\t{{.Names}}", "").unwrap();
        let header = map_value(ctx(&[
            ("ID", "CONTAINER ID".into()),
            ("Names", "NAMES".into()),
        ]));
        assert_eq!(
            f.render_rows(&header, &[row]).unwrap(),
            "CONTAINER ID   NAMES\nabc            t1\n"
        );
    }

    #[test]
    fn inspect_templates() {
        let v = json!({
            "Id": "abc",
            "State": {"Status": "running", "Pid": 20843},
            "Config": {"Labels": {"k": "v"}, "Env": ["A=1"]},
        });
        assert_eq!(
            render_json_with("{{.State.Status}}", &v).unwrap(),
            "running"
        );
        assert_eq!(render_json_with("{{.State.Pid}}", &v).unwrap(), "20843");
        assert_eq!(
            render_json_with("{{index .Config.Labels \"k\"}}", &v).unwrap(),
            "v"
        );
        assert_eq!(
            render_json_with("{{json .Config.Labels}}", &v).unwrap(),
            "{\"k\":\"v\"}"
        );
        assert_eq!(
            render_json_with("{{join .Config.Env \",\"}} {{upper .Id}}", &v).unwrap(),
            "A=1 ABC"
        );
    }

    #[test]
    fn label_method() {
        let mut m = ctx(&[("ID", "x".into())]);
        m.insert("LabelMap".into(), to_tvalue(&json!({"com.x": "y"})));
        let f = parse("{{.Label \"com.x\"}}|{{.Label \"nope\"}}", "").unwrap();
        assert_eq!(f.render(&map_value(m)).unwrap(), "y|");
    }

    #[test]
    fn indent_like_go() {
        let raw = "[{\"Id\":\"a\",\"Args\":[],\"Cfg\":{},\"S\":\"x,\\\"y: {\",\"N\":[1,2]}\n]";
        assert_eq!(
            json_indent(raw, "    "),
            "[\n    {\n        \"Id\": \"a\",\n        \"Args\": [],\n        \"Cfg\": {},\n        \"S\": \"x,\\\"y: {\",\n        \"N\": [\n            1,\n            2\n        ]\n    }\n]"
        );
    }

    #[test]
    fn tabwriter_like_go_top() {
        let out = tabwrite("UID\tPID\tCMD\nroot\t20843\tsleep 1000\n", 20, 3);
        assert_eq!(
            out,
            "UID                 PID                 CMD\nroot                20843               sleep 1000\n"
        );
    }
}
