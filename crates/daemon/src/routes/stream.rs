//! Hijacked connections (attach, exec start) and the byte pumps between a client and a shim.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use berth_engine::container::ShimStream;
use hyper_util::rt::TokioIo;
use std::future::Future;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Docker's default detach sequence: ctrl-p, ctrl-q.
pub const DEFAULT_DETACH_KEYS: &[u8] = &[0x10, 0x11];

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

/// Parses `detachKeys` (`ctrl-p,ctrl-q`, `a`, `ctrl-@`...) into bytes.
pub fn parse_detach_keys(spec: &str) -> Result<Vec<u8>, String> {
    if spec.is_empty() {
        return Ok(DEFAULT_DETACH_KEYS.to_vec());
    }
    spec.split(',')
        .map(|k| {
            if let Some(c) = k.strip_prefix("ctrl-") {
                let c = c.as_bytes();
                match c {
                    [b'@'] => Ok(0),
                    [x @ b'a'..=b'z'] => Ok(x - b'a' + 1),
                    [b'['] => Ok(27),
                    [b'\\'] => Ok(28),
                    [b']'] => Ok(29),
                    [b'^'] => Ok(30),
                    [b'_'] => Ok(31),
                    _ => Err(format!("Unknown character: '{k}'")),
                }
            } else if k.len() == 1 {
                Ok(k.as_bytes()[0])
            } else {
                Err(format!("Unknown character: '{k}'"))
            }
        })
        .collect()
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
}

/// Pumps a client connection to and from a shim stream until the process's output ends (or
/// the client detaches), then awaits `before_close` and closes the client's side. Without
/// `stdin`, client bytes are read and dropped so a half-close never ends the stream early.
pub async fn bridge<C, F>(
    client: C,
    shim: ShimStream,
    stdin: bool,
    detach_keys: Vec<u8>,
    before_close: F,
) where
    C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: Future<Output = ()>,
{
    let (mut client_rd, mut client_wr) = tokio::io::split(client);
    let (mut shim_rd, mut shim_wr) = tokio::io::split(shim);
    let output = async {
        let _ = tokio::io::copy(&mut shim_rd, &mut client_wr).await;
        before_close.await;
        let _ = client_wr.flush().await;
        let _ = client_wr.shutdown().await;
    };
    let input = async {
        let mut scanner = DetachScanner::new(detach_keys);
        let mut buf = vec![0u8; 8192];
        loop {
            let n = match client_rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if !stdin {
                continue;
            }
            let (forward, detached) = scanner.feed(&buf[..n]);
            if !forward.is_empty() && shim_wr.write_all(&forward).await.is_err() {
                break;
            }
            if detached {
                return true;
            }
        }
        // Client closed its write side: the process's stdin ends (StdinOnce).
        let _ = shim_wr.shutdown().await;
        // Keep the task alive so output keeps flowing after a half-close.
        std::future::pending::<()>().await;
        false
    };
    tokio::select! {
        _ = output => {}
        _ = input => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_sequence_is_found_across_reads() {
        let mut s = DetachScanner::new(DEFAULT_DETACH_KEYS.to_vec());
        assert_eq!(s.feed(b"ab"), (b"ab".to_vec(), false));
        assert_eq!(s.feed(&[0x10]), (vec![], false));
        assert_eq!(s.feed(&[0x11, b'x']), (vec![], true));
        let mut s = DetachScanner::new(DEFAULT_DETACH_KEYS.to_vec());
        assert_eq!(s.feed(&[0x10, b'z']), (vec![0x10, b'z'], false));
    }

    #[test]
    fn detach_keys_parse() {
        assert_eq!(parse_detach_keys("").unwrap(), vec![0x10, 0x11]);
        assert_eq!(parse_detach_keys("ctrl-a,x").unwrap(), vec![1, b'x']);
        assert!(parse_detach_keys("ctrl-1").is_err());
        assert!(parse_detach_keys("abc").is_err());
    }
}
