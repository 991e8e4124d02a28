//! Cache keys: a step can reuse an earlier result when its key is equal.
//!
//! `key = sha256(canonical JSON of {parent, instruction, mounts, build args, sources})`
//!
//! - parent: the previous step's key, or the base image's id, or scratch;
//! - instruction: the planned instruction (variables substituted, quotes
//!   removed, heredoc bodies included), so a changed `ENV`/`ARG` value that
//!   reaches an instruction changes its key. An `ARG` step counts by its names
//!   only: as in Docker, a build arg's value matters where it is used (a
//!   substitution, a `RUN`), not for the steps in between;
//! - build args: for `RUN`, the args its command sees that count for the cache
//!   (declared ones; undeclared proxy args never do, as in Docker);
//! - mounts: `RUN --mount`s after substitution;
//! - sources: for `COPY`/`ADD`, checksums of the source files
//!   ([`checksum_context`], [`checksum_tree`]) and, from the executor, digests
//!   of downloaded `ADD` URLs.
//!
//! A source checksum covers, for each matched file, directory and symlink in
//! walk order: its name relative to the matched source, its type, permission
//! bits (with setuid/setgid/sticky), the owner it will have in the image (root
//! for context files, which Docker sends as root, the `--chown` ids, or the
//! file's own for `COPY --from`), and its content's sha256 or symlink target.
//! Not the modification time: a fresh clone or a `touch` changes it without
//! changing what lands in the layer (Docker's tarsum and BuildKit drop it
//! too), and keeping it would make every checkout a cache miss.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::ignore::{clean_path, compile_glob, walk_under, Entry, IgnoreError};
use crate::parser::Instruction;
use crate::plan::Planned;

/// A step's cache key, `sha256:<hex>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(String);

impl CacheKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a step builds on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent<'a> {
    Scratch,
    /// The base image's id (`sha256:...`).
    Image(&'a str),
    /// The previous step.
    Step(&'a CacheKey),
}

/// The cache key of a planned step. Pure: the same inputs give the same key.
pub fn cache_key(parent: Parent<'_>, planned: &Planned, sources: &[String]) -> CacheKey {
    let parent = match parent {
        Parent::Scratch => serde_json::json!({ "scratch": true }),
        Parent::Image(id) => serde_json::json!({ "image": id }),
        Parent::Step(k) => serde_json::json!({ "step": k.0 }),
    };
    let instruction = match &planned.instruction {
        Instruction::Arg(decls) => {
            let names: Vec<&str> = decls.iter().map(|d| d.key.as_str()).collect();
            serde_json::json!({ "Arg": names })
        }
        other => serde_json::json!(other),
    };
    let doc = serde_json::json!({
        "version": 1,
        "parent": parent,
        "instruction": instruction,
        "mounts": planned.mounts,
        "build_args": planned.cache_args,
        "sources": sources,
    });
    // Serializing plain data (strings, numbers, derived structs) cannot fail.
    let bytes = serde_json::to_vec(&doc).unwrap_or_default();
    CacheKey(format!("sha256:{}", hex::encode(Sha256::digest(&bytes))))
}

/// Whose files the copied entries will be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Build-context files: Docker sends them as root.
    Context,
    /// `--chown`, resolved to ids.
    Chown { uid: u32, gid: u32 },
    /// `COPY --from` without `--chown`: the files keep their owner.
    Preserve,
}

/// A source that cannot be checksummed.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("forbidden path outside the build context: {0}")]
    OutsideContext(String),
    #[error("file not found in build context or excluded by .dockerignore: stat {0}: file does not exist")]
    NotFound(String),
    #[error(transparent)]
    Pattern(#[from] IgnoreError),
    #[error("checksum {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// A source path relative to the root it is copied from.
fn relative_source(src: &str) -> Result<String, CacheError> {
    let cleaned = clean_path(&format!("/{src}"));
    // Rooted cleaning drops `..` at the top: compare to see if it tried to escape.
    let plain = clean_path(src.trim_start_matches('/'));
    if plain == ".." || plain.starts_with("../") {
        return Err(CacheError::OutsideContext(src.to_string()));
    }
    Ok(match cleaned.trim_start_matches('/') {
        "" => ".".into(),
        s => s.to_string(),
    })
}

/// Checksums `COPY`/`ADD` sources from a build context, seeing only `entries`
/// (what [`crate::ignore::context_files`] listed: no ignored file counts).
/// URL sources are skipped: their digests come from the executor.
pub fn checksum_context(
    root: &Path,
    entries: &[Entry],
    sources: &[String],
    owner: Ownership,
) -> Result<String, CacheError> {
    let mut h = Sha256::new();
    for src in sources.iter().filter(|s| !is_remote(s)) {
        let rel = relative_source(src)?;
        field(&mut h, "source", rel.as_bytes());
        let roots = matched_roots(&rel, entries)?;
        if roots.is_empty() {
            return Err(CacheError::NotFound(src.clone()));
        }
        for r in roots {
            hash_root(&mut h, root, &r, subtree(entries, &r), owner)?;
        }
    }
    Ok(format!("sha256:{}", hex::encode(h.finalize())))
}

/// Checksums sources from a stage's or image's root file system (`COPY --from`):
/// nothing is ignored, only the sources' trees are walked.
pub fn checksum_tree(
    root: &Path,
    sources: &[String],
    owner: Ownership,
) -> Result<String, CacheError> {
    let mut h = Sha256::new();
    for src in sources {
        let rel = relative_source(src)?;
        field(&mut h, "source", rel.as_bytes());
        let entries = tree_entries(root, &rel)?;
        let roots = matched_roots(&rel, &entries)?;
        if roots.is_empty() {
            return Err(CacheError::NotFound(src.clone()));
        }
        for r in roots {
            hash_root(&mut h, root, &r, subtree(&entries, &r), owner)?;
        }
    }
    Ok(format!("sha256:{}", hex::encode(h.finalize())))
}

fn is_remote(src: &str) -> bool {
    src.starts_with("http://") || src.starts_with("https://") || src.starts_with("git@")
}

/// The entries to consider for `rel`: the tree under its last literal directory.
fn tree_entries(root: &Path, rel: &str) -> Result<Vec<Entry>, CacheError> {
    let literal: Vec<&str> = rel.split('/').take_while(|c| !is_glob(c)).collect();
    let (dir, single) = if literal.len() == rel.split('/').count() {
        // No wildcard: the path itself, and its tree when a directory.
        (rel.to_string(), true)
    } else {
        (literal.join("/"), false)
    };
    let dir = if dir == "." { String::new() } else { dir };
    let path = root.join(&dir);
    let meta = match fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(CacheError::Io { path, source }),
    };
    let mut out = Vec::new();
    if single && !dir.is_empty() {
        out.push(Entry {
            path: dir.clone(),
            is_dir: meta.is_dir(),
        });
    }
    if meta.is_dir() {
        out.extend(walk_under(root, &dir)?);
    }
    Ok(out)
}

