//! Docker's json-file format: `{"log":"...","stream":"stdout","time":"..."}` per line, with
//! `"attrs"` when the daemon gave some. Encoded byte for byte as moby's `jsonlog` does
//! (`<`, `>`, `&` escaped, invalid UTF-8 as U+FFFD).

use crate::record::{parse_rfc3339, write_rfc3339_nano, Entry, Record, Stream};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Appends one record as a JSON line (with its `\n`).
pub fn encode(rec: &Entry<'_>, attrs: &BTreeMap<String, String>, out: &mut Vec<u8>) {
    out.push(b'{');
    if !rec.line.is_empty() {
        out.extend_from_slice(b"\"log\":");
        write_string(out, rec.line);
        out.push(b',');
    }
    out.extend_from_slice(b"\"stream\":\"");
    out.extend_from_slice(rec.stream.name().as_bytes());
    out.extend_from_slice(b"\",");
    if !attrs.is_empty() {
        out.extend_from_slice(b"\"attrs\":{");
        for (i, (k, v)) in attrs.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_string(out, k.as_bytes());
            out.push(b':');
            write_string(out, v.as_bytes());
        }
        out.extend_from_slice(b"},");
    }
    out.extend_from_slice(b"\"time\":\"");
    write_rfc3339_nano(rec.time, out);
    out.extend_from_slice(b"\"}\n");
}

/// A JSON string as moby's `ffjsonWriteJSONBytesAsString` writes it.
fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\u{2028}' => out.extend_from_slice(b"\\u2028"),
                '\u{2029}' => out.extend_from_slice(b"\\u2029"),
                c if (c as u32) < 0x20 || c == '<' || c == '>' || c == '&' => {
                    let b = c as u8;
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        if !chunk.invalid().is_empty() {
            out.extend_from_slice(b"\\ufffd");
        }
    }
    out.push(b'"');
}

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    log: String,
    #[serde(default)]
    stream: String,
    time: String,
}

/// Parses one line of a json-file log; `None` for a line that is not a record.
pub fn decode(line: &[u8]) -> Option<Record> {
    let l: Line = serde_json::from_slice(line).ok()?;
    Some(Record {
        stream: if l.stream == "stderr" {
            Stream::Stderr
        } else {
            Stream::Stdout
        },
        line: l.log.into_bytes(),
        time: parse_rfc3339(&l.time).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(line: &[u8]) -> String {
        let mut out = Vec::new();
        let rec = Record {
            stream: Stream::Stdout,
            line: line.to_vec(),
            time: 1_500_000_000,
        };
        encode(&rec.entry(), &BTreeMap::new(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn dockers_bytes() {
        assert_eq!(
            enc(b"hi\n"),
            "{\"log\":\"hi\\n\",\"stream\":\"stdout\",\"time\":\"1970-01-01T00:00:01.5Z\"}\n"
        );
        assert_eq!(
            enc(b"<a&b>\t\"\\\r\xff\xe2\x80\xa8"),
            "{\"log\":\"\\u003ca\\u0026b\\u003e\\u0009\\\"\\\\\\r\\ufffd\\u2028\",\"stream\":\"stdout\",\"time\":\"1970-01-01T00:00:01.5Z\"}\n"
        );
        assert_eq!(
            enc(b"h\xc3\xa9"),
            "{\"log\":\"h\u{e9}\",\"stream\":\"stdout\",\"time\":\"1970-01-01T00:00:01.5Z\"}\n"
        );
    }

    #[test]
    fn attrs_and_round_trip() {
        let rec = Record {
            stream: Stream::Stderr,
            line: b"x\n".to_vec(),
            time: 1_764_000_000_123_456_789,
        };
        let attrs = BTreeMap::from([("tag".to_string(), "web".to_string())]);
        let mut out = Vec::new();
        encode(&rec.entry(), &attrs, &mut out);
        assert!(String::from_utf8_lossy(&out).contains("\"attrs\":{\"tag\":\"web\"}"));
        assert_eq!(decode(&out), Some(rec));
        assert_eq!(decode(b"garbage"), None);
    }
}
