//! From the engine's own types to the Engine API's wire types (`berth-api`). The engine
//! knows no wire format; what Docker shows that is presentation only (human statuses, the
//! `<missing>` history ids, fixed plugin lists) is decided here.

pub mod container;
pub mod exec;
pub mod image;
pub mod stats;
pub mod system;

use std::path::Path;

fn path_string(p: &Path) -> String {
    p.display().to_string()
}
