//! End-to-end test harness: starts real berthd daemons on temporary roots.
//!
//! Every [`TestDaemon`] owns a fresh temporary root (`/tmp/bt-XXXXXX/`) holding its data root,
//! exec root, socket and log, and a cgroup parent of its own (`/berth-test-XXXXXX`), so tests
//! run side by side without touching each other. The busybox image is built from the host's
//! static busybox and imported into every daemon. Dropping the daemon always cleans up, even
//! when the test panicked: containers, shims, container processes, mounts, cgroups, the root.
//!
//! Everything here needs root: [`TestDaemon::start`] fails the test with a clear message
//! otherwise, so a run as an ordinary user never passes by doing nothing.
//!
//! The harness's own API calls (importing busybox, inspecting, listing, removing) go through
//! `berth-client`, each on a small runtime of its own; the raw HTTP helpers stay for tests
//! that assert what is on the wire (status codes, bodies, headers).

pub mod registry;
pub mod swagger;
pub mod token;

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use berth_api::container::ContainerInspect;
use berth_client::{Client, ContainerListOptions, ImageImportOptions, RemoveOptions};

/// How long a CLI command may run before the harness kills it and fails the test.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(90);
/// A generous deadline for things that should happen "soon".
pub const SOON: Duration = Duration::from_secs(30);

/// The container image every daemon starts with.
pub const IMAGE: &str = "busybox:latest";

/// Default capability set of a Docker container, as `CapEff` in `/proc/self/status`.
pub const DEFAULT_CAPEFF: &str = "00000000a80425fb";

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

/// True when running as root (everything here needs it).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// True when `prog` is found on `PATH` (or is an existing path).
pub fn have(prog: &str) -> bool {
    if prog.contains('/') {
        return Path::new(prog).exists();
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
        .unwrap_or(false)
}

/// Where `berthd`, `berth` and `berth-shim` are: `BERTH_BIN_DIR`, else `$CARGO_TARGET_DIR/debug`,
/// else `/work/target/debug`, else the workspace's `target/debug`.
pub fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BERTH_BIN_DIR") {
        return PathBuf::from(d);
    }
    let mut candidates = Vec::new();
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(t).join("debug"));
    }
    candidates.push(PathBuf::from("/work/target/debug"));
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug"));
    candidates
        .iter()
        .find(|d| d.join("berthd").is_file())
        .cloned()
        .unwrap_or_else(|| candidates[0].clone())
}

/// Path of one of berth's binaries.
pub fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// The official docker CLI.
pub fn docker_bin() -> PathBuf {
    std::env::var_os("BERTH_DOCKER_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/local/bin/docker"))
}

// ---------------------------------------------------------------------------------------------
// The busybox image
// ---------------------------------------------------------------------------------------------

/// A tar of a minimal busybox root filesystem, built once per test process.
pub fn busybox_tar() -> &'static [u8] {
    static TAR: OnceLock<Vec<u8>> = OnceLock::new();
    TAR.get_or_init(build_busybox_tar)
}

fn build_busybox_tar() -> Vec<u8> {
    let busybox = fs::read("/bin/busybox").expect("reading /bin/busybox (busybox-static)");
    // A dynamic busybox would not run in an image without libc.
    let elf = String::from_utf8_lossy(&busybox[..busybox.len().min(1 << 20)]).into_owned();
    assert!(
        !elf.contains("/lib64/ld-linux") && !elf.contains("/lib/ld-linux"),
        "/bin/busybox is dynamically linked; install busybox-static"
    );
    let list = Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .expect("busybox --list");
    let applets: BTreeSet<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty() && !l.contains('/') && l != "busybox")
        .collect();

    let mut b = tar::Builder::new(Vec::new());
    let dir = |b: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(mode);
        h.set_size(0);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        b.append_data(&mut h, path, std::io::empty()).unwrap();
    };
    for (d, mode) in [
        ("bin/", 0o755),
        ("etc/", 0o755),
        ("tmp/", 0o1777),
        ("proc/", 0o555),
        ("sys/", 0o555),
        ("dev/", 0o755),
        ("root/", 0o700),
        ("home/", 0o755),
        ("var/", 0o755),
        ("usr/", 0o755),
        ("usr/bin/", 0o755),
        ("sbin/", 0o755),
    ] {
        dir(&mut b, d, mode);
    }
    let file = |b: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        b.append_data(&mut h, path, data).unwrap();
    };
    file(&mut b, "bin/busybox", 0o755, &busybox);
    file(
        &mut b,
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
    );
    file(&mut b, "etc/group", 0o644, b"root:x:0:\nnogroup:x:65534:\n");
    for a in &applets {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        b.append_link(&mut h, format!("bin/{a}"), "busybox")
            .unwrap();
    }
    b.into_inner().unwrap()
}

