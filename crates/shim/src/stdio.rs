//! Container stdio: pipes, the console socket that brings back a pty master, and async
//! reading/writing of those fds on the single-threaded tokio runtime.

use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
use std::io::{self, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::unix::AsyncFd;

/// Stdio handed to the OCI runtime for one process (init or exec): the container's ends.
#[derive(Default)]
pub struct ProcessIo {
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// With a tty: where the OCI runtime sends the pty master.
    pub console_socket: Option<PathBuf>,
}

/// The shim's ends of one process's stdio.
pub enum ShimIo {
    Pipes {
        stdin: Option<OwnedFd>,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
    Console(ConsoleSocket),
}

/// Makes the pipes (or the console socket) for a process. `stdin=false` leaves the
/// container's stdin to the shim's own, which is /dev/null.
pub fn setup(tty: bool, stdin: bool, console_path: &Path) -> Result<(ProcessIo, ShimIo)> {
    if tty {
        let console = ConsoleSocket::bind(console_path)?;
        let io = ProcessIo {
            console_socket: Some(console.path.clone()),
            ..Default::default()
        };
        return Ok((io, ShimIo::Console(console)));
    }
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let (in_shim, in_cont) = if stdin {
        let (r, w) = pipe()?;
        (Some(w), Some(r))
    } else {
        (None, None)
    };
    let io = ProcessIo {
        stdin: in_cont,
        stdout: Some(out_w),
        stderr: Some(err_w),
        console_socket: None,
    };
    Ok((
        io,
        ShimIo::Pipes {
            stdin: in_shim,
            stdout: out_r,
            stderr: err_r,
        },
    ))
}

/// The shim's ends once the process exists.
pub enum Streams {
    Pipes {
        stdin: Option<OwnedFd>,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
    Pty(OwnedFd),
}

impl ShimIo {
    /// With a pty and an OCI `consoleSize` in `process`: size the pty as soon as it exists
    /// (see [`ConsoleSocket::size_on_arrival`]).
    pub fn size_on_arrival(&mut self, process: &serde_json::Value) -> Result<()> {
        match (self, console_size(process)) {
            (ShimIo::Console(console), Some((width, height))) => {
                console.size_on_arrival(width, height)
            }
            _ => Ok(()),
        }
    }

    /// Call after the OCI runtime created the process: a pty master has arrived by then.
    pub fn into_streams(self) -> Result<Streams> {
        Ok(match self {
            ShimIo::Pipes {
                stdin,
                stdout,
                stderr,
            } => Streams::Pipes {
                stdin,
                stdout,
                stderr,
            },
            ShimIo::Console(console) => Streams::Pty(console.receive_master()?),
        })
    }
}

/// A close-on-exec pipe: the OCI runtime dup2()s the container's end onto 0/1/2, which clears
/// the flag there, while no other child inherits it by accident.
fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe2")
}

/// A listening unix socket the OCI runtime connects to and sends the pty master over.
pub struct ConsoleSocket {
    listener: UnixListener,
    pub path: PathBuf,
    /// With [`ConsoleSocket::size_on_arrival`]: where the sizing child hands the master on.
    relay: Option<OwnedFd>,
}

impl ConsoleSocket {
    pub fn bind(path: &Path) -> Result<Self> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)
            .with_context(|| format!("binding console socket {}", path.display()))?;
        Ok(Self {
            listener,
            path: path.to_path_buf(),
            relay: None,
        })
    }

    /// Sizes the pty the moment the OCI runtime sends its master, before the process can ask for
    /// its window size. The driver call that creates an exec blocks this thread until the
    /// process is about to run, so a forked child waits on the socket instead, sets the size
    /// and passes the master on. (libcontainer does not apply `consoleSize` itself.)
    pub fn size_on_arrival(&mut self, width: u16, height: u16) -> Result<()> {
        let (ours, theirs) = nix::sys::socket::socketpair(
            nix::sys::socket::AddressFamily::Unix,
            nix::sys::socket::SockType::Stream,
            None,
            nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        )
        .context("socketpair")?;
        // SAFETY: the shim is single-threaded; the child makes only syscalls and exits.
        match unsafe { nix::unistd::fork() }.context("fork")? {
            nix::unistd::ForkResult::Child => {
                let ok = self
                    .accept_master(Duration::from_secs(10))
                    .and_then(|master| {
                        let _ = set_winsize(master.as_raw_fd(), width, height);
                        send_fd(&theirs, &master)
                    })
                    .is_ok();
                // SAFETY: a forked child must leave without running the parent's destructors.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) }
            }
            nix::unistd::ForkResult::Parent { .. } => {
                drop(theirs);
                self.relay = Some(ours);
                Ok(())
            }
        }
    }

    /// Waits up to `timeout` for the OCI runtime to connect, then receives the master.
    fn accept_master(&self, timeout: Duration) -> Result<OwnedFd> {
        let mut fds = [nix::poll::PollFd::new(
            self.listener.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        nix::poll::poll(&mut fds, ms).context("waiting for the runtime")?;
        self.receive()
    }

    /// Receives the pty master. The OCI runtime has connected and sent it by the time create/exec
    /// returned, so this does not wait for long.
    pub fn receive_master(self) -> Result<OwnedFd> {
        let result = self.receive();
        let _ = std::fs::remove_file(&self.path);
        result
    }

    fn receive(&self) -> Result<OwnedFd> {
        if let Some(relay) = &self.relay {
            return recv_fd(relay).context("receiving the pty master from the sizing child");
        }
        self.listener.set_nonblocking(true)?;
        let conn = match self.listener.accept() {
            Ok((c, _)) => c,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                bail!("the runtime did not connect to the console socket")
            }
            Err(e) => return Err(e).context("accepting on the console socket"),
        };
        conn.set_nonblocking(false)?;
        conn.set_read_timeout(Some(Duration::from_secs(10)))?;
        recv_fd(&conn).context("receiving the pty master")
    }
}

impl Streams {
    /// Applies the OCI process's `consoleSize` to a new pty before the process runs, so a
    /// program that reads its window size at once sees the client's (Docker API 1.42+).
    pub fn apply_console_size(&self, process: &serde_json::Value) {
        if let (Streams::Pty(master), Some((width, height))) = (self, console_size(process)) {
            let _ = set_winsize(master.as_raw_fd(), width, height);
        }
    }
}

/// Sends one fd over a connected unix socket.
fn send_fd(sock: &OwnedFd, fd: &OwnedFd) -> Result<()> {
    let fds = [fd.as_raw_fd()];
    let iov = [std::io::IoSlice::new(b"m")];
    nix::sys::socket::sendmsg::<UnixAddr>(
        sock.as_raw_fd(),
        &iov,
        &[nix::sys::socket::ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .context("sending the pty master")?;
    Ok(())
}

/// Receives one fd over a unix socket (the OCI runtime's console handoff, or [`send_fd`]).
fn recv_fd(sock: &impl AsRawFd) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<UnixAddr>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .context("recvmsg")?;
    for c in msg.cmsgs().context("reading control messages")? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed these fds in our table for us; nothing
                // else owns them. Extra fds (none expected) are closed.
                let first = unsafe { OwnedFd::from_raw_fd(fd) };
                for &extra in &fds[1..] {
                    // SAFETY: as above.
                    drop(unsafe { OwnedFd::from_raw_fd(extra) });
                }
                return Ok(first);
            }
        }
    }
    bail!("no fd was sent")
}

