//! Docker's `json-file` log format: one JSON object per output line.

use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// RFC 3339 with nanoseconds in UTC, the way Docker stamps log lines and exit times.
pub fn now_rfc3339_nanos() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.9fZ")
        .to_string()
}

#[derive(Serialize)]
struct Record<'a> {
    log: &'a str,
    stream: &'a str,
    time: &'a str,
}

/// Encodes one chunk of output as json-file records: one per line (the newline stays in the
/// record, as Docker keeps it), plus one for a trailing partial line.
pub fn encode_chunk(chunk: &[u8], stream: &str, time: &str, out: &mut Vec<u8>) {
    for line in chunk.split_inclusive(|&b| b == b'\n') {
        let text = String::from_utf8_lossy(line);
        let rec = Record {
            log: &text,
            stream,
            time,
        };
        // Serializing a struct of strings into a Vec cannot fail.
        if serde_json::to_writer(&mut *out, &rec).is_ok() {
            out.push(b'\n');
        }
    }
}

/// Appends records to the container's log file.
pub struct LogWriter {
    file: File,
    buf: Vec<u8>,
}

impl LogWriter {
    /// Opens (creating) the log with Docker's mode, 0640, whatever the umask.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o640)
            .open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o640))?;
        Ok(Self {
            file,
            buf: Vec::new(),
        })
    }

    /// Writes one chunk. A local append is quick, so a plain blocking write is fine here
    /// (the shim has one thread and must not spawn blocking helpers).
    pub fn write_chunk(&mut self, chunk: &[u8], stream: &str) -> io::Result<()> {
        self.buf.clear();
        encode_chunk(chunk, stream, &now_rfc3339_nanos(), &mut self.buf);
        self.file.write_all(&self.buf)?;
        if self.buf.capacity() > 64 * 1024 {
            // Don't keep a large buffer around after a burst.
            self.buf = Vec::new();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(chunk: &[u8]) -> String {
        let mut out = Vec::new();
        encode_chunk(chunk, "stdout", "T", &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn splits_lines_and_keeps_partial() {
        assert_eq!(
            enc(b"a\nb\nc"),
            "{\"log\":\"a\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n\
             {\"log\":\"b\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n\
             {\"log\":\"c\",\"stream\":\"stdout\",\"time\":\"T\"}\n"
        );
        assert_eq!(enc(b""), "");
    }

    #[test]
    fn escapes_and_lossy_utf8() {
        assert_eq!(
            enc(b"q\"\t\xff\n"),
            "{\"log\":\"q\\\"\\t\u{fffd}\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n"
        );
    }

    #[test]
    fn time_format() {
        let t = now_rfc3339_nanos();
        assert_eq!(t.len(), "2026-11-23T15:51:14.123456789Z".len());
        assert!(t.ends_with('Z'));
        assert!(chrono::DateTime::parse_from_rfc3339(&t).is_ok());
    }
}
