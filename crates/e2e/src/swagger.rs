//! Checks berthd's answers against Docker's Engine API spec (`crates/api/spec/`, swagger 2.0).
//!
//! Swagger 2.0 schemas are JSON Schema draft 4 plus a few extensions, so each response schema
//! is converted to draft 4 and checked with the `jsonschema` crate:
//!
//! - `x-nullable: true` allows `null` (`type: [T, "null"]`, or `anyOf` with `null` around a
//!   `$ref`/`allOf`); everything else is not nullable, as in swagger 2.0;
//! - `$ref: '#/definitions/X'` resolves against the spec's definitions, converted alike;
//! - integer formats (`int32`, `int64`, `uint8`...) become bounds; `date-time`/`dateTime`
//!   strings must be RFC 3339; other formats (`cidr`, `ip-address`, `binary`) say nothing
//!   checkable and are dropped, as are examples, descriptions and `x-` keys.
//!
//! [`Recorder`] runs the checks of a whole test: status, content type, every JSON value of
//! the body, and collects every mismatch instead of stopping at the first.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::{json, Map, Value};

use crate::HttpResponse;

/// The spec, kept in the repository so the tests run from a clean clone.
pub fn spec_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/spec/engine-api.swagger.yaml")
}

/// One place where a value does not match its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// JSON pointer into the checked value (`""` for the whole value).
    pub pointer: String,
    pub reason: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.reason)
    }
}

/// What the spec says of one (method, path, status).
#[derive(Debug, Clone, PartialEq)]
pub enum Documented {
    /// A body of this schema (swagger form).
    Schema(Value),
    /// The status is documented without a body schema.
    NoSchema,
    /// The operation does not list this status.
    Undocumented,
}

/// The only departures from the spec: schemas (JSON pointers into the swagger document) where
/// `null` is accepted although the spec does not say `x-nullable`, because dockerd itself
/// writes `null` there (a Go nil slice, map or pointer without `omitempty`), as recorded in
/// `shared/spec/docker-cli-traces.md` or read in moby's types. Anything else the spec does not
/// allow is a mismatch berth must fix.
pub const NULL_TOLERATED: &[&str] = &[
    // HostConfig is stored as the client sent it: a list the client left out stays nil and is
    // written back as null (traces #13; the docker CLI itself sends `[]` for some of them).
    "/definitions/HostConfig/allOf/1/properties/Binds",
    "/definitions/HostConfig/allOf/1/properties/Links",
    "/definitions/HostConfig/allOf/1/properties/VolumesFrom",
    "/definitions/HostConfig/allOf/1/properties/CapAdd",
    "/definitions/HostConfig/allOf/1/properties/CapDrop",
    "/definitions/HostConfig/allOf/1/properties/Dns",
    "/definitions/HostConfig/allOf/1/properties/DnsOptions",
    "/definitions/HostConfig/allOf/1/properties/DnsSearch",
    "/definitions/HostConfig/allOf/1/properties/ExtraHosts",
    "/definitions/HostConfig/allOf/1/properties/GroupAdd",
    "/definitions/HostConfig/allOf/1/properties/SecurityOpt",
    "/definitions/HostConfig/allOf/1/properties/PortBindings",
    "/definitions/Resources/properties/BlkioWeightDevice",
    "/definitions/Resources/properties/BlkioDeviceReadBps",
    "/definitions/Resources/properties/BlkioDeviceWriteBps",
    "/definitions/Resources/properties/BlkioDeviceReadIOps",
    "/definitions/Resources/properties/BlkioDeviceWriteIOps",
    "/definitions/Resources/properties/Devices",
    "/definitions/Resources/properties/DeviceCgroupRules",
    "/definitions/Resources/properties/DeviceRequests",
    "/definitions/Resources/properties/Ulimits",
    // *int64; dockerd turns the CLI's -1 into nil (traces #13).
    "/definitions/Resources/properties/MemorySwappiness",
    // The image's config and the client's merged: nil when neither sets them (traces #13).
    "/definitions/ContainerConfig/properties/Entrypoint",
    "/definitions/ContainerConfig/properties/Volumes",
    // `"Error": null` in every wait answer (traces #3, #23).
    "/definitions/ContainerWaitResponse/properties/Error",
    // `"Authorization": null` without authorization plugins, `"GenericResources": null`
    // (traces #2).
    "/definitions/PluginsInfo/properties/Authorization",
    "/definitions/SystemInfo/properties/GenericResources",
    // An endpoint's lists are nil unless set: `"Links": null, "Aliases": null` (traces #13);
    // DNSNames, a list of the same struct, is nil on networks without DNS (none, bridge).
    "/definitions/EndpointSettings/properties/Links",
    "/definitions/EndpointSettings/properties/Aliases",
    "/definitions/EndpointSettings/properties/DNSNames",
    // A nil list: the zero stats of a stopped container, and a cgroup v2 host without I/O.
    "/definitions/ContainerBlkioStats/properties/io_service_bytes_recursive",
    // moby's prune report starts with a nil list: `"ContainersDeleted":null` when nothing went.
    "/paths/~1containers~1prune/post/responses/200/schema/properties/ContainersDeleted",
    // moby's ExecInspect.ExitCode is *int: null until the process exited.
    "/paths/~1exec~1{id}~1json/get/responses/200/schema/properties/ExitCode",
];

