use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::time::{Duration, SystemTime};

use super::*;
use crate::ignore::{context_files, Matcher};
use crate::parser::parse;
use crate::plan::{BuildArgs, MetaArgs, Planner, Scope};

/// Keys of every step of the last stage, chained from a base image id.
fn keys(text: &str, args: &[(&str, &str)]) -> Vec<CacheKey> {
    let df = parse(text).unwrap();
    let args = BuildArgs::new(args.iter().map(|(k, v)| (*k, Some(*v))));
    let meta = MetaArgs::evaluate(&df, &args).unwrap();
    let mut planner = Planner::new(df.escape(), &meta, &args, Scope::default());
    let mut out: Vec<CacheKey> = Vec::new();
    for step in &df.stages.last().unwrap().steps {
        let planned = planner.step(step).unwrap();
        let parent = match out.last() {
            Some(k) => Parent::Step(k),
            None => Parent::Image("sha256:base"),
        };
        out.push(cache_key(parent, &planned, &[]));
    }
    out
}

#[test]
fn keys_are_deterministic_and_chained() {
    let text = "FROM a\nENV A=1\nRUN make\n";
    assert_eq!(keys(text, &[]), keys(text, &[]));
    let k = keys(text, &[]);
    assert!(k[0].as_str().starts_with("sha256:") && k[0].as_str().len() == 71);
    assert_ne!(k[0], k[1]);
    // A change early changes every later key.
    let k2 = keys("FROM a\nENV A=2\nRUN make\n", &[]);
    assert_ne!(k[0], k2[0]);
    assert_ne!(k[1], k2[1]);
}

#[test]
fn what_changes_a_key() {
    let base = keys("FROM a\nARG V=1\nRUN make\n", &[]);
    // The value of a declared arg a RUN sees.
    assert_ne!(
        keys("FROM a\nARG V=1\nRUN make\n", &[("V", "2")])[1],
        base[1]
    );
    // Undeclared proxy args do not count; declared ones do.
    assert_eq!(
        keys("FROM a\nARG V=1\nRUN make\n", &[("HTTP_PROXY", "http://p")])[1],
        base[1]
    );
    let declared = "FROM a\nARG HTTP_PROXY\nRUN make\n";
    assert_ne!(
        keys(declared, &[("HTTP_PROXY", "http://p")])[1],
        keys(declared, &[("HTTP_PROXY", "http://q")])[1]
    );
    // Substituted values, not the text: same result, same key.
    assert_eq!(
        keys("FROM a\nARG D=/x\nWORKDIR $D\n", &[])[1],
        keys("FROM a\nARG D=/x\nWORKDIR /x\n", &[])[1]
    );
    // Mount options.
    assert_ne!(
        keys("FROM a\nRUN --mount=type=cache,target=/a make\n", &[])[0],
        keys("FROM a\nRUN --mount=type=cache,target=/b make\n", &[])[0]
    );
    // Heredoc bodies.
    assert_ne!(
        keys("FROM a\nRUN <<EOF\na\nEOF\n", &[])[0],
        keys("FROM a\nRUN <<EOF\nb\nEOF\n", &[])[0]
    );
}

#[test]
fn build_arg_values_count_where_used() {
    let text = "FROM a\nARG V=1\nCOPY x /x\nWORKDIR /w\nRUN make\nWORKDIR /$V\n";
    let one = keys(text, &[]);
    let two = keys(text, &[("V", "2")]);
    // The ARG and the steps that do not use it keep their keys...
    assert_eq!(one[..3], two[..3]);
    // ...the RUN that sees it and everything after it do not.
    assert_ne!(one[3], two[3]);
    assert_ne!(one[4], two[4]);
    // A step using the value changes even with no RUN in between.
    let text = "FROM a\nARG V=1\nWORKDIR /$V\n";
    assert_ne!(keys(text, &[])[1], keys(text, &[("V", "2")])[1]);
    // Declaring another arg is a change.
    assert_ne!(
        keys("FROM a\nARG V\n", &[])[0],
        keys("FROM a\nARG W\n", &[])[0]
    );
}

#[test]
fn parent_and_sources_count() {
    let df = parse("FROM a\nCOPY . /app\n").unwrap();
    let (args, meta) = (BuildArgs::default(), MetaArgs::default());
    let planned = Planner::new('\\', &meta, &args, Scope::default())
        .step(&df.stages[0].steps[0])
        .unwrap();
    let k = |p: Parent, s: &[&str]| {
        cache_key(
            p,
            &planned,
            &s.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
        )
    };
    let other = k(Parent::Scratch, &[]);
    assert_ne!(
        k(Parent::Image("sha256:1"), &["s1"]),
        k(Parent::Image("sha256:2"), &["s1"])
    );
    assert_ne!(
        k(Parent::Image("sha256:1"), &["s1"]),
        k(Parent::Image("sha256:1"), &["s2"])
    );
    assert_ne!(
        k(Parent::Step(&other), &["s1"]),
        k(Parent::Image(other.as_str()), &["s1"])
    );
}

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

fn ctx_sum(
    root: &Path,
    patterns: &[&str],
    sources: &[&str],
    owner: Ownership,
) -> Result<String, CacheError> {
    let entries = context_files(root, &Matcher::new(patterns).unwrap()).unwrap();
    let sources: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
    checksum_context(root, &entries, &sources, owner)
}

fn sample() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "src/a.go", "package a");
    write(d.path(), "src/b.go", "package b");
    write(d.path(), "src/doc.md", "docs");
    write(d.path(), "README", "readme");
    d
}

