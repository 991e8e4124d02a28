//! Planning: variable substitution and build-arg scoping, instruction by
//! instruction, as Docker's builder applies them.
//!
//! - `ARG`s before the first `FROM` (meta args) are usable in `FROM` lines only;
//!   a stage sees one when it declares it again (`ARG NAME` without a value takes
//!   the meta value).
//! - In a stage, `ENV` variables win over `ARG`s of the same name.
//! - `--build-arg` values override `ARG` defaults; they are never expanded.
//! - The proxy args (`HTTP_PROXY`...) are usable without a declaration, but only
//!   declared ones count for the cache and the image history.
//! - Expanded: `ADD`, `COPY` (not `--from`), `ENV`, `EXPOSE` (split into words),
//!   `FROM` (meta args only), `LABEL`, `STOPSIGNAL`, `USER`, `VOLUME`, `WORKDIR`,
//!   `ARG` defaults, `RUN --mount` values and unquoted `COPY`/`ADD` heredocs.
//!   Not expanded: `RUN`, `CMD`, `ENTRYPOINT`, `SHELL`, `HEALTHCHECK`,
//!   `MAINTAINER`, `ONBUILD` (the shell or the child build does it).

use std::collections::{BTreeMap, BTreeSet};

use crate::mount::Mount;
use crate::parser::{ArgDecl, Dockerfile, Instruction, KeyValue, SourceContent, Stage, Step};
use crate::shell::{Env, Lexer};

/// The build args that need no `ARG` to be usable, and stay out of the history
/// and the cache unless declared.
pub const PROXY_ARGS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

fn is_proxy_arg(name: &str) -> bool {
    PROXY_ARGS.contains(&name)
}

/// A step that cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Dockerfile:{line}: {message}")]
pub struct PlanError {
    pub line: usize,
    pub message: String,
}

fn at(line: usize) -> impl Fn(String) -> PlanError {
    move |message| PlanError { line, message }
}

/// `--build-arg` values (`None`: given without a value, which Docker ignores).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildArgs(BTreeMap<String, Option<String>>);

impl BuildArgs {
    pub fn new<I, K, V>(args: I) -> Self
    where
        I: IntoIterator<Item = (K, Option<V>)>,
        K: Into<String>,
        V: Into<String>,
    {
        BuildArgs(
            args.into_iter()
                .map(|(k, v)| (k.into(), v.map(Into::into)))
                .collect(),
        )
    }

    /// The value given for `name`, if one was.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.as_deref())
    }

    /// Given proxy args, as `KEY=value`.
    fn proxies(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .filter(|(k, _)| is_proxy_arg(k))
            .filter_map(|(k, v)| Some((k.as_str(), v.as_deref()?)))
    }
}

/// The meta args with their values (`--build-arg` or the default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetaArgs {
    values: BTreeMap<String, String>,
    proxies: BTreeMap<String, String>,
}

impl Env for MetaArgs {
    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .or_else(|| self.proxies.get(name))
            .map(String::as_str)
    }
}

/// A stage's `FROM` after substitution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedFrom {
    pub image: String,
    pub platform: Option<String>,
}

