//! The build graph: which stage needs which (`FROM <stage>`, `COPY --from=`,
//! `RUN --mount=from=`), which stages the target needs (the rest are skipped),
//! and which can run side by side.
//!
//! References follow BuildKit: `FROM x` names a stage defined earlier, or else an
//! image; `--from=x` names any stage (by name, or by index when numeric), or else
//! an image; a mount's `from=` names a stage by name, or else an image. A cycle
//! is refused, then a reference to a stage defined later.

use std::collections::{BTreeMap, BTreeSet};

use crate::mount::{mount_from, mount_target};
use crate::parser::{Dockerfile, Instruction};
use crate::plan::{check_literal_from, MetaArgs};
use crate::shell::go_quote;

/// What a stage starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    Scratch,
    /// An image reference (after meta-arg substitution).
    Image(String),
    /// An earlier stage, by index.
    Stage(usize),
}

/// One stage in the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageNode {
    pub index: usize,
    pub name: Option<String>,
    pub base: Base,
    pub platform: Option<String>,
    /// Stages this one needs (base, `--from`, mounts).
    pub deps: BTreeSet<usize>,
    /// Images named by `COPY --from` or mounts (the base is in `base`).
    pub images: BTreeSet<String>,
}

impl StageNode {
    /// The name BuildKit uses in messages: the stage name or `stage-N`.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("stage-{}", self.index))
    }
}

/// A reference that cannot be resolved, a cycle, or an unknown target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("Dockerfile:{l}: ")).unwrap_or_default())]
pub struct GraphError {
    pub line: Option<usize>,
    pub message: String,
}

/// The stages and what the target needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildGraph {
    pub stages: Vec<StageNode>,
    /// The stage being built (`--target`, or the last one).
    pub target: usize,
    /// Stages the target needs, itself included, dependencies first.
    pub needed: Vec<usize>,
    /// `needed` in waves: a stage's dependencies are all in earlier waves, so the
    /// stages of one wave are independent and may be built in parallel.
    pub waves: Vec<Vec<usize>>,
}

struct Reference {
    from: usize,
    to: usize,
    line: usize,
    /// The error for a reference to a later stage.
    forward_error: String,
}

impl BuildGraph {
    /// Builds the graph; `target` is `--target` (case-insensitive).
    pub fn new(
        df: &Dockerfile,
        meta: &MetaArgs,
        target: Option<&str>,
    ) -> Result<BuildGraph, GraphError> {
        let mut stages = Vec::new();
        // Names of the stages defined so far: `FROM x` only sees those.
        let mut earlier = BTreeMap::new();
        for stage in &df.stages {
            let from = meta
                .resolve_from(stage, df.escape())
                .map_err(|e| GraphError {
                    line: Some(e.line),
                    message: e.message,
                })?;
            let base = match earlier.get(&from.image.to_lowercase()) {
                Some(&i) => Base::Stage(i),
                None if from.image == "scratch" => Base::Scratch,
                None => Base::Image(from.image),
            };
            stages.push(StageNode {
                index: stage.index,
                name: stage.from.name.clone(),
                deps: match base {
                    Base::Stage(i) => BTreeSet::from([i]),
                    _ => BTreeSet::new(),
                },
                base,
                platform: from.platform,
                images: BTreeSet::new(),
            });
            if let Some(name) = stage.name() {
                earlier.insert(name.to_string(), stage.index);
            }
        }
        let refs = references(df, &mut stages)?;
        check_cycles(&stages, &refs)?;
        if let Some(r) = refs.iter().find(|r| r.to > r.from) {
            return Err(GraphError {
                line: Some(r.line),
                message: r.forward_error.clone(),
            });
        }
        let target = find_target(&stages, target)?;
        let needed = needed(&stages, target);
        let waves = waves(&stages, &needed);
        Ok(BuildGraph {
            stages,
            target,
            needed,
            waves,
        })
    }

    /// Stages the target does not need: not built.
    pub fn skipped(&self) -> Vec<usize> {
        (0..self.stages.len())
            .filter(|i| !self.needed.contains(i))
            .collect()
    }

    /// Whether neither stage needs the other, directly or not.
    pub fn independent(&self, a: usize, b: usize) -> bool {
        a != b && !self.ancestors(a).contains(&b) && !self.ancestors(b).contains(&a)
    }

    fn ancestors(&self, s: usize) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![s];
        while let Some(x) = todo.pop() {
            for &d in &self.stages[x].deps {
                if seen.insert(d) {
                    todo.push(d);
                }
            }
        }
        seen
    }
}

/// Stage names (lowercase, as parsed) to indexes.
fn names(stages: &[StageNode]) -> BTreeMap<String, usize> {
    stages
        .iter()
        .filter_map(|s| Some((s.name.clone()?, s.index)))
        .collect()
}

fn by_name(names: &BTreeMap<String, usize>, name: &str) -> Option<usize> {
    names.get(&name.to_lowercase()).copied()
}

