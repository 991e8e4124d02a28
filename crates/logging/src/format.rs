//! The two on-disk formats behind one pair of functions, and where each driver keeps its file.

use crate::config::Driver;
use crate::record::{Entry, Record};
use crate::{jsonfile, local};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    JsonFile,
    Local,
}

impl Format {
    pub fn of(driver: Driver) -> Option<Self> {
        match driver {
            Driver::JsonFile => Some(Format::JsonFile),
            Driver::Local => Some(Format::Local),
            Driver::None => None,
        }
    }

    pub fn encode(self, rec: &Entry<'_>, attrs: &BTreeMap<String, String>, out: &mut Vec<u8>) {
        match self {
            Format::JsonFile => jsonfile::encode(rec, attrs, out),
            Format::Local => local::encode(rec, out),
        }
    }

    /// Decodes the whole entries at the start of `buf`, returning them and the bytes they
    /// took; an incomplete entry at the end is left for the next call. Entries that do not
    /// decode are skipped.
    pub fn decode_all(self, buf: &[u8], out: &mut Vec<Record>) -> usize {
        let mut used = 0;
        match self {
            Format::JsonFile => {
                while let Some(nl) = buf[used..].iter().position(|&b| b == b'\n') {
                    out.extend(jsonfile::decode(&buf[used..used + nl]));
                    used += nl + 1;
                }
            }
            Format::Local => {
                while let Some(entry) = local::decode(&buf[used..]) {
                    match entry {
                        Ok((rec, n)) => {
                            out.push(rec);
                            used += n;
                        }
                        Err(skip) => used += skip,
                    }
                }
            }
        }
        used
    }
}

/// Where a driver keeps a container's log, given the json-file path `<dir>/<id>-json.log`
/// (Docker's layout): json-file there, local in `<dir>/local-logs/container.log`; none has none.
pub fn log_path(driver: Driver, json_path: &Path) -> Option<PathBuf> {
    match driver {
        Driver::JsonFile => Some(json_path.to_path_buf()),
        Driver::Local => Some(
            json_path
                .parent()
                .unwrap_or(Path::new("."))
                .join("local-logs")
                .join("container.log"),
        ),
        Driver::None => None,
    }
}