/// The OCI process's `consoleSize` as (width, height), when both are set.
fn console_size(process: &serde_json::Value) -> Option<(u16, u16)> {
    let size = &process["consoleSize"];
    let dim = |k: &str| size[k].as_u64().and_then(|v| u16::try_from(v).ok());
    match (dim("width")?, dim("height")?) {
        (0, _) | (_, 0) => None,
        wh => Some(wh),
    }
}

/// Sets a pty's window size.
pub fn set_winsize(fd: RawFd, width: u16, height: u16) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: height,
        ws_col: width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one `winsize` from the pointer, which lives across the call.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Non-blocking async reads and writes on a pipe end or a pty master.
pub struct FdIo {
    fd: AsyncFd<OwnedFd>,
}

impl FdIo {
    pub fn new(fd: OwnedFd) -> io::Result<Self> {
        let flags = fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL)?;
        let flags = OFlag::from_bits_retain(flags) | OFlag::O_NONBLOCK;
        fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(flags))?;
        // SAFETY: an OwnedFd keeps its fd open and unchanged for as long as it is owned,
        // and the AsyncFd owns it until dropped.
        let fd = unsafe { AsyncFd::register(fd) }.map_err(io::Error::from)?;
        Ok(Self { fd })
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.get_ref().as_raw_fd()
    }

    /// Reads some bytes; 0 means end of stream. A pty master reports the end (all slave fds
    /// closed) as EIO, which is mapped to 0 here.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| {
                nix::unistd::read(fd.get_ref().as_raw_fd(), buf).map_err(io::Error::from)
            }) {
                Ok(Ok(n)) => return Ok(n),
                Ok(Err(e)) if e.raw_os_error() == Some(Errno::EIO as i32) => return Ok(0),
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|fd| nix::unistd::write(fd.get_ref(), buf).map_err(io::Error::from))
            {
                Ok(Ok(n)) => buf = &buf[n..],
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }
}
