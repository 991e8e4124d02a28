use super::*;
use crate::parser::parse;

/// Plans every step of the last stage; the base image's env is `base_env`.
fn plan_last(
    text: &str,
    build_args: &[(&str, &str)],
    base_env: &[&str],
) -> Result<Vec<Planned>, PlanError> {
    let df = parse(text).unwrap_or_else(|e| panic!("{e}"));
    let args = BuildArgs::new(build_args.iter().map(|(k, v)| (*k, Some(*v))));
    let meta = MetaArgs::evaluate(&df, &args)?;
    let stage = df.stages.last().unwrap();
    let scope = Scope::from_image_env(base_env.iter().map(|s| s.to_string()).collect());
    let mut planner = Planner::new(df.escape(), &meta, &args, scope);
    stage.steps.iter().map(|s| planner.step(s)).collect()
}

fn instructions(text: &str, build_args: &[(&str, &str)]) -> Vec<Instruction> {
    plan_last(text, build_args, &["PATH=/usr/bin"])
        .unwrap()
        .into_iter()
        .map(|p| p.instruction)
        .collect()
}

fn kv(k: &str, v: &str, no_delim: bool) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: v.into(),
        no_delim,
    }
}

#[test]
fn which_instructions_expand() {
    let text = "FROM a\nENV X=x Y=\"y y\" S=term\n\
                RUN echo $X\nCMD echo $X\nENTRYPOINT [\"$X\"]\nMAINTAINER $X\nONBUILD RUN $X\nSHELL [\"/bin/$X\"]\nHEALTHCHECK CMD $X\n\
                WORKDIR /w/$X\nUSER $X:${Y}\nSTOPSIGNAL SIG$S\nVOLUME /v/$X\nLABEL l=$X \"$X\"='$X'\n";
    let got = instructions(text, &[]);
    assert_eq!(
        got[0],
        Instruction::Env(vec![
            kv("X", "x", false),
            kv("Y", "y y", false),
            kv("S", "term", false)
        ])
    );
    // Not expanded by the builder.
    let Instruction::Run(r) = &got[1] else {
        panic!()
    };
    assert_eq!(r.command.args, ["echo $X"]);
    let Instruction::Cmd(c) = &got[2] else {
        panic!()
    };
    assert_eq!(c.args, ["echo $X"]);
    let Instruction::Entrypoint(c) = &got[3] else {
        panic!()
    };
    assert_eq!(c.args, ["$X"]);
    assert_eq!(got[4], Instruction::Maintainer("$X".into()));
    let Instruction::Onbuild(o) = &got[5] else {
        panic!()
    };
    assert_eq!(o.expression, "RUN $X");
    assert_eq!(got[6], Instruction::Shell(vec!["/bin/$X".into()]));
    let Instruction::Healthcheck(crate::parser::Healthcheck::Check(h)) = &got[7] else {
        panic!()
    };
    assert_eq!(h.test[1], "$X");
    // Expanded.
    assert_eq!(got[8], Instruction::Workdir("/w/x".into()));
    assert_eq!(got[9], Instruction::User("x:y y".into()));
    assert_eq!(got[10], Instruction::StopSignal("SIGterm".into()));
    assert_eq!(got[11], Instruction::Volume(vec!["/v/x".into()]));
    assert_eq!(
        got[12],
        Instruction::Label(vec![kv("l", "x", false), kv("x", "$X", false)])
    );
}

