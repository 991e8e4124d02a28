use std::fs;

use super::*;

fn m(patterns: &[&str]) -> Matcher {
    Matcher::new(patterns).unwrap()
}

#[test]
fn reading_a_dockerignore() {
    let text = "\u{feff}# comment\n  node_modules/  \n/abs/path\n./rel\n!./keep/me/\n\n  # not a comment (leading blank)\n! spaced\n/\n!\n";
    assert_eq!(
        read_patterns(text),
        [
            "node_modules",
            "abs/path",
            "rel",
            "!keep/me",
            "# not a comment (leading blank)",
            "!spaced",
            "/",
            "!"
        ]
    );
}

#[test]
fn clean_paths_like_go() {
    let cases = [
        ("", "."),
        ("./a/", "a"),
        ("a//b/./c/..", "a/b"),
        ("/../a", "/a"),
        ("../a", "../a"),
        ("a/../..", ".."),
        ("/", "/"),
    ];
    for (input, want) in cases {
        assert_eq!(clean_path(input), want, "{input}");
    }
}

#[test]
fn pattern_matching() {
    // (pattern, path, excluded)
    let cases: &[(&str, &str, bool)] = &[
        ("*", "fileutils.go", true),
        ("*.go", "fileutils.go", true),
        ("*.go", "dir/fileutils.go", false),
        ("*/*.go", "dir/fileutils.go", true),
        ("**", "a/b/c", true),
        ("**/*.go", "a/b/c.go", true),
        ("**/*.go", "c.go", true),
        ("**/foo", "foo", true),
        ("**/foo", "a/b/foo", true),
        ("**/foo", "a/bfoo", false),
        ("foo/**", "foo/a/b", true),
        ("foo/**", "foo", false),
        ("foo/**/bar", "foo/bar", true),
        ("foo/**/bar", "foo/x/y/bar", true),
        ("foo/**/bar", "foo/xbar", false),
        ("a?c", "abc", true),
        ("a?c", "a/c", false),
        ("[a-c]x", "bx", true),
        ("[a-c]x", "dx", false),
        ("[^a-c]x", "dx", true),
        ("[!a]x", "!x", true),
        ("\\*", "*", true),
        ("\\*", "a", false),
        ("a.b", "axb", false),
        ("a+b", "a+b", true),
        ("dir", "dir/file", true),
        ("dir", "dir/sub/file", true),
        ("dir/*", "dir/sub/file", true),
        // The matcher takes patterns as given; read_patterns strips the `/`.
        ("/abs", "abs/x", false),
        ("docs/*.md", "docs/a.md", true),
        ("docs/*.md", "docs/sub/a.md", false),
    ];
    for (pattern, path, want) in cases {
        assert_eq!(m(&[pattern]).matches(path), *want, "{pattern} vs {path}");
    }
}

#[test]
fn leading_slash_and_dot_via_read_patterns() {
    let pats = read_patterns("/abs\n./rel/\n");
    let matcher = Matcher::new(&pats).unwrap();
    assert!(matcher.matches("abs/x") && matcher.matches("rel") && !matcher.matches("other"));
}

#[test]
fn last_match_wins_with_exceptions() {
    let cases: &[(&[&str], &str, bool)] = &[
        (&["*.md", "!README.md"], "README.md", false),
        (&["*.md", "!README.md"], "CHANGES.md", true),
        (&["*.md", "!README.md", "README*"], "README.md", true),
        (&["docs", "!docs/keep.md"], "docs/keep.md", false),
        (&["docs", "!docs/keep.md"], "docs/other.md", true),
        (&["!a", "a"], "a", true),
        (&["a", "!a/b", "a/b/c"], "a/b/c", true),
        (&["a", "!a/b", "a/b/c"], "a/b/d", false),
    ];
    for (patterns, path, want) in cases {
        assert_eq!(m(patterns).matches(path), *want, "{patterns:?} vs {path}");
    }
}

#[test]
fn bad_patterns_are_refused() {
    for bad in ["[", "a[", "[]a]", "[z-a]", "a\\", "[a-]"] {
        assert!(
            matches!(Matcher::new(&[bad]), Err(IgnoreError::BadPattern(_))),
            "{bad}"
        );
    }
    assert!(matches!(
        Matcher::new(&["!"]),
        Err(IgnoreError::IllegalExclusion)
    ));
}

