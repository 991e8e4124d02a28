//! libcontainer (youki) as a library. It forks, so it runs only on the shim's one thread.
//!
//! Create and exec run in a short-lived child of the shim (see [`forked`](crate::forked)).
//! The seccomp profile is the exception to "libcontainer does it all": compiling it in each
//! container's init is the slowest step of a create, so the shim compiles it once per
//! profile (see [`seccomp_filter`](super::seccomp_filter)) and hands libcontainer a copy of
//! the bundle without the profile and an executor that loads the compiled filter. A profile
//! libcontainer must compile itself (notify) goes in that copy in the form libcontainer
//! reads right ([`for_libcontainer`]).

use super::seccomp_filter::{for_libcontainer, Filter};
use super::RuntimeDriver;
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
/// The container's compiled filter, in the shim's own bundle.
const FILTER_FILE: &str = "seccomp.bpf";

pub struct Libcontainer {
    id: String,
    root: PathBuf,
    bundle: PathBuf,
    /// The bundle libcontainer reads when the filter is precompiled, with the filter itself.
    own_bundle: PathBuf,
    seccomp_cache: Option<PathBuf>,
    container: RefCell<Option<Container>>,
}

impl Libcontainer {
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
        self.own_bundle.join(FILTER_FILE)
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

    /// Writes the bundle libcontainer should read and returns it, with the filter the
    /// shim compiled (or found) for it. The profile stays with libcontainer when no filter
    /// can be precompiled (a notify profile, no cache), in the form it compiles right.
    fn prepare_seccomp(&self, spec: &Value) -> Result<(PathBuf, Option<Filter>)> {
        // What an earlier start left must not decide what this one's execs load.
        match std::fs::remove_dir_all(&self.own_bundle) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", self.own_bundle.display()))
            }
            _ => {}
        }
        let Some(profile) = spec.pointer("/linux/seccomp") else {
            return Ok((self.bundle.clone(), None));
        };
        let profile: LinuxSeccomp =
            serde_json::from_value(profile.clone()).context("parsing linux.seccomp")?;
        let filter = match &self.seccomp_cache {
            Some(cache) => Filter::prepare(&profile, cache)?,
            None => None,
        };
        let mut own = spec.clone();
        std::fs::create_dir_all(&self.own_bundle)
            .with_context(|| format!("creating {}", self.own_bundle.display()))?;
        match &filter {
            Some(filter) => {
                if let Some(linux) = own.get_mut("linux").and_then(Value::as_object_mut) {
                    linux.remove("seccomp");
                }
                if let Some(process) = own.get_mut("process") {
                    keep_admin_permitted(process);
                }
                filter.save(&self.filter_path())?;
            }
            None => own["linux"]["seccomp"] = serde_json::to_value(for_libcontainer(&profile)?)?,
        }
        let config = self.own_bundle.join("config.json");
        std::fs::write(&config, serde_json::to_vec(&own)?)
            .with_context(|| format!("writing {}", config.display()))?;
        Ok((self.own_bundle.clone(), filter))
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

