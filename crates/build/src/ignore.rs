//! `.dockerignore`, matched as Docker matches it (moby's `patternmatcher` and the
//! context walk of its archiver):
//!
//! - lines starting with `#` are comments; blanks around a pattern are trimmed;
//!   patterns are cleaned (`./a/` is `a`, `/a` is `a`);
//! - `*` and `?` do not cross `/`, `**` crosses any number of directories,
//!   `[a-z]`/`[^a]` are character classes, `\` escapes;
//! - a pattern that matches a directory matches everything under it;
//! - `!pattern` re-includes; the last matching pattern wins;
//! - an excluded directory is not walked, unless an exception pattern starts
//!   with that directory's path: then it is walked and only what the
//!   exceptions bring back is included (not the directory itself).

use std::fs;
use std::path::{Path, PathBuf};

/// A bad pattern or an unreadable context.
#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    /// Go's `filepath.ErrBadPattern`, with the pattern.
    #[error("syntax error in pattern: {0}")]
    BadPattern(String),
    #[error("illegal exclusion pattern: \"!\"")]
    IllegalExclusion,
    #[error("error walking build context {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Reads a `.dockerignore` into cleaned patterns (BOM, comments, `!`, leading `/`).
pub fn read_patterns(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim();
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim();
        }
        let mut cleaned = if pattern.is_empty() {
            String::new()
        } else {
            clean_path(pattern)
        };
        if cleaned.len() > 1 && cleaned.starts_with('/') {
            cleaned.remove(0);
        }
        out.push(if invert {
            format!("!{cleaned}")
        } else {
            cleaned
        });
    }
    out
}

/// Go's `path.Clean`: no `.`, no `x/..`, no doubled or trailing `/`.
pub fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&l) if l != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(char),
    /// `*`: anything but `/`.
    Star,
    /// `?`: one character but `/`.
    One,
    /// `**/` or `**` inside: nothing, or anything ending in `/`.
    DirStar,
    /// `**` at the end: anything.
    All,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Exact,
    Prefix,
    Suffix,
    Tokens(Vec<Tok>),
}

/// One `.dockerignore` pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    cleaned: String,
    exclusion: bool,
    kind: Kind,
}

impl Pattern {
    fn new(raw: &str) -> Result<Option<Pattern>, IgnoreError> {
        let p = raw.trim();
        if p.is_empty() {
            return Ok(None);
        }
        let mut p = clean_path(p);
        let exclusion = p.starts_with('!');
        if exclusion {
            if p.len() == 1 {
                return Err(IgnoreError::IllegalExclusion);
            }
            p.remove(0);
        }
        validate(&p).map_err(|_| IgnoreError::BadPattern(raw.to_string()))?;
        let kind = compile(&p).map_err(|_| IgnoreError::BadPattern(raw.to_string()))?;
        Ok(Some(Pattern {
            cleaned: p,
            exclusion,
            kind,
        }))
    }

    /// Whether this is a `!` exception.
    pub fn is_exclusion(&self) -> bool {
        self.exclusion
    }

    fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact => path == self.cleaned,
            Kind::Prefix => path.starts_with(&self.cleaned[..self.cleaned.len() - 2]),
            Kind::Suffix => {
                let suffix = &self.cleaned[2..];
                path.ends_with(suffix) || (suffix.starts_with('/') && path == &suffix[1..])
            }
            Kind::Tokens(toks) => match_tokens(toks, &path.chars().collect::<Vec<_>>()),
        }
    }
}

/// Parses a `[...]` class at `chars[i]` (just after `[`); returns it and the
/// index after `]`. The grammar is Go's `filepath.Match`.
fn parse_class(chars: &[char], mut i: usize) -> Result<(Tok, usize), ()> {
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        match chars.get(i) {
            None => return Err(()),
            Some(']') if !first => return Ok((Tok::Class { negated, ranges }, i + 1)),
            _ => {}
        }
        let (lo, next) = class_char(chars, i)?;
        i = next;
        let mut hi = lo;
        if chars.get(i) == Some(&'-') {
            let (h, next) = class_char(chars, i + 1)?;
            if h < lo {
                return Err(());
            }
            hi = h;
            i = next;
        }
        ranges.push((lo, hi));
        first = false;
    }
}

fn class_char(chars: &[char], i: usize) -> Result<(char, usize), ()> {
    match chars.get(i) {
        None | Some('-') | Some(']') => Err(()),
        Some('\\') => chars.get(i + 1).map(|&c| (c, i + 2)).ok_or(()),
        Some(&c) => Ok((c, i + 1)),
    }
}

/// Go's `filepath.Match` refuses malformed classes and a trailing `\`.
fn validate(p: &str) -> Result<(), ()> {
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 == chars.len() => return Err(()),
            '\\' => i += 2,
            '[' => i = parse_class(&chars, i + 1)?.1,
            _ => i += 1,
        }
    }
    Ok(())
}

