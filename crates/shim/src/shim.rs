//! The state of the supervised container that the socket's handlers share, and the verbs
//! that act on init (start, kill) or on the record of its exit.

use crate::args::StartArgs;
use crate::cgroup::Cgroup;
use crate::driver::RuntimeDriver;
use crate::exec_record::Exec;
use crate::health::HealthMonitor;
use crate::output::Hub;
use crate::stdio::FdIo;
use berth_shim_protocol::ExitStatus;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// How long output may keep flowing after a process exited (children that inherited its
/// stdio can hold pipes open forever).
pub const DRAIN_GRACE: Duration = Duration::from_secs(2);

pub struct Shim {
    pub args: StartArgs,
    pub driver: Box<dyn RuntimeDriver>,
    pub init_pid: i32,
    pub cgroup: Cgroup,
    /// Subscribers to init's output.
    pub hub: Rc<Hub>,
    /// Where attached clients' stdin goes: a pipe, or the pty master. `None` once closed.
    pub stdin: RefCell<Option<Rc<FdIo>>>,
    /// Whether a client with stdin has attached already (for `--stdin-once`).
    pub stdin_claimed: Cell<bool>,
    pub pty: Option<Rc<FdIo>>,
    /// Set once init has been reaped (signals must not go to a recycled pid).
    pub reaped: Cell<bool>,
    /// Whether `Start` let init run.
    pub started: Cell<bool>,
    /// init's exit code once reaped.
    pub init_code: Cell<Option<i32>>,
    /// Signalled when init has been reaped.
    pub init_exited: Notify,
    /// Published once the exit is final (output drained, exit.json written).
    pub exit: watch::Sender<Option<ExitStatus>>,
    pub execs: RefCell<HashMap<String, Rc<Exec>>>,
    pub exec_seq: Cell<u32>,
    /// Live client connections (see [`ConnGuard`]).
    pub connections: Cell<usize>,
    /// Signalled when the last client connection closes.
    pub idle: Notify,
    /// The healthcheck, if the container has one.
    pub health: Option<HealthMonitor>,
}

/// Counts a live client connection, so the shim lets answers flush before it exits.
pub struct ConnGuard(Rc<Shim>);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let left = self.0.connections.get().saturating_sub(1);
        self.0.connections.set(left);
        if left == 0 {
            self.0.idle.notify_one();
        }
    }
}

impl Shim {
    pub fn connection(self: &Rc<Self>) -> ConnGuard {
        self.connections.set(self.connections.get() + 1);
        ConnGuard(self.clone())
    }

    /// Closes the container's stdin (`--stdin-once`). A pty cannot be half-closed.
    pub fn close_stdin(&self) {
        if self.pty.is_none() {
            self.stdin.borrow_mut().take();
        }
    }

    /// Lets the created init run the user's process.
    pub fn start(&self) -> Result<(), String> {
        if self.started.get() {
            return Err(format!("container {} is already started", self.args.id));
        }
        if self.reaped.get() {
            return Err(format!("container {} is not running", self.args.id));
        }
        self.started.set(true);
        if let Err(e) = self.driver.start() {
            // Init would wait forever: end it, so the usual exit path cleans up.
            let _ = self.kill(libc::SIGKILL, true);
            return Err(format!("{e:#}"));
        }
        crate::memory::shed_startup_memory_soon();
        Ok(())
    }

    /// Sends a signal to init, or to every process of the container.
    pub fn kill(&self, signal: i32, all: bool) -> Result<(), String> {
        if self.reaped.get() {
            return Err(format!("container {} is not running", self.args.id));
        }
        if !(0..=64).contains(&signal) {
            return Err(format!("invalid signal {signal}"));
        }
        let send = |pid: i32| {
            // SAFETY: kill(2) has no memory-safety preconditions.
            if unsafe { libc::kill(pid, signal) } == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        };
        if all {
            for pid in self.cgroup.procs() {
                let _ = send(pid);
            }
        }
        send(self.init_pid).map_err(|e| format!("cannot kill container {}: {e}", self.args.id))
    }

    /// Records the exit of a child the reaper collected: init, or an exec'd process.
    pub fn on_child_exit(&self, pid: i32, code: i32) {
        if pid == self.init_pid && !self.reaped.get() {
            self.reaped.set(true);
            self.init_code.set(Some(code));
            self.init_exited.notify_one();
            return;
        }
        let exec = self
            .execs
            .borrow()
            .iter()
            .find(|(_, e)| e.pid == pid)
            .map(|(id, e)| (id.clone(), e.clone()));
        if let Some((id, exec)) = exec {
            exec.exited(&self.args.state, &id, code);
        }
    }
}
