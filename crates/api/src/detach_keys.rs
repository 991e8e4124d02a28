//! The `detachKeys` parameter (and `--detach-keys`): comma-separated keys, each one character
//! or `ctrl-<x>`, case-insensitive, read as moby's `term.ToBytes` reads them.

/// Docker's default detach sequence: ctrl-p, ctrl-q.
pub const DEFAULT_DETACH_KEYS: &[u8] = &[0x10, 0x11];

/// The control characters by name, in code order (`ctrl-@` is 0).
const CTRL: [&str; 32] = [
    "ctrl-@", "ctrl-a", "ctrl-b", "ctrl-c", "ctrl-d", "ctrl-e", "ctrl-f", "ctrl-g", "ctrl-h",
    "ctrl-i", "ctrl-j", "ctrl-k", "ctrl-l", "ctrl-m", "ctrl-n", "ctrl-o", "ctrl-p", "ctrl-q",
    "ctrl-r", "ctrl-s", "ctrl-t", "ctrl-u", "ctrl-v", "ctrl-w", "ctrl-x", "ctrl-y", "ctrl-z",
    "ctrl-[", "ctrl-\\", "ctrl-]", "ctrl-^", "ctrl-_",
];

/// Parses a detach-key sequence into bytes; an empty spec is the default sequence.
pub fn parse_detach_keys(spec: &str) -> Result<Vec<u8>, String> {
    if spec.is_empty() {
        return Ok(DEFAULT_DETACH_KEYS.to_vec());
    }
    spec.split(',').map(parse_key).collect()
}

fn parse_key(key: &str) -> Result<u8, String> {
    if key.len() == 1 {
        return Ok(key.as_bytes()[0]);
    }
    let lower = key.to_ascii_lowercase();
    CTRL.iter()
        .position(|c| *c == lower)
        .map(|code| code as u8)
        .ok_or_else(|| format!("Unknown character: '{key}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_like_docker() {
        assert_eq!(parse_detach_keys("").unwrap(), vec![0x10, 0x11]);
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert_eq!(parse_detach_keys("ctrl-a,x").unwrap(), vec![1, b'x']);
        assert_eq!(parse_detach_keys("CTRL-A,X").unwrap(), vec![1, b'X']);
        assert_eq!(parse_detach_keys("ctrl-@").unwrap(), vec![0]);
        assert_eq!(parse_detach_keys("ctrl-\\").unwrap(), vec![28]);
        assert_eq!(
            parse_detach_keys("ctrl-pp").unwrap_err(),
            "Unknown character: 'ctrl-pp'"
        );
        assert!(parse_detach_keys("ctrl-1").is_err());
        assert!(parse_detach_keys("abc").is_err());
        assert!(parse_detach_keys("a,,b").is_err());
    }
}
