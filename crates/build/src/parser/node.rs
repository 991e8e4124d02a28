//! The first pass: physical lines to instruction nodes. Handles parser directives,
//! comments, line continuations (with the escape character; comment lines and
//! empty lines inside a continuation are skipped as Docker does), heredoc bodies,
//! and splits each instruction's arguments the way Docker's line parsers do.

use super::directives::Directives;
use super::heredoc::{heredocs_from_line, Heredoc};
use super::words::{extract_flags, parse_json, parse_words, split_blanks, Json};
use super::{ParseError, Warning};

/// One instruction as the line parser sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    /// The instruction word as written (`run`, `RUN`...).
    pub keyword: String,
    /// Builder flags (`--from=x`), quotes removed.
    pub flags: Vec<String>,
    /// Arguments, split per instruction (raw words, quotes kept where Docker keeps them).
    pub args: Vec<String>,
    /// `ENV`/`LABEL` pairs: key, value, and whether `=` was used.
    pub pairs: Vec<(String, String, bool)>,
    /// The instruction `ONBUILD` wraps.
    pub sub: Option<Box<Node>>,
    /// The arguments were a JSON array (exec form).
    pub json: bool,
    pub heredocs: Vec<Heredoc>,
    /// The whole instruction line, continuations joined.
    pub original: String,
    pub start_line: usize,
    pub end_line: usize,
}

/// The result of the first pass.
pub(crate) struct Nodes {
    pub nodes: Vec<Node>,
    pub directives: Directives,
    pub warnings: Vec<Warning>,
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Removes a trailing continuation escape (and blanks after it). The escape
/// continues the line unless it is itself escaped.
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let body = line.trim_end_matches([' ', '\t']);
    let Some(before) = body.strip_suffix(escape) else {
        return (line, true);
    };
    if before.ends_with(escape) {
        return (line, true);
    }
    (before, false)
}

struct Lines<'a> {
    iter: std::str::SplitInclusive<'a, char>,
    line: usize,
}

impl<'a> Lines<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let l = self.iter.next()?;
        self.line += 1;
        Some(l)
    }
}

fn process_line<'a>(
    d: &mut Directives,
    raw: &'a str,
    strip_left: bool,
    line: usize,
) -> Result<&'a str, ParseError> {
    let mut token = trim_newline(raw);
    if strip_left {
        token = token.trim_start();
    }
    d.parse_line(token).map_err(|e| ParseError::at(line, e))?;
    Ok(if is_comment(token) { "" } else { token })
}

/// Splits a Dockerfile into instruction nodes.
pub(crate) fn parse_nodes(text: &str) -> Result<Nodes, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut d = Directives::default();
    let mut lines = Lines {
        iter: text.split_inclusive('\n'),
        line: 0,
    };
    let mut nodes = Vec::new();
    let mut warnings = Vec::new();
    while let Some(raw) = lines.next() {
        let start_line = lines.line;
        let token = process_line(&mut d, raw, true, start_line)?;
        let (first, mut at_end) = trim_continuation(token, d.escape);
        if at_end && first.is_empty() {
            continue;
        }
        let mut buf = first.to_string();
        let mut empty_continuation = false;
        while !at_end {
            let Some(raw) = lines.next() else { break };
            let token = process_line(&mut d, raw, false, lines.line)?;
            if is_comment(raw) {
                continue;
            }
            if token.trim_start().is_empty() {
                empty_continuation = true;
                continue;
            }
            let (part, end) = trim_continuation(token, d.escape);
            buf.push_str(part);
            at_end = end;
        }
        if empty_continuation {
            warnings.push(Warning {
                line: lines.line,
                message: format!("Empty continuation line found in: {buf}"),
            });
        }
        let mut node = node_from_line(&buf, d.escape).map_err(|e| ParseError::at(start_line, e))?;
        if node.can_contain_heredoc() && buf.contains("<<") {
            let docs = heredocs_from_line(&buf).map_err(|e| ParseError::at(start_line, e))?;
            for doc in docs {
                node.heredocs
                    .push(read_heredoc(&mut lines, doc, start_line)?);
            }
        }
        node.start_line = start_line;
        node.end_line = lines.line;
        nodes.push(node);
    }
    if nodes.is_empty() {
        return Err(ParseError::at(lines.line, "file with no instructions"));
    }
    Ok(Nodes {
        nodes,
        directives: d,
        warnings,
    })
}