/// A tar with one regular file, written with a raw header so that any path (even `../x`)
/// can be stored.
pub fn tar_with_raw_path(path: &str, data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    {
        let raw = h.as_old_mut();
        raw.name = [0; 100];
        raw.name[..path.len()].copy_from_slice(path.as_bytes());
    }
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.set_mtime(1_700_000_000);
    h.set_uid(0);
    h.set_gid(0);
    h.set_cksum();
    let mut out = Vec::new();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out.resize(out.len() + 1024, 0);
    out
}

// ---------------------------------------------------------------------------------------------
// Running commands
// ---------------------------------------------------------------------------------------------

/// The result of a command: exit code, stdout and stderr (lossy UTF-8).
#[derive(Clone)]
pub struct Out {
    pub cmd: String,
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Debug for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "command: {}\nexit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}\n---",
            self.cmd, self.status, self.stdout, self.stderr
        )
    }
}

impl Out {
    /// Exit code; -1 when killed by a signal or timed out.
    pub fn code(&self) -> i32 {
        self.status.and_then(|s| s.code()).unwrap_or(-1)
    }

    pub fn success(&self) -> bool {
        self.code() == 0
    }

    /// Asserts success; returns self for chaining.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert!(self.success(), "command failed:\n{self:?}");
        self
    }

    /// Asserts a given exit code.
    #[track_caller]
    pub fn code_is(self, code: i32) -> Self {
        assert_eq!(self.code(), code, "unexpected exit code:\n{self:?}");
        self
    }

    /// Asserts failure (any non-zero exit code).
    #[track_caller]
    pub fn fails(self) -> Self {
        assert!(
            !self.success(),
            "command succeeded but should have failed:\n{self:?}"
        );
        self
    }

    /// Trimmed stdout.
    pub fn out(&self) -> String {
        self.stdout.trim().to_string()
    }

    /// Trimmed stderr.
    pub fn err(&self) -> String {
        self.stderr.trim().to_string()
    }

    /// Non-empty stdout lines, trimmed.
    pub fn lines(&self) -> Vec<String> {
        self.stdout
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        let a = a.to_string_lossy();
        if a.contains(' ') || a.is_empty() {
            s.push_str(&format!("{a:?}"));
        } else {
            s.push_str(&a);
        }
    }
    s
}

