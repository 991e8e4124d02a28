//! The second pass: nodes to typed instructions, checked with Docker's messages.
//! Values stay as written (quotes, `$VAR`): substitution happens when a stage is
//! planned, with that stage's variables.

use std::time::Duration;

use super::flags::{with_suggestion, Flags, Kind};
use super::heredoc::{parse_heredoc, Heredoc};
use super::node::Node;

/// A key/value pair of `ENV` or `LABEL`, as written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
    /// Written `KEY value` rather than `KEY=value`.
    pub no_delim: bool,
}

/// One name of `ARG name[=default]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArgDecl {
    pub key: String,
    pub value: Option<String>,
}

/// The command of `RUN`, `CMD` or `ENTRYPOINT`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommandLine {
    /// Exec form: the argv. Shell form: one string (empty when no arguments).
    pub args: Vec<String>,
    /// Shell form: run through the stage's `SHELL` (`/bin/sh -c` by default).
    pub prepend_shell: bool,
}

impl CommandLine {
    fn from_node(node: &Node) -> CommandLine {
        let args = if node.args.is_empty() {
            Vec::new()
        } else if node.json {
            node.args.clone()
        } else {
            vec![node.args.join(" ")]
        };
        CommandLine {
            args,
            prepend_shell: !node.json,
        }
    }
}

/// `FROM [--platform=p] image [AS name]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct From {
    /// The base as written: an image reference, a stage name, `scratch`, or
    /// something with `${VAR}` of the meta args.
    pub image: String,
    /// The stage name, lowercased.
    pub name: Option<String>,
    pub platform: Option<String>,
}

/// `RUN`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Run {
    pub command: CommandLine,
    /// Heredoc bodies; with a shell-form `RUN <<EOF` the body is the script.
    pub heredocs: Vec<Heredoc>,
    /// `--mount=` values as written; see [`crate::mount::Mount::parse`].
    pub mounts: Vec<String>,
    /// `--network=default|none|host`.
    pub network: String,
}

/// An inline source of `COPY`/`ADD` (`COPY <<EOF /dst`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceContent {
    /// The file name (the heredoc's terminator word).
    pub path: String,
    pub data: String,
    /// Whether `$VAR` in the data is expanded (unquoted terminator).
    pub expand: bool,
}

/// `COPY`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Copy {
    pub sources: Vec<String>,
    pub contents: Vec<SourceContent>,
    pub dest: String,
    /// `--from=`: a stage name, a stage index or an image.
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub parents: bool,
    pub excludes: Vec<String>,
}

/// `ADD`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Add {
    /// Paths in the context, URLs or git repositories.
    pub sources: Vec<String>,
    pub contents: Vec<SourceContent>,
    pub dest: String,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub keep_git_dir: Option<bool>,
    pub checksum: Option<String>,
    pub unpack: Option<bool>,
    pub excludes: Vec<String>,
}

/// `HEALTHCHECK`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disable the base image's check.
    None,
    Check(HealthConfig),
}

/// `HEALTHCHECK [options] CMD ...`, as the image config stores it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HealthConfig {
    /// `["CMD", argv...]` (exec form) or `["CMD-SHELL", command]`.
    pub test: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub start_interval: Duration,
    pub retries: u32,
}

/// `ONBUILD <instruction>`: stored as text in the image, run by child builds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Onbuild {
    /// The trigger as the image config stores it (heredoc bodies appended).
    pub expression: String,
}

/// A Dockerfile instruction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Instruction {
    Add(Add),
    Arg(Vec<ArgDecl>),
    Cmd(CommandLine),
    Copy(Copy),
    Entrypoint(CommandLine),
    Env(Vec<KeyValue>),
    Expose(Vec<String>),
    From(From),
    Healthcheck(Healthcheck),
    Label(Vec<KeyValue>),
    Maintainer(String),
    Onbuild(Onbuild),
    Run(Run),
    Shell(Vec<String>),
    StopSignal(String),
    User(String),
    Volume(Vec<String>),
    Workdir(String),
}

impl Instruction {
    /// The instruction's name in upper case (`RUN`).
    pub fn name(&self) -> &'static str {
        match self {
            Instruction::Add(_) => "ADD",
            Instruction::Arg(_) => "ARG",
            Instruction::Cmd(_) => "CMD",
            Instruction::Copy(_) => "COPY",
            Instruction::Entrypoint(_) => "ENTRYPOINT",
            Instruction::Env(_) => "ENV",
            Instruction::Expose(_) => "EXPOSE",
            Instruction::From(_) => "FROM",
            Instruction::Healthcheck(_) => "HEALTHCHECK",
            Instruction::Label(_) => "LABEL",
            Instruction::Maintainer(_) => "MAINTAINER",
            Instruction::Onbuild(_) => "ONBUILD",
            Instruction::Run(_) => "RUN",
            Instruction::Shell(_) => "SHELL",
            Instruction::StopSignal(_) => "STOPSIGNAL",
            Instruction::User(_) => "USER",
            Instruction::Volume(_) => "VOLUME",
            Instruction::Workdir(_) => "WORKDIR",
        }
    }
}