impl MetaArgs {
    /// Evaluates the `ARG`s before the first `FROM`, in order.
    pub fn evaluate(df: &Dockerfile, args: &BuildArgs) -> Result<MetaArgs, PlanError> {
        let lexer = Lexer::new(df.escape());
        let mut meta = MetaArgs {
            values: BTreeMap::new(),
            proxies: args
                .proxies()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        for step in &df.meta_args {
            let Instruction::Arg(decls) = &step.instruction else {
                continue;
            };
            for decl in decls {
                let value = match (args.get(&decl.key), &decl.value) {
                    (Some(v), _) => Some(v.to_string()),
                    (None, Some(default)) => Some(
                        lexer
                            .process_word(default, &meta)
                            .map_err(|e| at(step.line)(e.to_string()))?,
                    ),
                    (None, None) => None,
                };
                if let Some(v) = value {
                    meta.values.insert(decl.key.clone(), v);
                }
            }
        }
        Ok(meta)
    }

    /// The value of a meta arg.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Substitutes the meta args into a stage's `FROM`.
    pub fn resolve_from(&self, stage: &Stage, escape: char) -> Result<ResolvedFrom, PlanError> {
        let lexer = Lexer::new(escape);
        let err = at(stage.line);
        let image = lexer
            .process_word(&stage.from.image, self)
            .map_err(|e| err(e.to_string()))?;
        if image.is_empty() {
            return Err(err(format!(
                "base name ({}) should not be blank",
                stage.from.image
            )));
        }
        let platform = match &stage.from.platform {
            None => None,
            Some(p) => {
                let v = lexer.process_word(p, self).map_err(|e| {
                    err(format!("failed to process arguments for platform {p}: {e}"))
                })?;
                if v.is_empty() {
                    return Err(err(format!("empty platform value from expression {p}")));
                }
                Some(v)
            }
        };
        Ok(ResolvedFrom { image, platform })
    }
}

/// A stage's variables: the environment (base image's, then `ENV`) and the
/// declared `ARG`s. A stage built `FROM` another stage starts from a clone of
/// that stage's scope, as BuildKit does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    env: Vec<String>,
    args: BTreeMap<String, Option<String>>,
}

impl Scope {
    /// A scope starting from an image config's `Env` (`KEY=value`).
    pub fn from_image_env(env: Vec<String>) -> Scope {
        Scope {
            env,
            args: BTreeMap::new(),
        }
    }

    /// The environment as the image config will hold it.
    pub fn env(&self) -> &[String] {
        &self.env
    }

    fn env_get(&self, name: &str) -> Option<&str> {
        self.env.iter().rev().find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
            (k == name).then_some(v)
        })
    }

    fn set_env(&mut self, key: &str, value: &str) {
        let entry = format!("{key}={value}");
        match self
            .env
            .iter_mut()
            .find(|kv| kv.split_once('=').map_or(kv.as_str(), |(k, _)| k) == key)
        {
            Some(slot) => *slot = entry,
            None => self.env.push(entry),
        }
    }
}

/// What substitution sees: `ENV` first, then declared args, then given proxy args.
struct Vars<'a> {
    scope: &'a Scope,
    args: &'a BuildArgs,
}

impl Env for Vars<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        if let Some(v) = self.scope.env_get(name) {
            return Some(v);
        }
        match self.scope.args.get(name) {
            Some(v) => v.as_deref(),
            None if is_proxy_arg(name) => self.args.get(name),
            None => None,
        }
    }
}

/// A step ready for the executor: every value substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The instruction with variables substituted and quotes removed (`RUN`,
    /// `CMD`... unchanged).
    pub instruction: Instruction,
    /// `RUN --mount`s, parsed and expanded.
    pub mounts: Vec<Mount>,
    /// `RUN`: build args to add to the command's environment (`KEY=value`).
    pub run_env: Vec<String>,
    /// `RUN`: the build args that count for the cache key and the history
    /// (declared ones only; sorted).
    pub cache_args: Vec<String>,
}

/// Plans the steps of one stage in order, tracking its variables.
pub struct Planner<'a> {
    lexer: Lexer,
    meta: &'a MetaArgs,
    args: &'a BuildArgs,
    scope: Scope,
}

impl<'a> Planner<'a> {
    pub fn new(escape: char, meta: &'a MetaArgs, args: &'a BuildArgs, scope: Scope) -> Self {
        Planner {
            lexer: Lexer::new(escape),
            meta,
            args,
            scope,
        }
    }

