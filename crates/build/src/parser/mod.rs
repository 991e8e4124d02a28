//! The Dockerfile parser, in Docker's two passes: lines to nodes (directives,
//! continuations, comments, heredocs, per-instruction word splitting), then nodes
//! to typed, checked instructions grouped into stages.

mod directives;
mod flags;
mod heredoc;
mod instruction;
mod node;
mod words;

pub use directives::Directives;
pub use heredoc::Heredoc;
pub use instruction::{
    parse_go_duration, Add, ArgDecl, CommandLine, Copy, From, HealthConfig, Healthcheck,
    Instruction, KeyValue, Onbuild, Run, SourceContent,
};

/// A Dockerfile that cannot be parsed; displays as Docker's
/// `dockerfile parse error on line N: ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dockerfile parse error on line {line}: {message}")]
pub struct ParseError {
    /// 1-based line where the instruction starts.
    pub line: usize,
    /// Docker's message.
    pub message: String,
}

impl ParseError {
    pub(crate) fn at(line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line,
            message: message.into(),
        }
    }
}

/// Something Docker warns about but builds anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub line: usize,
    pub message: String,
}

/// One instruction with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// First and last line (continuations and heredocs included), 1-based.
    pub line: usize,
    pub end_line: usize,
    /// The instruction line as written, continuations joined.
    pub original: String,
    pub instruction: Instruction,
}

/// A build stage: a `FROM` and the instructions up to the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Position in the file, from 0 (what `COPY --from=0` means).
    pub index: usize,
    pub from: From,
    /// The `FROM` line.
    pub line: usize,
    /// Every instruction after `FROM`.
    pub steps: Vec<Step>,
}

impl Stage {
    /// The stage's name, lowercased, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.from.name.as_deref()
    }
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    pub directives: Directives,
    /// `ARG`s before the first `FROM`: usable in `FROM` lines only, unless a
    /// stage declares them again.
    pub meta_args: Vec<Step>,
    pub stages: Vec<Stage>,
    pub warnings: Vec<Warning>,
}

impl Dockerfile {
    /// The escape character in force (`\` or the `# escape=` one).
    pub fn escape(&self) -> char {
        self.directives.escape
    }

    /// The stage called `name` (case-insensitive).
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        let name = name.to_lowercase();
        self.stages.iter().find(|s| s.name() == Some(name.as_str()))
    }
}

/// Parses a Dockerfile.
pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
    let nodes = node::parse_nodes(text)?;
    let mut meta_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for n in &nodes.nodes {
        let step = to_step(n)?;
        match step.instruction {
            Instruction::From(from) => {
                if let Some(name) = &from.name {
                    if !names.insert(name.clone()) {
                        return Err(ParseError::at(
                            step.line,
                            format!("{name} stage name already used"),
                        ));
                    }
                }
                stages.push(Stage {
                    index: stages.len(),
                    from,
                    line: step.line,
                    steps: Vec::new(),
                });
            }
            Instruction::Arg(_) if stages.is_empty() => meta_args.push(step),
            _ => match stages.last_mut() {
                Some(stage) => stage.steps.push(step),
                None => {
                    return Err(ParseError::at(
                        step.line,
                        "no build stage in current context",
                    ))
                }
            },
        }
    }
    if stages.is_empty() {
        let line = nodes.nodes.last().map_or(1, |n| n.start_line);
        return Err(ParseError::at(
            line,
            "dockerfile contains no stages to build",
        ));
    }
    Ok(Dockerfile {
        directives: nodes.directives,
        meta_args,
        stages,
        warnings: nodes.warnings,
    })
}

/// Parses an `ONBUILD` trigger as a child build does: one instruction, with the
/// default escape character.
pub fn parse_trigger(expression: &str) -> Result<Step, ParseError> {
    let nodes = node::parse_nodes(expression)?;
    let [n] = nodes.nodes.as_slice() else {
        return Err(ParseError::at(
            1,
            "onbuild trigger should be a single expression",
        ));
    };
    to_step(n)
}

fn to_step(n: &node::Node) -> Result<Step, ParseError> {
    let instruction = instruction::from_node(n).map_err(|e| ParseError::at(n.start_line, e))?;
    Ok(Step {
        line: n.start_line,
        end_line: n.end_line,
        original: n.original.clone(),
        instruction,
    })
}

/// Docker's "did you mean" for a case-sensitive option list.
pub(crate) fn suggest(msg: String, value: &str, options: &[&str]) -> String {
    flags::with_suggestion(msg, value, options, true)
}

#[cfg(test)]
mod tests;
