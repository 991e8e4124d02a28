//! Shared by the registry and archive tests: stores on temporary roots, images made from
//! tars, reading an image's files through a mounted view, Debian's `docker-registry`
//! started on a free port of 127.0.0.1, and certificates.
#![allow(dead_code)]

pub mod fake;
pub mod token;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_image::config::{ImageConfig, RootFs};
use berth_image::content::{Ingester, WriterOpts};
use berth_image::registry::{Progress, ProgressSink};
use berth_image::snapshot::mount::{mount_all, unmount};
use berth_image::store::{ImageRecord, LayerRecord, Store};
use berth_image::{Digest, Reference};

pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "these tests unpack layers with their owners and mount views: run them as root"
    );
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A store on a temporary root.
pub struct TestStore {
    pub dir: tempfile::TempDir,
    pub store: Arc<Store>,
}

impl std::fmt::Debug for TestStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestStore({})", self.dir.path().display())
    }
}

impl TestStore {
    pub fn new() -> TestStore {
        let dir = tempfile::Builder::new()
            .prefix("bt-img-")
            .tempdir()
            .expect("temp dir");
        let store = open_store(dir.path());
        TestStore { dir, store }
    }

    /// Opens the store again, as a restarted daemon would (what a crash left is tidied).
    /// The caller must hold no other handle on it (its database closes first).
    pub fn reopen(self) -> TestStore {
        let TestStore { dir, store } = self;
        assert_eq!(Arc::strong_count(&store), 1, "the store is still in use");
        drop(store);
        let store = open_store(dir.path());
        TestStore { dir, store }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

fn db(root: &Path) -> Arc<redb::Database> {
    std::fs::create_dir_all(root).unwrap();
    Arc::new(redb::Database::create(root.join("metadata.redb")).expect("metadata db"))
}

fn open_store(root: &Path) -> Arc<Store> {
    Arc::new(Store::open(root, db(root)).expect("open store"))
}

/// A layer tar of regular files (mode 0644, root-owned) and the directories they need.
pub fn layer_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dirs = std::collections::BTreeSet::new();
    for (path, _) in files {
        let mut p = Path::new(path).parent();
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(d.to_path_buf());
            p = d.parent();
        }
    }
    for d in dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, &d, &[][..]).unwrap();
    }
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, path, *data).unwrap();
    }
    b.into_inner().unwrap()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Bytes that do not compress: layers big enough to need several chunks.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub fn config_for(diff_ids: &[Digest], arch: &str) -> Vec<u8> {
    let cfg = ImageConfig {
        architecture: arch.to_string(),
        os: "linux".to_string(),
        created: Some("2024-05-06T07:08:09Z".to_string()),
        rootfs: RootFs {
            kind: "layers".to_string(),
            diff_ids: diff_ids.to_vec(),
        },
        config: Some(berth_image::ContainerConfig {
            cmd: Some(vec!["/bin/sh".to_string()]),
            ..Default::default()
        }),
        ..Default::default()
    };
    cfg.to_vec().unwrap()
}

/// Stores an image of these layer tars (gzip blobs), tagged `tag`.
pub fn make_image(store: &Store, layers: &[Vec<u8>], tag: &str) -> ImageRecord {
    let mut records = Vec::new();
    let mut parent: Option<Digest> = None;
    for tar in layers {
        let gz = gzip(tar);
        let mut w = store
            .content()
            .writer(&WriterOpts::new(format!("test-{}", Digest::of(&gz))))
            .unwrap();
        w.write_all(&gz).unwrap();
        let info = w.commit(None, None).unwrap();
        let u = berth_image::unpack::unpack_layer(
            store.snapshots(),
            parent.as_ref(),
            &mut &tar[..],
            None,
        )
        .unwrap();
        parent = Some(u.chain_id.clone());
        records.push(LayerRecord {
            diff_id: u.diff_id,
            chain_id: u.chain_id,
            blob: info.digest,
            blob_size: info.size,
            size: u.size,
            tar_size: Some(u.tar_size),
        });
    }
    let diff_ids: Vec<Digest> = records.iter().map(|l| l.diff_id.clone()).collect();
    let refs = [Reference::parse_tagged(tag).unwrap()];
    store
        .add_image(
            &config_for(&diff_ids, berth_image::import::host_architecture()),
            records,
            &refs,
        )
        .unwrap()
}