    /// The stage's variables after the steps planned so far.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    fn word(&self, w: &str) -> Result<String, String> {
        let vars = Vars {
            scope: &self.scope,
            args: self.args,
        };
        self.lexer.process_word(w, &vars).map_err(|e| e.to_string())
    }

    /// An optional flag value; one that expands to nothing is not given.
    fn opt(&self, w: &Option<String>) -> Result<Option<String>, String> {
        Ok(w.as_deref()
            .map(|v| self.word(v))
            .transpose()?
            .filter(|v| !v.is_empty()))
    }

    fn words(&self, ws: &[String]) -> Result<Vec<String>, String> {
        ws.iter().map(|w| self.word(w)).collect()
    }

    fn pairs(&self, kvs: &[KeyValue]) -> Result<Vec<KeyValue>, String> {
        kvs.iter()
            .map(|kv| {
                Ok(KeyValue {
                    key: self.word(&kv.key)?,
                    value: self.word(&kv.value)?,
                    no_delim: kv.no_delim,
                })
            })
            .collect()
    }

    fn contents(&self, contents: &[SourceContent]) -> Result<Vec<SourceContent>, String> {
        // Heredoc bodies: variables only, quotes are content.
        let mut lex = Lexer::new('\\');
        lex.skip_process_quotes = true;
        let vars = Vars {
            scope: &self.scope,
            args: self.args,
        };
        contents
            .iter()
            .map(|c| {
                let data = if c.expand {
                    lex.process_word(&c.data, &vars)
                        .map_err(|e| e.to_string())?
                } else {
                    c.data.clone()
                };
                Ok(SourceContent { data, ..c.clone() })
            })
            .collect()
    }

    /// Plans one step of the stage (not its `FROM`).
    pub fn step(&mut self, step: &Step) -> Result<Planned, PlanError> {
        self.plan(&step.instruction).map_err(at(step.line))
    }

    fn plan(&mut self, ins: &Instruction) -> Result<Planned, String> {
        let mut planned = Planned {
            instruction: ins.clone(),
            mounts: Vec::new(),
            run_env: Vec::new(),
            cache_args: Vec::new(),
        };
        planned.instruction = match ins {
            Instruction::Env(kvs) => {
                let kvs = self.pairs(kvs)?;
                for kv in &kvs {
                    self.scope.set_env(&kv.key, &kv.value);
                }
                Instruction::Env(kvs)
            }
            Instruction::Arg(decls) => Instruction::Arg(self.declare(decls)?),
            Instruction::Label(kvs) => Instruction::Label(self.pairs(kvs)?),
            Instruction::Expose(ports) => {
                let vars = Vars {
                    scope: &self.scope,
                    args: self.args,
                };
                let mut out = Vec::new();
                for p in ports {
                    out.extend(
                        self.lexer
                            .process_words(p, &vars)
                            .map_err(|e| e.to_string())?,
                    );
                }
                exposed_ports(&out)?;
                Instruction::Expose(out)
            }
            Instruction::User(u) => Instruction::User(self.word(u)?),
            Instruction::Workdir(w) => Instruction::Workdir(self.word(w)?),
            Instruction::StopSignal(s) => {
                let s = self.word(s)?;
                check_signal(&s)?;
                Instruction::StopSignal(s)
            }
            Instruction::Volume(v) => {
                let v = self.words(v)?;
                if v.iter().any(String::is_empty) {
                    return Err("VOLUME specified can not be an empty string".into());
                }
                Instruction::Volume(v)
            }
            Instruction::Copy(c) => {
                if let Some(from) = &c.from {
                    check_literal_from(from)?;
                }
                let mut c = c.clone();
                c.sources = self.words(&c.sources)?;
                c.dest = self.word(&c.dest)?;
                c.chown = self.opt(&c.chown)?;
                c.chmod = self.opt(&c.chmod)?;
                c.contents = self.contents(&c.contents)?;
                Instruction::Copy(c)
            }
            Instruction::Add(a) => {
                let mut a = a.clone();
                a.sources = self.words(&a.sources)?;
                a.dest = self.word(&a.dest)?;
                a.chown = self.opt(&a.chown)?;
                a.chmod = self.opt(&a.chmod)?;
                a.checksum = self.opt(&a.checksum)?;
                a.contents = self.contents(&a.contents)?;
                Instruction::Add(a)
            }
            Instruction::Run(r) => {
                for raw in &r.mounts {
                    let mount = Mount::parse(raw, &mut |v| self.word(v))?;
                    planned.mounts.push(mount);
                }
                (planned.run_env, planned.cache_args) = self.run_args();
                Instruction::Run(r.clone())
            }
            Instruction::From(_) => {
                return Err("FROM is planned with the stage, not as a step".into())
            }
            other => other.clone(),
        };
        Ok(planned)
    }

    fn declare(&mut self, decls: &[ArgDecl]) -> Result<Vec<ArgDecl>, String> {
        let mut out = Vec::new();
        for d in decls {
            let value = match (self.args.get(&d.key), &d.value) {
                (Some(v), _) => Some(v.to_string()),
                (None, Some(default)) => Some(self.word(default)?),
                (None, None) => self.meta.value(&d.key).map(str::to_string),
            };
            self.scope.args.insert(d.key.clone(), value.clone());
            out.push(ArgDecl {
                key: d.key.clone(),
                value,
            });
        }
        Ok(out)
    }

    /// The build args a `RUN` sees (not shadowed by `ENV`), and those of them
    /// that count for the cache (undeclared proxy args do not).
    fn run_args(&self) -> (Vec<String>, Vec<String>) {
        let mut all = BTreeMap::new();
        for (k, v) in &self.scope.args {
            if let Some(v) = v {
                all.insert(k.as_str(), v.as_str());
            }
        }
        for (k, v) in self.args.proxies() {
            all.entry(k).or_insert(v);
        }
        let visible: Vec<(&str, &str)> = all
            .into_iter()
            .filter(|(k, _)| self.scope.env_get(k).is_none())
            .collect();
        let run_env = visible.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let cache = visible
            .iter()
            .filter(|(k, _)| !is_proxy_arg(k) || self.scope.args.contains_key(*k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        (run_env, cache)
    }
}

/// `COPY --from` names a stage or image literally: BuildKit refuses variables.
pub(crate) fn check_literal_from(from: &str) -> Result<(), String> {
    let literal = Lexer::new('\\')
        .process_word(from, &crate::shell::NoEnv)
        .map_err(|e| e.to_string())?;
    if literal != from {
        return Err("variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround".into());
    }
    Ok(())
}

/// Docker's `signal.ParseSignal` on Linux (see `berth-signal`).
pub fn check_signal(raw: &str) -> Result<(), String> {
    berth_signal::parse(raw)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Expands `EXPOSE` words into `port/proto` entries (ranges one by one), with
/// Docker's checks.
pub fn exposed_ports(words: &[String]) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    for w in words {
        // Docker reads EXPOSE words as full port specs: the container port is last.
        let container = w.rsplit(':').next().unwrap_or(w);
        let (range, proto) = match container.split_once('/') {
            Some((r, p)) => (r, if p.is_empty() { "tcp" } else { p }),
            None => (container, "tcp"),
        };
        if range.is_empty() {
            return Err(format!("no port specified: {w}<empty>"));
        }
        let proto = proto.to_lowercase();
        if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
            return Err(format!("invalid proto: {proto}"));
        }
        let bad = || format!("invalid containerPort: {range}");
        let (start, end) = match range.split_once('-') {
            Some((a, b)) => (
                a.parse::<u16>().map_err(|_| bad())?,
                b.parse::<u16>().map_err(|_| bad())?,
            ),
            None => {
                let p = range.parse::<u16>().map_err(|_| bad())?;
                (p, p)
            }
        };
        if start > end {
            return Err(bad());
        }
        for p in start..=end {
            out.insert(format!("{p}/{proto}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