/// Runs a command with optional stdin, capturing output, killing it after `timeout`.
pub fn run_cmd(mut cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> Out {
    let desc = describe(&cmd);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {desc}: {e}"));
    let writer = stdin.map(|data| {
        let mut pipe = child.stdin.take().unwrap();
        let data = data.to_vec();
        thread::spawn(move || {
            let _ = pipe.write_all(&data);
        })
    });
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let ro = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let re = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() > deadline => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().ok();
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    if let Some(w) = writer {
        let _ = w.join();
    }
    // Grandchildren holding the pipes open must not hang us forever.
    let stdout = join_with_deadline(ro, Duration::from_secs(5));
    let stderr = join_with_deadline(re, Duration::from_secs(5));
    let out = Out {
        cmd: desc,
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    };
    if timed_out {
        panic!("command timed out after {timeout:?}:\n{out:?}");
    }
    out
}

fn join_with_deadline(h: thread::JoinHandle<Vec<u8>>, t: Duration) -> Vec<u8> {
    let deadline = Instant::now() + t;
    while !h.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    if h.is_finished() {
        h.join().unwrap_or_default()
    } else {
        Vec::new()
    }
}

/// A background command whose stdout and stderr are collected while it runs.
pub struct Spawned {
    pub desc: String,
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stdin: Option<std::process::ChildStdin>,
}

impl Spawned {
    /// Starts `cmd` with piped stdio.
    pub fn start(mut cmd: Command) -> Self {
        let desc = describe(&cmd);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {desc}: {e}"));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        for (mut pipe, buf) in [
            (
                Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
                stdout.clone(),
            ),
            (Box::new(child.stderr.take().unwrap()), stderr.clone()),
        ] {
            thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.lock().unwrap().extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
        let stdin = child.stdin.take();
        Self {
            desc,
            child,
            stdout,
            stderr,
            stdin,
        }
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Writes to the command's stdin.
    pub fn write(&mut self, data: &[u8]) {
        if let Some(s) = self.stdin.as_mut() {
            let _ = s.write_all(data);
            let _ = s.flush();
        }
    }

    /// Closes the command's stdin.
    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Waits until stdout satisfies `pred`, or panics after `timeout`.
    #[track_caller]
    pub fn wait_stdout(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(&self.stdout()) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what} from `{}`\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    self.desc,
                    self.stdout(),
                    self.stderr()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Exit status if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for the command to exit within `timeout`; `None` if still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_wait() {
                // Let the reader threads drain the pipes.
                thread::sleep(Duration::from_millis(100));
                return Some(s);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `f` until it returns `Some`, or panics with `what` after `timeout`.
#[track_caller]
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Polls `f` until it is true, or panics with `what` after `timeout`.
#[track_caller]
pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    wait_for(what, timeout, || f().then_some(()))
}

/// Runs `f` to completion on a runtime of its own: the harness's API calls are few and
/// synchronous, and a test may make them from any thread.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("starting a tokio runtime for an API call")
        .block_on(f)
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP over the unix socket
// ---------------------------------------------------------------------------------------------

/// An HTTP answer.
#[derive(Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HTTP {} {:?}\n{}",
            self.status,
            self.headers,
            String::from_utf8_lossy(&self.body)
        )
    }
}

impl HttpResponse {
    /// A header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}):\n{self:?}"))
    }

    /// Docker's error message (`{"message": ...}`).
    #[track_caller]
    pub fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no \"message\" in error body:\n{self:?}"))
            .to_string()
    }
}

/// One HTTP/1.1 request over a unix socket (`Connection: close`, read until EOF).
pub fn http_request(
    socket: &Path,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    timeout: Duration,
) -> std::io::Result<HttpResponse> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    // The server may answer (an error) before reading the whole body: read the answer anyway.
    let write_err = body.and_then(|b| s.write_all(b).err());
    let mut raw = Vec::new();
    if let Err(e) = s.read_to_end(&mut raw) {
        if raw.is_empty() {
            return Err(write_err.unwrap_or(e));
        }
    }
    if raw.is_empty() {
        if let Some(e) = write_err {
            return Err(e);
        }
    }
    parse_http(&raw, method == "HEAD")
}

fn parse_http(raw: &[u8], head: bool) -> std::io::Result<HttpResponse> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head_text = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head_text.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("empty response"))?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if head {
        body.clear();
    }
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = b.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&b[..nl]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            break;
        };
        if size == 0 {
            break;
        }
        let start = nl + 2;
        let stop = (start + size).min(b.len());
        out.extend_from_slice(&b[start..stop]);
        b = &b[(stop + 2).min(b.len())..];
    }
    out
}

/// Splits Docker's multiplexed stream (8-byte frame headers) into (stdout, stderr).
pub fn demux(mut b: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (mut o, mut e) = (Vec::new(), Vec::new());
    while b.len() >= 8 {
        let kind = b[0];
        let len = u32::from_be_bytes([b[4], b[5], b[6], b[7]]) as usize;
        let end = (8 + len).min(b.len());
        match kind {
            2 => e.extend_from_slice(&b[8..end]),
            _ => o.extend_from_slice(&b[8..end]),
        }
        b = &b[end..];
    }
    (o, e)
}

// ---------------------------------------------------------------------------------------------
// The daemon
// ---------------------------------------------------------------------------------------------

/// A berthd running on temporary roots.
pub struct TestDaemon {
    /// The temporary root holding everything of this daemon.
    pub root: PathBuf,
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    pub socket: PathBuf,
    /// `/berth-test-XXXXXX`
    pub cgroup_parent: String,
    log: PathBuf,
    docker_config: PathBuf,
    extra_args: Vec<String>,
    /// A command berthd is started under (e.g. `setpriv ... --`), if any.
    wrapper: Vec<String>,
    child: Option<Child>,
}