/// The content of `path` in image `id`, read through a mounted read-only view.
pub fn read_image_file(store: &Store, id: &Digest, path: &str) -> std::io::Result<Vec<u8>> {
    let rec = store.image_record(id).unwrap().expect("image record");
    let top = rec.layers.last().expect("a layer").chain_id.to_string();
    let key = format!(
        "test-view-{}",
        berth_image::digest::Digest::of(path.as_bytes()).short()
    );
    let mounts = store.snapshots().view(&key, Some(&top)).unwrap();
    let target = tempfile::Builder::new()
        .prefix("bt-view-")
        .tempdir()
        .unwrap();
    mount_all(&mounts, target.path()).unwrap();
    let res = std::fs::read(target.path().join(path.trim_start_matches('/')));
    unmount(target.path()).unwrap();
    store.snapshots().remove(&key).unwrap();
    res
}

/// Collects progress events.
#[derive(Default)]
pub struct Events(pub Mutex<Vec<Progress>>);

impl ProgressSink for Events {
    fn send(&self, p: Progress) {
        self.0.lock().unwrap().push(p);
    }
}

impl Events {
    pub fn statuses(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|p| {
                let m = p.message();
                match m.id {
                    Some(id) => format!("{id}: {}", m.status),
                    None => m.status,
                }
            })
            .collect()
    }

    pub fn has(&self, status: &str) -> usize {
        self.statuses()
            .iter()
            .filter(|s| s.ends_with(status))
            .count()
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// TLS files of a registry: a CA and a server certificate for 127.0.0.1 and localhost.
pub struct Certs {
    pub dir: tempfile::TempDir,
    pub ca_pem: String,
    pub ca: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Certs {
    pub fn new() -> Certs {
        let dir = tempfile::Builder::new()
            .prefix("bt-certs-")
            .tempdir()
            .unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "berth test CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let ca_pem = cert.pem();
        std::fs::write(dir.path().join("ca.pem"), &ca_pem).unwrap();
        Certs {
            dir,
            ca_pem,
            ca: rcgen::Issuer::new(params, key),
        }
    }

    /// A certificate signed by the CA: `<name>.pem` and `<name>.key` in the dir.
    pub fn issue(&self, name: &str, client: bool) -> (PathBuf, PathBuf) {
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.extended_key_usages = vec![if client {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let c = self.dir.path().join(format!("{name}.pem"));
        let k = self.dir.path().join(format!("{name}.key"));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        (c, k)
    }
}

/// What the registry's config says beyond storage and address.
#[derive(Default)]
pub struct RegistryOpts {
    /// (certificate, key, client CAs)
    pub tls: Option<(PathBuf, PathBuf, Option<PathBuf>)>,
    pub htpasswd: Option<PathBuf>,
    /// (realm, service, issuer, root cert bundle)
    pub token: Option<(String, String, String, PathBuf)>,
}

/// Debian's `docker-registry` on a free port of 127.0.0.1; killed when dropped.
pub struct DockerRegistry {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl DockerRegistry {
    pub fn start(opts: RegistryOpts) -> DockerRegistry {
        let bin = which("docker-registry").expect(
            "docker-registry is not installed: run scripts/install-deps.sh (Debian's docker-registry package)",
        );
        let mut dir = tempfile::Builder::new()
            .prefix("bt-registry-")
            .tempdir()
            .unwrap();
        for _ in 0..5 {
            let port = free_port();
            let mut cfg = format!(
                "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.path().join("data").display()
            );
            if let Some((c, k, cas)) = &opts.tls {
                cfg.push_str(&format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    c.display(),
                    k.display()
                ));
                if let Some(cas) = cas {
                    cfg.push_str(&format!("    clientcas:\n      - {}\n", cas.display()));
                }
            }
            if let Some(h) = &opts.htpasswd {
                cfg.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: basic-realm\n    path: {}\n",
                    h.display()
                ));
            }
            if let Some((realm, service, issuer, bundle)) = &opts.token {
                cfg.push_str(&format!(
                    "auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n",
                    bundle.display()
                ));
            }
            let cfg_path = dir.path().join("config.yml");
            std::fs::write(&cfg_path, cfg).unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let child = Command::new(&bin)
                .arg("serve")
                .arg(&cfg_path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("starting docker-registry");
            let mut r = DockerRegistry { child, port, dir };
            if r.wait_ready() {
                return r;
            }
            // Lost the port to someone else: try another.
            let _ = r.child.kill();
            let _ = r.child.wait();
            dir = r.take_dir();
        }
        panic!("docker-registry did not start");
    }

    fn take_dir(&mut self) -> tempfile::TempDir {
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                eprintln!("{}", self.log());
                return false;
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}
