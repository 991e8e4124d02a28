//! Writing an OCI bundle's `config.json`.

use oci_spec::runtime::Spec;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Writes `dir/config.json` atomically: a temp file in the same directory is
/// written, fsynced and renamed over the old one, so a crash never leaves a
/// half-written spec behind.
pub fn write_bundle(dir: &Path, spec: &Spec) -> io::Result<()> {
    let json = serde_json::to_vec_pretty(spec).map_err(io::Error::other)?;
    let tmp = dir.join(".config.json.tmp");
    let final_path = dir.join("config.json");
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&json)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, &final_path)?;
    // Make the rename itself durable.
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let spec = crate::spec::build_spec(&crate::spec::SpecInput::default()).unwrap();
        write_bundle(dir.path(), &spec).unwrap();
        write_bundle(dir.path(), &spec).unwrap();
        let back = Spec::load(dir.path().join("config.json")).unwrap();
        assert_eq!(back, spec);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("config.json")]);
    }
}
