//! What the shim writes a container's output through: cuts it into entries as Docker's log
//! copier does, and hands them to the driver's rotating file.
//!
//! A line is an entry once its `\n` arrives. A line longer than [`MAX_LINE`] is written in
//! pieces of that size without `\n` (Docker's partial messages); what is left without a `\n`
//! when the stream ends is written as it is.

use crate::compress::Compressor;
use crate::config::LogConfig;
use crate::error::{LogError, Result};
use crate::format::{log_path, Format};
use crate::record::{now_nanos, Entry, Stream};
use crate::rotate::RotatingFile;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// Docker's longest log entry (its copier's buffer): longer lines are split.
pub const MAX_LINE: usize = 16 * 1024;

pub struct LogWriter {
    /// `None` for the `none` driver.
    file: Option<(Format, RotatingFile)>,
    attrs: BTreeMap<String, String>,
    /// Per stream (stdout, stderr): the start of a line whose `\n` has not come yet.
    partial: [Vec<u8>; 2],
    entry: Vec<u8>,
    /// The time of the last entry: each entry's is later, so a time identifies an entry
    /// (followers rely on it across rotations).
    last_time: i64,
}

impl LogWriter {
    /// Opens the log `config` asks for; `json_path` is the container's `<id>-json.log`
    /// (other drivers keep their file beside it, see [`log_path`]). `attrs` go into each
    /// json-file entry (Docker's `labels`/`env`/`tag` options, resolved by the daemon).
    pub fn open(
        config: &LogConfig,
        json_path: &Path,
        attrs: BTreeMap<String, String>,
        compressor: Box<dyn Compressor>,
    ) -> Result<Self> {
        let file = match (
            Format::of(config.driver),
            log_path(config.driver, json_path),
        ) {
            (Some(format), Some(path)) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| LogError::io("creating", dir, e))?;
                }
                Some((
                    format,
                    RotatingFile::open(&path, config.rotation, compressor)?,
                ))
            }
            _ => None,
        };
        Ok(Self {
            file,
            attrs,
            partial: [Vec::new(), Vec::new()],
            entry: Vec::new(),
            last_time: 0,
        })
    }

    /// The file being written, if the driver keeps one.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|(_, f)| f.path())
    }

    /// Logs a chunk of a stream's output.
    pub fn write(&mut self, stream: Stream, mut data: &[u8]) -> io::Result<()> {
        if self.file.is_none() {
            return Ok(());
        }
        let now = now_nanos();
        let idx = usize::from(stream == Stream::Stderr);
        while let Some(nl) = data.iter().position(|&b| b == b'\n') {
            let mut line = std::mem::take(&mut self.partial[idx]);
            line.extend_from_slice(&data[..=nl]);
            data = &data[nl + 1..];
            for piece in line.chunks(MAX_LINE) {
                self.emit(stream, piece, now)?;
            }
        }
        self.partial[idx].extend_from_slice(data);
        while self.partial[idx].len() >= MAX_LINE {
            let rest = self.partial[idx].split_off(MAX_LINE);
            let piece = std::mem::replace(&mut self.partial[idx], rest);
            self.emit(stream, &piece, now)?;
        }
        if self.partial[idx].capacity() > 2 * MAX_LINE {
            self.partial[idx].shrink_to(MAX_LINE);
        }
        self.flush()
    }

    /// The stream ended: writes what is left of its last line.
    pub fn close_stream(&mut self, stream: Stream) -> io::Result<()> {
        let idx = usize::from(stream == Stream::Stderr);
        let rest = std::mem::take(&mut self.partial[idx]);
        if !rest.is_empty() {
            self.emit(stream, &rest, now_nanos())?;
        }
        self.flush()
    }

    /// Blocks until a background compression has finished.
    pub fn wait_compression(&mut self) {
        if let Some((_, f)) = &mut self.file {
            f.wait_compression();
        }
    }

    fn emit(&mut self, stream: Stream, line: &[u8], time: i64) -> io::Result<()> {
        let Some((format, file)) = &mut self.file else {
            return Ok(());
        };
        let time = time.max(self.last_time.saturating_add(1));
        self.last_time = time;
        let rec = Entry { stream, line, time };
        self.entry.clear();
        format.encode(&rec, &self.attrs, &mut self.entry);
        let written = file.append(&self.entry, time);
        if self.entry.capacity() > 64 * 1024 {
            // A long line's buffer is not kept for the short ones that follow.
            self.entry = Vec::new();
        }
        written
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some((_, f)) => f.flush(),
            None => Ok(()),
        }
    }
}