fn tree(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        let p = dir.path().join(f);
        if let Some(stripped) = f.strip_suffix('/') {
            fs::create_dir_all(dir.path().join(stripped)).unwrap();
        } else {
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, f).unwrap();
        }
    }
    dir
}

fn listed(dir: &tempfile::TempDir, patterns: &[&str]) -> Vec<String> {
    context_files(dir.path(), &m(patterns))
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect()
}

#[test]
fn walk_lists_included_entries_in_docker_order() {
    let dir = tree(&[
        "b.txt",
        "a/x.go",
        "a/y.md",
        "a.txt",
        "empty/",
        "node_modules/m/index.js",
        "Dockerfile",
    ]);
    assert_eq!(
        listed(&dir, &["node_modules", "*.md", "**/*.md"]),
        ["Dockerfile", "a", "a/x.go", "a.txt", "b.txt", "empty"]
    );
    assert_eq!(listed(&dir, &[]).len(), 10);
}

#[test]
fn exceptions_inside_excluded_directories() {
    let dir = tree(&[
        "vendor/a/keep.txt",
        "vendor/a/drop.txt",
        "vendor/b/x.txt",
        "src/main.go",
    ]);
    // The exception starts with the excluded directory: it is walked, only the
    // exception comes back, the directories themselves are not sent.
    assert_eq!(
        listed(&dir, &["vendor", "!vendor/a/keep.txt"]),
        ["src", "src/main.go", "vendor/a/keep.txt"]
    );
    // Excluding everything, then bringing one tree back.
    assert_eq!(listed(&dir, &["*", "!src"]), ["src", "src/main.go"]);
    // Docker's quirk: an exception that does not start with the directory's path
    // cannot reach into it once it is excluded.
    assert_eq!(
        listed(&dir, &["vendor", "!**/keep.txt"]),
        ["src", "src/main.go"]
    );
    // Re-excluding inside a re-included directory.
    assert_eq!(
        listed(&dir, &["vendor", "!vendor/a", "vendor/a/drop.txt"]),
        ["src", "src/main.go", "vendor/a", "vendor/a/keep.txt"]
    );
}

#[test]
fn symlinks_are_listed_not_followed() {
    let dir = tree(&["real/f"]);
    std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
    assert_eq!(listed(&dir, &[]), ["link", "real", "real/f"]);
}

#[test]
fn dockerfile_and_dockerignore_always_sent() {
    let pats = build_patterns(vec!["*".into()], "build/Dockerfile.prod").unwrap();
    assert_eq!(pats, ["*", "!.dockerignore", "!build/Dockerfile.prod"]);
    let pats = build_patterns(vec!["*.md".into()], "Dockerfile").unwrap();
    assert_eq!(pats, ["*.md"]);
}

#[test]
fn build_context_reads_the_ignore_file() {
    let dir = tree(&[
        "Dockerfile",
        "app/main.go",
        "app/main_test.go",
        "secret.env",
    ]);
    fs::write(dir.path().join(".dockerignore"), "*\n!app\napp/*_test.go\n").unwrap();
    let paths = |d: &tempfile::TempDir, f: &str| -> Vec<String> {
        build_context(d.path(), f)
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect()
    };
    assert_eq!(
        paths(&dir, "Dockerfile"),
        [".dockerignore", "Dockerfile", "app", "app/main.go"]
    );
    // A Dockerfile-specific ignore file wins over .dockerignore.
    fs::write(dir.path().join("Dockerfile.dockerignore"), "secret.env\n").unwrap();
    assert_eq!(
        paths(&dir, "Dockerfile"),
        [
            ".dockerignore",
            "Dockerfile",
            "Dockerfile.dockerignore",
            "app",
            "app/main.go",
            "app/main_test.go"
        ]
    );
    // No ignore file: everything.
    let bare = tree(&["Dockerfile", "a"]);
    assert_eq!(paths(&bare, "Dockerfile"), ["Dockerfile", "a"]);
}