impl TestDaemon {
    /// Starts a daemon with busybox imported. Panics (failing the test) when not root.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Like [`TestDaemon::start`], with extra berthd flags.
    pub fn start_with(args: &[&str]) -> Self {
        Self::start_wrapped(&[], args)
    }

    /// Like [`TestDaemon::start_with`], with berthd run by `wrapper` (its argv up to where
    /// berthd's goes, e.g. `["setpriv", "--inh-caps", "+sys_admin", "--"]`).
    pub fn start_wrapped(wrapper: &[&str], args: &[&str]) -> Self {
        assert!(
            is_root(),
            "the berth end-to-end tests need root (namespaces, mounts, cgroups): run them as root"
        );
        let berthd = bin("berthd");
        assert!(
            berthd.is_file(),
            "{} not found: build with `cargo build -p berthd -p berth-shim -p berth-cli` \
             or set BERTH_BIN_DIR",
            berthd.display()
        );
        let tmp = tempfile::Builder::new()
            .prefix("bt-")
            .tempdir_in("/tmp")
            .expect("temp root");
        let root = tmp.keep();
        let suffix = root
            .file_name()
            .unwrap()
            .to_string_lossy()
            .trim_start_matches("bt-")
            .to_string();
        let mut d = Self {
            data_root: root.join("data"),
            exec_root: root.join("exec"),
            socket: root.join("s.sock"),
            cgroup_parent: format!("/berth-test-{suffix}"),
            log: root.join("berthd.log"),
            docker_config: root.join("docker-config"),
            extra_args: args.iter().map(|s| s.to_string()).collect(),
            wrapper: wrapper.iter().map(|s| s.to_string()).collect(),
            child: None,
            root,
        };
        fs::create_dir_all(&d.docker_config).unwrap();
        fs::write(d.docker_config.join("config.json"), "{}").unwrap();
        d.spawn_daemon();
        d.import_busybox();
        d
    }

    fn spawn_daemon(&mut self) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let _ = fs::remove_file(&self.socket);
        let mut cmd = match self.wrapper.split_first() {
            Some((prog, wrapper_args)) => {
                let mut c = Command::new(prog);
                c.args(wrapper_args).arg(bin("berthd"));
                c
            }
            None => Command::new(bin("berthd")),
        };
        cmd.arg("--data-root")
            .arg(&self.data_root)
            .arg("--exec-root")
            .arg(&self.exec_root)
            .arg("-H")
            .arg(self.host())
            .arg("--cgroup-parent")
            .arg(&self.cgroup_parent)
            .arg("--log-level")
            .arg("debug")
            .args(&self.extra_args)
            .env_remove("DOCKER_HOST")
            .env_remove("BERTH_HOST")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let child = cmd.spawn().expect("spawning berthd");
        self.child = Some(child);
        let deadline = Instant::now() + SOON;
        loop {
            if let Ok(r) = self.try_http("GET", "/_ping", &[], None) {
                if r.status == 200 {
                    return;
                }
            }
            if let Some(st) = self.child.as_mut().unwrap().try_wait().ok().flatten() {
                panic!("berthd exited early ({st}):\n{}", self.daemon_log());
            }
            if Instant::now() > deadline {
                panic!(
                    "berthd did not answer /_ping within {SOON:?}:\n{}",
                    self.daemon_log()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn import_busybox(&self) {
        let opts = ImageImportOptions {
            source: "-".into(),
            repo: Some("busybox".into()),
            tag: Some("latest".into()),
            ..ImageImportOptions::default()
        };
        let c = self.client();
        let imported = block_on(async {
            let body = bytes::Bytes::from_static(busybox_tar());
            let body = berth_client::stream_body(futures_util::stream::once(async {
                Ok::<_, std::io::Error>(body)
            }));
            let mut progress = c.image_import(&opts, body).await?;
            let mut last = None;
            while let Some(m) = progress.next().await? {
                if let Some(e) = m.failure() {
                    return Ok(Err(e.to_string()));
                }
                last = Some(m.status);
            }
            c.image_inspect("busybox:latest").await?;
            Ok::<_, berth_client::Error>(Ok(last))
        });
        match imported {
            Ok(Ok(Some(id))) => assert!(id.starts_with("sha256:"), "import said {id:?}"),
            Ok(Ok(None)) => panic!("importing busybox: no progress message"),
            Ok(Err(e)) => panic!("importing busybox failed: {e}"),
            Err(e) => panic!("importing busybox: {e:#}"),
        }
    }

    /// `unix:///tmp/bt-XXXXXX/s.sock`
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The daemon's pid, while it runs.
    pub fn daemon_pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// The daemon's log so far.
    pub fn daemon_log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `kill -9` the daemon (containers keep running under their shims).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the daemon again on the same roots (kills it first if it still runs).
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn_daemon();
    }

    // --- CLIs ----------------------------------------------------------------------------------

    /// A `berth -H unix://...` command, for custom use.
    pub fn berth_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin("berth"));
        c.env_remove("DOCKER_HOST")
            .env_remove("BERTH_HOST")
            .env("DOCKER_CONFIG", &self.docker_config)
            .arg("-H")
            .arg(self.host())
            .args(args);
        c
    }