fn references(df: &Dockerfile, stages: &mut [StageNode]) -> Result<Vec<Reference>, GraphError> {
    let mut refs = Vec::new();
    let names = names(stages);
    for stage in &df.stages {
        let here = stages[stage.index].display_name();
        for step in &stage.steps {
            let err = |message: String| GraphError {
                line: Some(step.line),
                message,
            };
            match &step.instruction {
                Instruction::Copy(c) => {
                    let Some(from) = &c.from else { continue };
                    check_literal_from(from).map_err(err)?;
                    let to = match from.parse::<i64>() {
                        Ok(i) if i < 0 || i as usize >= stages.len() => {
                            return Err(err(format!("invalid stage index {i}")))
                        }
                        Ok(i) => Some(i as usize),
                        Err(_) => by_name(&names, from),
                    };
                    let forward_error = format!(
                        "cannot copy from stage {}, it needs to be defined before current stage {}",
                        go_quote(from),
                        go_quote(&here)
                    );
                    record(
                        stages,
                        &mut refs,
                        stage.index,
                        to,
                        from,
                        step.line,
                        forward_error,
                    );
                }
                Instruction::Run(r) => {
                    for raw in &r.mounts {
                        let Some(from) = mount_from(raw) else {
                            continue;
                        };
                        let forward_error = format!(
                            "cannot mount from stage {} to {}, stage needs to be defined before current command",
                            go_quote(&from),
                            go_quote(&mount_target(raw).unwrap_or_default())
                        );
                        let to = by_name(&names, &from);
                        record(
                            stages,
                            &mut refs,
                            stage.index,
                            to,
                            &from,
                            step.line,
                            forward_error,
                        );
                    }
                }
                _ => {}
            }
        }
    }
    Ok(refs)
}

fn record(
    stages: &mut [StageNode],
    refs: &mut Vec<Reference>,
    from: usize,
    to: Option<usize>,
    name: &str,
    line: usize,
    forward_error: String,
) {
    match to {
        Some(to) => {
            stages[from].deps.insert(to);
            refs.push(Reference {
                from,
                to,
                line,
                forward_error,
            });
        }
        None => {
            stages[from].images.insert(name.to_string());
        }
    }
}

fn check_cycles(stages: &[StageNode], refs: &[Reference]) -> Result<(), GraphError> {
    // Iterative depth-first search (a long chain of stages must not exhaust the
    // stack). 0: unvisited, 1: on the current path, 2: done.
    let mut state = vec![0u8; stages.len()];
    for start in 0..stages.len() {
        if state[start] != 0 {
            continue;
        }
        let mut path: Vec<(usize, Vec<usize>)> =
            vec![(start, stages[start].deps.iter().copied().collect())];
        state[start] = 1;
        while let Some((node, pending)) = path.last_mut() {
            let node = *node;
            match pending.pop() {
                Some(d) if state[d] == 1 => {
                    let line = refs
                        .iter()
                        .find(|r| r.to == d || r.from == d)
                        .map(|r| r.line);
                    return Err(GraphError {
                        line,
                        message: format!(
                            "circular dependency detected on stage: {}",
                            stages[start].display_name()
                        ),
                    });
                }
                Some(d) if state[d] == 0 => {
                    state[d] = 1;
                    path.push((d, stages[d].deps.iter().copied().collect()));
                }
                Some(_) => {}
                None => {
                    state[node] = 2;
                    path.pop();
                }
            }
        }
    }
    Ok(())
}

fn find_target(stages: &[StageNode], target: Option<&str>) -> Result<usize, GraphError> {
    let Some(t) = target.filter(|t| !t.is_empty()) else {
        return Ok(stages.len() - 1);
    };
    by_name(&names(stages), t).ok_or_else(|| {
        let names: Vec<&str> = stages.iter().filter_map(|s| s.name.as_deref()).collect();
        GraphError {
            line: None,
            message: crate::parser::suggest(
                format!("target stage {} could not be found", go_quote(t)),
                t,
                &names,
            ),
        }
    })
}

fn needed(stages: &[StageNode], target: usize) -> Vec<usize> {
    let mut seen = BTreeSet::from([target]);
    let mut todo = vec![target];
    while let Some(s) = todo.pop() {
        for &d in &stages[s].deps {
            if seen.insert(d) {
                todo.push(d);
            }
        }
    }
    // Dependencies point to earlier stages, so index order is a topological order.
    seen.into_iter().collect()
}