impl RuntimeDriver for Libcontainer {
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
                .context("libcontainer reported no init pid")?
                .as_raw())
        })
    }

    fn start(&self) -> Result<()> {
        self.with_container(|c| Ok(c.start()?))
    }

    fn exec(&self, process: &Value, process_file: &Path, io: ProcessIo) -> Result<i32> {
        in_child(|| {
            let filter = exec_filter(&self.own_bundle)?;
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

/// The filter an exec must load itself: the container's precompiled one, when the bundle
/// libcontainer reads (`own_bundle`) left the profile out for it. A missing or unreadable
/// filter then stops the exec; it never runs unfiltered. Without that bundle (no profile)
/// or with the profile in it, libcontainer does what the spec says.
fn exec_filter(own_bundle: &Path) -> Result<Option<Filter>> {
    let config = own_bundle.join("config.json");
    let spec: Value = match std::fs::read(&config) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("parsing {}", config.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", config.display())),
    };
    if spec.pointer("/linux/seccomp").is_some() {
        return Ok(None);
    }
    Filter::open(&own_bundle.join(FILTER_FILE))
        .map(Some)
        .context("refusing to exec without the container's seccomp filter")
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

    const PROFILE: &str = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["clone"],
        "action":"SCMP_ACT_ERRNO","args":[{"index":0,"op":"SCMP_CMP_MASKED_EQ","value":2114060288}]}]}"#;

    struct Dirs {
        _tmp: tempfile::TempDir,
        bundle: PathBuf,
        state: PathBuf,
    }

    fn dirs() -> Dirs {
        let tmp = tempfile::tempdir().unwrap();
        let (bundle, state) = (tmp.path().join("bundle"), tmp.path().join("state"));
        std::fs::create_dir_all(&bundle).unwrap();
        std::fs::create_dir_all(&state).unwrap();
        Dirs {
            _tmp: tmp,
            bundle,
            state,
        }
    }

    fn builtin(d: &Dirs, cache: Option<PathBuf>) -> Libcontainer {
        let args = StartArgs {
            id: "c".into(),
            bundle: d.bundle.clone(),
            state: d.state.clone(),
            log: d.state.join("log"),
            runtime: crate::args::RuntimeKind::Builtin,
            tty: false,
            stdin: false,
            stdin_once: false,
            seccomp_cache: cache,
        };
        Libcontainer::new(&args, &d.state.join("rt"))
    }

    fn spec(profile: Option<&str>) -> Value {
        let mut spec = json!({"process": {"capabilities": {"effective": [], "permitted": []}},
                              "linux": {}});
        if let Some(p) = profile {
            spec["linux"]["seccomp"] = serde_json::from_str(p).unwrap();
        }
        spec
    }

    fn own_config(d: &Dirs) -> Value {
        serde_json::from_slice(&std::fs::read(d.state.join("bundle/config.json")).unwrap()).unwrap()
    }

    #[test]
    fn a_precompiled_filter_is_required_by_execs() {
        let d = dirs();
        let b = builtin(&d, Some(d.state.join("cache")));
        let (bundle, filter) = b.prepare_seccomp(&spec(Some(PROFILE))).unwrap();
        assert_eq!(bundle, b.own_bundle);
        assert!(filter.is_some());
        assert!(own_config(&d).pointer("/linux/seccomp").is_none());
        assert!(exec_filter(&b.own_bundle).unwrap().is_some());
        // Without its filter, an exec is refused rather than run unfiltered.
        std::fs::remove_file(b.filter_path()).unwrap();
        let e = exec_filter(&b.own_bundle)
            .err()
            .expect("exec without its filter");
        assert!(format!("{e:#}").contains("refusing"), "{e:#}");
        std::fs::write(b.filter_path(), b"junk").unwrap();
        assert!(exec_filter(&b.own_bundle).is_err());
    }

    #[test]
    fn a_profile_libcontainer_compiles_is_given_swapped() {
        let d = dirs();
        let b = builtin(&d, None);
        let (bundle, filter) = b.prepare_seccomp(&spec(Some(PROFILE))).unwrap();
        assert_eq!(bundle, b.own_bundle);
        assert!(filter.is_none());
        let profile: LinuxSeccomp = serde_json::from_str(PROFILE).unwrap();
        assert_eq!(
            own_config(&d)["linux"]["seccomp"],
            serde_json::to_value(for_libcontainer(&profile).unwrap()).unwrap()
        );
        assert_eq!(
            own_config(&d)["linux"]["seccomp"]["syscalls"][0]["args"][0],
            json!({"index": 0, "op": "SCMP_CMP_MASKED_EQ", "value": 0, "valueTwo": 2114060288u64})
        );
        // libcontainer loads it for execs too: no filter of the shim's is wanted.
        assert!(exec_filter(&b.own_bundle).unwrap().is_none());
    }

    #[test]
    fn without_a_profile_libcontainer_reads_the_bundle_as_it_is() {
        let d = dirs();
        let b = builtin(&d, Some(d.state.join("cache")));
        b.prepare_seccomp(&spec(Some(PROFILE))).unwrap();
        let (bundle, filter) = b.prepare_seccomp(&spec(None)).unwrap();
        assert_eq!(bundle, d.bundle);
        assert!(filter.is_none());
        assert!(!b.own_bundle.exists(), "an earlier start's bundle is left");
        assert!(exec_filter(&b.own_bundle).unwrap().is_none());
    }
}