const ALL: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

fn at_least_one(cmd: &str) -> String {
    format!("{cmd} requires at least one argument")
}

fn exactly_one(cmd: &str) -> String {
    format!("{cmd} requires exactly one argument")
}

fn flags(node: &Node, allowed: &[(&'static str, Kind)]) -> Result<Flags, String> {
    Flags::parse(&node.flags, allowed)
}

/// Converts a node; errors are Docker's messages without the line prefix.
pub(crate) fn from_node(node: &Node) -> Result<Instruction, String> {
    let args = &node.args;
    Ok(match node.keyword.to_ascii_lowercase().as_str() {
        "env" => {
            flags(node, &[])?;
            Instruction::Env(key_values(node, "ENV")?)
        }
        "label" => {
            flags(node, &[])?;
            Instruction::Label(key_values(node, "LABEL")?)
        }
        "maintainer" => {
            let [m] = args.as_slice() else {
                return Err(exactly_one("MAINTAINER"));
            };
            flags(node, &[])?;
            Instruction::Maintainer(m.clone())
        }
        "add" => Instruction::Add(add(node)?),
        "copy" => Instruction::Copy(copy(node)?),
        "from" => Instruction::From(from(node)?),
        "onbuild" => Instruction::Onbuild(onbuild(node)?),
        "workdir" => {
            let [p] = args.as_slice() else {
                return Err(exactly_one("WORKDIR"));
            };
            flags(node, &[])?;
            Instruction::Workdir(p.clone())
        }
        "run" => Instruction::Run(run(node)?),
        "cmd" => {
            flags(node, &[])?;
            Instruction::Cmd(CommandLine::from_node(node))
        }
        "entrypoint" => {
            flags(node, &[])?;
            Instruction::Entrypoint(CommandLine::from_node(node))
        }
        "healthcheck" => Instruction::Healthcheck(healthcheck(node)?),
        "expose" => {
            if args.is_empty() {
                return Err(at_least_one("EXPOSE"));
            }
            flags(node, &[])?;
            let mut ports = args.clone();
            ports.sort();
            Instruction::Expose(ports)
        }
        "user" => {
            let [u] = args.as_slice() else {
                return Err(exactly_one("USER"));
            };
            flags(node, &[])?;
            Instruction::User(u.clone())
        }
        "volume" => {
            if args.is_empty() {
                return Err(at_least_one("VOLUME"));
            }
            flags(node, &[])?;
            let vols = args
                .iter()
                .map(|v| v.trim().to_string())
                .collect::<Vec<_>>();
            if vols.iter().any(String::is_empty) {
                return Err("VOLUME specified can not be an empty string".into());
            }
            Instruction::Volume(vols)
        }
        "stopsignal" => {
            let [s] = args.as_slice() else {
                return Err(exactly_one("STOPSIGNAL"));
            };
            Instruction::StopSignal(s.clone())
        }
        "arg" => Instruction::Arg(arg(node)?),
        "shell" => {
            flags(node, &[])?;
            if args.is_empty() {
                return Err(at_least_one("SHELL"));
            }
            if !node.json {
                return Err("SHELL requires the arguments to be in JSON form".into());
            }
            Instruction::Shell(args.clone())
        }
        _ => {
            let msg = format!("unknown instruction: {}", node.keyword);
            return Err(with_suggestion(msg, &node.keyword, &ALL, false));
        }
    })
}

fn key_values(node: &Node, cmd: &str) -> Result<Vec<KeyValue>, String> {
    if node.pairs.is_empty() {
        return Err(at_least_one(cmd));
    }
    node.pairs
        .iter()
        .map(|(k, v, eq)| {
            if k.is_empty() {
                return Err(format!("{cmd} names can not be blank"));
            }
            Ok(KeyValue {
                key: k.clone(),
                value: v.clone(),
                no_delim: !eq,
            })
        })
        .collect()
}

fn arg(node: &Node) -> Result<Vec<ArgDecl>, String> {
    if node.args.is_empty() {
        return Err(at_least_one("ARG"));
    }
    node.args
        .iter()
        .map(|a| match a.split_once('=') {
            Some(("", _)) => Err("ARG names can not be blank".to_string()),
            Some((k, v)) => Ok(ArgDecl {
                key: k.to_string(),
                value: Some(v.to_string()),
            }),
            None => Ok(ArgDecl {
                key: a.clone(),
                value: None,
            }),
        })
        .collect()
}

fn is_valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

fn from(node: &Node) -> Result<From, String> {
    let args = &node.args;
    let name = match args.as_slice() {
        [_, as_, name] if as_.eq_ignore_ascii_case("as") => {
            let lower = name.to_lowercase();
            if !is_valid_stage_name(&lower) {
                return Err(format!(
                    "invalid name for build stage: {}, name can't start with a number or contain symbols",
                    crate::shell::go_quote(name)
                ));
            }
            Some(lower)
        }
        [_] => None,
        _ => return Err("FROM requires either one or three arguments".into()),
    };
    let f = flags(node, &[("platform", Kind::String)])?;
    Ok(From {
        image: args[0].clone(),
        name,
        platform: f.string("platform").filter(|p| !p.is_empty()),
    })
}

fn onbuild(node: &Node) -> Result<Onbuild, String> {
    let Some(trigger) = node.args.first() else {
        return Err(at_least_one("ONBUILD"));
    };
    flags(node, &[])?;
    let trigger = trigger.trim().to_uppercase();
    match trigger.as_str() {
        "ONBUILD" => return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into()),
        "MAINTAINER" | "FROM" => {
            return Err(format!("{trigger} isn't allowed as an ONBUILD trigger"))
        }
        _ => {}
    }
    let original = node.original.trim_start();
    let mut expression = original
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("onbuild"))
        .map_or(original, |_| &original[7..])
        .trim_start()
        .to_string();
    for doc in &node.heredocs {
        expression.push('\n');
        expression.push_str(&doc.content);
        expression.push_str(&doc.name);
    }
    Ok(Onbuild { expression })
}