#[test]
fn env_forms_substitute() {
    let cases: &[(&str, Vec<KeyValue>)] = &[
        (
            "ENV a=b c=d",
            vec![kv("a", "b", false), kv("c", "d", false)],
        ),
        ("ENV k v w", vec![kv("k", "v w", true)]),
        ("ENV k2=\"v 2\"", vec![kv("k2", "v 2", false)]),
        ("ENV a=b\\ c", vec![kv("a", "b c", false)]),
        ("ENV p=$PATH:/x", vec![kv("p", "/usr/bin:/x", false)]),
        ("ENV q='$PATH'", vec![kv("q", "$PATH", false)]),
        ("ENV r=\"$PATH\"", vec![kv("r", "/usr/bin", false)]),
        ("ENV s=\\$PATH", vec![kv("s", "$PATH", false)]),
        (
            "ENV u=${NOPE:-dflt} v=${PATH:+set}",
            vec![kv("u", "dflt", false), kv("v", "set", false)],
        ),
    ];
    for (line, want) in cases {
        let got = instructions(&format!("FROM a\n{line}\n"), &[]);
        assert_eq!(got[0], Instruction::Env(want.clone()), "{line}");
    }
}

#[test]
fn env_applies_to_later_steps_and_in_order() {
    // Within one ENV, values see the variables from before the instruction.
    let got = instructions("FROM a\nENV A=1\nENV A=2 B=$A\nWORKDIR /$A/$B\n", &[]);
    assert_eq!(
        got[1],
        Instruction::Env(vec![kv("A", "2", false), kv("B", "1", false)])
    );
    assert_eq!(got[2], Instruction::Workdir("/2/1".into()));
}

#[test]
fn meta_args_only_in_from_unless_redeclared() {
    let text = "ARG BASE=alpine\nARG TAG=3\nFROM ${BASE}:${TAG}\nWORKDIR /$BASE\nARG BASE\nWORKDIR /$BASE\n";
    let df = parse(text).unwrap();
    let meta = MetaArgs::evaluate(&df, &BuildArgs::default()).unwrap();
    assert_eq!(
        meta.resolve_from(&df.stages[0], '\\').unwrap().image,
        "alpine:3"
    );
    let got = instructions(text, &[]);
    assert_eq!(got[0], Instruction::Workdir("/".into()));
    assert_eq!(got[2], Instruction::Workdir("/alpine".into()));
    // --build-arg overrides the meta default, in FROM and in the redeclaration.
    let got = instructions(text, &[("BASE", "debian")]);
    assert_eq!(got[2], Instruction::Workdir("/debian".into()));
    let meta = MetaArgs::evaluate(&df, &BuildArgs::new([("BASE", Some("debian"))])).unwrap();
    assert_eq!(
        meta.resolve_from(&df.stages[0], '\\').unwrap().image,
        "debian:3"
    );
}

#[test]
fn meta_args_see_earlier_meta_args() {
    let df = parse("ARG A=x\nARG B=${A}y\nFROM img:$B\n").unwrap();
    let meta = MetaArgs::evaluate(&df, &BuildArgs::default()).unwrap();
    assert_eq!(
        meta.resolve_from(&df.stages[0], '\\').unwrap().image,
        "img:xy"
    );
}

#[test]
fn from_errors() {
    let df = parse("ARG EMPTY\nFROM $EMPTY\n").unwrap();
    let meta = MetaArgs::evaluate(&df, &BuildArgs::default()).unwrap();
    assert_eq!(
        meta.resolve_from(&df.stages[0], '\\')
            .unwrap_err()
            .to_string(),
        "Dockerfile:2: base name ($EMPTY) should not be blank"
    );
    let df = parse("FROM --platform=$P a\n").unwrap();
    let meta = MetaArgs::evaluate(&df, &BuildArgs::default()).unwrap();
    assert_eq!(
        meta.resolve_from(&df.stages[0], '\\').unwrap_err().message,
        "empty platform value from expression $P"
    );
}

