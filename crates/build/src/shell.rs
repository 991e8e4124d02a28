//! Docker's shell lexer: quote removal, escapes and variable substitution as the
//! builder applies them to instruction arguments (`ENV`, `COPY`, `WORKDIR`...).
//!
//! It follows BuildKit's `frontend/dockerfile/shell` rules, which are not a shell's:
//! `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`,
//! `${VAR:?msg}`, `${VAR?msg}`, `${VAR#pat}`, `${VAR##pat}`, `${VAR%pat}`,
//! `${VAR%%pat}`, `${VAR/pat/rep}` and `${VAR//pat/rep}`; single quotes keep
//! everything literal, double quotes expand variables, the escape character
//! (`\` or the `# escape=` one) escapes the next character. Unset variables
//! expand to nothing; command substitution and arithmetic do not exist.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Variables visible to a substitution.
pub trait Env {
    /// The value of `name`, `None` when it is not set.
    fn get(&self, name: &str) -> Option<&str>;
}

impl Env for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

impl Env for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name).map(String::as_str)
    }
}

/// `KEY=value` strings, as in an image config's `Env`: the last one of a name wins.
impl Env for Vec<String> {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter().rev().find_map(|kv| match kv.split_once('=') {
            Some((k, v)) if k == name => Some(v),
            None if kv == name => Some(""),
            _ => None,
        })
    }
}

/// No variables at all.
pub struct NoEnv;

impl Env for NoEnv {
    fn get(&self, _: &str) -> Option<&str> {
        None
    }
}

/// A substitution failed; displays as Docker does (`failed to process "...": ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to process {}: {message}", go_quote(.source_word))]
pub struct LexError {
    /// The word being processed.
    pub source_word: String,
    /// What went wrong, in Docker's wording.
    pub message: String,
}

/// The result of processing one word with the names it looked up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Processed {
    /// The word after substitution and quote removal.
    pub result: String,
    /// Variables that were referenced and set.
    pub matched: BTreeSet<String>,
    /// Variables that were referenced but not set.
    pub unmatched: BTreeSet<String>,
}

/// The lexer. `Copy`, cheap: options are plain flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexer {
    escape: char,
    /// Keep quote characters in the output (used to detect quoted heredoc words).
    pub raw_quotes: bool,
    /// Keep escape characters in the output.
    pub raw_escapes: bool,
    /// Treat quotes as ordinary characters (used for heredoc contents).
    pub skip_process_quotes: bool,
    /// Leave references to unset variables as written.
    pub skip_unset_env: bool,
}

impl Lexer {
    /// A lexer whose escape character is `escape` (`\` or `` ` ``).
    pub fn new(escape: char) -> Self {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_process_quotes: false,
            skip_unset_env: false,
        }
    }

    /// Substitutes variables and removes quotes, keeping the word whole.
    pub fn process_word(&self, word: &str, env: &dyn Env) -> Result<String, LexError> {
        Ok(self.process_word_with_matches(word, env)?.result)
    }

    /// [`Lexer::process_word`], also telling which variables were looked up.
    pub fn process_word_with_matches(
        &self,
        word: &str,
        env: &dyn Env,
    ) -> Result<Processed, LexError> {
        let mut sw = ShellWord::new(self, word, env);
        let (result, _) = sw.run(word)?;
        Ok(Processed {
            result,
            matched: sw.matched,
            unmatched: sw.unmatched,
        })
    }

    /// Substitutes, then splits into words on unquoted white space (as `EXPOSE` does).
    pub fn process_words(&self, word: &str, env: &dyn Env) -> Result<Vec<String>, LexError> {
        let mut sw = ShellWord::new(self, word, env);
        Ok(sw.run(word)?.1)
    }
}

struct Scanner {
    chars: Vec<char>,
    pos: usize,
}

impl Scanner {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }
}

/// Word splitting state: white space produced by a `$` expansion splits words,
/// quoted or escaped characters never do.
#[derive(Default)]
struct Words {
    buf: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.buf.is_empty() {
                self.words.push(std::mem::take(&mut self.buf));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }

