//! Writing to a client of the shim's socket: the JSON response line, then framed output.

use crate::output::{frame_header, Chunk};
use berth_shim_protocol::Response;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Writes one response line.
pub async fn respond<W: AsyncWrite + Unpin>(w: &mut W, resp: &Response) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(resp)?;
    line.push(b'\n');
    w.write_all(&line).await
}

/// An error response with `message`.
pub fn error(message: impl Into<String>) -> Response {
    Response::Error {
        message: message.into(),
    }
}

/// Sends output chunks to a client: framed without a tty, raw with one.
pub async fn forward<W: AsyncWrite + Unpin>(mut rx: mpsc::Receiver<Chunk>, wr: &mut W, tty: bool) {
    let mut buf = Vec::new();
    while let Some((stream, data)) = rx.recv().await {
        buf.clear();
        if !tty {
            buf.extend_from_slice(&frame_header(stream, data.len()));
        }
        buf.extend_from_slice(&data);
        if wr.write_all(&buf).await.is_err() {
            return;
        }
    }
}