fn read_heredoc(lines: &mut Lines, mut doc: Heredoc, start: usize) -> Result<Heredoc, ParseError> {
    while let Some(raw) = lines.next() {
        let mut candidate = trim_newline(raw);
        if doc.chomp {
            candidate = candidate.trim_start_matches('\t');
        }
        if candidate == doc.name {
            if doc.chomp {
                doc.content = super::heredoc::chomp(&doc.content);
            }
            return Ok(doc);
        }
        doc.content.push_str(raw);
    }
    Err(ParseError::at(start, "unterminated heredoc"))
}

impl Node {
    fn can_contain_heredoc(&self) -> bool {
        let node = match &self.sub {
            Some(sub) if self.keyword.eq_ignore_ascii_case("onbuild") => sub,
            _ => self,
        };
        let kw = node.keyword.to_ascii_lowercase();
        matches!(kw.as_str(), "add" | "copy" | "run") && !node.json
    }
}

/// Splits one instruction line into keyword, flags and arguments.
pub(crate) fn node_from_line(line: &str, escape: char) -> Result<Node, String> {
    split_line(line, escape, false)
}

/// `nested`: the line is what an `ONBUILD` wraps; an `ONBUILD` there is an error
/// later anyway, so it is not split further (no recursion on `ONBUILD ONBUILD ...`).
fn split_line(line: &str, escape: char, nested: bool) -> Result<Node, String> {
    let trimmed = line.trim();
    let mut parts = split_blanks(trimmed, 2).into_iter();
    let keyword = parts.next().unwrap_or_default();
    let (rest, flags) = match parts.next() {
        Some(r) => extract_flags(&r, escape),
        None => (String::new(), Vec::new()),
    };
    let rest = rest.trim();
    let mut node = Node {
        keyword: keyword.clone(),
        flags,
        args: Vec::new(),
        pairs: Vec::new(),
        sub: None,
        json: false,
        heredocs: Vec::new(),
        original: line.to_string(),
        start_line: 0,
        end_line: 0,
    };
    match keyword.to_ascii_lowercase().as_str() {
        "add" | "copy" | "volume" => node.maybe_json_list(rest)?,
        "cmd" | "entrypoint" | "run" | "shell" => node.maybe_json(rest)?,
        "arg" => node.args = parse_words(rest, escape),
        "env" => node.pairs = name_values(rest, "ENV", escape)?,
        "label" => node.pairs = name_values(rest, "LABEL", escape)?,
        "expose" | "from" => node.args = blank_list(rest),
        "healthcheck" => node.health(rest)?,
        "maintainer" | "stopsignal" | "user" | "workdir" if !rest.is_empty() => {
            node.args = vec![rest.to_string()];
        }
        "onbuild" if !nested && !rest.is_empty() => {
            let sub = split_line(rest, escape, true)?;
            node.args = std::iter::once(sub.keyword.clone())
                .chain(sub.flat_args())
                .collect();
            node.sub = Some(Box::new(sub));
        }
        // Unknown instructions are reported by the second pass, with a suggestion.
        _ => {}
    }
    Ok(node)
}

fn blank_list(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        Vec::new()
    } else {
        split_blanks(rest, 0)
    }
}

/// `ENV a b` (old form, the value is the rest of the line) or `ENV a=b c="d e"`.
fn name_values(rest: &str, key: &str, escape: char) -> Result<Vec<(String, String, bool)>, String> {
    let words = parse_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(Vec::new());
    };
    if !first.contains('=') {
        let parts = split_blanks(rest, 2);
        let [k, v] = parts.as_slice() else {
            return Err(format!("{key} must have two arguments"));
        };
        return Ok(vec![(k.clone(), v.clone(), false)]);
    }
    words
        .iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string(), true)),
            None => Err(format!(
                "Syntax error - can't find = in {}. Must be of the form: name=value",
                crate::shell::go_quote(w)
            )),
        })
        .collect()
}