    fn add_raw_char(&mut self, ch: char) {
        self.buf.push(ch);
        self.in_word = true;
    }

    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }

    fn add_raw_string(&mut self, s: &str) {
        self.buf.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(std::mem::take(&mut self.buf));
        }
        self.words
    }
}

/// How deep `${...}` and quotes may nest: deeper input is refused rather than
/// risking the stack of the process parsing it.
const MAX_DEPTH: usize = 256;

struct ShellWord<'a> {
    depth: usize,
    lex: &'a Lexer,
    env: &'a dyn Env,
    scanner: Scanner,
    raw_escapes: bool,
    matched: BTreeSet<String>,
    unmatched: BTreeSet<String>,
}

type Step<T> = Result<T, String>;

impl<'a> ShellWord<'a> {
    fn new(lex: &'a Lexer, word: &str, env: &'a dyn Env) -> Self {
        ShellWord {
            depth: 0,
            lex,
            env,
            scanner: Scanner {
                chars: word.chars().collect(),
                pos: 0,
            },
            raw_escapes: lex.raw_escapes,
            matched: BTreeSet::new(),
            unmatched: BTreeSet::new(),
        }
    }

    fn run(&mut self, source: &str) -> Result<(String, Vec<String>), LexError> {
        let raw = self.raw_escapes;
        self.process_stop_on(None, raw).map_err(|message| LexError {
            source_word: source.to_string(),
            message,
        })
    }

    fn process_stop_on(&mut self, stop: Option<char>, raw: bool) -> Step<(String, Vec<String>)> {
        if self.depth >= MAX_DEPTH {
            return Err("syntax error: substitutions nested too deeply".into());
        }
        self.depth += 1;
        let saved = std::mem::replace(&mut self.raw_escapes, raw);
        let out = self.stop_on_inner(stop);
        self.raw_escapes = saved;
        self.depth -= 1;
        out
    }

    fn stop_on_inner(&mut self, stop: Option<char>) -> Step<(String, Vec<String>)> {
        let mut result = String::new();
        let mut words = Words::default();
        let quotes = !self.lex.skip_process_quotes;
        while let Some(ch) = self.scanner.peek() {
            if Some(ch) == stop {
                self.scanner.next();
                return Ok((result, words.finish()));
            }
            match ch {
                '$' => {
                    let v = self.process_dollar()?;
                    words.add_string(&v);
                    result.push_str(&v);
                }
                '<' => {
                    let v = self.process_possible_heredoc();
                    words.add_raw_string(&v);
                    result.push_str(&v);
                }
                '\'' if quotes => {
                    let v = self.process_single_quote()?;
                    words.add_raw_string(&v);
                    result.push_str(&v);
                }
                '"' if quotes => {
                    let v = self.process_double_quote()?;
                    words.add_raw_string(&v);
                    result.push_str(&v);
                }
                _ => {
                    self.scanner.next();
                    if ch == self.lex.escape {
                        if self.raw_escapes {
                            words.add_raw_char(ch);
                            result.push(ch);
                        }
                        // The escape character escapes anything but the end of the word.
                        let Some(next) = self.scanner.next() else {
                            break;
                        };
                        words.add_raw_char(next);
                        result.push(next);
                    } else {
                        words.add_char(ch);
                        result.push(ch);
                    }
                }
            }
        }
        if let Some(stop) = stop {
            return Err(format!(
                "unexpected end of statement while looking for matching {stop}"
            ));
        }
        Ok((result, words.finish()))
    }

