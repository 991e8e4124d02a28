//! Writing an OCI bundle's `config.json`.

use oci_spec::runtime::Spec;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Writes `dir/config.json` atomically: a temp file in the same directory is written and
/// renamed over the old one, so no reader ever sees half a spec. No fsync: the bundle is
/// written again at every start, and nothing reads it after the host went down. Only root
/// may read it: it holds the container's environment.
pub fn write_bundle(dir: &Path, spec: &Spec) -> io::Result<()> {
    let json = serde_json::to_vec(spec).map_err(io::Error::other)?;
    let tmp = dir.join(".config.json.tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    // A temp file a crash left keeps its old mode through open.
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    f.write_all(&json)?;
    fs::rename(&tmp, dir.join("config.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let spec = crate::build_spec(&crate::SpecInput::default()).unwrap();
        write_bundle(dir.path(), &spec).unwrap();
        write_bundle(dir.path(), &spec).unwrap();
        let back = Spec::load(dir.path().join("config.json")).unwrap();
        assert_eq!(back, spec);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("config.json")]);
        let mode = fs::metadata(dir.path().join("config.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
