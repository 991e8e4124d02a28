//! Property tests: no input makes the parser, the planner, the graph, the lexer
//! or the `.dockerignore` matcher panic. Errors are fine; a panic (or a stack
//! overflow, which aborts) is a bug that would take the daemon down.

use berth_build::cache::{cache_key, Parent};
use berth_build::graph::BuildGraph;
use berth_build::ignore::{read_patterns, Matcher};
use berth_build::parser::{parse, parse_trigger, Instruction};
use berth_build::plan::{BuildArgs, MetaArgs, Planner, Scope};
use berth_build::shell::{Lexer, NoEnv};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

const KEYWORDS: [&str; 20] = [
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "MAINTAINER",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
    "# escape=`",
    "from",
];

/// Lines that look like a Dockerfile's, with the characters that matter to it.
fn line() -> impl Strategy<Value = String> {
    let tail = "[ \t\\\\`$'\"{}:+?#%/<>=\\[\\],.!*a-cA-C0-9-]{0,24}";
    (
        prop::sample::select(KEYWORDS.to_vec()),
        prop::option::of(prop::sample::select(vec![
            "--from=a",
            "--mount=type=cache,target=/c",
            "--chown=1:1",
            "--link",
            "--interval=1s",
            "--platform=$P",
            "--network=none",
            "--",
            "-x",
        ])),
        tail,
        prop::sample::select(vec![
            "",
            " \\",
            " `",
            " <<EOF",
            " <<-'E'",
            " AS s",
            " [\"a\", \"b\"]",
        ]),
    )
        .prop_map(|(kw, flag, tail, end)| {
            let flag = flag.map(|f| format!(" {f}")).unwrap_or_default();
            format!("{kw}{flag} {tail}{end}")
        })
}

fn dockerfile() -> impl Strategy<Value = String> {
    let head = prop::sample::select(vec![
        "",
        "FROM base\n",
        "ARG A=x\nFROM $A AS one\n",
        "# escape=`\nFROM b\n",
    ]);
    let body = prop::collection::vec(
        prop_oneof![8 => line(), 1 => Just("EOF".to_string()), 1 => Just("\tE".to_string()), 1 => "\\PC{0,12}"],
        0..16,
    );
    (head, body).prop_map(|(head, lines)| format!("{head}{}", lines.join("\n")))
}

/// Runs everything downstream of a successful parse.
fn exercise(text: &str) {
    let Ok(df) = parse(text) else { return };
    let args = BuildArgs::new([("A", Some("1")), ("HTTP_PROXY", Some("http://p"))]);
    let Ok(meta) = MetaArgs::evaluate(&df, &args) else {
        return;
    };
    let _ = BuildGraph::new(&df, &meta, None);
    for stage in &df.stages {
        let _ = meta.resolve_from(stage, df.escape());
        let mut planner = Planner::new(df.escape(), &meta, &args, Scope::default());
        for step in &stage.steps {
            if let Instruction::Onbuild(o) = &step.instruction {
                let _ = parse_trigger(&o.expression);
            }
            if let Ok(planned) = planner.step(step) {
                let _ = cache_key(Parent::Scratch, &planned, &[]);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        exercise(&text);
    }

    #[test]
    fn dockerfile_like_text_never_panics(text in dockerfile()) {
        exercise(&text);
    }

    #[test]
    fn lexer_never_panics(word in "[ \\\\`$'\"{}:+?#%/<>a-c0-9-]{0,40}", backtick in any::<bool>()) {
        let mut lex = Lexer::new(if backtick { '`' } else { '\\' });
        let env = vec!["a=x/y/z".to_string(), "b=".to_string()];
        let _ = lex.process_word(&word, &env);
        let _ = lex.process_words(&word, &env);
        lex.raw_quotes = true;
        lex.raw_escapes = true;
        lex.skip_unset_env = true;
        let _ = lex.process_words(&word, &NoEnv);
    }

    #[test]
    fn dockerignore_never_panics(text in "[ !#*?./\\\\\\[\\]^a-c\n-]{0,60}", path in "[*?./a-c-]{0,20}") {
        let patterns = read_patterns(&text);
        if let Ok(m) = Matcher::new(&patterns) {
            let _ = m.matches(&path);
            let _ = m.matches_with_parent(&path, None);
        }
    }
}

#[test]
fn the_generators_reach_the_planner() {
    // The properties above only mean something if inputs get past the parser.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut parsed = 0;
    for _ in 0..500 {
        let text = dockerfile()
            .new_tree(&mut runner)
            .map(|t| t.current())
            .unwrap_or_default();
        parsed += usize::from(parse(&text).is_ok());
    }
    assert!(
        parsed >= 10,
        "only {parsed} of 500 generated Dockerfiles parsed"
    );
}