    fn process_single_quote(&mut self) -> Step<String> {
        let mut out = String::new();
        let open = self.scanner.next();
        if self.lex.raw_quotes {
            out.extend(open);
        }
        loop {
            match self.scanner.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    )
                }
                Some('\'') => {
                    if self.lex.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn process_double_quote(&mut self) -> Step<String> {
        let mut out = String::new();
        let open = self.scanner.next();
        if self.lex.raw_quotes {
            out.extend(open);
        }
        loop {
            match self.scanner.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    )
                }
                Some('"') => {
                    self.scanner.next();
                    if self.lex.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => out.push_str(&self.process_dollar()?),
                Some(_) => {
                    let Some(mut ch) = self.scanner.next() else {
                        continue;
                    };
                    if ch == self.lex.escape {
                        if self.raw_escapes {
                            out.push(ch);
                        }
                        // Inside double quotes only `"`, `$` and the escape itself are escaped.
                        match self.scanner.peek() {
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == self.lex.escape => {
                                self.scanner.next();
                                ch = n;
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(ch);
                }
            }
        }
    }

    fn process_possible_heredoc(&mut self) -> String {
        self.scanner.next();
        if self.scanner.peek() != Some('<') {
            return "<".into();
        }
        self.scanner.next();
        // Heredoc words may be separated from `<<` by blanks: keep them in one word.
        let mut out = String::from("<<");
        while let Some(c @ (' ' | '\t' | '\r')) = self.scanner.peek() {
            out.push(c);
            self.scanner.next();
        }
        out
    }

    fn get_env(&mut self, name: &str) -> Option<String> {
        match self.env.get(name) {
            Some(v) => {
                self.matched.insert(name.to_string());
                Some(v.to_string())
            }
            None => {
                self.unmatched.insert(name.to_string());
                None
            }
        }
    }

    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.scanner.peek() {
            if name.is_empty() && ch.is_numeric() {
                // Positional parameters: all the digits.
                while let Some(d) = self.scanner.peek().filter(|c| c.is_numeric()) {
                    name.push(d);
                    self.scanner.next();
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.scanner.next();
                return ch.to_string();
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            self.scanner.next();
            name.push(ch);
        }
        name
    }

    fn process_dollar(&mut self) -> Step<String> {
        self.scanner.next();
        if self.scanner.peek() != Some('{') {
            let name = self.process_name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(match self.get_env(&name) {
                Some(v) => v,
                None if self.lex.skip_unset_env => format!("${name}"),
                None => String::new(),
            });
        }
        self.scanner.next();
        match self.scanner.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
            Some(_) => {}
        }
        let name = self.process_name();
        let Some(ch) = self.scanner.next() else {
            return Err("syntax error: missing '}'".into());
        };
        match ch {
            '}' => Ok(match self.get_env(&name) {
                Some(v) => v,
                None if self.lex.skip_unset_env => format!("${{{name}}}"),
                None => String::new(),
            }),
            ':' => {
                let modifier = self.scanner.next();
                let chs: String = [Some(':'), modifier].into_iter().flatten().collect();
                self.modifier(&name, modifier.unwrap_or('\u{fffd}'), &chs, true)
            }
            '+' | '-' | '?' | '#' | '%' => self.modifier(&name, ch, &ch.to_string(), false),
            '/' => self.replace(&name),
            other => Err(format!("unsupported modifier ({other}) in substitution")),
        }
    }

    fn word_until_brace(&mut self, raw: bool) -> Step<String> {
        match self.process_stop_on(Some('}'), raw) {
            Ok((w, _)) => Ok(w),
            Err(_) if self.scanner.peek().is_none() => Err("syntax error: missing '}'".into()),
            Err(e) => Err(e),
        }
    }

    fn modifier(&mut self, name: &str, ch: char, chs: &str, null_is_unset: bool) -> Step<String> {
        let raw = ch == '#' || ch == '%';
        if null_is_unset && raw {
            return Err(format!("unsupported modifier ({chs}) in substitution"));
        }
        let word = self.word_until_brace(raw)?;
        let value = self.get_env(name);
        let Some(value) = value else {
            if self.lex.skip_unset_env {
                return Ok(format!("${{{name}{chs}{word}}}"));
            }
            return match ch {
                '-' => Ok(word),
                '+' => Ok(String::new()),
                '?' if word.is_empty() => Err(format!("{name}: is not allowed to be unset")),
                '?' => Err(format!("{name}: {word}")),
                '#' | '%' => Ok(String::new()),
                _ => Err(format!("unsupported modifier ({chs}) in substitution")),
            };
        };
        let empty = null_is_unset && value.is_empty();
        match ch {
            '-' => Ok(if empty { word } else { value }),
            '+' => Ok(if empty { String::new() } else { word }),
            '?' if empty && word.is_empty() => Err(format!("{name}: is not allowed to be empty")),
            '?' if empty => Err(format!("{name}: {word}")),
            '?' => Ok(value),
            '#' | '%' => {
                let (greedy, pat) = match word.strip_prefix(ch) {
                    Some(rest) => (true, rest),
                    None => (false, word.as_str()),
                };
                let pat = Pattern::compile(pat)?;
                Ok(if ch == '#' {
                    pat.trim_prefix(&value, greedy)
                } else {
                    pat.trim_suffix(&value, greedy)
                })
            }
            _ => Err(format!("unsupported modifier ({chs}) in substitution")),
        }
    }

    fn replace(&mut self, name: &str) -> Step<String> {
        let all = self.scanner.peek() == Some('/');
        if all {
            self.scanner.next();
        }
        let pattern = match self.process_stop_on(Some('/'), true) {
            Ok((w, _)) => w,
            Err(_) if self.scanner.peek().is_none() => {
                return Err("syntax error: missing '/' in ${}".into())
            }
            Err(e) => return Err(e),
        };
        let replacement = self.word_until_brace(true)?;
        let Some(value) = self.get_env(name) else {
            if self.lex.skip_unset_env {
                return Ok(format!("${{{name}/{pattern}/{replacement}}}"));
            }
            return Ok(String::new());
        };
        let pat = Pattern::compile(&pattern)?;
        Ok(pat.replace(&value, &replacement, all))
    }
}

/// A shell pattern of `${VAR#pat}` and friends: `*`, `?` and escaped literals.
#[derive(Debug)]
struct Pattern(Vec<PatTok>);

#[derive(Debug, Clone, Copy, PartialEq)]
enum PatTok {
    Star,
    Any,
    Lit(char),
}

impl Pattern {
    fn compile(pattern: &str) -> Step<Pattern> {
        let mut toks = Vec::new();
        let mut it = pattern.chars().peekable();
        while let Some(c) = it.next() {
            match c {
                '*' => toks.push(PatTok::Star),
                '?' => toks.push(PatTok::Any),
                '\\' => match it.peek() {
                    // `}` and `/` are escaped only to get past the `${}` parser.
                    Some('}' | '/') => {}
                    Some(&n @ ('*' | '?' | '\\')) => {
                        it.next();
                        toks.push(PatTok::Lit(n));
                    }
                    other => {
                        let shown = other.map(|c| c.to_string()).unwrap_or_default();
                        return Err(format!(
                            "invalid pattern ({pattern}) in substitution: invalid escape '\\{shown}'"
                        ));
                    }
                },
                c => toks.push(PatTok::Lit(c)),
            }
        }
        Ok(Pattern(toks))
    }

    /// For each `j`, whether the pattern matches `s[..j]` exactly (one pass).
    fn prefix_ends(toks: &[PatTok], s: &[char]) -> Vec<bool> {
        let mut reach = vec![false; s.len() + 1];
        reach[0] = true;
        for tok in toks {
            let mut next = vec![false; s.len() + 1];
            match tok {
                PatTok::Star => {
                    let mut any = false;
                    for j in 0..=s.len() {
                        any |= reach[j];
                        next[j] = any;
                    }
                }
                PatTok::Any => (1..=s.len()).for_each(|j| next[j] = reach[j - 1]),
                PatTok::Lit(c) => {
                    (1..=s.len()).for_each(|j| next[j] = reach[j - 1] && s[j - 1] == *c)
                }
            }
            reach = next;
        }
        reach
    }

    fn trim_prefix(&self, value: &str, longest: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        let ends = Self::prefix_ends(&self.0, &chars);
        let pick = if longest {
            ends.iter().rposition(|&m| m)
        } else {
            ends.iter().position(|&m| m)
        };
        match pick {
            Some(e) => chars[e..].iter().collect(),
            None => value.to_string(),
        }
    }

    fn trim_suffix(&self, value: &str, longest: bool) -> String {
        // A suffix match is a prefix match of the reversed pattern on the reversed value.
        let rev_toks: Vec<PatTok> = self.0.iter().rev().copied().collect();
        let rev: Vec<char> = value.chars().rev().collect();
        let ends = Self::prefix_ends(&rev_toks, &rev);
        let pick = if longest {
            ends.iter().rposition(|&m| m)
        } else {
            ends.iter().position(|&m| m)
        };
        match pick {
            Some(e) => rev[e..].iter().rev().collect(),
            None => value.to_string(),
        }
    }

    /// The leftmost match at or after `from`, longest at that start.
    fn find(&self, chars: &[char], from: usize) -> Option<(usize, usize)> {
        (from..=chars.len()).find_map(|start| {
            let ends = Self::prefix_ends(&self.0, &chars[start..]);
            ends.iter()
                .rposition(|&m| m)
                .map(|len| (start, start + len))
        })
    }

    fn replace(&self, value: &str, replacement: &str, all: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        let mut out = String::new();
        let mut last_end = 0;
        let mut search = 0;
        while search <= chars.len() {
            let Some((start, end)) = self.find(&chars, search) else {
                break;
            };
            out.extend(&chars[last_end..start]);
            // No replacement for an empty match right after another match.
            if end > last_end || start == 0 {
                out.push_str(replacement);
            }
            last_end = end;
            search = if end > search { end } else { search + 1 };
            if !all {
                break;
            }
        }
        out.extend(&chars[last_end.min(chars.len())..]);
        out
    }
}

pub use berth_errdefs::go_quote;

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Vec<String> {
        [
            "PWD=/home",
            "SHELL=bash",
            "KOREAN=한국어",
            "NULL=",
            "HI=a b",
            "P=/usr/local/bin",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn word(input: &str) -> Result<String, LexError> {
        Lexer::new('\\').process_word(input, &env())
    }

    #[test]
    fn process_word_follows_docker() {
        // (input, Some(expected) or None for an error)
        let cases: &[(&str, Option<&str>)] = &[
            ("hello", Some("hello")),
            ("he'll'o", Some("hello")),
            ("he'llo", None),
            (r"he\'llo", Some("he'llo")),
            (r"he\\'llo", None),
            (r"abc\tdef", Some("abctdef")),
            (r#""abc\tdef""#, Some(r"abc\tdef")),
            (r#""abc\\tdef""#, Some(r"abc\tdef")),
            (r"'abc\tdef'", Some(r"abc\tdef")),
            (r"hello\", Some("hello")),
            (r"hello\\", Some(r"hello\")),
            (r#""hello"#, None),
            (r#""hello\""#, None),
            (r#""hel'lo""#, Some("hel'lo")),
            (r"'hello\'", Some(r"hello\")),
            (r#""''""#, Some("''")),
            ("$.", Some("$.")),
            ("he$1x", Some("hex")),
            ("he$PWD", Some("he/home")),
            (r"he\$PWD", Some("he$PWD")),
            (r"he\\$PWD", Some(r"he\/home")),
            (r#""he\$PWD""#, Some("he$PWD")),
            (r"\${}", Some("${}")),
            ("${}", None),
            ("he${}xx", None),
            ("he${hi}xx", Some("hexx")),
            ("he${PWD}", Some("he/home")),
            ("he${.}", None),
            ("he${XXX:-000}xx", Some("he000xx")),
            ("he${PWD:-000}xx", Some("he/homexx")),
            ("he${XXX:-$PWD}xx", Some("he/homexx")),
            ("he${XXX:-${YYY:-yyy}}xx", Some("heyyyxx")),
            ("he${XXX:YYY}", None),
            ("he${XXX?}", None),
            ("he${PWD?}", Some("he/home")),
            ("he${NULL?}", Some("he")),
            ("he${NULL:?}", None),
            ("${NULL-x}", Some("")),
            ("${NULL:-x}", Some("x")),
            ("${NULL+x}", Some("x")),
            ("${NULL:+x}", Some("")),
            ("${XXX+x}", Some("")),
            ("${XXX-x}", Some("x")),
            ("he${PWD:+${SHELL}}xx", Some("hebashxx")),
            ("'he${XX}'", Some("he${XX}")),
            ("'$PWD'", Some("$PWD")),
            (r#""he'$PWD'""#, Some("he'/home'")),
            ("he${PWD", None),
            ("he${PWD:=000}xx", None),
            ("he${PWD:+${PWD}:}xx", Some("he/home:xx")),
            (r"he${XXX:-\$PWD:}xx", Some("he$PWD:xx")),
            (r"he${XXX:-\${PWD}z}xx", Some("he${PWDz}xx")),
            ("안'녕'하세요$KOREAN", Some("안녕하세요한국어")),
            ("${aaa}}", Some("}")),
            ("${{aaa}", None),
            ("${aaa:-bbb {foo}", Some("bbb {foo")),
            ("${aaa:-bbb ${foo}", None),
            ("${:}", None),
            ("${1:-bbb}", Some("bbb")),
            ("$1", Some("")),
            ("${P#*/}", Some("usr/local/bin")),
            ("${P##*/}", Some("bin")),
            ("${P%/*}", Some("/usr/local")),
            ("${P%%/*}", Some("")),
            ("${P/local/opt}", Some("/usr/opt/bin")),
            ("${P//\\//:}", Some(":usr:local:bin")),
            ("${P:#x}", None),
        ];
        for (input, want) in cases {
            let got = word(input);
            match want {
                Some(w) => assert_eq!(got.as_deref(), Ok(*w), "input {input:?}"),
                None => assert!(got.is_err(), "input {input:?} gave {got:?}"),
            }
        }
    }

    #[test]
    fn backtick_escape() {
        let lex = Lexer::new('`');
        let e = env();
        assert_eq!(
            lex.process_word(r"c:\path\$PWD", &e).unwrap(),
            r"c:\path\/home"
        );
        assert_eq!(lex.process_word("a`$PWD", &e).unwrap(), "a$PWD");
        assert_eq!(lex.process_word("\"a`\"b\"", &e).unwrap(), "a\"b");
    }

    #[test]
    fn process_words_splits_after_expansion() {
        let lex = Lexer::new('\\');
        let e = env();
        let cases: &[(&str, &[&str])] = &[
            ("hello", &["hello"]),
            ("x${HI}y", &["xa", "by"]),
            ("x\"${HI}\"y", &["xa by"]),
            ("a b  c", &["a", "b", "c"]),
            (r"hello\ there", &["hello there"]),
            (r#"hello\" there"#, &["hello\"", "there"]),
            ("hello'$there'", &["hello$there"]),
        ];
        for (input, want) in cases {
            assert_eq!(lex.process_words(input, &e).unwrap(), *want, "{input}");
        }
    }

    #[test]
    fn matches_are_reported() {
        let p = Lexer::new('\\')
            .process_word_with_matches("$PWD ${NOPE:-x} $SHELL", &env())
            .unwrap();
        assert_eq!(p.matched.into_iter().collect::<Vec<_>>(), ["PWD", "SHELL"]);
        assert_eq!(p.unmatched.into_iter().collect::<Vec<_>>(), ["NOPE"]);
    }

    #[test]
    fn skip_unset_keeps_references() {
        let mut lex = Lexer::new('\\');
        lex.skip_unset_env = true;
        assert_eq!(
            lex.process_word("$A ${B} ${C:-d}", &NoEnv).unwrap(),
            "$A ${B} ${C:-d}"
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_a_crash() {
        let deep = "${a:-".repeat(100_000);
        let e = word(&deep).unwrap_err();
        assert_eq!(e.message, "syntax error: substitutions nested too deeply");
        let ok = format!("{}x{}", "${a:-".repeat(100), "}".repeat(100));
        assert_eq!(word(&ok).unwrap(), "x");
    }

    #[test]
    fn long_values_stay_fast() {
        let long: Vec<String> = vec![format!("V={}", "ab/".repeat(3000))];
        let lex = Lexer::new('\\');
        assert_eq!(lex.process_word("${V##*/}", &long).unwrap(), "");
        assert_eq!(lex.process_word("${V%%/*}", &long).unwrap(), "ab");
        assert_eq!(lex.process_word("${V#*/}", &long).unwrap().len(), 8997);
    }

    #[test]
    fn error_reads_like_docker() {
        let e = word("he${PWD").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"failed to process "he${PWD": syntax error: missing '}'"#
        );
        let e = word("${X:?must be set}").unwrap_err();
        assert_eq!(e.message, "X: must be set");
    }
}
