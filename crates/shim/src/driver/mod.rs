//! The driver of the OCI runtime behind the shim: libcontainer linked in, or an external runc.

mod libcontainer;
mod runc;
mod seccomp_filter;

use crate::args::{RuntimeKind, StartArgs};
use crate::stdio::ProcessIo;
use anyhow::Result;
use std::path::Path;

/// Creates, starts, execs in and deletes one container through an OCI runtime.
pub trait RuntimeDriver {
    /// Creates the container from the bundle (`spec` is its parsed `config.json`); its init
    /// is ready but has not run the user's process yet. Returns init's host pid.
    fn create(&self, spec: &serde_json::Value, io: ProcessIo) -> Result<i32>;
    /// Lets init exec the user's process.
    fn start(&self) -> Result<()>;
    /// Starts an extra process (an OCI `process`) in the running container, passing it to
    /// the OCI runtime as `process_file`; returns its host pid.
    fn exec(&self, process: &serde_json::Value, process_file: &Path, io: ProcessIo) -> Result<i32>;
    /// Removes the container's OCI runtime state and cgroup (killing what is left).
    fn delete(&self) -> Result<()>;
}

/// The driver `args` ask for; its state lives in `<state>/rt`.
pub fn new(args: &StartArgs) -> Box<dyn RuntimeDriver> {
    let root = args.state.join("rt");
    match &args.runtime {
        RuntimeKind::Builtin => Box::new(libcontainer::Libcontainer::new(args, &root)),
        RuntimeKind::External(bin) => Box::new(runc::Runc::new(
            bin,
            &args.id,
            &root,
            &args.bundle,
            &args.state,
        )),
    }
}