    /// Runs the berth CLI.
    pub fn berth(&self, args: &[&str]) -> Out {
        run_cmd(self.berth_cmd(args), None, CMD_TIMEOUT)
    }

    /// Runs the berth CLI with `input` on stdin.
    pub fn berth_in(&self, args: &[&str], input: &[u8]) -> Out {
        run_cmd(self.berth_cmd(args), Some(input), CMD_TIMEOUT)
    }

    /// A `docker` command pointed at this daemon, for custom use.
    pub fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(docker_bin());
        c.env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", &self.docker_config)
            .env("DOCKER_CLI_HINTS", "false")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_API_VERSION")
            .args(args);
        c
    }

    /// Runs the official docker CLI.
    pub fn docker(&self, args: &[&str]) -> Out {
        run_cmd(self.docker_cmd(args), None, CMD_TIMEOUT)
    }

    /// Runs the official docker CLI with `input` on stdin.
    pub fn docker_in(&self, args: &[&str], input: &[u8]) -> Out {
        run_cmd(self.docker_cmd(args), Some(input), CMD_TIMEOUT)
    }

    /// Runs a shell command line under a pseudo-terminal (util-linux `script`), with
    /// `DOCKER_HOST` pointing at this daemon and `$BERTH`/`$DOCKER` naming the CLIs.
    pub fn in_pty(&self, shell_line: &str, input: Option<&[u8]>) -> Out {
        // python3's pty module rather than script(1): script turns the end of its own stdin
        // into a NUL byte on the terminal, which would reach the container as input.
        let mut c = Command::new("python3");
        c.args(["-c", PTY_DRIVER, shell_line])
            .env("DOCKER_HOST", self.host())
            .env("BERTH_HOST", self.host())
            .env("DOCKER_CONFIG", &self.docker_config)
            .env("DOCKER_CLI_HINTS", "false")
            .env("BERTH", bin("berth"))
            .env("DOCKER", docker_bin())
            .env("TERM", "xterm");
        run_cmd(c, input, CMD_TIMEOUT)
    }

    // --- raw API -------------------------------------------------------------------------------

    fn try_http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> std::io::Result<HttpResponse> {
        http_request(&self.socket, method, path, headers, body, CMD_TIMEOUT)
    }

    /// A request without a body.
    #[track_caller]
    pub fn http(&self, method: &str, path: &str) -> HttpResponse {
        self.try_http(method, path, &[], None)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// A request with a body of the given content type.
    #[track_caller]
    pub fn http_body(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> HttpResponse {
        self.try_http(method, path, &[("Content-Type", content_type)], Some(body))
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// A request with headers of the test's and an optional body.
    #[track_caller]
    pub fn http_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> HttpResponse {
        self.try_http(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// The docker CLI configuration directory the CLIs are given (`DOCKER_CONFIG`).
    pub fn docker_config(&self) -> &Path {
        &self.docker_config
    }

    /// A request with a JSON body.
    #[track_caller]
    pub fn http_json(&self, method: &str, path: &str, body: &serde_json::Value) -> HttpResponse {
        self.http_body(
            method,
            path,
            "application/json",
            body.to_string().as_bytes(),
        )
    }

    /// A client of this daemon (the newest API version, no negotiation round trip).
    pub fn client(&self) -> Client {
        Client::with_version(&self.host(), berth_api::API_VERSION)
            .unwrap_or_else(|e| panic!("client for {}: {e}", self.host()))
    }

    /// `GET /containers/{id}/json`, the document as the daemon sent it; panics on an error.
    #[track_caller]
    pub fn inspect(&self, id: &str) -> serde_json::Value {
        let c = self.client();
        let raw = block_on(c.container_inspect_raw(id, false))
            .unwrap_or_else(|e| panic!("inspect {id}: {e:#}"));
        serde_json::from_slice(&raw).unwrap_or_else(|e| {
            panic!(
                "inspect {id}: not JSON ({e}): {}",
                String::from_utf8_lossy(&raw)
            )
        })
    }

    /// `GET /containers/{id}/json`, typed; panics on an error.
    #[track_caller]
    pub fn inspect_typed(&self, id: &str) -> ContainerInspect {
        let c = self.client();
        block_on(c.container_inspect(id, false)).unwrap_or_else(|e| panic!("inspect {id}: {e:#}"))
    }

    /// `State.Status` of a container.
    pub fn status(&self, id: &str) -> String {
        self.inspect_typed(id).state().status
    }

    /// Waits until `State.Status` is `status`.
    #[track_caller]
    pub fn wait_status(&self, id: &str, status: &str) {
        wait_until(&format!("{id} to be {status}"), SOON, || {
            self.status(id) == status
        });
    }

    /// Ids of all containers (running or not) known to the daemon; none when it does not
    /// answer.
    pub fn container_ids(&self) -> Vec<String> {
        let c = self.client();
        let opts = ContainerListOptions {
            all: true,
            ..ContainerListOptions::default()
        };
        block_on(c.container_list(&opts))
            .map(|l| l.into_iter().map(|s| s.id).collect())
            .unwrap_or_default()
    }

    // --- cleanup -------------------------------------------------------------------------------

    fn cleanup(&mut self) {
        // 1. Containers, through the daemon, when it still answers.
        if self.child.is_some() {
            let c = self.client();
            let opts = RemoveOptions {
                force: true,
                volumes: true,
                link: false,
            };
            for id in self.container_ids() {
                let remove = c.container_remove(&id, opts);
                let _ =
                    block_on(async { tokio::time::timeout(Duration::from_secs(20), remove).await });
            }
        }
        // 2. The daemon.
        self.kill9();
        // 3. Shims and anything else started with our root on the command line.
        let needle = self.root.to_string_lossy().into_owned();
        kill_matching(|cmdline| cmdline.contains(&needle));
        // 4. Container processes, by cgroup; then the cgroups themselves.
        cleanup_cgroups(&self.cgroup_parent);
        // 5. Mounts under the root (rootfs overlays, nsfs handles), deepest first.
        unmount_under(&self.root);
        // 6. The root.
        if let Err(e) = fs::remove_dir_all(&self.root) {
            eprintln!("cleanup: removing {}: {e}", self.root.display());
        }
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if thread::panicking() {
            let log = self.daemon_log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(400)..];
            eprintln!(
                "===== berthd log ({}, last {} lines) =====\n{}\n===== end of berthd log =====",
                self.log.display(),
                tail.len(),
                tail.join("\n")
            );
        }
        self.cleanup();
    }
}

/// SIGKILLs every process (but us) whose command line matches.
fn kill_matching(pred: impl Fn(&str) -> bool) {
    let me = std::process::id();
    for _ in 0..3 {
        let mut found = false;
        for pid in all_pids() {
            if pid == me {
                continue;
            }
            let Ok(raw) = fs::read(format!("/proc/{pid}/cmdline")) else {
                continue;
            };
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            if pred(&cmdline) {
                found = true;
                kill9_pid(pid);
            }
        }
        if !found {
            return;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

fn all_pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn kill9_pid(pid: u32) {
    if let Ok(p) = i32::try_from(pid) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// The roots of every cgroup hierarchy mounted on this host.
pub fn cgroup_hierarchies() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return out;
    };
    for line in info.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let fstype = post.split_whitespace().next().unwrap_or("");
        if fstype != "cgroup" && fstype != "cgroup2" {
            continue;
        }
        if let Some(mp) = pre.split_whitespace().nth(4) {
            let p = PathBuf::from(unescape_mount(mp));
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// Every cgroup directory under `parent` in every hierarchy, children before parents.
pub fn cgroup_dirs(parent: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        if let Ok(rd) = fs::read_dir(dir) {
            for e in rd.flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    walk(&e.path(), out);
                }
            }
        }
        out.push(dir.to_path_buf());
    }
    let rel = parent.trim_matches('/');
    let mut out = Vec::new();
    if rel.is_empty() {
        return out;
    }
    for h in cgroup_hierarchies() {
        let p = h.join(rel);
        if p.is_dir() {
            walk(&p, &mut out);
        }
    }
    out
}

fn cleanup_cgroups(parent: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let dirs = cgroup_dirs(parent);
        if dirs.is_empty() {
            return;
        }
        for d in &dirs {
            // A frozen process cannot die: thaw first.
            let _ = fs::write(d.join("freezer.state"), "THAWED");
            let _ = fs::write(d.join("cgroup.freeze"), "0");
            if let Ok(procs) = fs::read_to_string(d.join("cgroup.procs")) {
                for pid in procs.lines().filter_map(|l| l.trim().parse().ok()) {
                    kill9_pid(pid);
                }
            }
        }
        for d in &dirs {
            let _ = fs::remove_dir(d);
        }
        if Instant::now() > deadline {
            eprintln!("cleanup: cgroups left behind: {:?}", cgroup_dirs(parent));
            return;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

fn unescape_mount(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let v = u8::from_str_radix(&s[i + 1..i + 4], 8).unwrap_or(b'?');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Mount points (in our mount namespace) at or under `root`.
pub fn mounts_under(root: &Path) -> Vec<PathBuf> {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    info.lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .map(|mp| PathBuf::from(unescape_mount(mp)))
        .filter(|p| p.starts_with(root))
        .collect()
}

pub(crate) fn unmount_under(root: &Path) {
    for _ in 0..5 {
        let mut mps = mounts_under(root);
        if mps.is_empty() {
            return;
        }
        mps.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for mp in mps {
            if let Err(e) = nix::mount::umount2(&mp, nix::mount::MntFlags::MNT_DETACH) {
                eprintln!("cleanup: umount {}: {e}", mp.display());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers for tests
// ---------------------------------------------------------------------------------------------

/// A unique name for a container or tag in a test.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{n}-{:x}", std::process::id(), t & 0xffff)
}

/// The value of a `Key:\tvalue` line in a `/proc/<pid>/status`-like text.
pub fn status_field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().to_string())
}

// ---------------------------------------------------------------------------------------------
// One test, two CLIs
// ---------------------------------------------------------------------------------------------

/// Which CLI a test drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cli {
    Berth,
    Docker,
}

impl Cli {
    pub fn name(self) -> &'static str {
        match self {
            Cli::Berth => "berth",
            Cli::Docker => "docker",
        }
    }
}

impl TestDaemon {
    /// A command of the given CLI pointed at this daemon.
    pub fn cli_cmd(&self, cli: Cli, args: &[&str]) -> Command {
        match cli {
            Cli::Berth => self.berth_cmd(args),
            Cli::Docker => self.docker_cmd(args),
        }
    }

    /// Runs the given CLI.
    pub fn cli(&self, cli: Cli, args: &[&str]) -> Out {
        run_cmd(self.cli_cmd(cli, args), None, CMD_TIMEOUT)
    }

    /// Runs the given CLI with `input` on stdin.
    pub fn cli_in(&self, cli: Cli, args: &[&str], input: &[u8]) -> Out {
        run_cmd(self.cli_cmd(cli, args), Some(input), CMD_TIMEOUT)
    }

    /// Runs the given CLI, failing the test when it takes longer than `timeout`.
    pub fn cli_t(&self, cli: Cli, args: &[&str], timeout: Duration) -> Out {
        run_cmd(self.cli_cmd(cli, args), None, timeout)
    }

    /// Starts the given CLI in the background.
    pub fn cli_spawn(&self, cli: Cli, args: &[&str]) -> Spawned {
        Spawned::start(self.cli_cmd(cli, args))
    }

    /// `run -d busybox <cmd...>` (plus `opts` before the image); returns the full id.
    #[track_caller]
    pub fn run_d(&self, cli: Cli, opts: &[&str], cmd: &[&str]) -> String {
        let mut args = vec!["run", "-d"];
        args.extend_from_slice(opts);
        args.push(IMAGE);
        args.extend_from_slice(cmd);
        let id = self.cli(cli, &args).ok().out();
        assert_eq!(id.len(), 64, "run -d should print a full id, got {id:?}");
        id
    }

    /// `run --rm [opts] busybox cmd...` with the given CLI; the result is not checked.
    pub fn run_rm(&self, cli: Cli, opts: &[&str], cmd: &[&str]) -> Out {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(opts);
        args.push(IMAGE);
        args.extend_from_slice(cmd);
        self.cli(cli, &args)
    }

    /// `run --rm [opts] busybox sh -c script` with the given CLI; the result is not checked.
    pub fn run_sh(&self, cli: Cli, opts: &[&str], script: &str) -> Out {
        self.run_rm(cli, opts, &["sh", "-c", script])
    }

    /// The container's log (stdout and stderr together) through the API.
    #[track_caller]
    pub fn api_logs(&self, id: &str) -> String {
        let c = self.client();
        let opts = berth_client::LogsOptions {
            stdout: true,
            stderr: true,
            ..berth_client::LogsOptions::default()
        };
        let body = block_on(async { c.container_logs(id, &opts).await?.collect().await })
            .unwrap_or_else(|e| panic!("logs of {id}: {e:#}"));
        let (o, e) = demux(&body);
        let mut s = String::from_utf8_lossy(&o).into_owned();
        s.push_str(&String::from_utf8_lossy(&e));
        s
    }
}

/// Declares `mod NAME { fn berth(); fn docker(); }` tests that call `NAME(Cli)` with each CLI.
#[macro_export]
macro_rules! both_clis {
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            #[test]
            fn berth() {
                super::$name($crate::Cli::Berth)
            }
            #[test]
            fn docker() {
                super::$name($crate::Cli::Docker)
            }
        }
    )* };
}

/// Starts a test daemon (with optional extra berthd flags); fails the test when not root.
#[macro_export]
macro_rules! daemon {
    () => {
        $crate::TestDaemon::start()
    };
    ($($arg:expr),+ $(,)?) => {
        $crate::TestDaemon::start_with(&[$($arg),+])
    };
}

/// A shell snippet printing the first existing cgroup file for the container's own cgroup:
/// v1 `/sys/fs/cgroup/<ctrl><path>/<v1>` (or the controller root when the cgroup is mounted
/// as the root), else v2 `/sys/fs/cgroup<path>/<v2>` (or `/sys/fs/cgroup/<v2>`).
pub fn cgroup_file_script(ctrl: &str, v1: &str, v2: &str) -> String {
    format!(
        "p=$(grep -E '^[0-9]+:([^:]*,)?{ctrl}(,[^:]*)?:' /proc/self/cgroup | cut -d: -f3); \
         p2=$(grep '^0::' /proc/self/cgroup | cut -d: -f3); \
         for f in /sys/fs/cgroup/{ctrl}$p/{v1} /sys/fs/cgroup/{ctrl}/{v1} /sys/fs/cgroup$p2/{v2} /sys/fs/cgroup/{v2}; do \
         if [ -f \"$f\" ]; then cat \"$f\"; exit 0; fi; done; echo MISSING; exit 1"
    )
}

impl TestDaemon {
    /// `docker logs -f ID` in the background.
    pub fn docker_spawn_logs(&self, id: &str) -> Spawned {
        Spawned::start(self.docker_cmd(&["logs", "-f", id]))
    }
}

/// Runs `sh -c ARGV[1]` on a new pseudo-terminal, writes this program's stdin to it, copies
/// the terminal's output to stdout and exits with the command's status.
const PTY_DRIVER: &str = r#"
import os, pty, sys
data = sys.stdin.buffer.read()
pid, fd = pty.fork()
if pid == 0:
    os.execvp("sh", ["sh", "-c", sys.argv[1]])
if data:
    os.write(fd, data)
out = bytearray()
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(bytes(out))
sys.stdout.flush()
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
"#;
