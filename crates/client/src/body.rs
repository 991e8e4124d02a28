//! Request bodies: empty, JSON, or streamed from a reader (image import).

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full, StreamBody};
use hyper::body::Frame;
use tokio::io::{AsyncRead, AsyncReadExt};

/// A request body.
pub type Body = BoxBody<Bytes, std::io::Error>;

pub fn empty_body() -> Body {
    Empty::<Bytes>::new().map_err(|e| match e {}).boxed()
}

/// `value` as JSON with a trailing newline, as Go's `json.Encoder` writes it.
pub fn json_body(value: &impl serde::Serialize) -> Body {
    Full::new(Bytes::from(json_bytes(value)))
        .map_err(|e| match e {})
        .boxed()
}

pub(crate) fn json_bytes(value: &impl serde::Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// A body of chunks from a stream (sent chunked).
pub fn stream_body<S>(s: S) -> Body
where
    S: Stream<Item = std::io::Result<Bytes>> + Send + Sync + 'static,
{
    BodyExt::boxed(StreamBody::new(s.map_ok(Frame::data)))
}

/// Streams a reader as a body in 32 KiB chunks.
pub fn reader_body<R>(reader: R) -> Body
where
    R: AsyncRead + Send + Sync + Unpin + 'static,
{
    stream_body(futures_util::stream::unfold(reader, |mut r| async move {
        let mut buf = vec![0u8; 32 * 1024];
        match r.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), r))
            }
            Err(e) => Some((Err(e), r)),
        }
    }))
}