/// The Engine API spec, with compiled validators cached per response.
pub struct Spec {
    doc: Value,
    definitions: Value,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

impl Spec {
    /// The spec in `crates/api/spec/`, loaded once per test process.
    pub fn engine_api() -> &'static Spec {
        static SPEC: OnceLock<Spec> = OnceLock::new();
        SPEC.get_or_init(|| {
            let path = spec_path();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            Spec::from_yaml(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
    }

    /// Parses a swagger 2.0 document, with [`NULL_TOLERATED`] applied.
    pub fn from_yaml(text: &str) -> Result<Self, String> {
        let mut doc: Value =
            serde_saphyr::from_str(text).map_err(|e| format!("not a YAML document: {e}"))?;
        if doc["swagger"] != "2.0" {
            return Err(format!("not swagger 2.0: swagger = {}", doc["swagger"]));
        }
        for pointer in NULL_TOLERATED {
            let schema = doc
                .pointer_mut(pointer)
                .and_then(Value::as_object_mut)
                .ok_or_else(|| format!("tolerance for {pointer}: no such schema in the spec"))?;
            schema.insert("x-nullable".into(), Value::Bool(true));
        }
        let definitions = match doc.get("definitions") {
            Some(Value::Object(defs)) => Value::Object(
                defs.iter()
                    .map(|(k, v)| (k.clone(), to_draft4(v)))
                    .collect(),
            ),
            _ => Value::Object(Map::new()),
        };
        Ok(Self {
            doc,
            definitions,
            validators: Mutex::new(HashMap::new()),
        })
    }

    /// The API version the spec describes (`info.version`).
    pub fn version(&self) -> &str {
        self.doc["info"]["version"].as_str().unwrap_or("")
    }

    /// The operation at `template` (`/containers/{id}/json`) for `method`.
    pub fn operation(&self, method: &str, template: &str) -> Result<&Value, String> {
        let path = self.doc["paths"]
            .get(template)
            .ok_or_else(|| format!("no path {template} in the spec"))?;
        path.get(method.to_ascii_lowercase())
            .ok_or_else(|| format!("no {method} {template} in the spec"))
    }

    /// The content types the operation may answer with (its own `produces`, else the spec's).
    pub fn produces(&self, method: &str, template: &str) -> Result<Vec<String>, String> {
        let op = self.operation(method, template)?;
        let list = op.get("produces").unwrap_or(&self.doc["produces"]);
        Ok(list
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(String::from))
            .collect())
    }

    /// What the spec documents for this answer.
    pub fn response(
        &self,
        method: &str,
        template: &str,
        status: u16,
    ) -> Result<Documented, String> {
        let op = self.operation(method, template)?;
        let Some(resp) = op["responses"].get(status.to_string()) else {
            return Ok(Documented::Undocumented);
        };
        Ok(match resp.get("schema") {
            Some(s) => Documented::Schema(s.clone()),
            None => Documented::NoSchema,
        })
    }

    /// Checks `value` against a swagger schema (as found under a response's `schema`).
    pub fn check(&self, schema: &Value, value: &Value) -> Result<Vec<Mismatch>, String> {
        let validator = self.validator(schema)?;
        let mut out = Vec::new();
        for e in validator.iter_errors(value) {
            collect(&e, &mut out);
        }
        Ok(out)
    }

    /// Checks `value` against the definition `name` (`#/definitions/name`).
    pub fn check_definition(&self, name: &str, value: &Value) -> Result<Vec<Mismatch>, String> {
        if self.definitions.get(name).is_none() {
            return Err(format!("no definition {name} in the spec"));
        }
        self.check(&json!({ "$ref": format!("#/definitions/{name}") }), value)
    }

    fn validator(&self, schema: &Value) -> Result<Arc<Validator>, String> {
        let key = schema.to_string();
        let mut cache = self
            .validators
            .lock()
            .map_err(|_| "validator cache poisoned".to_string())?;
        if let Some(v) = cache.get(&key) {
            return Ok(v.clone());
        }
        // The definitions ride along in every root so that `#/definitions/...` resolves.
        let root = json!({
            "$schema": "http://json-schema.org/draft-04/schema#",
            "definitions": self.definitions,
            "allOf": [to_draft4(schema)],
        });
        let v = jsonschema::draft4::options()
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| format!("compiling the schema {key}: {e}"))?;
        let v = Arc::new(v);
        cache.insert(key, v.clone());
        Ok(v)
    }
}

/// Flattens a validation error into mismatches; an `anyOf` that only adds `null` (our
/// `x-nullable`) reports the errors of its other branch, which say what is wrong.
fn collect(e: &ValidationError<'_>, out: &mut Vec<Mismatch>) {
    if let ValidationErrorKind::AnyOf { context } = e.kind() {
        if !e.instance().is_null() {
            if let Some(first) = context.iter().find(|branch| !is_null_branch(branch)) {
                first.iter().for_each(|sub| collect(sub, out));
                return;
            }
        }
    }
    let shown = e.instance().to_string();
    let reason = if shown.len() <= 80 {
        format!("{} (got {shown})", e.masked())
    } else {
        e.masked().to_string()
    };
    out.push(Mismatch {
        pointer: e.instance_path().as_str().to_string(),
        reason,
    });
}

/// True for the errors of the `{"type": "null"}` branch.
fn is_null_branch(errors: &[ValidationError<'_>]) -> bool {
    errors.iter().all(|e| {
        matches!(e.kind(), ValidationErrorKind::Type { .. })
            && e.schema_path().as_str().ends_with("/1/type")
    })
}

/// Keywords whose meaning is the same in swagger 2.0 and JSON Schema draft 4.
const KEPT: &[&str] = &[
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "pattern",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "$ref",
];

/// One swagger 2.0 schema as JSON Schema draft 4 (see the module's comment).
pub fn to_draft4(schema: &Value) -> Value {
    let Value::Object(s) = schema else {
        // `additionalProperties: true`, or something malformed that then fails to compile.
        return schema.clone();
    };
    let mut out = Map::new();
    for key in KEPT {
        if let Some(v) = s.get(*key) {
            out.insert(key.to_string(), v.clone());
        }
    }
    match s.get("type") {
        // swagger's `file` is a raw body, not a JSON value.
        Some(Value::String(t)) if t == "file" => {}
        Some(t) => {
            out.insert("type".into(), t.clone());
        }
        None => {}
    }
    if let Some(Value::Array(req)) = s.get("required") {
        // draft 4 wants at least one name.
        if !req.is_empty() {
            out.insert("required".into(), Value::Array(req.clone()));
        }
    }
    if let Some(Value::Object(props)) = s.get("properties") {
        let props = props
            .iter()
            .map(|(k, v)| (k.clone(), to_draft4(v)))
            .collect();
        out.insert("properties".into(), Value::Object(props));
    }
    for key in ["items", "additionalProperties"] {
        if let Some(v) = s.get(key) {
            out.insert(key.into(), to_draft4(v));
        }
    }
    if let Some(Value::Array(all)) = s.get("allOf") {
        out.insert("allOf".into(), all.iter().map(to_draft4).collect());
    }
    if let Some(Value::String(format)) = s.get("format") {
        apply_format(&mut out, format);
    }
    if s.get("x-nullable") == Some(&Value::Bool(true)) {
        return nullable(out);
    }
    Value::Object(out)
}

/// What a swagger `format` can be checked as.
fn apply_format(out: &mut Map<String, Value>, format: &str) {
    let integer = out.get("type").and_then(Value::as_str) == Some("integer");
    let bounds: Option<(i64, Option<i64>)> = match format {
        "int8" => Some((i8::MIN.into(), Some(i8::MAX.into()))),
        "int16" => Some((i16::MIN.into(), Some(i16::MAX.into()))),
        "int32" => Some((i32::MIN.into(), Some(i32::MAX.into()))),
        "int64" => Some((i64::MIN, Some(i64::MAX))),
        "uint8" => Some((0, Some(u8::MAX.into()))),
        "uint16" => Some((0, Some(u16::MAX.into()))),
        "uint32" => Some((0, Some(u32::MAX.into()))),
        // u64::MAX is out of i64's range; serde_json has nothing larger anyway.
        "uint64" => Some((0, None)),
        "date-time" | "dateTime" => {
            out.insert("format".into(), "date-time".into());
            None
        }
        _ => None,
    };
    if let (true, Some((min, max))) = (integer, bounds) {
        out.entry("minimum").or_insert(min.into());
        if let Some(max) = max {
            out.entry("maximum").or_insert(max.into());
        }
    }
}

/// `x-nullable: true`: `null` is allowed too.
fn nullable(mut out: Map<String, Value>) -> Value {
    let plain = !out.contains_key("$ref") && !out.contains_key("allOf");
    if let (true, Some(Value::String(t))) = (plain, out.get("type").cloned()) {
        out.insert("type".into(), json!([t, "null"]));
        if let Some(Value::Array(values)) = out.get_mut("enum") {
            values.push(Value::Null);
        }
        return Value::Object(out);
    }
    json!({ "anyOf": [Value::Object(out), { "type": "null" }] })
}

// ---------------------------------------------------------------------------------------------
// Checking the answers of a test
// ---------------------------------------------------------------------------------------------

/// One mismatch of one answer.
#[derive(Debug, Clone)]
pub struct Finding {
    /// `GET /containers/{id}/json -> 200 (running container)`
    pub endpoint: String,
    pub mismatch: Mismatch,
}

/// Checks answers against the spec and keeps every mismatch.
pub struct Recorder {
    spec: &'static Spec,
    /// JSON values validated against a schema.
    pub validated: usize,
    /// Answers checked (status, content type, body).
    pub answers: usize,
    /// Operations (method and template) that answered at least once.
    pub operations: std::collections::BTreeSet<String>,
    pub findings: Vec<Finding>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    pub fn new() -> Self {
        Self {
            spec: Spec::engine_api(),
            validated: 0,
            answers: 0,
            operations: Default::default(),
            findings: Vec::new(),
        }
    }

    /// Records a finding (`endpoint` as in [`Finding::endpoint`]).
    pub fn add(&mut self, endpoint: &str, pointer: &str, reason: impl Into<String>) {
        self.findings.push(Finding {
            endpoint: endpoint.to_string(),
            mismatch: Mismatch {
                pointer: pointer.to_string(),
                reason: reason.into(),
            },
        });
    }

    /// Checks one answer of `method template` (the spec's path, e.g. `/exec/{id}/json`):
    /// that its status is `expected`, that the spec documents it, its content type, and
    /// every JSON value of its body (JSON-lines streams value by value). `what` names the
    /// case in the findings.
    pub fn check(
        &mut self,
        what: &str,
        method: &str,
        template: &str,
        expected: u16,
        r: &HttpResponse,
    ) {
        let endpoint = format!("{method} {template} -> {} ({what})", r.status);
        self.answers += 1;
        self.operations.insert(format!("{method} {template}"));
        if r.status != expected {
            let body = String::from_utf8_lossy(&r.body);
            let body: String = body.chars().take(200).collect();
            self.add(
                &endpoint,
                "",
                format!("expected status {expected}: the test's case did not happen: {body}"),
            );
            return;
        }
        let documented = match self.spec.response(method, template, r.status) {
            Ok(d) => d,
            Err(e) => return self.add(&endpoint, "", e),
        };
        let schema = match documented {
            Documented::Schema(s) => Some(s),
            Documented::NoSchema => None,
            // Tolerance: dockerd answers any error of any route through one handler with an
            // ErrorResponse body, and the spec lists only the common ones per route.
            Documented::Undocumented if r.status >= 400 => {
                Some(json!({ "$ref": "#/definitions/ErrorResponse" }))
            }
            Documented::Undocumented => {
                return self.add(&endpoint, "", "status not documented for this operation")
            }
        };
        if matches!(r.status, 204 | 304) {
            if !r.body.is_empty() {
                self.add(&endpoint, "", "a body on a status that has none");
            }
            return;
        }
        match schema {
            // `type: string` is a raw body (`/_ping`'s OK, logs): its content type is checked.
            Some(s) if is_raw(&s) => self.check_content_type(&endpoint, method, template, r),
            Some(s) => {
                self.check_content_type(&endpoint, method, template, r);
                self.check_body(&endpoint, &s, &r.body);
            }
            // No body documented, none sent (Go writes no Content-Type then either).
            None if r.body.is_empty() => {}
            None => {
                self.check_content_type(&endpoint, method, template, r);
                if r.header("content-type").is_some_and(is_json) {
                    // Documented without a schema (e.g. import progress): JSON all the same.
                    self.check_json_lines(&endpoint, &r.body);
                }
            }
        }
    }

    /// The content type is one the operation produces (`application/json` for every JSON
    /// answer, errors included).
    fn check_content_type(
        &mut self,
        endpoint: &str,
        method: &str,
        template: &str,
        r: &HttpResponse,
    ) {
        let Some(ct) = r.header("content-type") else {
            return self.add(endpoint, "", "no Content-Type");
        };
        let media = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if r.status >= 400 {
            if !is_json(&media) {
                self.add(endpoint, "", format!("Content-Type {ct} for an error"));
            }
            return;
        }
        match self.spec.produces(method, template) {
            Ok(list) if list.iter().any(|p| p.eq_ignore_ascii_case(&media)) => {}
            // The spec's newer JSON-lines types for /events: application/json is what dockerd
            // sends to the API versions berth speaks.
            Ok(list) if is_json(&media) && list.iter().any(|p| p.contains("json")) => {}
            Ok(list) => self.add(
                endpoint,
                "",
                format!("Content-Type {ct} is not one of {list:?}"),
            ),
            Err(e) => self.add(endpoint, "", e),
        }
    }

    fn check_body(&mut self, endpoint: &str, schema: &Value, body: &[u8]) {
        let values = self.check_json_lines(endpoint, body);
        if values.is_empty() {
            return self.add(endpoint, "", "an empty body where the spec has a schema");
        }
        self.validate(endpoint, schema, &values);
    }

    fn validate(&mut self, endpoint: &str, schema: &Value, values: &[Value]) {
        let many = values.len() > 1;
        for (i, v) in values.iter().enumerate() {
            match self.spec.check(schema, v) {
                Ok(found) => {
                    self.validated += 1;
                    for m in found {
                        // Values of a stream are told apart by their index.
                        let pointer = if many {
                            format!("[{i}]{}", m.pointer)
                        } else {
                            m.pointer
                        };
                        self.add(endpoint, &pointer, m.reason);
                    }
                }
                Err(e) => self.add(endpoint, "", e),
            }
        }
    }

    /// Checks values that did not come straight off the wire (an answer re-encoded through
    /// berth-api's types) against the body schema of `method template -> status`.
    pub fn check_values(
        &mut self,
        what: &str,
        method: &str,
        template: &str,
        status: u16,
        values: &[Value],
    ) {
        let endpoint = format!("{method} {template} -> {status} ({what})");
        match self.spec.response(method, template, status) {
            Ok(Documented::Schema(s)) if !is_raw(&s) => self.validate(&endpoint, &s, values),
            Ok(Documented::Undocumented) if status >= 400 => {
                let s = json!({ "$ref": "#/definitions/ErrorResponse" });
                self.validate(&endpoint, &s, values)
            }
            Ok(other) => self.add(&endpoint, "", format!("no JSON schema: {other:?}")),
            Err(e) => self.add(&endpoint, "", e),
        }
    }

    /// The JSON values of a body (one, or a JSON-lines stream); what is not JSON is a finding.
    fn check_json_lines(&mut self, endpoint: &str, body: &[u8]) -> Vec<Value> {
        let mut out = Vec::new();
        for v in serde_json::Deserializer::from_slice(body).into_iter::<Value>() {
            match v {
                Ok(v) => out.push(v),
                Err(e) => {
                    self.add(endpoint, "", format!("body is not JSON: {e}"));
                    break;
                }
            }
        }
        out
    }

    /// Every finding once, with the cases it was seen in: `endpoint: pointer: reason [cases]`.
    pub fn report(&self) -> Vec<String> {
        let mut seen: Vec<(String, Vec<String>)> = Vec::new();
        for f in &self.findings {
            let (op, case) = f
                .endpoint
                .split_once(" (")
                .map(|(op, c)| (op, c.trim_end_matches(')')))
                .unwrap_or((&f.endpoint, ""));
            let key = format!("{op}: {}", f.mismatch);
            match seen.iter_mut().find(|(k, _)| *k == key) {
                Some((_, cases)) if cases.iter().any(|c| c == case) => {}
                Some((_, cases)) => cases.push(case.to_string()),
                None => seen.push((key, vec![case.to_string()])),
            }
        }
        seen.into_iter()
            .map(|(k, cases)| format!("{k} [{}]", cases.join(", ")))
            .collect()
    }

    /// Panics listing every finding; also when fewer than `min` values were validated.
    #[track_caller]
    pub fn assert_clean(&self, min: usize) {
        let report = self.report();
        assert!(
            report.is_empty(),
            "{} mismatches with the Engine API spec {} ({} answers, {} JSON values validated):\n  {}\n",
            report.len(),
            self.spec.version(),
            self.answers,
            self.validated,
            report.join("\n  "),
        );
        assert!(
            self.validated >= min,
            "only {} JSON values validated, expected at least {min}",
            self.validated
        );
    }
}

/// A schema of a body that is not JSON.
fn is_raw(schema: &Value) -> bool {
    matches!(
        schema.get("type").and_then(Value::as_str),
        Some("string" | "file")
    )
}

fn is_json(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or("").trim();
    media.eq_ignore_ascii_case("application/json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> &'static Spec {
        Spec::engine_api()
    }

    fn schema(method: &str, template: &str, status: u16) -> Value {
        match spec().response(method, template, status) {
            Ok(Documented::Schema(s)) => s,
            other => panic!("{method} {template} {status}: {other:?}"),
        }
    }

    fn check(method: &str, template: &str, status: u16, v: Value) -> Vec<Mismatch> {
        spec()
            .check(&schema(method, template, status), &v)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_spec_loads() {
        assert_eq!(spec().version(), "1.56");
        assert!(
            spec().operation("GET", "/containers/{id}/json").is_ok(),
            "no container inspect"
        );
        assert_eq!(
            spec().response("GET", "/containers/{id}/json", 418),
            Ok(Documented::Undocumented)
        );
        assert_eq!(
            spec().response("POST", "/containers/{id}/start", 204),
            Ok(Documented::NoSchema)
        );
        assert!(spec()
            .produces("GET", "/containers/{id}/logs")
            .unwrap()
            .contains(&"application/vnd.docker.multiplexed-stream".to_string()));
    }

    #[test]
    fn a_known_good_body_passes() {
        let found = check(
            "POST",
            "/containers/create",
            201,
            json!({"Id": "abc", "Warnings": []}),
        );
        assert_eq!(found, vec![]);
        let found = check(
            "GET",
            "/containers/{id}/top",
            200,
            json!({"Titles": ["PID", "CMD"], "Processes": [["1", "sleep"]]}),
        );
        assert_eq!(found, vec![]);
        let found = check(
            "GET",
            "/containers/{id}/json",
            404,
            json!({"message": "No such container: x"}),
        );
        assert_eq!(found, vec![]);
    }

    #[test]
    fn a_wrong_type_fails_with_its_pointer() {
        let found = check(
            "POST",
            "/containers/{id}/wait",
            200,
            json!({"StatusCode": "0"}),
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].pointer, "/StatusCode");
        assert!(found[0].reason.contains("integer"), "{found:?}");
    }

    #[test]
    fn a_missing_required_field_fails() {
        let found = check("POST", "/containers/create", 201, json!({"Warnings": []}));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].pointer, "");
        assert!(found[0].reason.contains("Id"), "{found:?}");
    }

