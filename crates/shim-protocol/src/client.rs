//! Async client side of the shim protocol, used by the daemon.

use crate::{Request, Response, SOCKET_NAME};
use std::io;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// A handle on one shim's socket. Each call opens its own connection, so calls never block
/// each other (a `Wait` can be pending while a `Kill` goes through).
#[derive(Debug, Clone)]
pub struct ShimClient {
    socket: PathBuf,
}

impl ShimClient {
    pub fn new(state_dir: &Path) -> Self {
        Self {
            socket: state_dir.join(SOCKET_NAME),
        }
    }

    /// Sends one request and reads its one-line response.
    pub async fn call(&self, req: &Request) -> io::Result<Response> {
        let (resp, _) = self.open(req).await?;
        Ok(resp)
    }

    /// Sends one request and returns the response together with the connection, which for
    /// `Attach` and `Exec` carries the stream afterwards. Bytes the shim sent after the response
    /// line are kept in the returned reader's buffer.
    pub async fn open(&self, req: &Request) -> io::Result<(Response, BufReader<UnixStream>)> {
        let mut stream = UnixStream::connect(&self.socket).await?;
        let mut line = serde_json::to_vec(req)?;
        line.push(b'\n');
        stream.write_all(&line).await?;
        let mut reader = BufReader::new(stream);
        let mut resp = String::new();
        if reader.read_line(&mut resp).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "shim closed the connection",
            ));
        }
        let resp: Response = serde_json::from_str(&resp)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok((resp, reader))
    }
}
