//! libcontainer (youki) as a library. It forks, so it runs only on the shim's one thread.
//!
//! Create and exec run in a short-lived child of the shim (see [`forked`](crate::forked)).
//! The seccomp profile is the exception to "libcontainer does it all": compiling it in each
//! container's init is the slowest step of a create, so the shim compiles it once per
//! profile (see [`seccomp_filter`](super::seccomp_filter)) and hands libcontainer a copy of
//! the bundle without the profile and an executor that loads the compiled filter.

use super::seccomp_filter::Filter;
use super::Runtime;
use crate::args::StartArgs;
use crate::forked::in_child;
use crate::stdio::ProcessIo;
use anyhow::{Context, Result};
use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::Container;
use libcontainer::syscall::syscall::SyscallType;
use libcontainer::workload::default::DefaultExecutor;
use libcontainer::workload::{
    Executor, ExecutorError, ExecutorSetEnvsError, ExecutorValidationError,
};
use oci_spec::runtime::{LinuxSeccomp, Spec};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const SYS_ADMIN: &str = "CAP_SYS_ADMIN";

pub struct Builtin {
    id: String,
    root: PathBuf,
    bundle: PathBuf,
    /// The bundle libcontainer reads when the filter is precompiled, with the filter itself.
    own_bundle: PathBuf,
    seccomp_cache: Option<PathBuf>,
    container: RefCell<Option<Container>>,
}

impl Builtin {
    pub fn new(args: &StartArgs, root: &Path) -> Self {
        Self {
            id: args.id.clone(),
            root: root.to_path_buf(),
            bundle: args.bundle.clone(),
            own_bundle: args.state.join("bundle"),
            seccomp_cache: args.seccomp_cache.clone(),
            container: RefCell::new(None),
        }
    }

    fn filter_path(&self) -> PathBuf {
        self.own_bundle.join("seccomp.bpf")
    }

    /// A builder for a process whose `process` section is `process`.
    fn builder(
        &self,
        io: ProcessIo,
        process: &Value,
        filter: Option<Filter>,
    ) -> Result<ContainerBuilder> {
        let mut b = ContainerBuilder::new(self.id.clone(), SyscallType::default())
            .with_root_path(&self.root)?
            .with_console_socket(io.console_socket.as_ref());
        if let Some(filter) = filter {
            b = b.with_executor(LoadFilterFirst {
                filter,
                raise_admin: needs_admin_to_load(process),
            });
        }
        if let Some(fd) = io.stdin {
            b = b.with_stdin(fd);
        }
        if let Some(fd) = io.stdout {
            b = b.with_stdout(fd);
        }
        if let Some(fd) = io.stderr {
            b = b.with_stderr(fd);
        }
        Ok(b)
    }

    /// Compiles (or finds) the filter and writes the bundle libcontainer should use then;
    /// returns that bundle and the filter.
    fn prepare_seccomp(&self, spec: &Value) -> Result<(PathBuf, Option<Filter>)> {
        let (Some(cache), Some(profile)) = (&self.seccomp_cache, spec.pointer("/linux/seccomp"))
        else {
            return Ok((self.bundle.clone(), None));
        };
        let profile: LinuxSeccomp =
            serde_json::from_value(profile.clone()).context("parsing linux.seccomp")?;
        let Some(filter) = Filter::prepare(&profile, cache)? else {
            return Ok((self.bundle.clone(), None));
        };
        let mut own = spec.clone();
        if let Some(linux) = own.get_mut("linux").and_then(Value::as_object_mut) {
            linux.remove("seccomp");
        }
        if let Some(process) = own.get_mut("process") {
            keep_admin_permitted(process);
        }
        std::fs::create_dir_all(&self.own_bundle)?;
        filter.save(&self.filter_path())?;
        let config = self.own_bundle.join("config.json");
        std::fs::write(&config, serde_json::to_vec(&own)?)
            .with_context(|| format!("writing {}", config.display()))?;
        Ok((self.own_bundle.clone(), Some(filter)))
    }

    fn with_container<T>(&self, f: impl FnOnce(&mut Container) -> Result<T>) -> Result<T> {
        let mut slot = self.container.borrow_mut();
        if slot.is_none() {
            *slot = Some(Container::load(self.root.join(&self.id))?);
        }
        match slot.as_mut() {
            Some(c) => f(c),
            None => anyhow::bail!("container {} not found", self.id),
        }
    }
}

/// libcontainer's message for a non-executable file does not say "permission denied" as
/// runc's (and Docker's) does; the daemon maps that phrase to exit code 126.
fn explain(err: libcontainer::error::LibcontainerError) -> anyhow::Error {
    let err = anyhow::Error::from(err);
    let msg = format!("{err:#}");
    if msg.contains("does not have correct permissions") {
        anyhow::anyhow!("{msg}: permission denied")
    } else {
        err
    }
}