fn run(node: &Node) -> Result<Run, String> {
    let f = flags(node, &[("mount", Kind::Strings), ("network", Kind::String)])?;
    let mounts = f.strings("mount");
    for m in &mounts {
        crate::mount::check_from_has_no_variable(m)?;
    }
    let network = f.string("network").unwrap_or_else(|| "default".into());
    if !matches!(network.as_str(), "default" | "none" | "host") {
        return Err(format!(
            "invalid network mode {}",
            crate::shell::go_quote(&network)
        ));
    }
    Ok(Run {
        command: CommandLine::from_node(node),
        heredocs: node.heredocs.clone(),
        mounts,
        network,
    })
}

struct SourcesAndDest {
    sources: Vec<String>,
    contents: Vec<SourceContent>,
    dest: String,
}

fn sources_and_dest(node: &Node, cmd: &str) -> Result<SourcesAndDest, String> {
    let (dest, srcs) = node.args.split_last().ok_or_else(|| no_destination(cmd))?;
    if parse_heredoc(dest)?.is_some() {
        return Err(format!("{cmd} cannot accept a heredoc as a destination"));
    }
    let mut sources = Vec::new();
    let mut contents = Vec::new();
    for src in srcs {
        match parse_heredoc(src)? {
            Some(h) => {
                let data = node
                    .heredocs
                    .iter()
                    .find(|d| d.name == h.name)
                    .map(|d| d.content.clone())
                    .unwrap_or_default();
                contents.push(SourceContent {
                    path: h.name,
                    data,
                    expand: h.expand,
                });
            }
            None => sources.push(src.clone()),
        }
    }
    Ok(SourcesAndDest {
        sources,
        contents,
        dest: dest.clone(),
    })
}

fn no_destination(cmd: &str) -> String {
    format!("{cmd} requires at least two arguments, but only one was provided. Destination could not be determined")
}

fn add(node: &Node) -> Result<Add, String> {
    if node.args.len() < 2 {
        return Err(no_destination("ADD"));
    }
    let f = flags(
        node,
        &[
            ("chown", Kind::String),
            ("chmod", Kind::String),
            ("link", Kind::Bool),
            ("keep-git-dir", Kind::Bool),
            ("checksum", Kind::String),
            ("unpack", Kind::Bool),
            ("exclude", Kind::Strings),
        ],
    )?;
    let s = sources_and_dest(node, "ADD")?;
    Ok(Add {
        sources: s.sources,
        contents: s.contents,
        dest: s.dest,
        chown: f.string("chown").filter(|v| !v.is_empty()),
        chmod: f.string("chmod").filter(|v| !v.is_empty()),
        link: f.bool("link").unwrap_or(false),
        keep_git_dir: f.bool("keep-git-dir"),
        checksum: f.string("checksum").filter(|v| !v.is_empty()),
        unpack: f.bool("unpack"),
        excludes: f.strings("exclude"),
    })
}

