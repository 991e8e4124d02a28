//! berth's image builder, front half.
pub mod mount;
pub mod parser;
pub mod shell;