    #[test]
    fn null_only_where_the_spec_says_nullable() {
        // `Warnings` is not x-nullable: null fails.
        let found = check(
            "POST",
            "/containers/create",
            201,
            json!({"Id": "abc", "Warnings": null}),
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].pointer, "/Warnings");
        // A nullable $ref (as ImageInspect.Descriptor is).
        let s = json!({
            "type": "object",
            "properties": {"D": {"$ref": "#/definitions/OCIDescriptor", "x-nullable": true}},
        });
        assert_eq!(spec().check(&s, &json!({"D": null})).unwrap(), vec![]);
        assert_eq!(
            spec().check(&s, &json!({"D": {"size": 1}})).unwrap(),
            vec![]
        );
        // Its non-null branch still reports where it is wrong.
        let found = spec().check(&s, &json!({"D": {"size": "1"}})).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].pointer, "/D/size");
        // Without x-nullable, a $ref is not nullable.
        let s =
            json!({"type": "object", "properties": {"D": {"$ref": "#/definitions/OCIDescriptor"}}});
        let found = spec().check(&s, &json!({"D": null})).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].pointer, "/D");
    }

    #[test]
    fn tolerated_nulls_are_only_those_listed() {
        let wait = |v| check("POST", "/containers/{id}/wait", 200, v);
        assert_eq!(wait(json!({"StatusCode": 0, "Error": null})), vec![]);
        // The tolerance is for null only: a wrong type is still a mismatch.
        let found = wait(json!({"StatusCode": 0, "Error": "x"}));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].pointer, "/Error");
        // HostConfig.OomKillDisable is not tolerated: dockerd sets it at create.
        let found = spec()
            .check_definition(
                "HostConfig",
                &json!({"Binds": null, "OomKillDisable": null}),
            )
            .unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].pointer, "/OomKillDisable");
    }

    #[test]
    fn integer_formats_are_bounds() {
        let s = to_draft4(&json!({"type": "integer", "format": "uint32"}));
        assert_eq!(
            s,
            json!({"type": "integer", "minimum": 0, "maximum": 4294967295u32})
        );
        let found = spec()
            .check(&json!({"type": "integer", "format": "uint64"}), &json!(-1))
            .unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        let found = spec()
            .check(&json!({"type": "integer", "format": "int64"}), &json!(1.5))
            .unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn nullable_enums_and_additional_properties() {
        let s = json!({
            "type": "object",
            "additionalProperties": {"type": "string", "enum": ["a"], "x-nullable": true},
        });
        assert_eq!(
            spec().check(&s, &json!({"k": "a", "l": null})).unwrap(),
            vec![]
        );
        let found = spec().check(&s, &json!({"k": "b"})).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].pointer, "/k");
        let closed =
            json!({"type": "object", "properties": {"a": {}}, "additionalProperties": false});
        assert_eq!(spec().check(&closed, &json!({"b": 1})).unwrap().len(), 1);
    }

    #[test]
    fn date_times_are_rfc3339() {
        let s = json!({"type": "string", "format": "dateTime"});
        assert_eq!(
            spec()
                .check(&s, &json!("2026-01-02T03:04:05.123456789Z"))
                .unwrap(),
            vec![]
        );
        assert_eq!(spec().check(&s, &json!("yesterday")).unwrap().len(), 1);
    }

    #[test]
    fn every_definition_compiles() {
        let defs = spec().doc["definitions"].as_object().unwrap();
        assert!(defs.len() > 100, "{}", defs.len());
        // One schema naming them all: each `$ref` must resolve and compile.
        let props: Map<String, Value> = defs
            .keys()
            .map(|k| (k.clone(), json!({"$ref": format!("#/definitions/{k}")})))
            .collect();
        let all = json!({"type": "object", "properties": props});
        assert_eq!(spec().check(&all, &json!({})).unwrap(), vec![]);
    }
}
