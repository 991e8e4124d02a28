//! Parser directives (`# syntax=`, `# escape=`, `# check=`): only before anything
//! else in the file, each at most once; the first line that is not one ends them.

use std::collections::BTreeSet;

/// The directives of a Dockerfile and the parser state they drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// The escape character: `\` unless `# escape=` set a backtick.
    pub escape: char,
    /// `# syntax=` (recorded; berth has one frontend).
    pub syntax: Option<String>,
    /// `# check=` (recorded; berth has no linter).
    pub check: Option<String>,
    seen: BTreeSet<String>,
    done: bool,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            escape: '\\',
            syntax: None,
            check: None,
            seen: BTreeSet::new(),
            done: false,
        }
    }
}

/// Go's `\s`: what the directive pattern treats as blanks.
fn is_go_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r')
}

impl Directives {
    /// Looks at one line (newline and leading blanks already trimmed). Returns
    /// whether it was a directive; the first line that is not one ends the
    /// directives for good.
    pub(crate) fn parse_line(&mut self, line: &str) -> Result<bool, String> {
        if self.done {
            return Ok(false);
        }
        let Some((key, value)) = line.strip_prefix('#').and_then(split_directive) else {
            self.done = true;
            return Ok(false);
        };
        let key = key.to_ascii_lowercase();
        if !matches!(key.as_str(), "syntax" | "escape" | "check") {
            self.done = true;
            return Ok(false);
        }
        if !self.seen.insert(key.clone()) {
            return Err(format!("only one {key} parser directive can be used"));
        }
        match key.as_str() {
            "escape" => {
                self.escape = match value {
                    "`" => '`',
                    "\\" => '\\',
                    _ => {
                        return Err(format!(
                            "invalid escape token '{value}' does not match ` or \\"
                        ))
                    }
                }
            }
            "syntax" => self.syntax = Some(value.to_string()),
            _ => self.check = Some(value.to_string()),
        }
        Ok(true)
    }
}

/// `name = value` where name is `[a-zA-Z][a-zA-Z0-9]*` and value is not empty.
fn split_directive(rest: &str) -> Option<(&str, &str)> {
    let rest = rest.trim_start();
    let name_len = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(rest.len(), |(i, _)| i);
    if name_len == 0 {
        return None;
    }
    let (name, after) = rest.split_at(name_len);
    let value = after
        .trim_start_matches(is_go_space)
        .strip_prefix('=')?
        .trim_matches(is_go_space);
    (!value.is_empty()).then_some((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directive_lines() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            (" escape=`", Some(("escape", "`"))),
            ("escape = \\ ", Some(("escape", "\\"))),
            (
                "syntax=docker/dockerfile:1",
                Some(("syntax", "docker/dockerfile:1")),
            ),
            (" check=skip=all", Some(("check", "skip=all"))),
            (" escape=", None),
            (" 1abc=x", None),
            (" just a comment", None),
        ];
        for (line, want) in cases {
            assert_eq!(split_directive(line), *want, "{line:?}");
        }
    }

    #[test]
    fn duplicates_and_bad_escape_fail() {
        let mut d = Directives::default();
        assert_eq!(d.parse_line("# escape=`"), Ok(true));
        assert_eq!(d.escape, '`');
        assert_eq!(
            d.parse_line("# Escape=\\"),
            Err("only one escape parser directive can be used".into())
        );
        let mut d = Directives::default();
        assert_eq!(
            d.parse_line("# escape=x"),
            Err("invalid escape token 'x' does not match ` or \\".into())
        );
    }

    #[test]
    fn unknown_directive_ends_directives() {
        let mut d = Directives::default();
        assert_eq!(d.parse_line("# foo=bar"), Ok(false));
        assert_eq!(d.parse_line("# escape=`"), Ok(false));
        assert_eq!(d.escape, '\\');
    }
}
