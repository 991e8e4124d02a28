//! Drives an external runc-compatible OCI runtime binary.

use super::RuntimeDriver;
use crate::stdio::ProcessIo;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Runc {
    bin: PathBuf,
    id: String,
    root: PathBuf,
    bundle: PathBuf,
    log: PathBuf,
    pid_file: PathBuf,
}

impl Runc {
    pub fn new(bin: &Path, id: &str, root: &Path, bundle: &Path, state: &Path) -> Self {
        Self {
            bin: bin.to_path_buf(),
            id: id.to_string(),
            root: root.to_path_buf(),
            bundle: bundle.to_path_buf(),
            log: state.join("runc.log"),
            pid_file: state.join("runc.pid"),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        // runc also prints errors on its stderr, which for create/exec is the container's:
        // read them from its own json log instead.
        cmd.arg("--root")
            .arg(&self.root)
            .arg("--log")
            .arg(&self.log)
            .arg("--log-format")
            .arg("json");
        cmd
    }

    /// Runs one runc command with the given stdio; on failure returns runc's error message.
    fn run(&self, mut cmd: Command, io: ProcessIo, what: &str) -> Result<()> {
        let _ = std::fs::remove_file(&self.log);
        let stdio = |fd: Option<std::os::fd::OwnedFd>| fd.map(Stdio::from).unwrap_or(Stdio::null());
        cmd.stdin(stdio(io.stdin))
            .stdout(stdio(io.stdout))
            .stderr(stdio(io.stderr));
        let status = cmd
            .status()
            .with_context(|| format!("running {}", self.bin.display()))?;
        if status.success() {
            return Ok(());
        }
        match last_error(&self.log) {
            Some(msg) => bail!("{msg}"),
            None => bail!("runc {what} failed: {status}"),
        }
    }

    fn take_pid(&self) -> Result<i32> {
        let text = std::fs::read_to_string(&self.pid_file).context("reading runc's pid file")?;
        let _ = std::fs::remove_file(&self.pid_file);
        text.trim()
            .parse()
            .with_context(|| format!("bad pid {text:?} in runc's pid file"))
    }
}

/// The last error message in runc's json log.
fn last_error(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["level"] == "error" || v["level"] == "fatal")
        .find_map(|v| v["msg"].as_str().map(String::from))
}

impl RuntimeDriver for Runc {
    fn create(&self, _spec: &serde_json::Value, io: ProcessIo) -> Result<i32> {
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("creating {}", self.root.display()))?;
        let mut cmd = self.command();
        cmd.arg("create").arg("--bundle").arg(&self.bundle);
        if let Some(sock) = &io.console_socket {
            cmd.arg("--console-socket").arg(sock);
        }
        cmd.arg("--pid-file").arg(&self.pid_file).arg(&self.id);
        self.run(cmd, io, "create")?;
        self.take_pid()
    }

    fn start(&self) -> Result<()> {
        let mut cmd = self.command();
        cmd.arg("start").arg(&self.id);
        self.run(cmd, ProcessIo::default(), "start")
    }

    fn exec(&self, process: &serde_json::Value, process_file: &Path, io: ProcessIo) -> Result<i32> {
        std::fs::write(process_file, serde_json::to_vec(process)?)
            .with_context(|| format!("writing {}", process_file.display()))?;
        let mut cmd = self.command();
        cmd.arg("exec")
            .arg("--process")
            .arg(process_file)
            .arg("--detach")
            .arg("--pid-file")
            .arg(&self.pid_file);
        if let Some(sock) = &io.console_socket {
            cmd.arg("--console-socket").arg(sock);
        }
        cmd.arg(&self.id);
        self.run(cmd, io, "exec")?;
        self.take_pid()
    }

    fn delete(&self) -> Result<()> {
        let mut cmd = self.command();
        cmd.arg("delete").arg("-f").arg(&self.id);
        self.run(cmd, ProcessIo::default(), "delete")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_last_error_from_log() {
        let p = std::env::temp_dir().join(format!("berth-shim-runc-{}.log", std::process::id()));
        std::fs::write(
            &p,
            "{\"level\":\"warning\",\"msg\":\"w\"}\n{\"level\":\"error\",\"msg\":\"exec: \\\"nope\\\": executable file not found in $PATH\"}\nnot json\n",
        )
        .unwrap();
        assert_eq!(
            last_error(&p).as_deref(),
            Some("exec: \"nope\": executable file not found in $PATH")
        );
        std::fs::remove_file(&p).unwrap();
    }
}