impl Runtime for Builtin {
    fn create(&self, spec: &Value, io: ProcessIo) -> Result<i32> {
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("creating {}", self.root.display()))?;
        in_child(|| {
            let (bundle, filter) = self.prepare_seccomp(spec)?;
            let container = self
                .builder(io, &spec["process"], filter)?
                .as_init(&bundle)
                .with_systemd(false)
                .with_detach(true)
                .build()
                .map_err(explain)?;
            Ok(container
                .pid()
                .context("the runtime reported no init pid")?
                .as_raw())
        })
    }

    fn start(&self) -> Result<()> {
        self.with_container(|c| Ok(c.start()?))
    }

    fn exec(&self, process: &Value, process_file: &Path, io: ProcessIo) -> Result<i32> {
        in_child(|| {
            let filter = Filter::open(&self.filter_path())?;
            let mut process = process.clone();
            if filter.is_some() {
                keep_admin_permitted(&mut process);
            }
            std::fs::write(process_file, serde_json::to_vec(&process)?)
                .with_context(|| format!("writing {}", process_file.display()))?;
            let pid = self
                .builder(io, &process, filter)?
                .as_tenant()
                .with_detach(true)
                .with_process(Some(process_file))
                .build()
                .map_err(explain)?;
            Ok(pid.as_raw())
        })
    }

    fn delete(&self) -> Result<()> {
        let result = self.with_container(|c| Ok(c.delete(true)?));
        *self.container.borrow_mut() = None;
        result
    }
}

/// Loading a filter takes CAP_SYS_ADMIN unless the process has no_new_privileges.
fn needs_admin_to_load(process: &Value) -> bool {
    let nnp = process["noNewPrivileges"].as_bool().unwrap_or(false);
    !nnp && !has_cap(&process["capabilities"]["effective"], SYS_ADMIN)
}

fn has_cap(set: &Value, cap: &str) -> bool {
    set.as_array()
        .is_some_and(|caps| caps.iter().any(|c| c.as_str() == Some(cap)))
}

/// libcontainer drops capabilities before it runs the executor, which then needs
/// CAP_SYS_ADMIN to load the filter. Keeping it in the permitted set only lets init raise it
/// for that one call; it is never effective for the user's process: the executor drops it
/// right after loading, and it is in neither the bounding, inheritable nor ambient set, so
/// execve could not give it back either.
fn keep_admin_permitted(process: &mut Value) {
    if !needs_admin_to_load(process) {
        return;
    }
    if let Some(permitted) = process
        .pointer_mut("/capabilities/permitted")
        .and_then(Value::as_array_mut)
    {
        permitted.push(Value::from(SYS_ADMIN));
    }
}

/// libcontainer's default executor, with the seccomp filter loaded first. `setup_envs` is
/// init's last step before it reports ready, where libcontainer itself loads a filter for a
/// process with no_new_privileges; from there on only init's own few syscalls run before
/// the user's process.
#[derive(Clone)]
struct LoadFilterFirst {
    filter: Filter,
    raise_admin: bool,
}

impl LoadFilterFirst {
    fn load(&self) -> Result<()> {
        use caps::{CapSet, Capability::CAP_SYS_ADMIN};
        if self.raise_admin {
            caps::raise(None, CapSet::Effective, CAP_SYS_ADMIN)?;
        }
        self.filter.load()?;
        if self.raise_admin {
            caps::drop(None, CapSet::Effective, CAP_SYS_ADMIN)?;
            caps::drop(None, CapSet::Permitted, CAP_SYS_ADMIN)?;
        }
        Ok(())
    }
}

impl Executor for LoadFilterFirst {
    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        DefaultExecutor {}.exec(spec)
    }

    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        DefaultExecutor {}.validate(spec)
    }

    fn setup_envs(&self, envs: HashMap<String, String>) -> Result<(), ExecutorSetEnvsError> {
        self.load().map_err(|e| {
            ExecutorSetEnvsError::Other(format!("loading the seccomp filter: {e:#}"))
        })?;
        DefaultExecutor {}.setup_envs(envs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn admin_is_kept_permitted_only_when_loading_needs_it() {
        let mut p = json!({"capabilities": {"effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"],
                           "bounding": ["CAP_CHOWN"]}});
        keep_admin_permitted(&mut p);
        assert_eq!(
            p["capabilities"]["permitted"],
            json!(["CAP_CHOWN", SYS_ADMIN])
        );
        assert_eq!(p["capabilities"]["effective"], json!(["CAP_CHOWN"]));
        assert_eq!(p["capabilities"]["bounding"], json!(["CAP_CHOWN"]));

        let mut nnp = json!({"noNewPrivileges": true,
                             "capabilities": {"effective": [], "permitted": []}});
        keep_admin_permitted(&mut nnp);
        assert_eq!(nnp["capabilities"]["permitted"], json!([]));

        let mut admin =
            json!({"capabilities": {"effective": [SYS_ADMIN], "permitted": [SYS_ADMIN]}});
        keep_admin_permitted(&mut admin);
        assert_eq!(admin["capabilities"]["permitted"], json!([SYS_ADMIN]));
    }
}