#[test]
fn arg_defaults_overrides_and_env_precedence() {
    let text = "FROM a\nARG A=dflt\nARG B\nARG C=$A-c\nENV A=fromenv\nWORKDIR /$A/$B/$C\n";
    let got = instructions(text, &[]);
    assert_eq!(
        got[0..3],
        [
            Instruction::Arg(vec![ArgDecl {
                key: "A".into(),
                value: Some("dflt".into())
            }]),
            Instruction::Arg(vec![ArgDecl {
                key: "B".into(),
                value: None
            }]),
            Instruction::Arg(vec![ArgDecl {
                key: "C".into(),
                value: Some("dflt-c".into())
            }]),
        ]
    );
    assert_eq!(got[4], Instruction::Workdir("/fromenv//dflt-c".into()));
    let got = instructions(text, &[("A", "$notexpanded"), ("B", "b"), ("UNUSED", "u")]);
    assert_eq!(
        got[4],
        Instruction::Workdir("/fromenv/b/$notexpanded-c".into())
    );
}

#[test]
fn run_env_and_cache_args() {
    let text = "FROM a\nARG A=1\nARG HTTPS_PROXY\nARG Z=z\nENV Z=env\nRUN make\n";
    let p = plan_last(
        text,
        &[
            ("HTTP_PROXY", "http://p:3128"),
            ("HTTPS_PROXY", "https://q"),
        ],
        &[],
    )
    .unwrap();
    let run = &p[4];
    // Everything the command sees; Z is shadowed by ENV.
    assert_eq!(
        run.run_env,
        ["A=1", "HTTPS_PROXY=https://q", "HTTP_PROXY=http://p:3128"]
    );
    // Undeclared proxy args stay out of the cache and the history.
    assert_eq!(run.cache_args, ["A=1", "HTTPS_PROXY=https://q"]);
}

#[test]
fn proxy_args_usable_without_declaration() {
    let got = instructions(
        "FROM a\nLABEL proxy=$HTTP_PROXY\n",
        &[("HTTP_PROXY", "http://p")],
    );
    assert_eq!(
        got[0],
        Instruction::Label(vec![kv("proxy", "http://p", false)])
    );
    let got = instructions("FROM a\nLABEL other=$FOO\n", &[("FOO", "bar")]);
    assert_eq!(got[0], Instruction::Label(vec![kv("other", "", false)]));
}

#[test]
fn copy_add_expand_but_not_from() {
    let text = "FROM a\nARG SRC=src DST=/dst U=1000\nCOPY --chown=$U:$U --chmod=0755 --from=builder ${SRC}/*.go $DST/\n\
                ADD --checksum=$SUM https://example.com/$SRC.tgz /opt/\nCOPY <<EOF <<'RAW' /etc/\nuser=$U \"quoted\"\nEOF\nkeep=$U\nRAW\n";
    let got = instructions(text, &[("SUM", "sha256:00")]);
    let Instruction::Copy(c) = &got[1] else {
        panic!()
    };
    assert_eq!(
        (
            c.chown.as_deref(),
            c.sources.as_slice(),
            c.dest.as_str(),
            c.from.as_deref()
        ),
        (
            Some("1000:1000"),
            &["src/*.go".to_string()][..],
            "/dst/",
            Some("builder")
        )
    );
    let Instruction::Add(a) = &got[2] else {
        panic!()
    };
    assert_eq!(a.sources, ["https://example.com/src.tgz"]);
    assert_eq!(a.checksum, None, "SUM is not declared");
    let Instruction::Copy(c) = &got[3] else {
        panic!()
    };
    assert_eq!(c.contents[0].data, "user=1000 \"quoted\"\n");
    assert_eq!(c.contents[1].data, "keep=$U\n");

    let err = plan_last("FROM a\nARG S=x\nCOPY --from=$S a b\n", &[], &[]).unwrap_err();
    assert_eq!(err.line, 3);
    assert!(
        err.message
            .starts_with("variable expansion is not supported for --from"),
        "{err}"
    );
}

#[test]
fn run_mounts_expand() {
    let p = plan_last(
        "FROM a\nARG C=/root/.cache\nRUN --mount=type=cache,target=$C,id=${C} go build\n",
        &[],
        &[],
    )
    .unwrap();
    assert_eq!(p[1].mounts[0].target.as_deref(), Some("/root/.cache"));
    assert_eq!(p[1].mounts[0].id.as_deref(), Some("/root/.cache"));
    let err = plan_last(
        "FROM a\nARG T=cahce\nRUN --mount=type=$T,target=/x go\n",
        &[],
        &[],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Dockerfile:3: unsupported mount type \"cahce\" (did you mean cache?)"
    );
}