fn compile(p: &str) -> Result<Kind, ()> {
    let chars: Vec<char> = p.chars().collect();
    let mut toks = Vec::new();
    let mut kind = Kind::Exact;
    let mut i = 0;
    while i < chars.len() {
        let first = i == 0;
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        toks.push(Tok::All);
                        kind = Kind::Tokens(Vec::new());
                    }
                } else {
                    toks.push(Tok::DirStar);
                    kind = Kind::Tokens(Vec::new());
                }
                if first {
                    kind = Kind::Suffix;
                }
                continue;
            }
            '*' => {
                toks.push(Tok::Star);
                kind = Kind::Tokens(Vec::new());
            }
            '?' => {
                toks.push(Tok::One);
                kind = Kind::Tokens(Vec::new());
            }
            '\\' => match chars.get(i + 1) {
                Some(&c) => {
                    toks.push(Tok::Lit(c));
                    kind = Kind::Tokens(Vec::new());
                    i += 1;
                }
                None => toks.push(Tok::Lit('\\')),
            },
            '[' => {
                let (class, next) = parse_class(&chars, i + 1)?;
                toks.push(class);
                kind = Kind::Tokens(Vec::new());
                i = next;
                continue;
            }
            ']' => {
                toks.push(Tok::Lit(']'));
                kind = Kind::Tokens(Vec::new());
            }
            c => toks.push(Tok::Lit(c)),
        }
        i += 1;
    }
    Ok(match kind {
        Kind::Tokens(_) => Kind::Tokens(toks),
        k => k,
    })
}

/// Whole-string match of compiled tokens (dynamic programming over positions).
fn match_tokens(toks: &[Tok], s: &[char]) -> bool {
    let n = s.len();
    let mut reach = vec![false; n + 1];
    reach[0] = true;
    for tok in toks {
        let mut next = vec![false; n + 1];
        match tok {
            Tok::Lit(c) => (1..=n).for_each(|j| next[j] = reach[j - 1] && s[j - 1] == *c),
            Tok::One => (1..=n).for_each(|j| next[j] = reach[j - 1] && s[j - 1] != '/'),
            Tok::Class { negated, ranges } => (1..=n).for_each(|j| {
                let inside = ranges
                    .iter()
                    .any(|&(lo, hi)| lo <= s[j - 1] && s[j - 1] <= hi);
                next[j] = reach[j - 1] && inside != *negated;
            }),
            Tok::Star => {
                next[0] = reach[0];
                for j in 1..=n {
                    next[j] = reach[j] || (next[j - 1] && s[j - 1] != '/');
                }
            }
            Tok::All => {
                let mut any = false;
                for j in 0..=n {
                    any |= reach[j];
                    next[j] = any;
                }
            }
            Tok::DirStar => {
                let mut any = false;
                for j in 0..=n {
                    next[j] = reach[j] || (j > 0 && s[j - 1] == '/' && any);
                    any |= reach[j];
                }
            }
        }
        reach = next;
    }
    reach[n]
}

/// What a directory's match left for its children (one flag per pattern).
#[derive(Debug, Clone, Default)]
pub struct MatchInfo(Vec<bool>);

/// A compiled `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    patterns: Vec<Pattern>,
}

impl Matcher {
    /// Compiles patterns (as [`read_patterns`] gives them).
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Matcher, IgnoreError> {
        let mut out = Vec::new();
        for p in patterns {
            out.extend(Pattern::new(p.as_ref())?);
        }
        Ok(Matcher { patterns: out })
    }

    /// Whether any pattern is a `!` exception.
    pub fn has_exclusions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }

    /// Whether `path` (relative, `/`-separated) is excluded, checking its parent
    /// directories too.
    pub fn matches(&self, path: &str) -> bool {
        let path = clean_path(path);
        if path == "." {
            return false;
        }
        let parents: Vec<&str> = match path.rfind('/') {
            Some(i) => path[..i].split('/').collect(),
            None => Vec::new(),
        };
        let mut matched = false;
        for p in &self.patterns {
            if p.exclusion != matched {
                continue;
            }
            let hit =
                p.matches(&path) || (1..=parents.len()).any(|n| p.matches(&parents[..n].join("/")));
            if hit {
                matched = !p.exclusion;
            }
        }
        matched
    }

    /// Docker's walk-time match: `parent` is the info of the directory holding
    /// `path` (`None` at the top).
    pub fn matches_with_parent(&self, path: &str, parent: Option<&MatchInfo>) -> (bool, MatchInfo) {
        let mut info = MatchInfo(vec![false; self.patterns.len()]);
        let mut matched = false;
        for (i, p) in self.patterns.iter().enumerate() {
            let mut hit = parent.is_some_and(|m| m.0[i]);
            if !hit {
                if p.exclusion != matched {
                    continue;
                }
                hit = p.matches(path);
                if !hit && parent.is_none() {
                    if let Some(cut) = path.rfind('/') {
                        let dirs: Vec<&str> = path[..cut].split('/').collect();
                        hit = (1..=dirs.len()).any(|n| p.matches(&dirs[..n].join("/")));
                    }
                }
            }
            info.0[i] = hit;
            if hit {
                matched = !p.exclusion;
            }
        }
        (matched, info)
    }

    /// Whether an exception pattern could bring back something under `dir`.
    fn exception_under(&self, dir: &str) -> bool {
        let dir_slash = format!("{dir}/");
        self.patterns
            .iter()
            .any(|p| p.exclusion && format!("{}/", p.cleaned).starts_with(&dir_slash))
    }
}