impl Node {
    /// Arguments as Docker's `nodeArgs` gives them (ENV/LABEL pairs flattened).
    pub(crate) fn flat_args(&self) -> Vec<String> {
        if self.pairs.is_empty() {
            return self.args.clone();
        }
        self.pairs
            .iter()
            .flat_map(|(k, v, eq)| {
                [
                    k.clone(),
                    v.clone(),
                    if *eq { "=".into() } else { String::new() },
                ]
            })
            .collect()
    }

    fn maybe_json(&mut self, rest: &str) -> Result<(), String> {
        if rest.is_empty() {
            return Ok(());
        }
        match parse_json(rest)? {
            Json::Array(a) => {
                self.args = a;
                self.json = true;
            }
            Json::No => self.args = vec![rest.to_string()],
        }
        Ok(())
    }

    fn maybe_json_list(&mut self, rest: &str) -> Result<(), String> {
        match parse_json(rest)? {
            Json::Array(a) => {
                self.args = a;
                self.json = true;
            }
            Json::No => self.args = blank_list(rest),
        }
        Ok(())
    }

    fn health(&mut self, rest: &str) -> Result<(), String> {
        let sep = rest.find(char::is_whitespace).unwrap_or(rest.len());
        if sep == 0 {
            return Ok(());
        }
        let typ = rest[..sep].to_string();
        let cmd = rest[sep..].trim_start();
        self.maybe_json(cmd)?;
        self.args.insert(0, typ);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact dump in the spirit of Docker's: `keyword [flags] "arg"...`.
    fn dump(text: &str) -> Vec<String> {
        parse_nodes(text)
            .unwrap()
            .nodes
            .iter()
            .map(|n| {
                let mut s = n.keyword.to_lowercase();
                if !n.flags.is_empty() {
                    s += &format!(" {:?}", n.flags);
                }
                for a in n.flat_args() {
                    s += &format!(" {a:?}");
                }
                s
            })
            .collect()
    }

    #[test]
    fn continuations_comments_and_blank_lines() {
        let text = "FROM busybox\nRUN echo a \\\n# a comment inside\n    b \\\n\n  c\n\n# top comment\nRUN x \\  \n  y\n";
        assert_eq!(
            dump(text),
            [
                r#"from "busybox""#,
                r#"run "echo a     b   c""#,
                r#"run "x   y""#
            ]
        );
    }

    #[test]
    fn continuation_at_eof_and_escaped_escape() {
        assert_eq!(
            dump("FROM a\nRUN something \\"),
            [r#"from "a""#, r#"run "something""#]
        );
        // An escaped escape does not continue the line.
        assert_eq!(
            dump("FROM a\nRUN echo \\\\\nRUN b"),
            [r#"from "a""#, r#"run "echo \\\\""#, r#"run "b""#]
        );
    }

    #[test]
    fn escape_directive_with_backtick() {
        let text = "# escape=`\n\nFROM windowsservercore\nCOPY testfile.txt c:\\\nRUN dir c:\\\nWORKDIR c:\\windows `\n   \\system32\n";
        assert_eq!(
            dump(text),
            [
                r#"from "windowsservercore""#,
                r#"copy "testfile.txt" "c:\\""#,
                r#"run "dir c:\\""#,
                r#"workdir "c:\\windows    \\system32""#,
            ]
        );
    }

    #[test]
    fn directive_after_comment_is_a_comment() {
        let text = "# a comment first\n# escape=`\nFROM a\nENV GOPATH \\\n\\go\n";
        let nodes = parse_nodes(text).unwrap();
        assert_eq!(nodes.directives.escape, '\\');
        assert_eq!(dump(text)[1], r#"env "GOPATH" "\\go" """#);
    }

    #[test]
    fn env_forms() {
        let text = "FROM a\nENV name value with  spaces\nENV a=b c=\"d e\" f=g\\ h\nENV x=\"a\\\"b\" y='c\\'d'\n";
        assert_eq!(
            dump(text)[1..],
            [
                r#"env "name" "value with  spaces" """#,
                r#"env "a" "b" "=" "c" "\"d e\"" "=" "f" "g\\ h" "=""#,
                r#"env "x" "\"a\\\"b\"" "=" "y" "'c\\'d'" "=""#,
            ]
        );
    }

    #[test]
    fn env_errors() {
        let cases: &[(&str, &str)] = &[
            (
                "FROM a\nENV onlykey\n",
                "dockerfile parse error on line 2: ENV must have two arguments",
            ),
            (
                "FROM a\nLABEL a=b c\n",
                r#"dockerfile parse error on line 2: Syntax error - can't find = in "c". Must be of the form: name=value"#,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_nodes(text).err().map(|e| e.to_string()).as_deref(),
                Some(*want)
            );
        }
    }

    #[test]
    fn heredocs_are_read_after_the_line() {
        let text = "FROM a\nRUN <<EOF\necho hi\n  echo $HOME\nEOF\nRUN <<-'X' cat > f <<Y\n\tone\n\tX\ntwo\nY\nCOPY <<EOF /dst\ncontent\nEOF\n";
        let nodes = parse_nodes(text).unwrap().nodes;
        let docs: Vec<Vec<(&str, &str, bool)>> = nodes
            .iter()
            .map(|n| {
                n.heredocs
                    .iter()
                    .map(|h| (h.name.as_str(), h.content.as_str(), h.expand))
                    .collect()
            })
            .collect();
        assert_eq!(docs[1], [("EOF", "echo hi\n  echo $HOME\n", true)]);
        assert_eq!(docs[2], [("X", "one\n", false), ("Y", "two\n", true)]);
        assert_eq!(docs[3], [("EOF", "content\n", true)]);
        assert_eq!((nodes[1].start_line, nodes[1].end_line), (2, 5));
        assert_eq!(nodes[3].start_line, 11);
    }

    #[test]
    fn heredoc_not_in_json_or_other_instructions() {
        let nodes = parse_nodes("FROM a\nRUN [\"cat\", \"<<EOF\"]\nENV a=<<EOF\n")
            .unwrap()
            .nodes;
        assert!(nodes.iter().all(|n| n.heredocs.is_empty()));
    }

    #[test]
    fn unterminated_heredoc_fails() {
        let e = parse_nodes("FROM a\nRUN <<EOF\necho\n")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("dockerfile parse error on line 2: unterminated heredoc")
        );
    }

    #[test]
    fn onbuild_wraps_an_instruction() {
        let nodes = parse_nodes("FROM a\nONBUILD RUN --mount=type=cache,target=/c make\n")
            .unwrap()
            .nodes;
        let sub = nodes[1].sub.as_ref().unwrap();
        assert_eq!(sub.keyword, "RUN");
        assert_eq!(sub.flags, ["--mount=type=cache,target=/c"]);
        assert_eq!(nodes[1].args, ["RUN", "make"]);
    }

    #[test]
    fn onbuild_heredoc_and_deep_chains() {
        let nodes = parse_nodes("FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\n")
            .unwrap()
            .nodes;
        assert_eq!(nodes[1].heredocs[0].content, "echo hi\n");
        let chain = format!("FROM a\n{}RUN x\n", "ONBUILD ".repeat(100_000));
        let nodes = parse_nodes(&chain).unwrap().nodes;
        assert_eq!(nodes[1].args[0], "ONBUILD");
    }

    #[test]
    fn empty_file_and_bom() {
        let e = parse_nodes("# only a comment\n\n").err().map(|e| e.message);
        assert_eq!(e.as_deref(), Some("file with no instructions"));
        assert_eq!(dump("\u{feff}FROM a\n"), [r#"from "a""#]);
    }

    #[test]
    fn empty_continuation_line_warns() {
        let n = parse_nodes("FROM a\nRUN a \\\n\nb\n").unwrap();
        assert_eq!(n.warnings.len(), 1);
        assert_eq!(
            n.warnings[0].message,
            "Empty continuation line found in: RUN a b"
        );
    }
}
