//! Registries for the image transfer tests: Debian's `docker-registry` on a free port of
//! 127.0.0.1 with a config of the test's (plain HTTP, TLS with a CA the test makes,
//! htpasswd Basic auth), and podman on storage of its own. Everything is removed on drop.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{have, run_cmd, Cli, Out, TestDaemon};

/// A certificate authority of the test's, and the certificates it signs.
pub struct TestCa {
    pub dir: tempfile::TempDir,
    /// The CA certificate, PEM.
    pub pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl TestCa {
    pub fn new() -> TestCa {
        let dir = tempfile::Builder::new()
            .prefix("bt-ca-")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "berth e2e CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("CA certificate");
        TestCa {
            dir,
            pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A server certificate for 127.0.0.1 and localhost: (certificate, key) files.
    pub fn server_cert(&self) -> (PathBuf, PathBuf) {
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("server params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "registry");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = rcgen::KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &self.issuer).expect("server cert");
        let c = self.dir.path().join("registry.pem");
        let k = self.dir.path().join("registry.key");
        fs::write(&c, cert.pem()).expect("writing the certificate");
        fs::write(&k, key.serialize_pem()).expect("writing the key");
        (c, k)
    }

    /// Trusts this CA for `host` in the certs.d directory `certs_dir`.
    pub fn install(&self, certs_dir: &Path, host: &str) {
        let d = certs_dir.join(host);
        fs::create_dir_all(&d).expect("certs.d entry");
        fs::write(d.join("ca.crt"), &self.pem).expect("writing ca.crt");
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

/// What a registry is started with.
#[derive(Default)]
pub struct RegistryOptions<'a> {
    /// Serve HTTPS with a certificate of this CA.
    pub tls: Option<&'a TestCa>,
    /// htpasswd Basic auth with this one user.
    pub user: Option<(&'a str, &'a str)>,
    /// Bearer tokens from this server (`auth: token`).
    pub token: Option<&'a crate::token::TokenServer>,
}

/// Debian's `docker-registry`, killed and its storage removed when dropped.
pub struct Registry {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Registry {
    pub fn start(opts: RegistryOptions<'_>) -> Registry {
        assert!(
            have("docker-registry"),
            "docker-registry is not installed: run scripts/install-deps.sh (Debian's docker-registry)"
        );
        let dir = tempfile::Builder::new()
            .prefix("bt-registry-")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let mut auth = String::new();
        if let Some((user, password)) = opts.user {
            let hash = bcrypt::hash(password, 5).expect("bcrypt");
            let path = dir.path().join("htpasswd");
            fs::write(&path, format!("{user}:{hash}\n")).expect("writing htpasswd");
            auth = format!(
                "auth:\n  htpasswd:\n    realm: berth-e2e\n    path: {}\n",
                path.display()
            );
        }
        if let Some(t) = opts.token {
            auth = format!(
                "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                t.realm(),
                crate::token::SERVICE,
                crate::token::ISSUER,
                t.bundle_path().display()
            );
        }
        let mut tls = String::new();
        if let Some(ca) = opts.tls {
            let (c, k) = ca.server_cert();
            tls = format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                c.display(),
                k.display()
            );
        }
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let config = format!(
                "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                 http:\n  addr: 127.0.0.1:{port}\n{tls}{auth}",
                dir.path().join("data").display()
            );
            let config_path = dir.path().join("config.yml");
            fs::write(&config_path, config).expect("writing the registry config");
            let log = fs::File::create(dir.path().join("registry.log")).expect("registry log");
            let child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("starting docker-registry");
            let mut child = child;
            if wait_ready(&mut child, port) {
                return Registry { child, port, dir };
            }
            // The port was taken meanwhile, most likely: try another.
            last_log = fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default();
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("docker-registry did not start:\n{last_log}");
    }

    /// `127.0.0.1:<port>`
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Where the registry keeps blob `digest` (`sha256:<hex>`).
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

fn wait_ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    false
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// podman on storage of its own (`--root`, `--runroot` in a temp dir), removed on drop.
pub struct Podman {
    pub dir: PathBuf,
}

impl Podman {
    pub fn new() -> Podman {
        assert!(
            have("podman"),
            "podman is not installed: run scripts/install-deps.sh"
        );
        let dir = tempfile::Builder::new()
            .prefix("bt-podman-")
            .tempdir_in("/tmp")
            .expect("temp dir")
            .keep();
        Podman { dir }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("podman");
        c.arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .arg("--storage-driver")
            .arg("overlay")
            .args(args);
        c
    }

    pub fn run(&self, args: &[&str]) -> Out {
        run_cmd(self.cmd(args), None, Duration::from_secs(120))
    }
}

impl Default for Podman {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.run(&["rm", "-a", "-f"]);
        let _ = self.run(&["rmi", "-a", "-f"]);
        crate::unmount_under(&self.dir);
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("cleanup: removing {}: {e}", self.dir.display());
        }
    }
}

/// What a [`CuttingProxy`] does once it has passed so many bytes from the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Never: a plain proxy.
    Never,
    /// Cuts every connection and stops answering (the registry died).
    Close(u64),
    /// Stops forwarding but keeps the connections open (the registry hangs).
    Stall(u64),
}

/// A TCP proxy in front of a registry that fails as [`Cut`] says. What clients sent is
/// kept, so a test can see the requests (a `Range` of a resumed download).
pub struct CuttingProxy {
    pub port: u16,
    state: std::sync::Arc<ProxyState>,
    thread: Option<thread::JoinHandle<()>>,
}

#[derive(Default)]
struct ProxyState {
    stop: std::sync::atomic::AtomicBool,
    stalled: std::sync::atomic::AtomicBool,
    sent_down: std::sync::atomic::AtomicU64,
    conns: std::sync::Mutex<Vec<std::net::TcpStream>>,
    requests: std::sync::Mutex<Vec<u8>>,
}

impl ProxyState {
    fn die(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let conns = std::mem::take(&mut *self.conns.lock().unwrap_or_else(|e| e.into_inner()));
        for c in conns {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl CuttingProxy {
    /// Listens on `port` (0: a free one) and forwards to `127.0.0.1:upstream`.
    pub fn start(port: u16, upstream: u16, cut: Cut) -> CuttingProxy {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("proxy port");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("address").port();
        let state = std::sync::Arc::new(ProxyState::default());
        let st = state.clone();
        let thread = thread::spawn(move || {
            while !st.stop.load(Ordering::SeqCst) {
                let client = match listener.accept() {
                    Ok((c, _)) => c,
                    Err(_) => {
                        thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                };
                let _ = client.set_nonblocking(false);
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                {
                    let mut conns = st.conns.lock().unwrap_or_else(|e| e.into_inner());
                    for s in [&client, &server] {
                        if let Ok(c) = s.try_clone() {
                            conns.push(c);
                        }
                    }
                }
                let (Ok(mut c_in), Ok(mut s_out)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                let up = st.clone();
                thread::spawn(move || {
                    let mut buf = [0u8; 16 << 10];
                    while let Ok(n) = c_in.read(&mut buf) {
                        if n == 0 || s_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        up.requests
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .extend_from_slice(&buf[..n]);
                    }
                    let _ = s_out.shutdown(std::net::Shutdown::Write);
                });
                let down = st.clone();
                let (mut s_in, mut c_out) = (server, client);
                thread::spawn(move || {
                    let mut buf = [0u8; 16 << 10];
                    while let Ok(n) = s_in.read(&mut buf) {
                        if n == 0 || c_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        let total = down.sent_down.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
                        match cut {
                            Cut::Close(limit) if total >= limit => {
                                down.die();
                                break;
                            }
                            Cut::Stall(limit) if total >= limit => {
                                down.stalled.store(true, Ordering::SeqCst);
                                while !down.stop.load(Ordering::SeqCst) {
                                    thread::sleep(Duration::from_millis(20));
                                }
                                break;
                            }
                            _ => {}
                        }
                    }
                    let _ = c_out.shutdown(std::net::Shutdown::Write);
                });
            }
            // Dropping the listener: the port refuses connections from now on.
        });
        CuttingProxy {
            port,
            state,
            thread: Some(thread),
        }
    }

    /// Whether a [`Cut::Close`] happened (the proxy is gone).
    pub fn died(&self) -> bool {
        self.state.stop.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether a [`Cut::Stall`] happened (the proxy holds its connections silent).
    pub fn stalled(&self) -> bool {
        self.state.stalled.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The requests clients sent, as text.
    pub fn requests(&self) -> String {
        String::from_utf8_lossy(
            &self
                .state
                .requests
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        )
        .into_owned()
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.state.die();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers of the image transfer tests
// ---------------------------------------------------------------------------------------------

/// Removes every tag of the image `reference` names, so its layers go too.
pub fn remove_image(d: &TestDaemon, cli: Cli, reference: &str) {
    let id = d
        .cli(cli, &["image", "inspect", "--format", "{{.Id}}", reference])
        .ok()
        .out();
    d.cli(cli, &["rmi", "-f", &id]).ok();
    let left = d.cli(cli, &["images", "-q"]).ok();
    assert!(!left.stdout.contains(&id[7..19]), "{left:?}");
}

/// Seconds since the epoch (for `events --since`).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The docker CLI `config.json` the daemon's CLIs use.
pub fn config_json(d: &TestDaemon) -> Value {
    let text = std::fs::read_to_string(d.docker_config().join("config.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A JSON-lines body (progress streams), each line parsed.
pub fn json_lines(body: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(body)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

/// busybox plus `/big.bin`: `len` bytes that do not compress.
pub fn big_image_tar(len: usize) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut a = tar::Archive::new(crate::busybox_tar());
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        b.append(&h, &mut e).unwrap();
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(len as u64);
    h.set_mtime(1_700_000_000);
    b.append_data(&mut h, "big.bin", &noise[..]).unwrap();
    b.into_inner().unwrap()
}
