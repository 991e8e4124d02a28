//! berth's image builder, front half.
pub mod shell;
