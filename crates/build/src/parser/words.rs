//! The line parsers of Docker's Dockerfile parser: how each instruction's rest of
//! line becomes words, key/value pairs, a JSON array or builder flags. Quotes and
//! escapes are kept here; the shell lexer removes them when it substitutes.

/// Go's `[\t\v\f\r ]`: the blanks that separate instruction words.
pub(crate) fn is_blank(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// Splits on runs of blanks into at most `limit` pieces (no limit when 0).
pub(crate) fn split_blanks(s: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        if limit != 0 && out.len() + 1 == limit {
            out.push(rest.to_string());
            break;
        }
        match rest.find(is_blank) {
            Some(i) => {
                out.push(rest[..i].to_string());
                rest = rest[i..].trim_start_matches(is_blank);
                if rest.is_empty() {
                    out.push(String::new());
                }
            }
            None => {
                out.push(rest.to_string());
                break;
            }
        }
    }
    out
}

#[derive(PartialEq, Clone, Copy)]
enum Phase {
    Spaces,
    Word,
    Quote,
}

/// Splits on unquoted white space, keeping quotes and escapes in the words.
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut word = String::new();
    let mut pos = 0;
    while pos <= chars.len() {
        let at_end = pos == chars.len();
        let mut ch = chars.get(pos).copied().unwrap_or('\0');
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if ch.is_whitespace() {
                pos += 1;
                continue;
            }
            phase = Phase::Word;
        }
        if at_end {
            if blank_ok || !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            break;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            if ch == escape {
                if pos + 1 == chars.len() {
                    pos += 1;
                    continue;
                }
                word.push(ch);
                pos += 1;
                ch = chars[pos];
            }
            word.push(ch);
            pos += 1;
            continue;
        }
        // Inside quotes: the escape escapes anything but in single quotes.
        if ch == quote {
            phase = Phase::Word;
        }
        if ch == escape && quote != '\'' {
            if pos + 1 == chars.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            word.push(ch);
            ch = chars[pos];
        }
        word.push(ch);
        pos += 1;
    }
    words
}

/// Takes the leading `--flag[=value]` words off an instruction's arguments.
/// Returns the rest of the line and the flags, quotes and escapes removed.
pub(crate) fn extract_flags(line: &str, escape: char) -> (String, Vec<String>) {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let rest_at = |pos: usize| chars.get(pos).map_or("", |&(i, _)| &line[i..]).to_string();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut word = String::new();
    let mut pos = 0;
    while pos <= chars.len() {
        let at_end = pos == chars.len();
        let mut ch = chars.get(pos).map_or('\0', |&(_, c)| c);
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if ch.is_whitespace() {
                pos += 1;
                continue;
            }
            let next = chars.get(pos + 1).map(|&(_, c)| c);
            if ch != '-' || next != Some('-') {
                return (rest_at(pos), words);
            }
            phase = Phase::Word;
        }
        if at_end {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push(word);
            }
            break;
        }
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if word == "--" {
                    return (rest_at(pos), words);
                }
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            if ch == escape {
                if pos + 1 == chars.len() {
                    pos += 1;
                    continue;
                }
                pos += 1;
                ch = chars[pos].1;
            }
            word.push(ch);
            pos += 1;
            continue;
        }
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        if ch == escape {
            if pos + 1 == chars.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            ch = chars[pos].1;
        }
        word.push(ch);
        pos += 1;
    }
    (String::new(), words)
}

/// What a JSON-looking argument turned out to be.
#[derive(Debug, PartialEq)]
pub(crate) enum Json {
    /// Not a JSON array of strings: use the shell form.
    No,
    /// A JSON array of strings: the exec form.
    Array(Vec<String>),
}

pub(crate) const ERR_NOT_STRING_ARRAY: &str =
    "when using JSON array syntax, arrays must be comprised of strings only";

/// A JSON array of strings; anything that is not valid JSON falls back to the
/// shell form, but a valid array holding other than strings is an error.
pub(crate) fn parse_json(rest: &str) -> Result<Json, String> {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Ok(Json::No);
    }
    let Ok(values) = serde_json::from_str::<Vec<serde_json::Value>>(rest) else {
        return Ok(Json::No);
    };
    values
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => Ok(s),
            _ => Err(ERR_NOT_STRING_ARRAY.to_string()),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Json::Array)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_quotes_and_escapes() {
        let cases: &[(&str, &[&str])] = &[
            ("a b  c", &["a", "b", "c"]),
            (r#"name="value value1""#, &[r#"name="value value1""#]),
            (r"name=value\ value2", &[r"name=value\ value2"]),
            (r#"a="" b"#, &[r#"a="""#, "b"]),
            (r"name='a\'b''", &[r"name='a\'b''"]),
            (r#"x="a\"b" y"#, &[r#"x="a\"b""#, "y"]),
            ("trailing\\", &["trailing"]),
        ];
        for (input, want) in cases {
            assert_eq!(parse_words(input, '\\'), *want, "{input}");
        }
    }

    #[test]
    fn flags_come_off_the_front() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "--from=a --chown=1:2 src dst",
                "src dst",
                &["--from=a", "--chown=1:2"],
            ),
            ("src --from=a", "src --from=a", &[]),
            (
                "--mount=type=cache,target=/x echo hi",
                "echo hi",
                &["--mount=type=cache,target=/x"],
            ),
            (r#"--label="a b" x"#, "x", &["--label=a b"]),
            ("--a -- --b c", " --b c", &["--a"]),
            ("--only", "", &["--only"]),
            ("-x y", "-x y", &[]),
        ];
        for (line, rest, flags) in cases {
            let (r, f) = extract_flags(line, '\\');
            assert_eq!(r, *rest, "{line}");
            assert_eq!(f, *flags, "{line}");
        }
    }

    #[test]
    fn json_or_shell() {
        assert_eq!(
            parse_json(r#"["a", "b c"]"#),
            Ok(Json::Array(vec!["a".into(), "b c".into()]))
        );
        assert_eq!(parse_json("[]"), Ok(Json::Array(vec![])));
        assert_eq!(parse_json("echo [x]"), Ok(Json::No));
        assert_eq!(parse_json("['a']"), Ok(Json::No));
        assert_eq!(parse_json(r#"["a""#), Ok(Json::No));
        assert_eq!(parse_json(r#"["a", 1]"#), Err(ERR_NOT_STRING_ARRAY.into()));
    }

    #[test]
    fn blank_split_with_limit() {
        assert_eq!(split_blanks("a  b\tc", 0), ["a", "b", "c"]);
        assert_eq!(split_blanks("name  value  x", 2), ["name", "value  x"]);
        assert_eq!(split_blanks("name", 2), ["name"]);
    }
}
