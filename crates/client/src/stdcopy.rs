//! Docker's multiplexed stream format (`stdcopy`), used without a TTY by attach, exec and
//! logs: each frame is `[stream, 0, 0, 0, len (u32, big-endian)]` and `len` payload bytes.

use crate::error::{Error, Result};

/// The stream a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdStream {
    Stdin,
    Stdout,
    Stderr,
}

impl StdStream {
    fn code(self) -> u8 {
        match self {
            Self::Stdin => 0,
            Self::Stdout => 1,
            Self::Stderr => 2,
        }
    }
}

/// One frame for `stream`.
pub fn frame(stream: StdStream, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&[stream.code(), 0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Incremental decoder: bytes in, complete frames out.
#[derive(Default)]
pub struct Demux {
    buf: Vec<u8>,
}

impl Demux {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes and returns the complete frames (stdin frames count as stdout, as docker's
    /// `StdCopy` writes them). Stream 3 (systemerr) is an error from the daemon.
    pub fn feed(&mut self, data: &[u8]) -> Result<Vec<(StdStream, Vec<u8>)>> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        while self.buf.len() >= 8 {
            let len =
                u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
            if self.buf.len() < 8 + len {
                break;
            }
            let kind = self.buf[0];
            let payload = self.buf[8..8 + len].to_vec();
            self.buf.drain(..8 + len);
            match kind {
                0 | 1 => out.push((StdStream::Stdout, payload)),
                2 => out.push((StdStream::Stderr, payload)),
                3 => {
                    return Err(Error::Protocol(format!(
                        "error from daemon in stream: {}",
                        String::from_utf8_lossy(&payload)
                    )))
                }
                other => {
                    return Err(Error::Protocol(format!(
                        "Unrecognized input header: {other}"
                    )))
                }
            }
        }
        Ok(out)
    }

    /// Bytes of an incomplete frame still held.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demux_trace_bytes() {
        // Section 3a of the traces: a stderr frame then a stdout frame in one read.
        let raw = [
            0x02, 0, 0, 0, 0, 0, 0, 4, b'e', b'r', b'r', b'\n', 0x01, 0, 0, 0, 0, 0, 0, 4, b'o',
            b'u', b't', b'\n',
        ];
        let mut d = Demux::new();
        assert_eq!(
            d.feed(&raw).unwrap(),
            vec![
                (StdStream::Stderr, b"err\n".to_vec()),
                (StdStream::Stdout, b"out\n".to_vec())
            ]
        );
        assert_eq!(frame(StdStream::Stderr, b"err\n"), raw[..12].to_vec());
    }

    #[test]
    fn demux_split_across_reads() {
        let all = [
            frame(StdStream::Stdout, b"hello\nworld\n"),
            frame(StdStream::Stderr, b"oops"),
        ]
        .concat();
        let mut d = Demux::new();
        let mut got = Vec::new();
        for byte in &all {
            got.extend(d.feed(std::slice::from_ref(byte)).unwrap());
        }
        assert_eq!(
            got,
            vec![
                (StdStream::Stdout, b"hello\nworld\n".to_vec()),
                (StdStream::Stderr, b"oops".to_vec())
            ]
        );
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn demux_systemerr_is_an_error() {
        let mut d = Demux::new();
        let mut f = frame(StdStream::Stdout, b"bad");
        f[0] = 3;
        let err = d.feed(&f).unwrap_err().to_string();
        assert_eq!(err, "error from daemon in stream: bad");
    }
}