/// Patterns for a build: Docker always sends the Dockerfile and `.dockerignore`,
/// even when the patterns exclude them.
pub fn build_patterns(
    mut patterns: Vec<String>,
    dockerfile: &str,
) -> Result<Vec<String>, IgnoreError> {
    let keep = |pats: &[String], p: &str| -> Result<bool, IgnoreError> {
        Ok(Matcher::new(pats)?.matches(p))
    };
    if keep(&patterns, ".dockerignore")? {
        patterns.push("!.dockerignore".into());
    }
    let dockerfile = dockerfile.replace('\\', "/");
    if keep(&patterns, &dockerfile)? {
        patterns.push(format!("!{dockerfile}"));
    }
    Ok(patterns)
}

/// The build context of `root` as `docker build` sends it: reads the ignore
/// file (`<dockerfile>.dockerignore` beside the Dockerfile when present, as
/// BuildKit does, else `.dockerignore` at the root), keeps the Dockerfile and
/// the ignore file in, and lists what remains.
pub fn build_context(root: &Path, dockerfile: &str) -> Result<Vec<Entry>, IgnoreError> {
    let specific = root.join(format!("{dockerfile}.dockerignore"));
    let patterns = [specific, root.join(".dockerignore")]
        .iter()
        .find_map(|p| match fs::read_to_string(p) {
            Ok(text) => Some(Ok(read_patterns(&text))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => Some(Err(IgnoreError::Io {
                path: p.clone(),
                source,
            })),
        })
        .transpose()?
        .unwrap_or_default();
    let patterns = build_patterns(patterns, dockerfile)?;
    context_files(root, &Matcher::new(&patterns)?)
}

/// One entry of the build context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the context root, `/`-separated.
    pub path: String,
    pub is_dir: bool,
}

/// A copy-source wildcard (`*.go`, `src/**/x`), matched like a `.dockerignore` pattern.
pub(crate) fn compile_glob(p: &str) -> Result<Pattern, IgnoreError> {
    validate(p).map_err(|_| IgnoreError::BadPattern(p.to_string()))?;
    let kind = compile(p).map_err(|_| IgnoreError::BadPattern(p.to_string()))?;
    Ok(Pattern {
        cleaned: p.to_string(),
        exclusion: false,
        kind,
    })
}

impl Pattern {
    pub(crate) fn is_match(&self, path: &str) -> bool {
        self.matches(path)
    }
}

/// Every entry under `root/rel` (not `rel` itself), nothing excluded, paths
/// relative to `root`.
pub(crate) fn walk_under(root: &Path, rel: &str) -> Result<Vec<Entry>, IgnoreError> {
    let mut out = Vec::new();
    let dir = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    walk(&dir, rel, None, &Matcher::default(), &mut out)?;
    Ok(out)
}

/// Lists what Docker sends of `root` as the build context: every file,
/// directory and symlink not excluded, in walk order (each directory's entries
/// by name, depth first). Symlinks are not followed.
pub fn context_files(root: &Path, matcher: &Matcher) -> Result<Vec<Entry>, IgnoreError> {
    let mut out = Vec::new();
    walk(root, "", None, matcher, &mut out)?;
    Ok(out)
}

fn read_sorted(dir: &Path) -> Result<Vec<(String, fs::FileType)>, IgnoreError> {
    let io = |source| IgnoreError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = Vec::new();
    for e in fs::read_dir(dir).map_err(io)? {
        let e = e.map_err(io)?;
        let name = e.file_name().to_string_lossy().into_owned();
        entries.push((name, e.file_type().map_err(io)?));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

fn walk(
    dir: &Path,
    prefix: &str,
    parent: Option<&MatchInfo>,
    matcher: &Matcher,
    out: &mut Vec<Entry>,
) -> Result<(), IgnoreError> {
    for (name, ft) in read_sorted(dir)? {
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let (skip, info) = matcher.matches_with_parent(&rel, parent);
        let is_dir = ft.is_dir();
        if skip && (!is_dir || !matcher.has_exclusions() || !matcher.exception_under(&rel)) {
            continue;
        }
        if !skip {
            out.push(Entry {
                path: rel.clone(),
                is_dir,
            });
        }
        if is_dir {
            walk(&dir.join(&name), &rel, Some(&info), matcher, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
