//! berth's `local` format: compact binary entries. Not Docker's protobuf encoding (no other
//! tool reads these files); documented in docs/logging.md:
//!
//! ```text
//! u32 BE length N | u8 version (1) | u8 stream (1, 2) | i64 BE time (ns) | line (N - 10 bytes) | u32 BE length N
//! ```
//!
//! The length is repeated after the entry so a reader can walk a file backwards.

use crate::record::{Entry, Record, Stream};

const VERSION: u8 = 1;
const HEADER: usize = 1 + 1 + 8;

/// Appends one entry.
pub fn encode(rec: &Entry<'_>, out: &mut Vec<u8>) {
    let len = u32::try_from(HEADER + rec.line.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.push(VERSION);
    out.push(rec.stream.id());
    out.extend_from_slice(&rec.time.to_be_bytes());
    out.extend_from_slice(rec.line);
    out.extend_from_slice(&len.to_be_bytes());
}

/// Decodes the entry at the start of `buf`: the record and the bytes it took, or `None` if
/// `buf` does not hold a whole entry yet (or holds garbage: `Some(Err(skip))`).
pub fn decode(buf: &[u8]) -> Option<Result<(Record, usize), usize>> {
    let len = u32::from_be_bytes(buf.get(..4)?.try_into().ok()?) as usize;
    let total = 4 + len + 4;
    if buf.len() < total {
        return None;
    }
    let body = &buf[4..4 + len];
    if len < HEADER || body[0] != VERSION || buf[4 + len..total] != buf[..4] {
        return Some(Err(total));
    }
    let time = i64::from_be_bytes(body[2..10].try_into().ok()?);
    Some(Ok((
        Record {
            stream: Stream::from_id(body[1]),
            line: body[HEADER..].to_vec(),
            time,
        },
        total,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_partial_input() {
        let rec = Record {
            stream: Stream::Stderr,
            line: b"bytes \xff\n".to_vec(),
            time: -5,
        };
        let mut out = Vec::new();
        encode(&rec.entry(), &mut out);
        encode(&rec.entry(), &mut out);
        let (r, n) = decode(&out).unwrap().unwrap();
        assert_eq!(r, rec);
        assert_eq!(n * 2, out.len());
        assert!(decode(&out[..n - 1]).is_none());
        assert!(decode(&[]).is_none());
    }
}
