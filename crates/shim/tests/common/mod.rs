//! Runs the real `berth-shim` binary on a bundle made here: a busybox rootfs (the host's
//! static busybox) and runc's default spec. Needs root, as the shim does.

// Each test binary uses a part of it.
#![allow(dead_code)]

use berth_shim_protocol::client::ShimClient;
use berth_shim_protocol::{Request, Response, ShimConfig, StartReport};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The cgroup parent of the test containers (removed when empty).
const CGROUP_PARENT: &str = "/berth-shim-test";

pub struct TestShim {
    pub dir: tempfile::TempDir,
    pub id: String,
    pub client: ShimClient,
    /// A `Wait` sent before `Start`, as the daemon's monitor does: a short-lived container's
    /// shim may be gone by the time a later request connects.
    exit: Option<tokio::task::JoinHandle<std::io::Result<Response>>>,
}

impl TestShim {
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn log(&self) -> PathBuf {
        self.dir.path().join(format!("{}-json.log", self.id))
    }

    /// Creates and starts a container running `args` (no tty, no stdin) with `config` in
    /// its state directory (none: the daemon said nothing).
    pub async fn start(args: &[&str], config: Option<ShimConfig>) -> TestShim {
        let (dir, id, report) = create(args, config);
        assert!(matches!(report, StartReport::Created { .. }), "{report:?}");
        let state = dir.path().join("state");
        let client = ShimClient::new(&state);
        let waiter = client.clone();
        let exit = tokio::spawn(async move { waiter.call(&Request::Wait).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let shim = TestShim {
            dir,
            id,
            client,
            exit: Some(exit),
        };
        assert_eq!(shim.call(Request::Start).await, Response::Ok);
        shim
    }
}

/// Runs `berth-shim start` for a container running `args`: its directory, id and report.
pub fn create(
    args: &[&str],
    config: Option<ShimConfig>,
) -> (tempfile::TempDir, String, StartReport) {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the shim tests run containers: they need root"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let id = format!(
        "t{}-{}",
        std::process::id(),
        dir.path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .trim_start_matches('.')
    )
    .replace('.', "-");
    let bundle = dir.path().join("bundle");
    make_bundle(&bundle, &id, args);
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    if let Some(c) = config {
        c.write(&state).unwrap();
    }
    let log = dir.path().join(format!("{id}-json.log"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth-shim"))
        .args(["start", "--id", &id, "--bundle"])
        .arg(&bundle)
        .arg("--state")
        .arg(&state)
        .arg("--log")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("running berth-shim");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.wait();
    let report: StartReport = serde_json::from_str(&line).expect(&line);
    (dir, id, report)
}

impl TestShim {
    /// The container's exit, from the `Wait` sent at start.
    pub async fn wait(&mut self) -> Response {
        let exit = self.exit.take().expect("wait once");
        tokio::time::timeout(Duration::from_secs(30), exit)
            .await
            .expect("container exited in time")
            .expect("wait task")
            .expect("wait call")
    }

    pub async fn call(&self, req: Request) -> Response {
        tokio::time::timeout(Duration::from_secs(30), self.client.call(&req))
            .await
            .expect("shim answered in time")
            .expect("shim call")
    }

    /// Kills the container and waits for the shim to report its exit.
    pub async fn stop(&mut self) {
        let _ = self
            .client
            .call(&Request::Kill {
                signal: 9,
                all: true,
            })
            .await;
        if let Some(exit) = &mut self.exit {
            let _ = tokio::time::timeout(Duration::from_secs(20), exit).await;
        }
        // The shim ends shortly after it answered.
        let pid_file = self.state().join("shim.pid");
        if let Some(pid) = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            for _ in 0..100 {
                if nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

impl Drop for TestShim {
    fn drop(&mut self) {
        // A test that failed midway: end the shim and its container for good.
        if let Some(pid) = std::fs::read_to_string(self.state().join("shim.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            if let Ok(procs) = std::fs::read_to_string(format!(
                "/sys/fs/cgroup/pids{CGROUP_PARENT}/{}/cgroup.procs",
                self.id
            )) {
                for p in procs.lines().filter_map(|p| p.parse::<i32>().ok()) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(p),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        std::thread::sleep(Duration::from_millis(200));
        // The test parent cgroup in every hierarchy, once no test uses it.
        if let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") {
            for e in entries.flatten() {
                let dir = e.path().join(CGROUP_PARENT.trim_start_matches('/'));
                let _ = std::fs::remove_dir(dir.join(&self.id));
                let _ = std::fs::remove_dir(dir);
            }
        }
        let _ = std::fs::remove_dir(
            Path::new("/sys/fs/cgroup").join(CGROUP_PARENT.trim_start_matches('/')),
        );
    }
}

/// A bundle whose rootfs is the host's static busybox with its applets linked.
fn make_bundle(bundle: &Path, id: &str, args: &[&str]) {
    let rootfs = bundle.join("rootfs");
    for d in ["bin", "proc", "dev", "sys", "tmp", "etc"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/usr/bin/busybox", rootfs.join("bin/busybox"))
        .expect("the shim tests need the host's static busybox at /usr/bin/busybox");
    for applet in [
        "sh", "yes", "sleep", "echo", "cat", "true", "false", "seq", "head",
    ] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    let mut spec = oci_spec::runtime::Spec::default();
    let mut process = spec.process().clone().unwrap();
    process.set_args(Some(args.iter().map(|s| s.to_string()).collect()));
    process.set_terminal(Some(false));
    process.set_env(Some(vec!["PATH=/bin".into()]));
    spec.set_process(Some(process));
    let mut root = spec.root().clone().unwrap();
    root.set_path(rootfs);
    root.set_readonly(Some(false));
    spec.set_root(Some(root));
    let mut linux = spec.linux().clone().unwrap();
    linux.set_cgroups_path(Some(PathBuf::from(format!("{CGROUP_PARENT}/{id}"))));
    spec.set_linux(Some(linux));
    spec.set_hostname(Some("shimtest".into()));
    std::fs::write(
        bundle.join("config.json"),
        serde_json::to_vec_pretty(&spec).unwrap(),
    )
    .unwrap();
}
