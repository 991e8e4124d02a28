//! Hijacked connections (attach, exec start) and the byte pumps between a client and a shim.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use berth_engine::container::ShimStream;
use hyper_util::rt::TokioIo;
use std::future::Future;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub use berth_api::detach_keys::parse_detach_keys;

/// Does the client ask to take over the connection?
pub fn wants_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("tcp"))
}

/// Answers 101 and runs `then` on the raw connection once hyper hands it over.
pub fn hijack<F, Fut>(req: Request, content_type: &'static str, then: F) -> Response
where
    F: FnOnce(TokioIo<hyper::upgrade::Upgraded>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let on_upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => then(TokioIo::new(upgraded)).await,
            Err(e) => tracing::debug!("upgrade failed: {e}"),
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "tcp")
        .body(Body::empty())
        .unwrap_or_default()
}

/// Content type of an attach or exec stream.
pub fn stream_content_type(tty: bool) -> &'static str {
    if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    }
}

/// Matches the detach sequence across reads. Bytes that might begin the sequence are held
/// back until it is clear they do not.
pub struct DetachScanner {
    keys: Vec<u8>,
    held: usize,
}

impl DetachScanner {
    pub fn new(keys: Vec<u8>) -> Self {
        Self { keys, held: 0 }
    }

    /// Returns the bytes to forward, and whether the sequence was completed.
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if self.keys.is_empty() {
                out.push(b);
                continue;
            }
            if b == self.keys[self.held] {
                self.held += 1;
                if self.held == self.keys.len() {
                    return (out, true);
                }
            } else {
                out.extend_from_slice(&self.keys[..self.held]);
                self.held = 0;
                if b == self.keys[0] {
                    self.held = 1;
                } else {
                    out.push(b);
                }
            }
        }
        (out, false)
    }

    /// At the end of input: the bytes of a partial match were input after all.
    pub fn finish(&mut self) -> Vec<u8> {
        let held = self.keys[..self.held].to_vec();
        self.held = 0;
        held
    }
}

/// How the client's side of a stream ended.
enum InputEnd {
    /// The client half-closed (or its connection failed).
    Eof,
    /// The client typed the detach sequence.
    Detached,
}

/// Copies client bytes to the shim until the client half-closes or detaches, then half-closes
/// the shim stream so the process's stdin ends (StdinOnce). With `detach`, the bytes are
/// scanned for that sequence (TTY streams only, as Docker does); otherwise they pass unchanged.
async fn pump_input<R, W>(client: &mut R, shim: &mut W, detach: Option<Vec<u8>>) -> InputEnd
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut scanner = detach.map(DetachScanner::new);
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = match client.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let forwarded = match scanner.as_mut() {
            None => shim.write_all(&buf[..n]).await,
            Some(scanner) => {
                let (forward, detached) = scanner.feed(&buf[..n]);
                if detached {
                    let _ = shim.write_all(&forward).await;
                    return InputEnd::Detached;
                }
                shim.write_all(&forward).await
            }
        };
        if forwarded.is_err() {
            // The process's stdin is gone; what the client still sends is dropped.
            return InputEnd::Eof;
        }
    }
    if let Some(mut scanner) = scanner {
        let _ = shim.write_all(&scanner.finish()).await;
    }
    let _ = shim.shutdown().await;
    InputEnd::Eof
}

/// Pumps a client connection to and from a shim stream until the process's output ends (or
/// the client detaches), then awaits `before_close` and closes the client's side. `detach`
/// is the detach sequence to watch for, on TTY streams only.
///
/// The connection is closed only after the client closed its side: closing a socket with
/// unread bytes resets it, and the client would read "connection reset by peer" in place of
/// the end of the output. So whatever the client still sends (stdin the process did not
/// read, or any bytes at all without `stdin`) is read and dropped.
pub async fn bridge<C, F>(
    client: C,
    shim: ShimStream,
    stdin: bool,
    detach: Option<Vec<u8>>,
    before_close: F,
) where
    C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: Future<Output = ()>,
{
    let (mut client_rd, mut client_wr) = tokio::io::split(client);
    let (mut shim_rd, mut shim_wr) = tokio::io::split(shim);
    let detached = {
        let output = async {
            let _ = tokio::io::copy(&mut shim_rd, &mut client_wr).await;
            before_close.await;
            let _ = client_wr.flush().await;
            let _ = client_wr.shutdown().await;
        };
        let input = async {
            if stdin {
                if let InputEnd::Detached = pump_input(&mut client_rd, &mut shim_wr, detach).await {
                    return InputEnd::Detached;
                }
            }
            drain(&mut client_rd).await;
            InputEnd::Eof
        };
        tokio::pin!(output, input);
        tokio::select! {
            () = &mut output => false,
            end = &mut input => match end {
                InputEnd::Detached => true,
                InputEnd::Eof => {
                    output.await;
                    false
                }
            },
        }
    };
    // Output is done: nothing more goes to the process, the rest of the client's bytes are
    // dropped until it closes.
    if !detached {
        drain(&mut client_rd).await;
    }
}

/// Reads and drops bytes until the end of the stream.
async fn drain<R: AsyncRead + Unpin>(rd: &mut R) {
    let _ = tokio::io::copy(rd, &mut tokio::io::sink()).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api::detach_keys::DEFAULT_DETACH_KEYS;

    #[test]
    fn detach_sequence_is_found_across_reads() {
        let mut s = DetachScanner::new(DEFAULT_DETACH_KEYS.to_vec());
        assert_eq!(s.feed(b"ab"), (b"ab".to_vec(), false));
        assert_eq!(s.feed(&[0x10]), (vec![], false));
        assert_eq!(s.feed(&[0x11, b'x']), (vec![], true));
        let mut s = DetachScanner::new(DEFAULT_DETACH_KEYS.to_vec());
        assert_eq!(s.feed(&[0x10, b'z']), (vec![0x10, b'z'], false));
        // A partial match at the end of input is released.
        assert_eq!(s.feed(b"y\x10"), (b"y".to_vec(), false));
        assert_eq!(s.finish(), vec![0x10]);
        assert_eq!(s.finish(), Vec::<u8>::new());
    }

    #[test]
    fn detach_keys_parse() {
        assert_eq!(parse_detach_keys("").unwrap(), vec![0x10, 0x11]);
        assert_eq!(parse_detach_keys("ctrl-a,x").unwrap(), vec![1, b'x']);
        assert!(parse_detach_keys("ctrl-1").is_err());
        assert!(parse_detach_keys("abc").is_err());
        // Docker's parser ignores case.
        assert_eq!(parse_detach_keys("CTRL-A").unwrap(), vec![1]);
    }
}
