//! Streamed answers: raw chunks (logs), and JSON values one after another (events, stats,
//! progress messages).

use std::marker::PhantomData;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// A response body read chunk by chunk.
pub struct ByteStream {
    body: Incoming,
}

impl ByteStream {
    pub(crate) fn new(body: Incoming) -> Self {
        Self { body }
    }

    /// The next chunk; `None` at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        loop {
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(Error::Transport(e.to_string())),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// Everything that is left.
    pub async fn collect(self) -> Result<Bytes> {
        self.body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .map_err(|e| Error::Transport(e.to_string()))
    }
}

/// JSON values read one after another from a body, as Go's `json.Decoder` reads them:
/// usually one per line, but any whitespace (or none) may separate them.
pub struct JsonStream<T> {
    body: ByteStream,
    buf: Vec<u8>,
    done: bool,
    _item: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> JsonStream<T> {
    pub(crate) fn new(body: Incoming) -> Self {
        Self {
            body: ByteStream::new(body),
            buf: Vec::new(),
            done: false,
            _item: PhantomData,
        }
    }

    /// The next value; `None` at the end of the stream.
    pub async fn next(&mut self) -> Result<Option<T>> {
        loop {
            let start = self
                .buf
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(self.buf.len());
            self.buf.drain(..start);
            if !self.buf.is_empty() {
                let mut values = serde_json::Deserializer::from_slice(&self.buf).into_iter::<T>();
                match values.next() {
                    Some(Ok(v)) => {
                        let used = values.byte_offset();
                        self.buf.drain(..used);
                        return Ok(Some(v));
                    }
                    Some(Err(e)) if !e.is_eof() || self.done => return Err(Error::Decode(e)),
                    _ => {}
                }
            }
            if self.done {
                return Ok(None);
            }
            match self.body.next_chunk().await? {
                Some(b) => self.buf.extend_from_slice(&b),
                None => self.done = true,
            }
        }
    }
}
