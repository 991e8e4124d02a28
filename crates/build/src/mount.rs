//! `RUN --mount=type=cache|bind|tmpfs|secret|ssh,...` as BuildKit reads it: a CSV
//! line of `key=value` fields (a few bare keys), values expanded with the stage's
//! variables, defaults and checks applied.

/// What is mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum MountType {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

impl MountType {
    /// The name as written in a Dockerfile.
    pub fn as_str(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }
}

/// How concurrent builds share a cache mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Sharing {
    Shared,
    Private,
    Locked,
}

/// One `--mount`, values expanded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mount {
    pub kind: MountType,
    /// A stage name or index, or an image (bind and cache mounts).
    pub from: Option<String>,
    pub source: Option<String>,
    pub target: Option<String>,
    /// Bind, secret and ssh mounts default to read-only, cache and tmpfs to read-write.
    pub read_only: bool,
    /// tmpfs `size=`, in bytes.
    pub size_limit: Option<u64>,
    /// Cache `id=` or secret/ssh `id=`.
    pub id: Option<String>,
    pub sharing: Option<Sharing>,
    /// Secret and ssh: fail when not provided.
    pub required: bool,
    /// Secret: expose as this environment variable.
    pub env: Option<String>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

const KEYS: [&str; 19] = [
    "type",
    "from",
    "source",
    "target",
    "readonly",
    "id",
    "sharing",
    "required",
    "size",
    "mode",
    "uid",
    "gid",
    "src",
    "dst",
    "destination",
    "ro",
    "rw",
    "readwrite",
    "env",
];