#[test]
fn expose_splits_and_checks() {
    let got = instructions(
        "FROM a\nARG PORTS=\"80 443/udp\"\nEXPOSE $PORTS 8000-8002\n",
        &[],
    );
    assert_eq!(
        got[1],
        Instruction::Expose(vec!["80".into(), "443/udp".into(), "8000-8002".into()])
    );
    let ports = exposed_ports(&["80".into(), "443/udp".into(), "8000-8002/TCP".into()]).unwrap();
    assert_eq!(
        ports.into_iter().collect::<Vec<_>>(),
        ["443/udp", "80/tcp", "8000/tcp", "8001/tcp", "8002/tcp"]
    );
    let bad: &[(&str, &str)] = &[
        ("80/xtp", "invalid proto: xtp"),
        ("eighty", "invalid containerPort: eighty"),
        ("9-1", "invalid containerPort: 9-1"),
    ];
    for (w, want) in bad {
        assert_eq!(exposed_ports(&[w.to_string()]).unwrap_err(), *want);
    }
    let err = plan_last("FROM a\nEXPOSE $NOTHING/udp\n", &[], &[]).unwrap_err();
    assert_eq!(err.message, "no port specified: /udp<empty>");
}

#[test]
fn substitution_errors_carry_the_line() {
    let err = plan_last("FROM a\n\nWORKDIR ${X\n", &[], &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Dockerfile:3: failed to process \"${X\": syntax error: missing '}'"
    );
}

#[test]
fn escape_directive_applies_to_substitution() {
    let got = instructions(
        "# escape=`\nFROM a\nENV P=c:\\tools X=`$PATH\nWORKDIR $P\\bin\n",
        &[],
    );
    assert_eq!(
        got[0],
        Instruction::Env(vec![kv("P", "c:\\tools", false), kv("X", "$PATH", false)])
    );
    assert_eq!(got[1], Instruction::Workdir("c:\\tools\\bin".into()));
}

#[test]
fn child_stage_inherits_scope() {
    let df = parse("FROM a AS base\nARG V=1\nENV E=2\nFROM base\nWORKDIR /$V/$E\n").unwrap();
    let args = BuildArgs::default();
    let meta = MetaArgs::evaluate(&df, &args).unwrap();
    let mut p = Planner::new('\\', &meta, &args, Scope::default());
    for s in &df.stages[0].steps {
        p.step(s).unwrap();
    }
    let mut child = Planner::new('\\', &meta, &args, p.scope().clone());
    let got = child.step(&df.stages[1].steps[0]).unwrap();
    assert_eq!(got.instruction, Instruction::Workdir("/1/2".into()));
    assert_eq!(child.scope().env(), ["E=2"]);
}

#[test]
fn stopsignal_is_checked_after_substitution() {
    for ok in ["SIGTERM", "term", "9", "SIGRTMIN+3", "RTMAX-1", "sigwinch"] {
        assert_eq!(check_signal(ok), Ok(()), "{ok}");
    }
    for bad in ["0", "SIGNOPE", "RTMIN+16", ""] {
        assert_eq!(
            check_signal(bad),
            Err(format!("Invalid signal: {bad}")),
            "{bad}"
        );
    }
    let got = instructions("FROM a\nARG S=SIGQUIT\nSTOPSIGNAL $S\n", &[]);
    assert_eq!(got[1], Instruction::StopSignal("SIGQUIT".into()));
    let err = plan_last("FROM a\nSTOPSIGNAL $NOPE\n", &[], &[]).unwrap_err();
    assert_eq!(err.to_string(), "Dockerfile:2: Invalid signal: ");
}
