//! `docker import`: a rootfs tar (plain or gzip) becomes a one-layer image,
//! with `--change` instructions applied to its config.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use serde_json::Map;

use crate::config::{ContainerConfig, Healthcheck, History, ImageConfig, RootFs};
use crate::content::local::temp_ref;
use crate::content::{ContentError, IngestManager, Ingester, Writer, WriterOpts};
use crate::layer_apply::{self, LayerError};
use crate::reference::Reference;
use crate::store::{ImageRecord, LayerRecord, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A bad `--change`; the message is Docker's.
    #[error("{message}")]
    InvalidChange { message: String },
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing layer blob (content write {reference:?}): {source}")]
    Blob {
        reference: String,
        #[source]
        source: io::Error,
    },
}

impl ImportError {
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            ImportError::InvalidChange { .. } => crate::ErrorKind::InvalidArgument,
            ImportError::Layer(e) => e.kind(),
            ImportError::Store(e) => e.kind(),
            ImportError::Blob { .. } => crate::ErrorKind::Internal,
        }
    }
}

impl From<ContentError> for ImportError {
    fn from(e: ContentError) -> Self {
        ImportError::Store(StoreError::Content(e))
    }
}

/// Copies everything read from `r` into `w` (the compressed blob).
struct Tee<R, W> {
    r: R,
    w: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.r.read(buf)?;
        self.w.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Unpacks the layer `plain` while writing it gzip-compressed to `blob`, then commits both.
fn store_layer(
    store: &Store,
    plain: impl Read,
    blob: Box<dyn Writer>,
) -> Result<(crate::unpack::Unpacked, crate::content::Info), ImportError> {
    let reference = blob.reference().to_string();
    let gz = flate2::write::GzEncoder::new(blob, flate2::Compression::fast());
    let mut tee = Tee { r: plain, w: gz };
    let snap = crate::unpack::unpack_layer(store.snapshots(), None, &mut tee, None)
        .map_err(StoreError::from)?;
    let blob = tee
        .w
        .finish()
        .map_err(|source| ImportError::Blob { reference, source })?
        .commit(None, None)?;
    Ok((snap, blob))
}

/// Docker's name for the host architecture.
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// Imports `reader` (a rootfs tar, plain or gzip) as a new image: the layer is
/// stored gzip-compressed and unpacked, a config (with `changes` applied) and a
/// manifest are written, and the image is tagged `reference` if given.
/// `message` becomes the history comment (default `Imported from -`).
pub fn import(
    store: &Store,
    reader: impl Read,
    changes: &[String],
    reference: Option<&str>,
    message: &str,
) -> Result<ImageRecord, ImportError> {
    // Fail on bad arguments before reading a possibly large stream.
    let reference = match reference {
        Some(r) if !r.is_empty() => {
            let r = Reference::parse_tagged(r).map_err(StoreError::from)?;
            if r.digest().is_some() {
                return Err(StoreError::InvalidArgument {
                    message: "refusing to create a tag with a digest reference".to_string(),
                }
                .into());
            }
            Some(r)
        }
        _ => None,
    };
    let mut container = ContainerConfig::default();
    apply_changes(&mut container, changes)?;

    let _guard = store.shared_lock();
    let plain = layer_apply::decompress(reader)?;
    // The stream cannot be read again: a write cut short is of no use to anyone.
    let write = temp_ref("import");
    let blob = store.content().writer(&WriterOpts::new(&write))?;
    let stored = store_layer(store, plain, blob);
    if stored.is_err() {
        let _ = store.content().abort(&write);
    }
    let (snap, blob) = stored?;

    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let comment = if message.is_empty() {
        "Imported from -".to_string()
    } else {
        message.to_string()
    };
    let mut extra = Map::new();
    extra.insert("comment".to_string(), comment.clone().into());
    let config = ImageConfig {
        architecture: host_architecture().to_string(),
        author: None,
        config: Some(container),
        created: Some(created.clone()),
        history: vec![History {
            created: Some(created),
            comment: Some(comment),
            ..History::default()
        }],
        os: "linux".to_string(),
        rootfs: RootFs {
            kind: "layers".to_string(),
            diff_ids: vec![snap.diff_id.clone()],
        },
        variant: None,
        extra,
    };
    let bytes = config.to_vec().map_err(StoreError::from)?;
    let layer = LayerRecord {
        diff_id: snap.diff_id,
        chain_id: snap.chain_id,
        blob: blob.digest,
        blob_size: blob.size,
        size: snap.size,
        tar_size: Some(snap.tar_size),
    };
    let refs: Vec<Reference> = reference.into_iter().collect();
    Ok(store.add_image_locked(&bytes, vec![layer], &refs, None)?)
}

const VALID_CHANGES: &[&str] = &[
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "HEALTHCHECK",
    "LABEL",
    "ONBUILD",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

const OTHER_INSTRUCTIONS: &[&str] = &["ADD", "ARG", "COPY", "FROM", "MAINTAINER", "RUN", "SHELL"];

fn invalid(message: impl Into<String>) -> ImportError {
    ImportError::InvalidChange {
        message: message.into(),
    }
}

/// Applies Dockerfile-like `--change` lines (as `docker import`/`commit` take).
/// Variable substitution (`$VAR`) is not performed.
pub fn apply_changes(cfg: &mut ContainerConfig, changes: &[String]) -> Result<(), ImportError> {
    // First validate every line, as Docker parses the whole text first.
    let mut parsed = Vec::new();
    for (i, line) in changes.iter().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (instr, rest) = match line.split_once(char::is_whitespace) {
            Some((a, b)) => (a, b.trim()),
            None => (line, ""),
        };
        let upper = instr.to_uppercase();
        if !VALID_CHANGES.contains(&upper.as_str()) {
            if OTHER_INSTRUCTIONS.contains(&upper.as_str()) {
                return Err(invalid(format!(
                    "{} is not a valid change command",
                    instr.to_lowercase()
                )));
            }
            return Err(invalid(format!(
                "dockerfile parse error on line {}: unknown instruction: {upper}",
                i + 1
            )));
        }
        parsed.push((upper, rest.to_string()));
    }
    let mut cmd_set = false;
    for (instr, rest) in parsed {
        let need_args = |what: &str| {
            if rest.is_empty() {
                Err(invalid(format!("{what} requires at least one argument")))
            } else {
                Ok(())
            }
        };
        match instr.as_str() {
            "CMD" => {
                cfg.cmd = Some(command(&rest, cfg.shell.as_deref()));
                cmd_set = true;
            }
            "ENTRYPOINT" => {
                cfg.entrypoint = if rest.is_empty() {
                    None
                } else {
                    Some(command(&rest, cfg.shell.as_deref()))
                };
                // Docker: a new ENTRYPOINT resets CMD unless CMD was set here too.
                if !cmd_set {
                    cfg.cmd = None;
                }
            }
            "ENV" => {
                need_args("ENV")?;
                let env = cfg.env.get_or_insert_with(Vec::new);
                for (k, v) in name_values(&rest, "ENV")? {
                    let prefix = format!("{k}=");
                    let entry = format!("{k}={v}");
                    match env.iter_mut().find(|e| e.starts_with(&prefix) || **e == k) {
                        Some(e) => *e = entry,
                        None => env.push(entry),
                    }
                }
            }
            "LABEL" => {
                need_args("LABEL")?;
                let labels = cfg.labels.get_or_insert_with(BTreeMap::new);
                for (k, v) in name_values(&rest, "LABEL")? {
                    labels.insert(k, v);
                }
            }
            "EXPOSE" => {
                need_args("EXPOSE")?;
                let ports = cfg.exposed_ports.get_or_insert_with(BTreeMap::new);
                for spec in words(&rest) {
                    for p in port_specs(&spec)? {
                        ports.insert(p, Map::new());
                    }
                }
            }
            "USER" => {
                need_args("USER")?;
                cfg.user = Some(rest);
            }
            "WORKDIR" => {
                need_args("WORKDIR")?;
                let base = cfg.working_dir.clone().unwrap_or_else(|| "/".to_string());
                let joined = if rest.starts_with('/') {
                    rest
                } else {
                    format!("{base}/{rest}")
                };
                cfg.working_dir = Some(clean_path(&joined));
            }
            "VOLUME" => {
                let vols = match json_array(&rest) {
                    Some(v) => v,
                    None => words(&rest),
                };
                if vols.is_empty() || vols.iter().any(|v| v.trim().is_empty()) {
                    return Err(invalid("VOLUME specified can not be an empty string"));
                }
                let map = cfg.volumes.get_or_insert_with(BTreeMap::new);
                for v in vols {
                    map.insert(v, Map::new());
                }
            }
            "STOPSIGNAL" => {
                need_args("STOPSIGNAL")?;
                if let Err(e) = berth_signal::parse(&rest) {
                    return Err(invalid(e.to_string()));
                }
                cfg.stop_signal = Some(rest);
            }
            "ONBUILD" => {
                need_args("ONBUILD")?;
                let trigger = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_uppercase();
                match trigger.as_str() {
                    "ONBUILD" => {
                        return Err(invalid(
                            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
                        ))
                    }
                    "FROM" | "MAINTAINER" => {
                        return Err(invalid(format!(
                            "{trigger} isn't allowed as an ONBUILD trigger"
                        )))
                    }
                    _ => {}
                }
                cfg.on_build.get_or_insert_with(Vec::new).push(rest);
            }
            "HEALTHCHECK" => {
                cfg.healthcheck = Some(healthcheck(&rest)?);
            }
            _ => {}
        }
    }
    Ok(())
}

fn json_array(s: &str) -> Option<Vec<String>> {
    if !s.trim_start().starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(s).ok()
}

/// Exec form when `rest` is a JSON string array, else shell form.
fn command(rest: &str, shell: Option<&[String]>) -> Vec<String> {
    if let Some(v) = json_array(rest) {
        return v;
    }
    let mut v: Vec<String> = match shell {
        Some(s) if !s.is_empty() => s.to_vec(),
        _ => vec!["/bin/sh".to_string(), "-c".to_string()],
    };
    v.push(rest.to_string());
    v
}

/// Splits on whitespace, honouring quotes and backslash escapes, removing them.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, '"') | (None, '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => cur.push(c),
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (_, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// `k=v k2="v 2"` or the legacy `k v...` form (ENV, LABEL).
fn name_values(rest: &str, instr: &str) -> Result<Vec<(String, String)>, ImportError> {
    let first = rest.split_whitespace().next().unwrap_or_default();
    if !first.contains('=') {
        // Legacy: the first word is the name, the rest of the line the value.
        let (k, v) = rest
            .split_once(char::is_whitespace)
            .ok_or_else(|| invalid(format!("{instr} must have two arguments")))?;
        return Ok(vec![(k.to_string(), words(v.trim()).join(" "))]);
    }
    let mut out = Vec::new();
    for w in words(rest) {
        let (k, v) = w.split_once('=').ok_or_else(|| {
            invalid(format!(
                "Syntax error - can't find = in {w:?}. Must be of the form: name=value"
            ))
        })?;
        if k.is_empty() {
            return Err(invalid(format!("{instr} names can not be blank")));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// `80`, `80/udp`, `8000-8002/tcp` → `80/tcp`, ...
fn port_specs(spec: &str) -> Result<Vec<String>, ImportError> {
    let bad = || invalid(format!("invalid containerPort: {spec}"));
    let (ports, proto) = match spec.split_once('/') {
        Some((p, proto)) => (p, proto.to_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(invalid(format!("invalid proto: {proto}")));
    }
    let parse = |s: &str| s.parse::<u16>().map_err(|_| bad());
    let (start, end) = match ports.split_once('-') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => {
            let p = parse(ports)?;
            (p, p)
        }
    };
    if end < start {
        return Err(bad());
    }
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

fn clean_path(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    format!("/{}", out.join("/"))
}

/// Go duration (`1m30s`, `500ms`, `1.5h`) to nanoseconds.
fn go_duration(s: &str) -> Option<i64> {
    if s == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * mult;
        rest = &rest[unit_end..];
    }
    Some(total as i64)
}

fn healthcheck(rest: &str) -> Result<Healthcheck, ImportError> {
    let mut hc = Healthcheck::default();
    let mut rest = rest.trim();
    while let Some(flag) = rest.strip_prefix("--") {
        let (f, tail) = flag.split_once(char::is_whitespace).unwrap_or((flag, ""));
        let (name, value) = f
            .split_once('=')
            .ok_or_else(|| invalid(format!("flag --{f} needs a value")))?;
        let dur = || {
            go_duration(value).ok_or_else(|| invalid(format!("time: invalid duration {value:?}")))
        };
        match name {
            "interval" => hc.interval = Some(dur()?),
            "timeout" => hc.timeout = Some(dur()?),
            "start-period" => hc.start_period = Some(dur()?),
            "start-interval" => hc.start_interval = Some(dur()?),
            "retries" => {
                hc.retries = Some(value.parse().map_err(|_| {
                    invalid(format!(
                        "strconv.ParseInt: parsing {value:?}: invalid syntax"
                    ))
                })?)
            }
            other => return Err(invalid(format!("Unknown flag: {other}"))),
        }
        rest = tail.trim_start();
    }
    let (kind, args) = rest
        .split_once(char::is_whitespace)
        .map(|(a, b)| (a, b.trim()))
        .unwrap_or((rest, ""));
    match kind.to_uppercase().as_str() {
        "NONE" => {
            if !args.is_empty() {
                return Err(invalid("HEALTHCHECK NONE takes no arguments"));
            }
            hc.test = Some(vec!["NONE".to_string()]);
        }
        "CMD" => {
            if args.is_empty() {
                return Err(invalid("Missing command after HEALTHCHECK CMD"));
            }
            hc.test = Some(match json_array(args) {
                Some(v) => std::iter::once("CMD".to_string()).chain(v).collect(),
                None => vec!["CMD-SHELL".to_string(), args.to_string()],
            });
        }
        other => {
            return Err(invalid(format!(
                "Unknown type {other:?} in HEALTHCHECK (try CMD)"
            )))
        }
    }
    Ok(hc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{local::temp_ref, Provider, SectionReader};
    use crate::digest::Digest;
    use crate::layer_apply::tests::{gzip, TarBuilder};
    use crate::snapshot::mount;
    use crate::store::{not_in_use, DeleteItem};
    use std::io::Write;
    use std::path::Path;
    use std::sync::Arc;

    fn store(dir: &Path) -> Store {
        let db = Arc::new(redb::Database::create(dir.join("metadata.redb")).unwrap());
        Store::open(dir, db).unwrap()
    }

    fn rootfs_tar() -> Vec<u8> {
        TarBuilder::new()
            .dir("./")
            .dir("bin/")
            .file_owned("bin/sh", b"#!fake\n", 0o755, 0)
            .dir("etc/")
            .file("etc/os-release", b"ID=test\n")
            .build()
    }

    fn changes(c: &[&str]) -> Vec<String> {
        c.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn import_lists_tags_and_configures() {
        let t = tempfile::tempdir().unwrap();
        let s = store(t.path());
        let tar = rootfs_tar();
        let rec = import(
            &s,
            &gzip(&tar)[..],
            &changes(&[
                r#"CMD ["sh"]"#,
                "ENV A=1 B=\"two words\"",
                "EXPOSE 80 53/udp",
                "WORKDIR /app",
            ]),
            Some("busybox"),
            "",
        )
        .unwrap();
        // The id is the digest of the stored config bytes.
        let bytes = s.config_bytes(&rec.id).unwrap();
        assert_eq!(Digest::of(&bytes), rec.id);
        let cfg = s.config(&rec.id).unwrap();
        let cc = cfg.config.as_ref().unwrap();
        assert_eq!(cc.cmd.as_deref(), Some(&["sh".to_string()][..]));
        assert_eq!(
            cc.env.as_ref().unwrap(),
            &vec!["A=1".to_string(), "B=two words".to_string()]
        );
        assert!(cc.exposed_ports.as_ref().unwrap().contains_key("53/udp"));
        assert_eq!(cc.working_dir.as_deref(), Some("/app"));
        assert_eq!(cfg.os, "linux");
        assert_eq!(cfg.architecture, host_architecture());
        assert_eq!(cfg.rootfs.diff_ids, vec![Digest::of(&tar)]);
        assert_eq!(cfg.history[0].comment.as_deref(), Some("Imported from -"));
        assert!(cfg.history[0].created_by.is_none());
        // Layer blob is the gzip of exactly the tar; manifest references it.
        let blob = SectionReader::new(s.content().reader_at(&rec.layers[0].blob).unwrap());
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(blob)
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, tar);
        let m = crate::config::Manifest::from_slice(
            &s.content().read(&rec.manifest_digest).unwrap(),
            None,
        )
        .unwrap();
        assert_eq!(m.config.digest, rec.id);
        assert_eq!(m.layers[0].digest, rec.layers[0].blob);
        assert_eq!(rec.size, 7 + 8);

        let list = s.list().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].references[0].familiar(), "busybox:latest");
        assert_eq!(
            list[0].references[0].to_string(),
            "docker.io/library/busybox:latest"
        );

        // The layer is there: mount a view of it and look inside.
        let top = rec.chain_ids().pop().unwrap().to_string();
        let mounts = s.snapshots().view("look", Some(&top)).unwrap();
        let at = t.path().join("look");
        std::fs::create_dir(&at).unwrap();
        mount::mount_all(&mounts, &at).unwrap();
        let os_release = std::fs::read(at.join("etc/os-release"));
        mount::unmount(&at).unwrap();
        assert_eq!(os_release.unwrap(), b"ID=test\n");
        s.snapshots().remove("look").unwrap();
    }

    #[test]
    fn lookup_rules() {
        let t = tempfile::tempdir().unwrap();
        let s = store(t.path());
        let rec = import(&s, &rootfs_tar()[..], &[], Some("busybox"), "m").unwrap();
        let id = rec.id.clone();
        for q in [
            "busybox".to_string(),
            "busybox:latest".to_string(),
            "docker.io/library/busybox".to_string(),
            "docker.io/library/busybox:latest".to_string(),
            id.to_string(),
            id.hex().to_string(),
            id.hex()[..1].to_string(),
            id.short().to_string(),
            format!("sha256:{}", &id.hex()[..5]),
        ] {
            assert_eq!(s.resolve(&q).unwrap(), id, "{q}");
        }
        let e = s.resolve("busybox:1.36").unwrap_err();
        assert_eq!(e.to_string(), "No such image: busybox:1.36");
        assert_eq!(e.kind(), crate::ErrorKind::NotFound);
        assert_eq!(
            s.resolve("nope").unwrap_err().to_string(),
            "No such image: nope:latest"
        );
        assert_eq!(
            s.resolve("Busybox").unwrap_err().kind(),
            crate::ErrorKind::InvalidArgument
        );
        // A second image: a 0-char-distinct prefix may become ambiguous.
        let rec2 = import(&s, &rootfs_tar()[..], &[], None, "other").unwrap();
        assert_ne!(rec2.id, id);
        assert_eq!(s.resolve(&rec2.id.hex()[..12]).unwrap(), rec2.id);
        assert!(s.resolve("").is_err());
        assert_eq!(s.get(&rec2.id.to_string()).unwrap().references, vec![]);
    }

    #[test]
    fn tag_untag_delete() {
        let t = tempfile::tempdir().unwrap();
        let s = store(t.path());
        let rec = import(&s, &rootfs_tar()[..], &[], Some("busybox"), "").unwrap();
        let id = rec.id.clone();
        s.tag("busybox", "myreg:5000/x/y:t").unwrap();
        s.tag(id.short(), "busybox:1.36").unwrap();
        let refs: Vec<String> = s
            .references_of(&id)
            .unwrap()
            .iter()
            .map(|r| r.familiar())
            .collect();
        assert_eq!(
            refs,
            vec!["busybox:1.36", "busybox:latest", "myreg:5000/x/y:t"]
        );
        assert_eq!(
            s.tag("busybox", &format!("x@{id}")).unwrap_err().kind(),
            crate::ErrorKind::InvalidArgument
        );

        // By id with several repositories: conflict unless forced.
        let e = s.delete(id.short(), false, &not_in_use).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Conflict);
        assert_eq!(
            e.to_string(),
            format!("conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories", id.short())
        );
        // By reference: only untags while others remain.
        assert_eq!(
            s.delete("myreg:5000/x/y:t", false, &not_in_use).unwrap(),
            vec![DeleteItem::Untagged("myreg:5000/x/y:t".into())]
        );
        assert_eq!(
            s.delete("busybox:1.36", false, &not_in_use).unwrap(),
            vec![DeleteItem::Untagged("busybox:1.36".into())]
        );
        // In use by a container: refused, then forced.
        let used = |_: &Digest| {
            Some(crate::store::ContainerUse {
                container_id: "0123456789abcdef".into(),
                running: false,
            })
        };
        let e = s.delete("busybox", false, &used).unwrap_err();
        assert!(
            e.to_string()
                .contains("container 0123456789ab is using its referenced image"),
            "{e}"
        );
        let running = |_: &Digest| {
            Some(crate::store::ContainerUse {
                container_id: "c".into(),
                running: true,
            })
        };
        let e = s.delete(&id.to_string(), true, &running).unwrap_err();
        assert!(
            e.to_string()
                .contains("(cannot be forced) - image is being used by running container c"),
            "{e}"
        );

        // Last reference: untag then delete, with the layer.
        let chain = rec.layers[0].chain_id.clone();
        let blob = rec.layers[0].blob.clone();
        let items = s.delete("busybox", false, &not_in_use).unwrap();
        assert_eq!(
            items,
            vec![
                DeleteItem::Untagged("busybox:latest".into()),
                DeleteItem::Deleted(id.to_string()),
                DeleteItem::Deleted(chain.to_string()),
            ]
        );
        assert_eq!(
            serde_json::to_string(&items[0]).unwrap(),
            r#"{"Untagged":"busybox:latest"}"#
        );
        assert!(s.list().unwrap().is_empty());
        assert!(s.snapshots().walk().unwrap().is_empty());
        assert!(!s.content().exists(&blob));
        assert!(!s.content().exists(&id));
        assert!(s.content().walk_all().is_empty());
        assert_eq!(
            s.resolve("busybox").unwrap_err().kind(),
            crate::ErrorKind::NotFound
        );
        assert_eq!(
            s.untag("busybox").unwrap_err().kind(),
            crate::ErrorKind::NotFound
        );
    }

    #[test]
    fn shared_layers_survive_deleting_one_image() {
        let t = tempfile::tempdir().unwrap();
        let s = store(t.path());
        let a = import(&s, &rootfs_tar()[..], &[], Some("a"), "one").unwrap();
        let b = import(&s, &rootfs_tar()[..], &[], Some("b"), "two").unwrap();
        assert_ne!(a.id, b.id);
        assert_eq!(a.layers[0].chain_id, b.layers[0].chain_id);
        let layer = b.layers[0].chain_id.to_string();
        let items = s.delete("a", false, &not_in_use).unwrap();
        assert_eq!(items.len(), 2, "{items:?}"); // untag + image, layer kept
        assert!(s.snapshots().stat(&layer).is_ok());
        assert!(s.content().exists(&b.layers[0].blob));
        // Dangling image deleted by id, stopped container forced: the layer under the
        // container's snapshot stays, until the container goes.
        s.snapshots().prepare("container", Some(&layer)).unwrap();
        s.untag("b").unwrap();
        let used = |_: &Digest| {
            Some(crate::store::ContainerUse {
                container_id: "c".into(),
                running: false,
            })
        };
        let items = s.delete(b.id.short(), true, &used).unwrap();
        assert_eq!(items, vec![DeleteItem::Deleted(b.id.to_string())]);
        assert!(s.snapshots().stat(&layer).is_ok());
        assert!(s.gc_snapshots(&Default::default()).unwrap().is_empty());
        s.snapshots().remove("container").unwrap();
        // A layer a container will stand on is kept.
        let keep = [layer.clone()].into_iter().collect();
        assert!(s.gc_snapshots(&keep).unwrap().is_empty());
        assert_eq!(
            s.gc_snapshots(&Default::default()).unwrap(),
            vec![layer.clone()]
        );
        assert!(s.snapshots().walk().unwrap().is_empty());
    }

    #[test]
    fn reopen_keeps_images_and_collects_orphans() {
        let t = tempfile::tempdir().unwrap();
        let db = Arc::new(redb::Database::create(t.path().join("metadata.redb")).unwrap());
        let s = Store::open(t.path(), db.clone()).unwrap();
        let rec = import(&s, &rootfs_tar()[..], &[], Some("x"), "").unwrap();
        let orphan = s.content().ingest_bytes(b"orphan").unwrap();
        std::fs::create_dir_all(t.path().join("snapshots/unpack.tmp-9/fs")).unwrap();
        std::fs::write(t.path().join("content/ingest/junk"), b"j").unwrap();
        // What a crash in the middle of an import leaves: an unpack, a layer no image
        // names yet, a half-written blob.
        let stray = crate::unpack::unpack_layer(
            s.snapshots(),
            None,
            &mut &TarBuilder::new().file("stray", b"s").build()[..],
            None,
        )
        .unwrap();
        s.snapshots()
            .prepare("extract-1-2-3", Some(&stray.chain_id.to_string()))
            .unwrap();
        let mut w = s
            .content()
            .writer(&WriterOpts::new(temp_ref("import")))
            .unwrap();
        w.write_all(b"half").unwrap();
        drop(w);
        drop(s);
        let s = Store::open(t.path(), db).unwrap();
        assert_eq!(s.resolve("x").unwrap(), rec.id);
        assert!(!s.content().exists(&orphan.digest));
        assert!(s.content().exists(&rec.layers[0].blob));
        assert!(!t.path().join("snapshots/unpack.tmp-9").exists());
        assert!(!t.path().join("content/ingest/junk").exists());
        assert!(s.content().list_statuses().unwrap().is_empty());
        assert_eq!(
            s.gc_snapshots(&Default::default()).unwrap(),
            vec![stray.chain_id.to_string()]
        );
        let names: Vec<String> = s
            .snapshots()
            .walk()
            .unwrap()
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(names, vec![rec.layers[0].chain_id.to_string()]);
    }

    #[test]
    fn bad_input_is_rejected_cleanly() {
        let t = tempfile::tempdir().unwrap();
        let s = store(t.path());
        let e = import(&s, &rootfs_tar()[..], &changes(&["FOO bar"]), None, "").unwrap_err();
        assert_eq!(
            e.to_string(),
            "dockerfile parse error on line 1: unknown instruction: FOO"
        );
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        let e = import(
            &s,
            &rootfs_tar()[..],
            &changes(&["CMD x", "run x"]),
            None,
            "",
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "run is not a valid change command");
        let e = import(&s, &rootfs_tar()[..], &[], Some("Bad"), "").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        let evil = TarBuilder::new().file("../evil", b"x").build();
        let e = import(&s, &evil[..], &[], Some("evil"), "").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        assert!(!t.path().join("evil").exists());
        assert!(s.list().unwrap().is_empty());
        assert!(s.content().walk_all().is_empty());
        assert!(s.snapshots().walk().unwrap().is_empty());
        assert_eq!(
            std::fs::read_dir(t.path().join("content/ingest"))
                .unwrap()
                .count(),
            0
        );
    }

    /// A real static busybox imported, mounted and run with chroot: the
    /// image is "just enough to run".
    #[test]
    fn imported_busybox_runs_in_a_container_snapshot() {
        let bb = std::fs::read("/bin/busybox")
            .expect("this test runs /bin/busybox (Debian's busybox-static) in an image");
        let t = tempfile::tempdir().unwrap();
        let s = store(t.path());
        let tar = TarBuilder::new()
            .dir("./")
            .dir("bin/")
            .file_owned("bin/busybox", &bb, 0o755, 0)
            .symlink("bin/sh", "busybox")
            .dir("tmp/")
            .build();
        let rec = import(
            &s,
            &gzip(&tar)[..],
            &changes(&["CMD [\"sh\"]"]),
            Some("busybox"),
            "",
        )
        .unwrap();
        let top = rec.chain_ids().pop().unwrap().to_string();
        let mounts = s.snapshots().prepare("c", Some(&top)).unwrap();
        let rootfs = t.path().join("rootfs");
        std::fs::create_dir(&rootfs).unwrap();
        mount::mount_all(&mounts, &rootfs).unwrap();
        let out = std::process::Command::new("chroot")
            .arg(&rootfs)
            .args([
                "/bin/sh",
                "-c",
                "echo hello > /tmp/f && /bin/busybox cat /tmp/f",
            ])
            .output();
        mount::unmount(&rootfs).unwrap();
        let out = out.unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(out.stdout, b"hello\n");
        // The write went into the container's snapshot, not the layer.
        let mut layer = Vec::new();
        s.snapshots().diff(&top, &mut layer).unwrap();
        let mut written = Vec::new();
        s.snapshots().diff("c", &mut written).unwrap();
        let has_f = |tar: &[u8]| {
            tar::Archive::new(tar)
                .entries()
                .unwrap()
                .any(|e| e.unwrap().path().unwrap() == Path::new("tmp/f"))
        };
        assert!(has_f(&written) && !has_f(&layer));
        s.snapshots().remove("c").unwrap();
    }

    #[test]
    fn changes_parse_like_docker() {
        let mut c = ContainerConfig::default();
        apply_changes(
            &mut c,
            &changes(&[
                "ENTRYPOINT /bin/app --flag",
                "cmd [\"a\", \"b\"]",
                "ENV PATH /usr/bin:/bin",
                "ENV PATH=/x",
                "LABEL a=b \"c d\"=e",
                "EXPOSE 8000-8002/udp",
                "USER 1000:1000",
                "WORKDIR /a",
                "WORKDIR b/../c",
                "VOLUME [\"/data\", \"/logs\"]",
                "VOLUME /v1 /v2",
                "STOPSIGNAL SIGUSR1",
                "ONBUILD RUN echo hi",
                "HEALTHCHECK --interval=1m30s --retries=3 CMD curl -f http://localhost/",
            ]),
        )
        .unwrap();
        assert_eq!(
            c.entrypoint.unwrap(),
            vec!["/bin/sh", "-c", "/bin/app --flag"]
        );
        assert_eq!(c.cmd.unwrap(), vec!["a", "b"]);
        assert_eq!(c.env.unwrap(), vec!["PATH=/x"]);
        assert_eq!(c.labels.unwrap()["c d"], "e");
        assert_eq!(c.exposed_ports.unwrap().len(), 3);
        assert_eq!(c.user.as_deref(), Some("1000:1000"));
        assert_eq!(c.working_dir.as_deref(), Some("/a/c"));
        assert_eq!(c.volumes.unwrap().len(), 4);
        assert_eq!(c.stop_signal.as_deref(), Some("SIGUSR1"));
        assert_eq!(c.on_build.unwrap(), vec!["RUN echo hi"]);
        let hc = c.healthcheck.unwrap();
        assert_eq!(hc.interval, Some(90_000_000_000));
        assert_eq!(hc.retries, Some(3));
        assert_eq!(
            hc.test.unwrap(),
            vec!["CMD-SHELL", "curl -f http://localhost/"]
        );

        // ENTRYPOINT after CMD resets it.
        let mut c = ContainerConfig {
            cmd: Some(vec!["x".into()]),
            ..Default::default()
        };
        apply_changes(&mut c, &changes(&["ENTRYPOINT [\"e\"]"])).unwrap();
        assert!(c.cmd.is_none());

        for bad in [
            "STOPSIGNAL SIGFOO",
            "EXPOSE 99999",
            "EXPOSE 80/xyz",
            "ENV",
            "VOLUME",
            "HEALTHCHECK FOO",
            "HEALTHCHECK --interval=abc CMD x",
            "ONBUILD FROM x",
            "ENV a=1 b",
        ] {
            let mut c = ContainerConfig::default();
            let e = apply_changes(&mut c, &changes(&[bad])).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{bad}");
        }
    }
}