/// At parse time `from=` must be literal: it decides the build graph.
pub(crate) fn check_from_has_no_variable(raw: &str) -> Result<(), String> {
    for field in csv_fields(raw).map_err(csv_error)? {
        if let Some((k, v)) = field.split_once('=') {
            if k.eq_ignore_ascii_case("from") {
                if let Some(i) = v.find('$') {
                    if i != v.len() - 1 {
                        return Err(format!(
                            "'{}' doesn't support variable expansion, define alias stage instead",
                            k.to_lowercase()
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The `from=` of a mount as written, for the build graph.
pub fn mount_from(raw: &str) -> Option<String> {
    mount_field(raw, &["from"])
}

/// The mount's target as written (for messages).
pub fn mount_target(raw: &str) -> Option<String> {
    mount_field(raw, &["target", "dst", "destination"])
}

fn mount_field(raw: &str, keys: &[&str]) -> Option<String> {
    csv_fields(raw).ok()?.into_iter().find_map(|f| {
        let (k, v) = f.split_once('=')?;
        keys.iter()
            .any(|key| k.eq_ignore_ascii_case(key))
            .then(|| v.to_string())
    })
}

fn csv_error(e: String) -> String {
    format!("failed to parse csv mounts: {e}")
}

fn parse_bool(key: &str, v: &str) -> Result<bool, String> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("invalid value for {key}: {v}")),
    }
}

fn parse_u32(v: &str, radix: u32, what: &str) -> Result<u32, String> {
    u32::from_str_radix(v, radix).map_err(|_| format!("invalid value {v} for {what}"))
}

impl Mount {
    /// Parses one `--mount` value, expanding each value with `expand`.
    pub fn parse(
        raw: &str,
        expand: &mut dyn FnMut(&str) -> Result<String, String>,
    ) -> Result<Mount, String> {
        let mut m = Mount {
            kind: MountType::Bind,
            from: None,
            source: None,
            target: None,
            read_only: false,
            size_limit: None,
            id: None,
            sharing: None,
            required: false,
            env: None,
            mode: None,
            uid: None,
            gid: None,
        };
        let mut ro_auto = true;
        for field in csv_fields(raw).map_err(csv_error)? {
            let (key, value) = match field.split_once('=') {
                Some((k, v)) => (k.to_lowercase(), v.to_string()),
                None => {
                    m.bare_key(&field.to_lowercase(), &field, &mut ro_auto)?;
                    continue;
                }
            };
            let value = expand(&value)?;
            m.key_value(&key, value, &field, &mut ro_auto)?;
        }
        m.finish(ro_auto)
    }

    fn bare_key(&mut self, key: &str, field: &str, ro_auto: &mut bool) -> Result<(), String> {
        match key {
            "readonly" | "ro" => self.read_only = true,
            "readwrite" | "rw" => self.read_only = false,
            "required" if matches!(self.kind, MountType::Secret | MountType::Ssh) => {
                self.required = true;
                return Ok(());
            }
            "required" => return Err(self.unexpected(key)),
            _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
        }
        *ro_auto = false;
        Ok(())
    }

    fn unexpected(&self, key: &str) -> String {
        format!(
            "unexpected key '{key}' for mount type '{}'",
            self.kind.as_str()
        )
    }

    fn key_value(
        &mut self,
        key: &str,
        value: String,
        field: &str,
        ro_auto: &mut bool,
    ) -> Result<(), String> {
        match key {
            "type" => {
                self.kind = match value.to_lowercase().as_str() {
                    "bind" => MountType::Bind,
                    "cache" => MountType::Cache,
                    "tmpfs" => MountType::Tmpfs,
                    "secret" => MountType::Secret,
                    "ssh" => MountType::Ssh,
                    _ => {
                        let msg =
                            format!("unsupported mount type {}", crate::shell::go_quote(&value));
                        let types = ["bind", "cache", "tmpfs", "secret", "ssh"];
                        return Err(crate::parser::suggest(msg, &value, &types));
                    }
                }
            }
            "from" => self.from = Some(value),
            "source" | "src" => self.source = Some(value),
            "target" | "dst" | "destination" => self.target = Some(value),
            "readonly" | "ro" => {
                self.read_only = parse_bool(key, &value)?;
                *ro_auto = false;
            }
            "readwrite" | "rw" => {
                self.read_only = !parse_bool(key, &value)?;
                *ro_auto = false;
            }
            "required" if matches!(self.kind, MountType::Secret | MountType::Ssh) => {
                self.required = parse_bool(key, &value)?;
            }
            "size" if self.kind == MountType::Tmpfs => {
                self.size_limit = Some(
                    ram_in_bytes(&value)
                        .ok_or_else(|| format!("invalid value for {key}: {value}"))?,
                );
            }
            "required" | "size" => return Err(self.unexpected(key)),
            "id" => self.id = Some(value),
            "sharing" => {
                self.sharing = Some(match value.to_lowercase().as_str() {
                    "shared" => Sharing::Shared,
                    "private" => Sharing::Private,
                    "locked" => Sharing::Locked,
                    _ => {
                        let msg = format!(
                            "unsupported sharing value {}",
                            crate::shell::go_quote(&value)
                        );
                        return Err(crate::parser::suggest(
                            msg,
                            &value,
                            &["shared", "private", "locked"],
                        ));
                    }
                })
            }
            "mode" => self.mode = Some(parse_u32(&value, 8, "mode")?),
            "uid" => self.uid = Some(parse_u32(&value, 10, "uid")?),
            "gid" => self.gid = Some(parse_u32(&value, 10, "gid")?),
            "env" => self.env = Some(value),
            _ => {
                let msg = format!("unexpected key '{key}' in '{field}'");
                return Err(crate::parser::suggest(msg, key, &KEYS));
            }
        }
        Ok(())
    }

    fn finish(mut self, ro_auto: bool) -> Result<Mount, String> {
        let kind = self.kind.as_str();
        if !matches!(
            self.kind,
            MountType::Secret | MountType::Ssh | MountType::Cache
        ) {
            for (name, set) in [
                ("mode", self.mode.is_some()),
                ("uid", self.uid.is_some()),
                ("gid", self.gid.is_some()),
            ] {
                if set {
                    return Err(format!("{name} not allowed for \"{kind}\" type mounts"));
                }
            }
        }
        if ro_auto {
            self.read_only = !matches!(self.kind, MountType::Cache | MountType::Tmpfs);
        }
        if self.kind == MountType::Secret {
            if self.from.is_some() {
                return Err("secret mount should not have a from".into());
            }
            if self.sharing.is_some() {
                return Err("secret mount should not define sharing".into());
            }
            if self.source.is_none() && self.target.is_none() && self.id.is_none() {
                return Err("invalid secret mount. one of source, target required".into());
            }
            if self.source.is_some() && self.id.is_some() {
                return Err("both source and id can't be set".into());
            }
        }
        if self.sharing.is_some() && self.kind != MountType::Cache {
            return Err(format!("invalid cache sharing set for {kind} mount"));
        }
        Ok(self)
    }
}

/// Docker's `units.RAMInBytes`: `64m`, `1.5g`, `512kb`, `100` (binary multiples).
fn ram_in_bytes(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let num_len = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(num_len);
    let value: f64 = num.parse().ok()?;
    let unit = unit.strip_prefix(' ').unwrap_or(unit);
    let unit = unit.strip_suffix('b').unwrap_or(unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let mult: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        "p" => 1 << 50,
        _ => return None,
    };
    Some((value * mult as f64) as u64)
}

/// One CSV record (Go's encoding/csv rules): `"` quotes a whole field, `""` is a quote.
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    let mut col = 0usize;
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            col += 1;
            loop {
                match chars.next() {
                    None => return Err(format!("parse error on line 1, column {}: extraneous or missing \" in quoted-field", col + 1)),
                    Some('"') => {
                        col += 1;
                        match chars.peek() {
                            Some('"') => {
                                chars.next();
                                col += 1;
                                field.push('"');
                            }
                            Some(',') | None => break,
                            Some(_) => return Err(format!("parse error on line 1, column {}: extraneous or missing \" in quoted-field", col + 1)),
                        }
                    }
                    Some(c) => {
                        col += 1;
                        field.push(c);
                    }
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if c == '"' {
                    return Err(format!(
                        "parse error on line 1, column {}: bare \" in non-quoted-field",
                        col + 1
                    ));
                }
                field.push(c);
                chars.next();
                col += 1;
            }
        }
        fields.push(field);
        match chars.next() {
            Some(',') => col += 1,
            _ => return Ok(fields),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Mount, String> {
        Mount::parse(raw, &mut |v| Ok(v.replace("$DIR", "/cache")))
    }

    #[test]
    fn mount_kinds_and_defaults() {
        let m = parse("type=cache,target=$DIR,id=go,sharing=locked,uid=1000,mode=0755").unwrap();
        assert_eq!(
            (
                m.kind,
                m.target.as_deref(),
                m.id.as_deref(),
                m.sharing,
                m.uid,
                m.mode,
                m.read_only
            ),
            (
                MountType::Cache,
                Some("/cache"),
                Some("go"),
                Some(Sharing::Locked),
                Some(1000),
                Some(0o755),
                false
            )
        );
        let m = parse("target=/src").unwrap();
        assert_eq!((m.kind, m.read_only), (MountType::Bind, true));
        let m = parse("type=bind,from=builder,src=/out,dst=/in,rw").unwrap();
        assert_eq!(
            (m.from.as_deref(), m.source.as_deref(), m.read_only),
            (Some("builder"), Some("/out"), false)
        );
        let m = parse("type=tmpfs,target=/t,size=64m").unwrap();
        assert_eq!(m.size_limit, Some(64 << 20));
        let m = parse("type=secret,id=tok,required,env=TOKEN").unwrap();
        assert_eq!(
            (m.required, m.env.as_deref(), m.read_only),
            (true, Some("TOKEN"), true)
        );
        let m = parse(r#""type=bind","target=/a,b""#).unwrap();
        assert_eq!(m.target.as_deref(), Some("/a,b"));
    }

    #[test]
    fn mount_errors_read_like_buildkit() {
        let cases: &[(&str, &str)] = &[
            ("type=cahce,target=/x", "unsupported mount type \"cahce\" (did you mean cache?)"),
            ("type=cache,target=/x,sharing=nope", "unsupported sharing value \"nope\""),
            ("type=bind,target=/x,mode=0755", "mode not allowed for \"bind\" type mounts"),
            ("type=bind,target=/x,required", "unexpected key 'required' for mount type 'bind'"),
            ("type=cache,size=1m,target=/x", "unexpected key 'size' for mount type 'cache'"),
            ("type=secret", "invalid secret mount. one of source, target required"),
            ("type=secret,id=a,from=b", "secret mount should not have a from"),
            ("type=tmpfs,target=/x,sharing=shared", "invalid cache sharing set for tmpfs mount"),
            ("type=cache,targte=/x", "unexpected key 'targte' in 'targte=/x' (did you mean target?)"),
            ("type=cache,bogus", "invalid field 'bogus' must be a key=value pair"),
            ("type=cache,uid=x", "invalid value x for uid"),
            ("type=cache,ro=maybe", "invalid value for ro: maybe"),
            ("type=cache,tar\"get=/x", "failed to parse csv mounts: parse error on line 1, column 15: bare \" in non-quoted-field"),
        ];
        for (raw, want) in cases {
            assert_eq!(parse(raw).unwrap_err(), *want, "{raw}");
        }
    }

    #[test]
    fn from_must_be_literal() {
        assert!(check_from_has_no_variable("type=bind,from=$STAGE").is_err());
        assert!(check_from_has_no_variable("type=bind,from=stage$").is_ok());
        assert!(check_from_has_no_variable("type=bind,target=$X").is_ok());
        assert_eq!(
            mount_from("type=bind,FROM=build,target=/x").as_deref(),
            Some("build")
        );
        assert_eq!(mount_from("type=cache,target=/x"), None);
    }
}
