//! Network namespace handles, and running code inside one. `setns` moves only the calling
//! thread, so every entry happens on a thread of its own that ends afterwards: no thread of
//! the caller's pools is ever left in another namespace.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};

/// A handle on a network namespace: an open `/proc/<pid>/ns/net` (or a bind mount of one).
/// Holding it keeps the namespace alive. Cloning shares the descriptor.
#[derive(Clone, Debug)]
pub struct Netns {
    file: Arc<File>,
}

impl Netns {
    /// The namespace of process `pid`.
    pub fn from_pid(pid: i32) -> Result<Self> {
        Self::open(Path::new(&format!("/proc/{pid}/ns/net")))
    }

    /// The namespace at `path` (`/proc/<pid>/ns/net`, `/run/netns/<name>`).
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path)
            .map_err(|e| Error::io(format!("open network namespace {}", path.display()), e))?;
        Ok(Self::from_file(file))
    }

    /// Wraps an already open namespace file.
    pub fn from_file(file: File) -> Self {
        Netns {
            file: Arc::new(file),
        }
    }

    /// A new, empty network namespace held only by the returned handle (it goes away with
    /// the last clone of the handle and every process in it).
    pub fn create() -> Result<Self> {
        on_thread(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
            File::open("/proc/thread-self/ns/net")
        })
        .map(Self::from_file)
        .map_err(|e| Error::io("create a network namespace", e))
    }

    /// The raw descriptor, for netlink's `IFLA_NET_NS_FD`.
    pub fn raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// Runs `f` on a new thread that entered this namespace, and waits for it.
    pub fn run<T, F>(&self, f: F) -> io::Result<T>
    where
        T: Send,
        F: FnOnce() -> io::Result<T> + Send,
    {
        let fd = self.file.as_fd();
        on_thread(move || {
            enter(fd)?;
            f()
        })
    }

    /// As [`Netns::run`], without blocking the async caller.
    pub async fn run_async<T, F>(&self, f: F) -> io::Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> io::Result<T> + Send + 'static,
    {
        let ns = self.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("berth-netns".into())
            .spawn(move || {
                let r = enter(ns.file.as_fd()).and_then(|()| f());
                let _ = tx.send(r);
            })?;
        rx.await
            .unwrap_or_else(|_| Err(io::Error::other("network namespace thread panicked")))
    }
}

/// Starts a long-lived thread in `ns` running `f`, which is told whether entering worked.
pub(crate) fn spawn_in<F>(ns: &Netns, f: F) -> io::Result<()>
where
    F: FnOnce(io::Result<()>) + Send + 'static,
{
    let ns = ns.clone();
    std::thread::Builder::new()
        .name("berth-netns".into())
        .spawn(move || f(enter(ns.file.as_fd())))
        .map(|_| ())
}

fn enter(fd: BorrowedFd<'_>) -> io::Result<()> {
    nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).map_err(io::Error::from)
}

fn on_thread<T: Send>(f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("network namespace thread panicked")))
    })
}

/// Runs `f` in `ns`, or on the calling thread when `ns` is `None` (the caller's own).
pub(crate) fn run_in<T, F>(ns: Option<&Netns>, f: F) -> io::Result<T>
where
    T: Send,
    F: FnOnce() -> io::Result<T> + Send,
{
    match ns {
        Some(ns) => ns.run(f),
        None => f(),
    }
}

/// As [`run_in`], off the async caller's thread.
pub(crate) async fn run_in_async<T, F>(ns: Option<&Netns>, f: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    match ns {
        Some(ns) => ns.run_async(f).await,
        None => tokio::task::spawn_blocking(f)
            .await
            .unwrap_or_else(|_| Err(io::Error::other("blocking task panicked"))),
    }
}

/// Brings `lo` up in `ns`. Every container with a network namespace of its own has `lo` up,
/// as with Docker (`--network none` gets nothing else).
pub fn loopback_up(ns: &Netns) -> Result<()> {
    ns.run(|| set_up("lo"))
        .map_err(|e| Error::io("bring lo up in the container's network namespace", e))
}

/// Sets IFF_UP on an interface of the current thread's network namespace.
pub(crate) fn set_up(name: &str) -> io::Result<()> {
    let sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(io::Error::from)?;
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req
        .ifr_name
        .iter_mut()
        .zip(name.bytes().take(libc::IFNAMSIZ - 1))
    {
        *dst = src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS fills `req`, which outlives the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: after SIOCGIFFLAGS the union holds the flags.
    unsafe {
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    }
    // SAFETY: SIOCSIFFLAGS reads `req`, which outlives the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Writes the sysctl at `/proc/sys/<key>` (slash-separated: interface names may hold dots) in
/// `ns` unless it already holds `value`. The thread's namespace decides which one
/// `/proc/sys/net` shows.
pub(crate) fn sysctl(ns: Option<&Netns>, key: &str, value: &str) -> Result<()> {
    let path = format!("/proc/sys/{key}");
    let value = value.to_string();
    let p = path.clone();
    run_in(ns, move || {
        if std::fs::read_to_string(&p)?.trim() == value {
            return Ok(());
        }
        std::fs::write(&p, value.as_bytes())
    })
    .map_err(|e| Error::io(format!("write {path}"), e))
}