fn matched_roots(rel: &str, entries: &[Entry]) -> Result<Vec<String>, CacheError> {
    if rel == "." {
        return Ok(vec![".".into()]);
    }
    if !is_glob(rel) {
        return Ok(entries
            .iter()
            .filter(|e| e.path == rel)
            .map(|e| e.path.clone())
            .collect());
    }
    let pattern = compile_glob(rel)?;
    let mut roots: Vec<String> = Vec::new();
    for e in entries {
        // A directory already matched brings its whole tree.
        if roots
            .last()
            .is_some_and(|r| e.path.starts_with(&format!("{r}/")))
        {
            continue;
        }
        if pattern.is_match(&e.path) {
            roots.push(e.path.clone());
        }
    }
    Ok(roots)
}

fn subtree<'a>(entries: &'a [Entry], root: &'a str) -> impl Iterator<Item = &'a Entry> {
    let prefix = format!("{root}/");
    entries
        .iter()
        .filter(move |e| root == "." || e.path == root || e.path.starts_with(&prefix))
}

/// Writes a length-prefixed field: no two different sequences hash alike.
fn field(h: &mut Sha256, name: &str, value: &[u8]) {
    h.update(name.as_bytes());
    h.update((value.len() as u64).to_le_bytes());
    h.update(value);
}

fn hash_root<'a>(
    h: &mut Sha256,
    root: &Path,
    matched: &str,
    entries: impl Iterator<Item = &'a Entry>,
    owner: Ownership,
) -> Result<(), CacheError> {
    field(
        h,
        "root",
        matched.rsplit('/').next().unwrap_or(matched).as_bytes(),
    );
    let prefix = format!("{matched}/");
    for e in entries {
        let name = if e.path == matched {
            "."
        } else if matched == "." {
            e.path.as_str()
        } else {
            e.path.strip_prefix(&prefix).unwrap_or(&e.path)
        };
        hash_entry(h, &root.join(&e.path), name, owner)?;
    }
    Ok(())
}

fn hash_entry(h: &mut Sha256, path: &Path, name: &str, owner: Ownership) -> Result<(), CacheError> {
    let io_err = |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = fs::symlink_metadata(path).map_err(io_err)?;
    let ft = meta.file_type();
    let (uid, gid) = match owner {
        Ownership::Context => (0, 0),
        Ownership::Chown { uid, gid } => (uid, gid),
        Ownership::Preserve => (meta.uid(), meta.gid()),
    };
    field(h, "name", name.as_bytes());
    let kind = if ft.is_dir() {
        "dir"
    } else if ft.is_symlink() {
        "symlink"
    } else if ft.is_file() {
        "file"
    } else {
        "other"
    };
    field(h, "type", kind.as_bytes());
    field(
        h,
        "mode",
        &(meta.permissions().mode() & 0o7777).to_le_bytes(),
    );
    field(h, "owner", format!("{uid}:{gid}").as_bytes());
    if ft.is_symlink() {
        let target = fs::read_link(path).map_err(io_err)?;
        field(h, "target", target.as_os_str().as_encoded_bytes());
    } else if ft.is_file() {
        let mut content = Sha256::new();
        let mut f = fs::File::open(path).map_err(io_err)?;
        io::copy(&mut f, &mut content).map_err(io_err)?;
        field(h, "size", &meta.len().to_le_bytes());
        field(h, "content", &content.finalize());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
