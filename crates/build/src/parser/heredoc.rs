//! Heredocs (`RUN <<EOF`, `COPY <<EOF /dst`): finding the heredoc words of a line
//! and telling whether their terminator was quoted (no expansion then).

use crate::shell::{Lexer, NoEnv};

/// One heredoc attached to an instruction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Heredoc {
    /// The terminator word, quotes removed (`EOF`).
    pub name: String,
    /// The lines between the instruction and the terminator; with `<<-`,
    /// leading tabs are already stripped.
    pub content: String,
    /// Whether variables in the content are expanded (the terminator was unquoted).
    pub expand: bool,
    /// Whether it was `<<-` (leading tabs stripped).
    pub chomp: bool,
    /// The file descriptor written before `<<` (`3<<EOF`), 0 when none.
    pub fd: u32,
}

fn is_go_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r')
}

/// Reads a word as a heredoc start: `[fd]<<[-][blanks]word`, word without `<`.
pub(crate) fn parse_heredoc(src: &str) -> Result<Option<Heredoc>, String> {
    let digits = src.len() - src.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let Some(rest) = src[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let rest = rest.trim_start_matches(is_go_space);
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let fd = src[..digits].parse().unwrap_or(0);

    let mut lex = Lexer::new('\\');
    lex.skip_unset_env = true;
    let words = lex.process_words(rest, &NoEnv).map_err(|e| e.to_string())?;
    let [word] = words.as_slice() else {
        return Ok(None);
    };
    // Lexed with and without quotes: a difference in quote count means quoted.
    lex.raw_quotes = true;
    let raw = lex.process_words(rest, &NoEnv).map_err(|e| e.to_string())?;
    let [raw] = raw.as_slice() else {
        return Err(format!(
            "internal lexing of heredoc produced inconsistent results: {rest}"
        ));
    };
    let quotes = |s: &str| s.chars().filter(|c| matches!(c, '\'' | '"')).count();
    Ok(Some(Heredoc {
        name: word.clone(),
        content: String::new(),
        expand: quotes(word) == quotes(raw),
        chomp,
        fd,
    }))
}

/// The heredocs a (continuation-joined) instruction line starts, in order.
pub(crate) fn heredocs_from_line(line: &str) -> Result<Vec<Heredoc>, String> {
    let mut lex = Lexer::new('\\');
    lex.raw_quotes = true;
    lex.raw_escapes = true;
    lex.skip_unset_env = true;
    // A line the lexer cannot split has no heredocs (Docker ignores the error).
    let words = lex.process_words(line, &NoEnv).unwrap_or_default();
    let mut docs = Vec::new();
    for word in words {
        if let Some(doc) = parse_heredoc(&word)? {
            docs.push(doc);
        }
    }
    Ok(docs)
}

/// Strips leading tabs from every line (`<<-`).
pub(crate) fn chomp(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heredoc_words() {
        // (word, Some((name, expand, chomp, fd)))
        type Want = Option<(&'static str, bool, bool, u32)>;
        let cases: &[(&str, Want)] = &[
            ("<<EOF", Some(("EOF", true, false, 0))),
            ("<<-EOF", Some(("EOF", true, true, 0))),
            ("<<'EOF'", Some(("EOF", false, false, 0))),
            ("<<\"EOF\"", Some(("EOF", false, false, 0))),
            ("<<-\"EO\"F", Some(("EOF", false, true, 0))),
            ("3<<FILE", Some(("FILE", true, false, 3))),
            ("<< EOF", Some(("EOF", true, false, 0))),
            ("<<", None),
            ("<<<EOF", None),
            ("<<EOF MORE", None),
            ("x<<EOF", None),
        ];
        for (word, want) in cases {
            let got = parse_heredoc(word).unwrap();
            let got = got
                .as_ref()
                .map(|h| (h.name.as_str(), h.expand, h.chomp, h.fd));
            assert_eq!(got, *want, "{word}");
        }
    }

    #[test]
    fn several_heredocs_on_a_line() {
        let docs = heredocs_from_line("COPY <<A <<'B' 5<<-C /dst").unwrap();
        let names: Vec<_> = docs
            .iter()
            .map(|d| (d.name.as_str(), d.expand, d.chomp))
            .collect();
        assert_eq!(
            names,
            [("A", true, false), ("B", false, false), ("C", true, true)]
        );
        assert!(heredocs_from_line("RUN echo '<<EOF'").unwrap().is_empty());
    }

    #[test]
    fn chomp_strips_leading_tabs_only() {
        assert_eq!(chomp("\t\ta\n\tb \t\n c\n"), "a\nb \t\n c\n");
    }
}