#[test]
fn checksum_ignores_mtime_but_not_content_mode_or_names() {
    let d = sample();
    let sum = || ctx_sum(d.path(), &[], &["src"], Ownership::Context).unwrap();
    let before = sum();
    let f = fs::File::options()
        .write(true)
        .open(d.path().join("src/a.go"))
        .unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(86400))
        .unwrap();
    drop(f);
    assert_eq!(sum(), before, "mtime must not count");

    write(d.path(), "src/a.go", "package A");
    let changed = sum();
    assert_ne!(changed, before, "content");

    fs::set_permissions(d.path().join("src/a.go"), fs::Permissions::from_mode(0o755)).unwrap();
    let moded = sum();
    assert_ne!(moded, changed, "mode");

    fs::rename(d.path().join("src/b.go"), d.path().join("src/c.go")).unwrap();
    assert_ne!(sum(), moded, "name");
    // Files outside the source do not count.
    let now = sum();
    write(d.path(), "README", "changed");
    assert_eq!(sum(), now);
}

#[test]
fn checksum_counts_symlink_targets_and_owner() {
    let d = sample();
    symlink("a.go", d.path().join("src/link")).unwrap();
    let one = ctx_sum(d.path(), &[], &["src"], Ownership::Context).unwrap();
    fs::remove_file(d.path().join("src/link")).unwrap();
    symlink("b.go", d.path().join("src/link")).unwrap();
    let two = ctx_sum(d.path(), &[], &["src"], Ownership::Context).unwrap();
    assert_ne!(one, two, "symlink target");
    let chowned = ctx_sum(
        d.path(),
        &[],
        &["src"],
        Ownership::Chown {
            uid: 1000,
            gid: 1000,
        },
    )
    .unwrap();
    assert_ne!(chowned, two, "--chown");
    assert_eq!(
        ctx_sum(d.path(), &[], &["src"], Ownership::Chown { uid: 0, gid: 0 }).unwrap(),
        two
    );
}

#[test]
fn checksum_is_deterministic_over_creation_order() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let files = ["z/1", "a/2", "m/n/3", "b", "a/1"];
    for f in files {
        write(a.path(), f, f);
    }
    for f in files.iter().rev() {
        write(b.path(), f, f);
    }
    let sa = ctx_sum(a.path(), &[], &["."], Ownership::Context).unwrap();
    assert_eq!(
        sa,
        ctx_sum(b.path(), &[], &["."], Ownership::Context).unwrap()
    );
    assert_eq!(
        sa,
        ctx_sum(a.path(), &[], &["/./"], Ownership::Context).unwrap()
    );
}

#[test]
fn ignored_files_do_not_count() {
    let d = sample();
    let before = ctx_sum(d.path(), &["**/*.md"], &["src"], Ownership::Context).unwrap();
    write(d.path(), "src/doc.md", "changed docs");
    assert_eq!(
        ctx_sum(d.path(), &["**/*.md"], &["src"], Ownership::Context).unwrap(),
        before
    );
    assert_ne!(
        ctx_sum(d.path(), &[], &["src"], Ownership::Context).unwrap(),
        before
    );
}

#[test]
fn wildcard_sources_and_errors() {
    let d = sample();
    let go = ctx_sum(d.path(), &[], &["src/*.go"], Ownership::Context).unwrap();
    write(d.path(), "src/doc.md", "changed docs");
    assert_eq!(
        ctx_sum(d.path(), &[], &["src/*.go"], Ownership::Context).unwrap(),
        go
    );
    write(d.path(), "src/b.go", "changed");
    assert_ne!(
        ctx_sum(d.path(), &[], &["src/*.go"], Ownership::Context).unwrap(),
        go
    );

    let e = ctx_sum(d.path(), &[], &["nope/*.c"], Ownership::Context).unwrap_err();
    assert_eq!(e.to_string(), "file not found in build context or excluded by .dockerignore: stat nope/*.c: file does not exist");
    let e = ctx_sum(d.path(), &["README"], &["README"], Ownership::Context).unwrap_err();
    assert!(matches!(e, CacheError::NotFound(_)), "{e}");
    let e = ctx_sum(d.path(), &[], &["../etc/passwd"], Ownership::Context).unwrap_err();
    assert_eq!(
        e.to_string(),
        "forbidden path outside the build context: ../etc/passwd"
    );
    // URLs are left to the executor.
    assert!(ctx_sum(
        d.path(),
        &[],
        &["https://example.com/x"],
        Ownership::Context
    )
    .is_ok());
}

#[test]
fn tree_checksum_for_copy_from() {
    let d = sample();
    let sources = vec!["/src/".to_string()];
    let tree = checksum_tree(d.path(), &sources, Ownership::Context).unwrap();
    // Same bytes as the same files from a context.
    assert_eq!(
        tree,
        ctx_sum(d.path(), &[], &["/src/"], Ownership::Context).unwrap()
    );
    let glob = checksum_tree(d.path(), &["src/*.go".to_string()], Ownership::Context).unwrap();
    assert_eq!(
        glob,
        ctx_sum(d.path(), &[], &["src/*.go"], Ownership::Context).unwrap()
    );
    // Preserved owners count.
    let preserved = checksum_tree(d.path(), &sources, Ownership::Preserve).unwrap();
    std::os::unix::fs::chown(d.path().join("src/a.go"), Some(4242), Some(4242)).unwrap_or_else(
        |e| panic!("this test needs root to chown a file (run the tests as root): {e}"),
    );
    assert_ne!(
        checksum_tree(d.path(), &sources, Ownership::Preserve).unwrap(),
        preserved
    );
    assert_eq!(
        checksum_tree(d.path(), &sources, Ownership::Context).unwrap(),
        tree
    );
    assert!(matches!(
        checksum_tree(d.path(), &["missing".into()], Ownership::Context),
        Err(CacheError::NotFound(_))
    ));
}
