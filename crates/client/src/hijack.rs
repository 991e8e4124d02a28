//! Hijacked connections (attach, exec start): docker's `Connection: Upgrade` /
//! `Upgrade: tcp` request, after whose `101` the socket is a raw byte pipe both ways.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::body::json_bytes;
use crate::client::Client;
use crate::error::{ApiError, Error, Result};
use crate::host::Io;
use crate::query::Query;

/// A hijacked connection: the raw stream plus any bytes read past the response head.
pub struct Hijacked {
    pub stream: Box<dyn Io>,
    pub buffered: Vec<u8>,
}

impl Client {
    /// `POST path` with an optional JSON body, taking the connection over.
    pub async fn hijack<B: serde::Serialize>(
        &self,
        path: &str,
        query: &Query,
        body: Option<&B>,
    ) -> Result<Hijacked> {
        let uri = self.url(path, query);
        let (payload, content_type) = match body {
            Some(b) => (json_bytes(b), "application/json"),
            None => (Vec::new(), "text/plain"),
        };
        let mut stream = self.open().await?;
        let head = format!(
            "POST {uri} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\n\
             Content-Length: {}\r\nConnection: Upgrade\r\nContent-Type: {content_type}\r\n\
             Upgrade: tcp\r\n\r\n",
            self.host_header(),
            concat!("berth-cli/", env!("CARGO_PKG_VERSION"), " (linux)"),
            payload.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&payload).await?;
        stream.flush().await?;

        let mut buf = Vec::with_capacity(1024);
        let head_end = loop {
            if let Some(pos) = find(&buf, b"\r\n\r\n") {
                break pos + 4;
            }
            if buf.len() > 64 * 1024 {
                return Err(Error::Protocol(
                    "daemon sent an oversized response head".into(),
                ));
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(Error::Protocol(format!(
                    "daemon closed the connection before answering {uri}"
                )));
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let status = parse_status(&head)?;
        let rest = buf[head_end..].to_vec();
        // Some daemons answer 200 and stream without upgrading.
        if status == 101 || status == 200 {
            return Ok(Hijacked {
                stream,
                buffered: rest,
            });
        }
        let body = read_error_body(&head, rest, &mut stream).await;
        Err(ApiError::from_body(status, &body).into())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_status(head: &str) -> Result<u16> {
    let line = head.lines().next().unwrap_or_default();
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::Protocol(format!("malformed response from daemon: {line:?}")))
}

fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Reads the body of a non-101 answer (Content-Length, chunked, or up to EOF).
async fn read_error_body(head: &str, mut buf: Vec<u8>, stream: &mut Box<dyn Io>) -> Vec<u8> {
    let len = header_value(head, "content-length").and_then(|v| v.parse::<usize>().ok());
    let chunked =
        header_value(head, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(n) = len {
            if buf.len() >= n {
                buf.truncate(n);
                return buf;
            }
        } else if chunked {
            if let Some(body) = dechunk(&buf) {
                return body;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    if chunked {
        return dechunk_partial(&buf);
    }
    buf
}

/// Decodes a complete chunked body; `None` until the final zero-size chunk has arrived.
fn dechunk(buf: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let line_end = find(&buf[pos..], b"\r\n")? + pos;
        let size_str = String::from_utf8_lossy(&buf[pos..line_end]);
        let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
        let start = line_end + 2;
        if size == 0 {
            return Some(out);
        }
        if buf.len() < start + size + 2 {
            return None;
        }
        out.extend_from_slice(&buf[start..start + size]);
        pos = start + size + 2;
    }
}

/// What a connection closed mid-body held of a chunked body.
fn dechunk_partial(buf: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(rel) = find(&buf[pos..], b"\r\n") {
        let line_end = pos + rel;
        let Ok(size) =
            usize::from_str_radix(String::from_utf8_lossy(&buf[pos..line_end]).trim(), 16)
        else {
            break;
        };
        let start = line_end + 2;
        if size == 0 || start >= buf.len() {
            break;
        }
        let end = (start + size).min(buf.len());
        out.extend_from_slice(&buf[start..end]);
        pos = end + 2;
        if pos >= buf.len() {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dechunking() {
        let raw = b"1e\r\n{\"Error\":null,\"StatusCode\":0}\n\r\n0\r\n\r\n";
        assert_eq!(
            dechunk(raw).unwrap(),
            b"{\"Error\":null,\"StatusCode\":0}\n".to_vec()
        );
        assert!(dechunk(b"5\r\nab").is_none());
        assert_eq!(dechunk_partial(b"5\r\nab"), b"ab".to_vec());
    }

    #[test]
    fn status_lines() {
        assert_eq!(parse_status("HTTP/1.1 101 UPGRADED\r\n").unwrap(), 101);
        assert!(parse_status("garbage").is_err());
    }
}