fn waves(stages: &[StageNode], needed: &[usize]) -> Vec<Vec<usize>> {
    let mut depth = vec![0usize; stages.len()];
    let mut waves: Vec<Vec<usize>> = Vec::new();
    for &s in needed {
        depth[s] = stages[s]
            .deps
            .iter()
            .map(|&d| depth[d] + 1)
            .max()
            .unwrap_or(0);
        if waves.len() <= depth[s] {
            waves.resize(depth[s] + 1, Vec::new());
        }
        waves[depth[s]].push(s);
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse;
    use crate::plan::BuildArgs;

    fn graph(text: &str, target: Option<&str>) -> Result<BuildGraph, GraphError> {
        let df = parse(text).unwrap_or_else(|e| panic!("{e}"));
        let meta = MetaArgs::evaluate(&df, &BuildArgs::default()).unwrap();
        BuildGraph::new(&df, &meta, target)
    }

    const MULTI: &str = "\
FROM golang AS build
RUN go build
FROM alpine AS tools
RUN apk add tool
FROM node AS web
RUN npm ci
FROM build AS test
RUN go test
FROM scratch AS final
COPY --from=build /app /app
COPY --from=1 /tool /tool
RUN --mount=type=bind,from=web,target=/w true
COPY --from=nginx:latest /etc/nginx /etc/nginx
";

    #[test]
    fn dependencies_and_bases() {
        let g = graph(MULTI, None).unwrap();
        let bases: Vec<_> = g.stages.iter().map(|s| s.base.clone()).collect();
        assert_eq!(
            bases,
            [
                Base::Image("golang".into()),
                Base::Image("alpine".into()),
                Base::Image("node".into()),
                Base::Stage(0),
                Base::Scratch
            ]
        );
        assert_eq!(g.stages[4].deps, BTreeSet::from([0, 1, 2]));
        assert_eq!(
            g.stages[4].images,
            BTreeSet::from(["nginx:latest".to_string()])
        );
        assert_eq!(g.target, 4);
        // `test` is needed by nothing: skipped.
        assert_eq!(g.needed, [0, 1, 2, 4]);
        assert_eq!(g.skipped(), [3]);
        assert_eq!(g.waves, [vec![0, 1, 2], vec![4]]);
        assert!(
            g.independent(0, 1)
                && g.independent(2, 3)
                && !g.independent(0, 3)
                && !g.independent(4, 1)
        );
    }

    #[test]
    fn target_selection() {
        let g = graph(MULTI, Some("TEST")).unwrap();
        assert_eq!(
            (g.target, g.needed.clone(), g.waves.clone()),
            (3, vec![0, 3], vec![vec![0], vec![3]])
        );
        let e = graph(MULTI, Some("tset")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "target stage \"tset\" could not be found (did you mean test?)"
        );
    }

    #[test]
    fn from_names_only_earlier_stages() {
        // A later stage of the same name is not a base: `FROM later` is an image.
        let g = graph("FROM later AS first\nFROM alpine AS later\n", None).unwrap();
        assert_eq!(g.stages[0].base, Base::Image("later".into()));
        // Meta args can name a stage.
        let g = graph("ARG B=base\nFROM alpine AS base\nFROM ${B}\n", None).unwrap();
        assert_eq!(g.stages[1].base, Base::Stage(0));
    }

    #[test]
    fn reference_errors() {
        let cases: &[(&str, &str)] = &[
            ("FROM a\nCOPY --from=0 x y\n", "Dockerfile:2: circular dependency detected on stage: stage-0"),
            (
                "FROM a AS one\nCOPY --from=two x y\nFROM b AS two\nCOPY --from=one x y\n",
                "Dockerfile:2: circular dependency detected on stage: one",
            ),
            (
                "FROM a AS one\nCOPY --from=two x y\nFROM b AS two\n",
                "Dockerfile:2: cannot copy from stage \"two\", it needs to be defined before current stage \"one\"",
            ),
            (
                "FROM a\nRUN --mount=from=later,target=/l x\nFROM b AS later\n",
                "Dockerfile:2: cannot mount from stage \"later\" to \"/l\", stage needs to be defined before current command",
            ),
            ("FROM a\nFROM b\nCOPY --from=5 x y\n", "Dockerfile:3: invalid stage index 5"),
            ("FROM a\nCOPY --from=-1 x y\n", "Dockerfile:2: invalid stage index -1"),
            (
                "FROM a\nCOPY --from=${S} x y\n",
                "Dockerfile:2: variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(graph(text, None).unwrap_err().to_string(), *want, "{text}");
        }
    }

    #[test]
    fn long_chains_do_not_exhaust_the_stack() {
        let mut text = String::from("FROM a AS s0\n");
        for i in 1..20_000 {
            text.push_str(&format!("FROM s{} AS s{i}\n", i - 1));
        }
        let g = graph(&text, None).unwrap();
        assert_eq!((g.needed.len(), g.waves.len()), (20_000, 20_000));
    }

    #[test]
    fn chains_make_waves() {
        let g = graph(
            "FROM a AS x\nFROM x AS y\nFROM a AS z\nFROM y\nCOPY --from=z a b\n",
            None,
        )
        .unwrap();
        assert_eq!(g.waves, [vec![0, 2], vec![1], vec![3]]);
        assert!(g.independent(1, 2));
    }
}
