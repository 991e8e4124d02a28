//! Builder flags (`COPY --from=x`, `RUN --mount=...`) checked as Docker's BFlags
//! does: known names only, a value where one is needed, no repeats unless the
//! flag collects values.

use std::collections::BTreeMap;

/// The kinds of builder flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `--link` or `--link=true|false`.
    Bool,
    /// `--from=x`, once.
    String,
    /// `--mount=...`, any number of times.
    Strings,
}

/// Parsed flags: each given flag with its values in order.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    values: BTreeMap<&'static str, Vec<String>>,
}

impl Flags {
    /// Parses `args` against the allowed `(name, kind)` list.
    pub(crate) fn parse(
        args: &[String],
        allowed: &[(&'static str, Kind)],
    ) -> Result<Flags, String> {
        let mut flags = Flags::default();
        for arg in args {
            if arg == "--" {
                break;
            }
            let Some(body) = arg.strip_prefix("--") else {
                return Err(format!("arg should start with -- : {arg}"));
            };
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let flag_name = format!("--{name}");
            let Some(&(key, kind)) = allowed.iter().find(|(n, _)| *n == name) else {
                let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
                return Err(with_suggestion(
                    format!("unknown flag: {flag_name}"),
                    name,
                    &names,
                    true,
                ));
            };
            if flags.values.contains_key(key) && kind != Kind::Strings {
                return Err(format!("duplicate flag specified: {flag_name}"));
            }
            let value = match (kind, value) {
                (Kind::Bool, Some("")) | (Kind::String | Kind::Strings, None) => {
                    return Err(format!("missing a value on flag: {flag_name}"))
                }
                (Kind::Bool, None) => "true".to_string(),
                (Kind::Bool, Some(v)) => match v.to_ascii_lowercase().as_str() {
                    "true" => "true".to_string(),
                    "false" => "false".to_string(),
                    _ => {
                        return Err(format!(
                            "expecting boolean value for flag {flag_name}, not: {v}"
                        ))
                    }
                },
                (_, Some(v)) => v.to_string(),
            };
            flags.values.entry(key).or_default().push(value);
        }
        Ok(flags)
    }

    /// The value of a string flag, `None` when not given.
    pub(crate) fn string(&self, name: &str) -> Option<String> {
        self.values.get(name).and_then(|v| v.last().cloned())
    }

    /// All values of a repeatable flag.
    pub(crate) fn strings(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }

    /// A bool flag: `None` when not given.
    pub(crate) fn bool(&self, name: &str) -> Option<bool> {
        self.values
            .get(name)
            .map(|v| v.last().is_some_and(|s| s == "true"))
    }
}

/// Appends Docker's ` (did you mean X?)` when an option is within two edits.
pub(crate) fn with_suggestion(
    msg: String,
    value: &str,
    options: &[&str],
    case_sensitive: bool,
) -> String {
    let fold = |s: &str| {
        if case_sensitive {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    let val = fold(value);
    let mut best: Option<(usize, String)> = None;
    for opt in options {
        let opt = fold(opt);
        if opt == val {
            return msg;
        }
        let d = levenshtein(&val, &opt);
        if d < 3 && best.as_ref().is_none_or(|(bd, _)| d < *bd) {
            best = Some((d, opt));
        }
    }
    match best {
        None => msg,
        Some((_, m)) => {
            let m = if case_sensitive {
                m
            } else if value == value.to_uppercase() {
                m.to_uppercase()
            } else {
                m.to_lowercase()
            };
            format!("{msg} (did you mean {m}?)")
        }
    }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const COPY: &[(&str, Kind)] = &[
        ("from", Kind::String),
        ("link", Kind::Bool),
        ("exclude", Kind::Strings),
    ];

    fn parse(args: &[&str]) -> Result<Flags, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        Flags::parse(&args, COPY)
    }

    #[test]
    fn flag_errors_read_like_docker() {
        let cases: &[(&[&str], &str)] = &[
            (&["--form=x"], "unknown flag: --form (did you mean from?)"),
            (&["--nope"], "unknown flag: --nope"),
            (
                &["--from=a", "--from=b"],
                "duplicate flag specified: --from",
            ),
            (&["--from"], "missing a value on flag: --from"),
            (&["--link="], "missing a value on flag: --link"),
            (
                &["--link=yes"],
                "expecting boolean value for flag --link, not: yes",
            ),
            (&["-x"], "arg should start with -- : -x"),
        ];
        for (args, want) in cases {
            assert_eq!(parse(args).unwrap_err(), *want, "{args:?}");
        }
    }

    #[test]
    fn flag_values() {
        let f = parse(&["--link", "--exclude=a", "--exclude=b", "--from=s"]).unwrap();
        assert_eq!(f.bool("link"), Some(true));
        assert_eq!(f.strings("exclude"), ["a", "b"]);
        assert_eq!(f.string("from").as_deref(), Some("s"));
        let f = parse(&["--link=FALSE"]).unwrap();
        assert_eq!(f.bool("link"), Some(false));
        assert_eq!(f.string("from"), None);
    }

    #[test]
    fn suggestions_match_case() {
        let names = ["from", "run", "copy"];
        assert_eq!(
            with_suggestion("x".into(), "FORM", &names, false),
            "x (did you mean FROM?)"
        );
        assert_eq!(
            with_suggestion("x".into(), "rnu", &names, false),
            "x (did you mean run?)"
        );
        assert_eq!(with_suggestion("x".into(), "banana", &names, false), "x");
    }
}
