//! Container output and input: the detach-key escape proxy, and the pump between our stdio
//! and a hijacked connection (raw TTY bytes, or docker's stdout/stderr frames).

use std::io::Write;

use anyhow::Result;
use berth_client::stdcopy::{Demux, StdStream};
use berth_client::Hijacked;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

pub use berth_api::detach_keys::{parse_detach_keys, DEFAULT_DETACH_KEYS};

/// The detach keys a command uses, as the docker CLI picks them: its `--detach-keys`, else
/// `detachKeys` from the CLI's `config.json`; `None` for the default ctrl-p,ctrl-q. The text
/// goes to the daemon too, which scans TTY input for it.
pub fn chosen_detach_keys(flag: Option<&str>) -> Option<String> {
    flag.map(str::to_string).or_else(|| {
        berth_credentials::ConfigFile::load_default()
            .ok()?
            .detach_keys()
    })
}

/// The bytes of [`chosen_detach_keys`].
pub fn detach_key_bytes(chosen: Option<&str>) -> Result<Vec<u8>, String> {
    match chosen {
        Some(k) => parse_detach_keys(k),
        None => Ok(DEFAULT_DETACH_KEYS.to_vec()),
    }
}

/// Which of our file descriptors output goes to.
pub type Dest = StdStream;

/// Writes to our stdout or stderr, flushing at once (interactive output must not wait).
pub fn write_out(dest: Dest, data: &[u8]) -> std::io::Result<()> {
    match dest {
        StdStream::Stdout | StdStream::Stdin => {
            let mut out = std::io::stdout().lock();
            match out.write_all(data).and_then(|()| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(141),
                r => r,
            }
        }
        StdStream::Stderr => {
            let mut err = std::io::stderr().lock();
            err.write_all(data)?;
            err.flush()
        }
    }
}

/// Watches stdin for the detach sequence. Bytes of a partial match are held back and released
/// if the sequence breaks off, like docker's `term.EscapeProxy`.
pub struct EscapeProxy {
    keys: Vec<u8>,
    matched: usize,
}

pub enum Escape {
    /// Pass these bytes on.
    Data(Vec<u8>),
    /// The sequence was typed; pass these bytes on first, then detach.
    Detach(Vec<u8>),
}

impl EscapeProxy {
    pub fn new(keys: Vec<u8>) -> Self {
        EscapeProxy { keys, matched: 0 }
    }

    pub fn feed(&mut self, data: &[u8]) -> Escape {
        let mut out = Vec::with_capacity(data.len());
        if self.keys.is_empty() {
            out.extend_from_slice(data);
            return Escape::Data(out);
        }
        for &b in data {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    self.matched = 0;
                    return Escape::Detach(out);
                }
                continue;
            }
            // The partial match was ordinary input after all.
            out.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if b == self.keys[0] {
                self.matched = 1;
                if self.keys.len() == 1 {
                    self.matched = 0;
                    return Escape::Detach(out);
                }
            } else {
                out.push(b);
            }
        }
        Escape::Data(out)
    }

    /// At the end of input: the bytes of a partial match were input after all.
    pub fn finish(&mut self) -> Vec<u8> {
        let held = self.keys[..self.matched].to_vec();
        self.matched = 0;
        held
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PumpEnd {
    /// The daemon closed the output stream.
    Eof,
    /// The user typed the detach keys.
    Detached,
}

pub struct PumpOpts {
    /// Output is raw pty bytes (no framing).
    pub tty: bool,
    /// Copy our stdin to the connection.
    pub stdin: bool,
    /// Detach sequence, watched only in tty mode (as docker does).
    pub detach_keys: Vec<u8>,
}

/// Reads our stdin on a plain thread: tokio's stdin cannot be abandoned mid-read, and the
/// process exits with the read still pending when the container ends first.
fn spawn_stdin_reader() -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match std::io::Read::read(&mut stdin, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// Copies the hijacked stream to our stdout/stderr and our stdin to it, until the daemon closes
/// the stream or the user detaches.
pub async fn pump(conn: Hijacked, opts: PumpOpts) -> Result<PumpEnd> {
    let Hijacked { stream, buffered } = conn;
    let (mut rd, mut wr) = tokio::io::split(stream);

    let (detach_tx, mut detach_rx) = mpsc::channel::<()>(1);
    let input = if opts.stdin {
        let mut rx = spawn_stdin_reader();
        let mut proxy = EscapeProxy::new(if opts.tty {
            opts.detach_keys.clone()
        } else {
            Vec::new()
        });
        Some(tokio::spawn(async move {
            while let Some(chunk) = rx.recv().await {
                match proxy.feed(&chunk) {
                    Escape::Data(d) => {
                        if wr.write_all(&d).await.is_err() {
                            return;
                        }
                    }
                    Escape::Detach(d) => {
                        let _ = wr.write_all(&d).await;
                        let _ = detach_tx.send(()).await;
                        return;
                    }
                }
            }
            // EOF on stdin: half-close so the process sees EOF; output keeps flowing.
            if wr.write_all(&proxy.finish()).await.is_ok() {
                let _ = wr.shutdown().await;
            }
        }))
    } else {
        // Nothing to send: half-close at once, as docker does right after the 101.
        let _ = wr.shutdown().await;
        drop(detach_tx);
        None
    };

    let output = async move {
        let mut demux = Demux::new();
        let mut handle = |data: &[u8]| -> Result<()> {
            if opts.tty {
                write_out(StdStream::Stdout, data)?;
            } else {
                for (dest, payload) in demux.feed(data)? {
                    write_out(dest, &payload)?;
                }
            }
            Ok(())
        };
        if !buffered.is_empty() {
            handle(&buffered)?;
        }
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = rd.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            handle(&buf[..n])?;
        }
        Ok::<(), anyhow::Error>(())
    };

    let end = tokio::select! {
        r = output => { r?; PumpEnd::Eof }
        Some(()) = detach_rx.recv() => PumpEnd::Detached,
    };
    if let Some(task) = input {
        task.abort();
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_proxy() {
        let mut p = EscapeProxy::new(DEFAULT_DETACH_KEYS.to_vec());
        match p.feed(b"ab\x10") {
            Escape::Data(d) => assert_eq!(d, b"ab"),
            Escape::Detach(_) => panic!("detached early"),
        }
        // A broken-off sequence releases the held byte.
        match p.feed(b"c") {
            Escape::Data(d) => assert_eq!(d, b"\x10c"),
            Escape::Detach(_) => panic!("detached"),
        }
        match p.feed(b"x\x10\x11y") {
            Escape::Detach(d) => assert_eq!(d, b"x"),
            Escape::Data(_) => panic!("no detach"),
        }
        // ctrl-p ctrl-p ctrl-q: the first ctrl-p is data.
        let mut p = EscapeProxy::new(DEFAULT_DETACH_KEYS.to_vec());
        match p.feed(b"\x10\x10\x11") {
            Escape::Detach(d) => assert_eq!(d, b"\x10"),
            Escape::Data(_) => panic!("no detach"),
        }
        // A partial match at the end of input is released.
        match p.feed(b"z\x10") {
            Escape::Data(d) => assert_eq!(d, b"z"),
            Escape::Detach(_) => panic!("detached"),
        }
        assert_eq!(p.finish(), b"\x10");
        assert!(p.finish().is_empty());
    }
}
