use std::time::Duration;

use super::*;

fn only_step(text: &str) -> Instruction {
    let df = parse(&format!("FROM base\n{text}")).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(df.stages[0].steps.len(), 1, "{text:?}");
    df.stages[0].steps[0].instruction.clone()
}

fn err(text: &str) -> String {
    parse(text)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_else(|| panic!("{text:?} parsed"))
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn from_forms() {
    let df = parse("ARG V=1\nARG BASE\nFROM --platform=linux/arm64 alpine:${V} AS Build\nFROM scratch\nFROM build as two\n").unwrap();
    assert_eq!(df.meta_args.len(), 2);
    let froms: Vec<_> = df
        .stages
        .iter()
        .map(|s| (s.index, s.from.clone()))
        .collect();
    assert_eq!(
        froms,
        [
            (
                0,
                From {
                    image: "alpine:${V}".into(),
                    name: Some("build".into()),
                    platform: Some("linux/arm64".into())
                }
            ),
            (
                1,
                From {
                    image: "scratch".into(),
                    name: None,
                    platform: None
                }
            ),
            (
                2,
                From {
                    image: "build".into(),
                    name: Some("two".into()),
                    platform: None
                }
            ),
        ]
    );
    assert_eq!(df.stage("BUILD").map(|s| s.index), Some(0));
}

#[test]
fn run_forms() {
    let cases: &[(&str, Run)] = &[
        (
            "RUN echo $HOME && ls",
            Run { command: CommandLine { args: s(&["echo $HOME && ls"]), prepend_shell: true }, heredocs: vec![], mounts: vec![], network: "default".into() },
        ),
        (
            r#"RUN ["echo", "a b"]"#,
            Run { command: CommandLine { args: s(&["echo", "a b"]), prepend_shell: false }, heredocs: vec![], mounts: vec![], network: "default".into() },
        ),
        (
            "RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=tok --network=none make",
            Run {
                command: CommandLine { args: s(&["make"]), prepend_shell: true },
                heredocs: vec![],
                mounts: s(&["type=cache,target=/root/.cache", "type=secret,id=tok"]),
                network: "none".into(),
            },
        ),
        // Not valid JSON: the shell form, brackets and all.
        (
            "RUN [ \"a\", 'b' ]",
            Run { command: CommandLine { args: s(&["[ \"a\", 'b' ]"]), prepend_shell: true }, heredocs: vec![], mounts: vec![], network: "default".into() },
        ),
    ];
    for (text, want) in cases {
        assert_eq!(only_step(text), Instruction::Run(want.clone()), "{text}");
    }
}

#[test]
fn cmd_entrypoint_shell() {
    assert_eq!(
        only_step("CMD [\"a\",\"b\"]"),
        Instruction::Cmd(CommandLine {
            args: s(&["a", "b"]),
            prepend_shell: false
        })
    );
    assert_eq!(
        only_step("CMD echo hi"),
        Instruction::Cmd(CommandLine {
            args: s(&["echo hi"]),
            prepend_shell: true
        })
    );
    assert_eq!(
        only_step("ENTRYPOINT [\"/init\"]"),
        Instruction::Entrypoint(CommandLine {
            args: s(&["/init"]),
            prepend_shell: false
        })
    );
    assert_eq!(
        only_step("ENTRYPOINT exec top -b"),
        Instruction::Entrypoint(CommandLine {
            args: s(&["exec top -b"]),
            prepend_shell: true
        })
    );
    assert_eq!(
        only_step("SHELL [\"/bin/bash\", \"-c\"]"),
        Instruction::Shell(s(&["/bin/bash", "-c"]))
    );
}

#[test]
fn label_env_maintainer() {
    let kv = |k: &str, v: &str, no_delim: bool| KeyValue {
        key: k.into(),
        value: v.into(),
        no_delim,
    };
    assert_eq!(
        only_step(r#"LABEL a=b "c d"="e f" g='h'"#),
        Instruction::Label(vec![
            kv("a", "b", false),
            kv("\"c d\"", "\"e f\"", false),
            kv("g", "'h'", false)
        ])
    );
    assert_eq!(
        only_step("LABEL maintainer Some One <a@b>"),
        Instruction::Label(vec![kv("maintainer", "Some One <a@b>", true)])
    );
    assert_eq!(
        only_step("ENV a=b c=d"),
        Instruction::Env(vec![kv("a", "b", false), kv("c", "d", false)])
    );
    assert_eq!(
        only_step("ENV k v"),
        Instruction::Env(vec![kv("k", "v", true)])
    );
    assert_eq!(
        only_step(r#"ENV k2="v 2""#),
        Instruction::Env(vec![kv("k2", "\"v 2\"", false)])
    );
    assert_eq!(
        only_step("MAINTAINER Jane <j@x>"),
        Instruction::Maintainer("Jane <j@x>".into())
    );
}

#[test]
fn expose_volume_user_workdir_stopsignal() {
    assert_eq!(
        only_step("EXPOSE 80 80/udp 8000-8010/tcp $PORT"),
        Instruction::Expose(s(&["$PORT", "80", "80/udp", "8000-8010/tcp"]))
    );
    assert_eq!(
        only_step("VOLUME /a /b"),
        Instruction::Volume(s(&["/a", "/b"]))
    );
    assert_eq!(
        only_step(r#"VOLUME ["/data", "/logs"]"#),
        Instruction::Volume(s(&["/data", "/logs"]))
    );
    assert_eq!(
        only_step("USER 1000:1000"),
        Instruction::User("1000:1000".into())
    );
    assert_eq!(
        only_step("WORKDIR /app/$X"),
        Instruction::Workdir("/app/$X".into())
    );
    assert_eq!(
        only_step("STOPSIGNAL SIGKILL"),
        Instruction::StopSignal("SIGKILL".into())
    );
}

#[test]
fn arg_forms() {
    assert_eq!(
        only_step("ARG a b=1 c="),
        Instruction::Arg(vec![
            ArgDecl {
                key: "a".into(),
                value: None
            },
            ArgDecl {
                key: "b".into(),
                value: Some("1".into())
            },
            ArgDecl {
                key: "c".into(),
                value: Some("".into())
            },
        ])
    );
}

#[test]
fn copy_and_add_flags() {
    let Instruction::Copy(c) = only_step(
        "COPY --from=build --chown=1:2 --chmod=0644 --link --parents --exclude=*.md a b/ /dst/",
    ) else {
        panic!("not COPY");
    };
    assert_eq!(
        (
            c.from.as_deref(),
            c.chown.as_deref(),
            c.chmod.as_deref(),
            c.link,
            c.parents,
            c.excludes,
            c.sources,
            c.dest
        ),
        (
            Some("build"),
            Some("1:2"),
            Some("0644"),
            true,
            true,
            s(&["*.md"]),
            s(&["a", "b/"]),
            "/dst/".to_string()
        )
    );
    let Instruction::Copy(c) = only_step(r#"COPY ["a b", "/d"]"#) else {
        panic!()
    };
    assert_eq!((c.sources, c.dest), (s(&["a b"]), "/d".to_string()));

    let Instruction::Add(a) = only_step(
        "ADD --chown=app --chmod=755 --checksum=sha256:abc --keep-git-dir=true https://example.com/x.tgz git@host:r.git /opt/",
    ) else {
        panic!("not ADD");
    };
    assert_eq!(
        (
            a.chown.as_deref(),
            a.chmod.as_deref(),
            a.checksum.as_deref(),
            a.keep_git_dir,
            a.sources
        ),
        (
            Some("app"),
            Some("755"),
            Some("sha256:abc"),
            Some(true),
            s(&["https://example.com/x.tgz", "git@host:r.git"])
        )
    );
}

#[test]
fn copy_heredoc_sources() {
    let df = parse("FROM a\nCOPY <<one <<\"two\" /dst/\nhello $X\none\n\tworld\ntwo\nCOPY <<-EOF /f\n\t\tindented\n\tEOF\n").unwrap();
    let Instruction::Copy(c) = &df.stages[0].steps[0].instruction else {
        panic!()
    };
    assert!(c.sources.is_empty());
    assert_eq!(
        c.contents,
        [
            SourceContent {
                path: "one".into(),
                data: "hello $X\n".into(),
                expand: true
            },
            SourceContent {
                path: "two".into(),
                data: "\tworld\n".into(),
                expand: false
            },
        ]
    );
    let Instruction::Copy(c) = &df.stages[0].steps[1].instruction else {
        panic!()
    };
    assert_eq!(c.contents[0].data, "indented\n");
}

#[test]
fn run_heredocs() {
    let df = parse(
        "FROM a\nRUN <<EOF\nset -e\necho $HOME\nEOF\nRUN python3 <<'PY' > out\nprint(1)\nPY\n",
    )
    .unwrap();
    let Instruction::Run(r) = &df.stages[0].steps[0].instruction else {
        panic!()
    };
    assert_eq!(r.command.args, ["<<EOF"]);
    assert_eq!(
        (r.heredocs[0].content.as_str(), r.heredocs[0].expand),
        ("set -e\necho $HOME\n", true)
    );
    let Instruction::Run(r) = &df.stages[0].steps[1].instruction else {
        panic!()
    };
    assert_eq!(r.command.args, ["python3 <<'PY' > out"]);
    assert_eq!(
        (r.heredocs[0].name.as_str(), r.heredocs[0].expand),
        ("PY", false)
    );
    assert_eq!(
        (df.stages[0].steps[1].line, df.stages[0].steps[1].end_line),
        (6, 8)
    );
}

#[test]
fn healthcheck_forms() {
    assert_eq!(
        only_step("HEALTHCHECK NONE"),
        Instruction::Healthcheck(Healthcheck::None)
    );
    assert_eq!(
        only_step("HEALTHCHECK --interval=30s --timeout=1m30s --start-period=5s --start-interval=500ms --retries=3 CMD curl -f http://localhost/ || exit 1"),
        Instruction::Healthcheck(Healthcheck::Check(HealthConfig {
            test: s(&["CMD-SHELL", "curl -f http://localhost/ || exit 1"]),
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(90),
            start_period: Duration::from_secs(5),
            start_interval: Duration::from_millis(500),
            retries: 3,
        }))
    );
    let Instruction::Healthcheck(Healthcheck::Check(h)) =
        only_step(r#"HEALTHCHECK CMD ["/bin/check", "-q"]"#)
    else {
        panic!()
    };
    assert_eq!(h.test, ["CMD", "/bin/check", "-q"]);
}

#[test]
fn onbuild_keeps_the_trigger_text() {
    let Instruction::Onbuild(o) = only_step("ONBUILD RUN echo $X") else {
        panic!()
    };
    assert_eq!(o.expression, "RUN echo $X");
    let trigger = parse_trigger(&o.expression).unwrap();
    assert_eq!(trigger.instruction.name(), "RUN");
    let Instruction::Onbuild(o) = only_step("onbuild copy --from=x a b") else {
        panic!()
    };
    assert_eq!(o.expression, "copy --from=x a b");
    // Docker accepts an unknown trigger here; the child build rejects it.
    let Instruction::Onbuild(o) = only_step("ONBUILD FOOBAR x") else {
        panic!()
    };
    assert_eq!(
        parse_trigger(&o.expression).unwrap_err().to_string(),
        "dockerfile parse error on line 1: unknown instruction: FOOBAR"
    );
}

#[test]
fn lowercase_and_mixed_case_keywords() {
    let df = parse("from a as b\nrun echo\nCoPy x y\n").unwrap();
    let names: Vec<_> = df.stages[0]
        .steps
        .iter()
        .map(|s| s.instruction.name())
        .collect();
    assert_eq!(names, ["RUN", "COPY"]);
}

#[test]
fn directives_only_at_the_top() {
    let df = parse(
        "# syntax=docker/dockerfile:1\n# check=skip=all\n# escape=`\nFROM a\nRUN echo `\n  b\n",
    )
    .unwrap();
    assert_eq!(df.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(df.directives.check.as_deref(), Some("skip=all"));
    assert_eq!(df.escape(), '`');
    let Instruction::Run(r) = &df.stages[0].steps[0].instruction else {
        panic!()
    };
    assert_eq!(r.command.args, ["echo   b"]);
    // After an instruction, a directive is a comment.
    let df = parse("FROM a\n# escape=`\nRUN echo \\\n b\n").unwrap();
    assert_eq!(df.escape(), '\\');
}

#[test]
fn windows_paths_with_backtick_escape() {
    let text = "# escape=`\nFROM mcr.microsoft.com/windows/servercore\nCOPY testfile.txt c:\\\nRUN dir c:\\\nENV PATH=\"c:\\tools;${PATH}\" `\n    X=y\n";
    let df = parse(text).unwrap();
    let steps: Vec<_> = df.stages[0]
        .steps
        .iter()
        .map(|s| s.instruction.clone())
        .collect();
    let Instruction::Copy(c) = &steps[0] else {
        panic!()
    };
    assert_eq!(c.dest, "c:\\");
    let Instruction::Run(r) = &steps[1] else {
        panic!()
    };
    assert_eq!(r.command.args, ["dir c:\\"]);
    let Instruction::Env(e) = &steps[2] else {
        panic!()
    };
    assert_eq!(
        e.iter().map(|kv| kv.key.as_str()).collect::<Vec<_>>(),
        ["PATH", "X"]
    );
    assert_eq!(e[0].value, "\"c:\\tools;${PATH}\"");
}

#[test]
fn errors_carry_line_and_docker_wording() {
    let cases: &[(&str, &str)] = &[
        ("FROM a\nRUN x\nFOOBAR y\n", "dockerfile parse error on line 3: unknown instruction: FOOBAR"),
        ("FROM a\nRUNN x\n", "dockerfile parse error on line 2: unknown instruction: RUNN (did you mean RUN?)"),
        ("FROM a\ncopyy x y\n", "dockerfile parse error on line 2: unknown instruction: copyy (did you mean copy?)"),
        ("FROM a b\n", "dockerfile parse error on line 1: FROM requires either one or three arguments"),
        ("FROM a AS 1x\n", "dockerfile parse error on line 1: invalid name for build stage: \"1x\", name can't start with a number or contain symbols"),
        ("FROM a AS x\nFROM b AS X\n", "dockerfile parse error on line 2: x stage name already used"),
        ("RUN x\nFROM a\n", "dockerfile parse error on line 1: no build stage in current context"),
        ("ARG x\n", "dockerfile parse error on line 1: dockerfile contains no stages to build"),
        ("FROM a\nCOPY x\n", "dockerfile parse error on line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined"),
        ("FROM a\nCOPY --form=b x y\n", "dockerfile parse error on line 2: unknown flag: --form (did you mean from?)"),
        ("FROM a\nCOPY x <<EOF\nEOF\n", "dockerfile parse error on line 2: COPY cannot accept a heredoc as a destination"),
        ("FROM a\nENV\n", "dockerfile parse error on line 2: ENV requires at least one argument"),
        ("FROM a\nENV =x\n", "dockerfile parse error on line 2: ENV names can not be blank"),
        ("FROM a\nARG =x\n", "dockerfile parse error on line 2: ARG names can not be blank"),
        ("FROM a\nEXPOSE\n", "dockerfile parse error on line 2: EXPOSE requires at least one argument"),
        ("FROM a\nUSER\n", "dockerfile parse error on line 2: USER requires exactly one argument"),
        ("FROM a\nWORKDIR\n", "dockerfile parse error on line 2: WORKDIR requires exactly one argument"),
        ("FROM a\nVOLUME [\"\"]\n", "dockerfile parse error on line 2: VOLUME specified can not be an empty string"),
        ("FROM a\nSHELL /bin/sh -c\n", "dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form"),
        ("FROM a\nCMD [\"a\", 1]\n", "dockerfile parse error on line 2: when using JSON array syntax, arrays must be comprised of strings only"),
        ("FROM a\nONBUILD ONBUILD RUN x\n", "dockerfile parse error on line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
        ("FROM a\nONBUILD FROM b\n", "dockerfile parse error on line 2: FROM isn't allowed as an ONBUILD trigger"),
        ("FROM a\nHEALTHCHECK NONE x\n", "dockerfile parse error on line 2: HEALTHCHECK NONE takes no arguments"),
        ("FROM a\nHEALTHCHECK CMD\n", "dockerfile parse error on line 2: Missing command after HEALTHCHECK CMD"),
        ("FROM a\nHEALTHCHECK FOO x\n", "dockerfile parse error on line 2: Unknown type \"FOO\" in HEALTHCHECK (try CMD)"),
        ("FROM a\nHEALTHCHECK --interval=1us CMD x\n", "dockerfile parse error on line 2: Interval \"interval\" cannot be less than 1ms"),
        ("FROM a\nHEALTHCHECK --timeout=10 CMD x\n", "dockerfile parse error on line 2: time: missing unit in duration \"10\""),
        ("FROM a\nHEALTHCHECK --retries=-1 CMD x\n", "dockerfile parse error on line 2: --retries cannot be negative (-1)"),
        ("FROM a\nRUN --network=bridge x\n", "dockerfile parse error on line 2: invalid network mode \"bridge\""),
        ("FROM a\nRUN --mount=from=$X,target=/x y\n", "dockerfile parse error on line 2: 'from' doesn't support variable expansion, define alias stage instead"),
        ("FROM a\nRUN --foo x\n", "dockerfile parse error on line 2: unknown flag: --foo"),
        ("FROM a\nRUN <<EOF\nx\n", "dockerfile parse error on line 2: unterminated heredoc"),
        ("# escape=x\nFROM a\n", "dockerfile parse error on line 1: invalid escape token 'x' does not match ` or \\"),
        ("# escape=`\n# escape=\\\nFROM a\n", "dockerfile parse error on line 2: only one escape parser directive can be used"),
        ("\n# just a comment\n", "dockerfile parse error on line 2: file with no instructions"),
    ];
    for (text, want) in cases {
        assert_eq!(err(text), *want, "{text:?}");
    }
}

#[test]
fn go_durations() {
    let cases: &[(&str, Result<Duration, &str>)] = &[
        ("0", Ok(Duration::ZERO)),
        ("1h2m3s", Ok(Duration::from_secs(3723))),
        ("1.5s", Ok(Duration::from_millis(1500))),
        ("300ms", Ok(Duration::from_millis(300))),
        ("2us", Ok(Duration::from_micros(2))),
        ("5", Err("time: missing unit in duration \"5\"")),
        ("5x", Err("time: unknown unit \"x\" in duration \"5x\"")),
        ("", Err("time: invalid duration \"\"")),
        ("-1s", Err("time: invalid duration \"-1s\"")),
    ];
    for (input, want) in cases {
        assert_eq!(
            parse_go_duration(input),
            want.map_err(String::from),
            "{input}"
        );
    }
}
