//! berth's image builder, front half: everything `docker build` decides before a
//! container runs. It reads a Dockerfile, works out which stages to build and in
//! what order, substitutes variables as Docker does, lists the build context
//! through `.dockerignore`, and computes each step's cache key. It runs nothing:
//! the executor (later) runs `RUN` steps through a trait the engine implements.
//!
//! The flow (see `docs/build.md`):
//!
//! 1. [`parser::parse`]: text → [`parser::Dockerfile`] (meta args, stages, steps);
//! 2. [`plan::MetaArgs::evaluate`] with the `--build-arg`s, then
//!    [`graph::BuildGraph::new`]: stage dependencies, `--target`, skipped stages,
//!    waves of stages that can be built in parallel;
//! 3. per needed stage, a [`plan::Planner`] turns each step into a
//!    [`plan::Planned`] step (values substituted, mounts parsed, build args a
//!    `RUN` sees);
//! 4. [`cache::cache_key`] chains the planned steps from the base image's id,
//!    with [`cache::checksum_context`] / [`cache::checksum_tree`] for
//!    `COPY`/`ADD` sources; [`ignore`] lists the context.
//!
//! # Why our own parser
//!
//! The `parse-dockerfile` crate (0.1.9) is well written and keeps source spans,
//! but it is a syntax-level parser that leaves much of what berth needs undone:
//! it does not read several heredocs on one line (`RUN <<A <<B` fails with
//! "unknown instruction"), keeps `ENV` and `LABEL` arguments as one raw string
//! (no `a=b c="d e"` pairs), and reports errors in its own words rather than
//! Docker's (`dockerfile parse error on line 3: unknown instruction: ...`).
//! The builder must also match Docker on the edges that decide what a build
//! does: word splitting, flag extraction, comments inside continuations, quoted
//! heredoc terminators. So this crate follows BuildKit's parser
//! (`frontend/dockerfile/parser`, `instructions`, `shell`) rule for rule, in its
//! own code, and its tests pin those rules.

pub mod cache;
pub mod graph;
pub mod ignore;
pub mod mount;
pub mod parser;
pub mod plan;
pub mod shell;
