//! Container output and input: docker's multiplexed stream format (8-byte frame headers),
//! the detach-key escape proxy, and the pump between our stdio and a hijacked connection.

use std::io::Write;

use anyhow::Result;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::client::Hijacked;

/// Which of our file descriptors a frame goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    Stdout,
    Stderr,
}

/// Incremental decoder for docker's `stdcopy` framing:
/// `[stream, 0, 0, 0, len(u32 big-endian)]` followed by `len` payload bytes.
#[derive(Default)]
pub struct Demux {
    buf: Vec<u8>,
}

impl Demux {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes and returns the complete frames. Stream 3 (systemerr) is an error from the
    /// daemon, as in docker's `stdcopy.StdCopy`.
    pub fn feed(&mut self, data: &[u8]) -> Result<Vec<(Dest, Vec<u8>)>> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        loop {
            if self.buf.len() < 8 {
                break;
            }
            let len =
                u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
            if self.buf.len() < 8 + len {
                break;
            }
            let kind = self.buf[0];
            let payload = self.buf[8..8 + len].to_vec();
            self.buf.drain(..8 + len);
            match kind {
                0 | 1 => out.push((Dest::Stdout, payload)),
                2 => out.push((Dest::Stderr, payload)),
                3 => anyhow::bail!(
                    "error from daemon in stream: {}",
                    String::from_utf8_lossy(&payload)
                ),
                other => anyhow::bail!("Unrecognized input header: {other}"),
            }
        }
        Ok(out)
    }

    /// Bytes left over at the end of the stream (a truncated frame).
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// Writes to our stdout or stderr, flushing at once (interactive output must not wait).
pub fn write_out(dest: Dest, data: &[u8]) -> std::io::Result<()> {
    match dest {
        Dest::Stdout => {
            let mut out = std::io::stdout().lock();
            match out.write_all(data).and_then(|()| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(141),
                r => r,
            }
        }
        Dest::Stderr => {
            let mut err = std::io::stderr().lock();
            err.write_all(data)?;
            err.flush()
        }
    }
}

/// Parses docker's detach-key syntax: comma-separated `ctrl-<x>` or single characters.
pub fn parse_detach_keys(spec: &str) -> Result<Vec<u8>> {
    let mut keys = Vec::new();
    for part in spec.split(',') {
        let lower = part.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("ctrl-") {
            let b = match rest.as_bytes() {
                [c @ b'a'..=b'z'] => c - b'a' + 1,
                [b'@'] => 0,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => anyhow::bail!("Unknown character: '{rest}'"),
            };
            keys.push(b);
        } else if part.len() == 1 {
            keys.push(part.as_bytes()[0]);
        } else {
            anyhow::bail!("Unknown character: '{part}'");
        }
    }
    Ok(keys)
}

pub const DEFAULT_DETACH_KEYS: &[u8] = &[0x10, 0x11]; // ctrl-p, ctrl-q

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
    let (mut rd, mut wr) = stream.into_split();

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
                write_out(Dest::Stdout, data)?;
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

    fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![kind, 0, 0, 0];
        v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn demux_trace_bytes() {
        // Section 3a of the traces: stderr frame then stdout frame in one read.
        let raw = [
            0x02, 0, 0, 0, 0, 0, 0, 4, b'e', b'r', b'r', b'\n', 0x01, 0, 0, 0, 0, 0, 0, 4, b'o',
            b'u', b't', b'\n',
        ];
        let mut d = Demux::new();
        let frames = d.feed(&raw).unwrap();
        assert_eq!(
            frames,
            vec![
                (Dest::Stderr, b"err\n".to_vec()),
                (Dest::Stdout, b"out\n".to_vec())
            ]
        );
    }

    #[test]
    fn demux_split_across_reads() {
        let all = [frame(1, b"hello\nworld\n"), frame(2, b"oops")].concat();
        let mut d = Demux::new();
        let mut got = Vec::new();
        for byte in &all {
            got.extend(d.feed(std::slice::from_ref(byte)).unwrap());
        }
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], (Dest::Stdout, b"hello\nworld\n".to_vec()));
        assert_eq!(got[1], (Dest::Stderr, b"oops".to_vec()));
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn demux_systemerr_is_an_error() {
        let mut d = Demux::new();
        let err = d.feed(&frame(3, b"bad")).unwrap_err().to_string();
        assert_eq!(err, "error from daemon in stream: bad");
    }

    #[test]
    fn detach_keys_parse() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert_eq!(parse_detach_keys("ctrl-a,x").unwrap(), vec![1, b'x']);
        assert_eq!(parse_detach_keys("ctrl-@").unwrap(), vec![0]);
        assert!(parse_detach_keys("ctrl-pp").is_err());
        assert!(parse_detach_keys("abc").is_err());
    }

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