fn copy(node: &Node) -> Result<Copy, String> {
    if node.args.len() < 2 {
        return Err(no_destination("COPY"));
    }
    let f = flags(
        node,
        &[
            ("chown", Kind::String),
            ("from", Kind::String),
            ("chmod", Kind::String),
            ("link", Kind::Bool),
            ("exclude", Kind::Strings),
            ("parents", Kind::Bool),
        ],
    )?;
    let s = sources_and_dest(node, "COPY")?;
    Ok(Copy {
        sources: s.sources,
        contents: s.contents,
        dest: s.dest,
        from: f.string("from").filter(|v| !v.is_empty()),
        chown: f.string("chown").filter(|v| !v.is_empty()),
        chmod: f.string("chmod").filter(|v| !v.is_empty()),
        link: f.bool("link").unwrap_or(false),
        parents: f.bool("parents").unwrap_or(false),
        excludes: f.strings("exclude"),
    })
}

fn healthcheck(node: &Node) -> Result<Healthcheck, String> {
    let Some(typ) = node.args.first() else {
        return Err(at_least_one("HEALTHCHECK"));
    };
    let typ = typ.to_uppercase();
    let rest = &node.args[1..];
    if typ == "NONE" {
        if !rest.is_empty() {
            return Err("HEALTHCHECK NONE takes no arguments".into());
        }
        return Ok(Healthcheck::None);
    }
    let f = flags(
        node,
        &[
            ("interval", Kind::String),
            ("timeout", Kind::String),
            ("start-period", Kind::String),
            ("start-interval", Kind::String),
            ("retries", Kind::String),
        ],
    )?;
    if typ != "CMD" {
        return Err(format!(
            "Unknown type {} in HEALTHCHECK (try CMD)",
            crate::shell::go_quote(&typ)
        ));
    }
    if rest.is_empty() {
        return Err("Missing command after HEALTHCHECK CMD".into());
    }
    let test = if node.json {
        std::iter::once("CMD".to_string())
            .chain(rest.iter().cloned())
            .collect()
    } else {
        vec!["CMD-SHELL".to_string(), rest.join(" ")]
    };
    let retries = match f.string("retries").filter(|r| !r.is_empty()) {
        None => 0,
        Some(r) => {
            let n: i64 = r.parse().map_err(|_| {
                format!(
                    "strconv.ParseInt: parsing {}: invalid syntax",
                    crate::shell::go_quote(&r)
                )
            })?;
            if n < 0 {
                return Err(format!("--retries cannot be negative ({n})"));
            }
            u32::try_from(n).map_err(|_| {
                format!(
                    "strconv.ParseInt: parsing {}: value out of range",
                    crate::shell::go_quote(&r)
                )
            })?
        }
    };
    Ok(Healthcheck::Check(HealthConfig {
        test,
        interval: interval(&f, "interval")?,
        timeout: interval(&f, "timeout")?,
        start_period: interval(&f, "start-period")?,
        start_interval: interval(&f, "start-interval")?,
        retries,
    }))
}

/// A duration flag: zero when absent, at least 1ms when given.
fn interval(f: &Flags, name: &str) -> Result<Duration, String> {
    let Some(s) = f.string(name).filter(|s| !s.is_empty()) else {
        return Ok(Duration::ZERO);
    };
    let d = parse_go_duration(&s)?;
    if !d.is_zero() && d < Duration::from_millis(1) {
        return Err(format!(
            "Interval {} cannot be less than 1ms",
            crate::shell::go_quote(name)
        ));
    }
    Ok(d)
}

/// Go's `time.ParseDuration` (`1m30s`, `1.5h`, `300ms`, `2us`); negative
/// durations are refused, as no Dockerfile option takes one.
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let invalid = || format!("time: invalid duration {}", crate::shell::go_quote(s));
    let body = s.strip_prefix('+').unwrap_or(s);
    if body == "0" {
        return Ok(Duration::ZERO);
    }
    if body.is_empty() || body.starts_with('-') {
        return Err(invalid());
    }
    let mut total = 0f64;
    let mut rest = body;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(invalid());
        }
        let value: f64 = num.parse().map_err(|_| invalid())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let nanos = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => {
                return Err(format!(
                    "time: missing unit in duration {}",
                    crate::shell::go_quote(s)
                ))
            }
            u => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    crate::shell::go_quote(u),
                    crate::shell::go_quote(s)
                ))
            }
        };
        total += value * nanos;
        rest = &rest[unit_len..];
    }
    if total > u64::MAX as f64 {
        return Err(invalid());
    }
    Ok(Duration::from_nanos(total.round() as u64))
}
