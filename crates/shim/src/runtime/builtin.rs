//! libcontainer (youki) as a library. It forks, so it runs only on the shim's one thread.

use super::Runtime;
use crate::stdio::ProcessIo;
use anyhow::{Context, Result};
use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::Container;
use libcontainer::syscall::syscall::SyscallType;
use std::cell::RefCell;
use std::path::{Path, PathBuf};

pub struct Builtin {
    id: String,
    root: PathBuf,
    bundle: PathBuf,
    container: RefCell<Option<Container>>,
}

impl Builtin {
    pub fn new(id: &str, root: &Path, bundle: &Path) -> Self {
        Self {
            id: id.to_string(),
            root: root.to_path_buf(),
            bundle: bundle.to_path_buf(),
            container: RefCell::new(None),
        }
    }

    fn builder(&self, io: ProcessIo) -> Result<ContainerBuilder> {
        let mut b = ContainerBuilder::new(self.id.clone(), SyscallType::default())
            .with_root_path(&self.root)?
            .with_console_socket(io.console_socket.as_ref());
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
    fn create(&self, io: ProcessIo) -> Result<i32> {
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("creating {}", self.root.display()))?;
        let container = self
            .builder(io)?
            .as_init(&self.bundle)
            .with_systemd(false)
            .with_detach(true)
            .build()
            .map_err(explain)?;
        let pid = container
            .pid()
            .context("the runtime reported no init pid")?
            .as_raw();
        *self.container.borrow_mut() = Some(container);
        Ok(pid)
    }

    fn start(&self) -> Result<()> {
        self.with_container(|c| Ok(c.start()?))
    }

    fn exec(&self, process_file: &Path, io: ProcessIo) -> Result<i32> {
        let pid = self
            .builder(io)?
            .as_tenant()
            .with_detach(true)
            .with_process(Some(process_file))
            .build()
            .map_err(explain)?;
        Ok(pid.as_raw())
    }

    fn delete(&self) -> Result<()> {
        let result = self.with_container(|c| Ok(c.delete(true)?));
        *self.container.borrow_mut() = None;
        result
    }
}
