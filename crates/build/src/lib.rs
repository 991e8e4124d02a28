//! berth's image builder, front half.
pub mod cache;
pub mod graph;
pub mod ignore;
pub mod mount;
pub mod parser;
pub mod plan;
pub mod shell;
