//! The OCI `process` for `docker exec`, derived from the container's spec.

use super::UserIds;
use oci_spec::runtime::{Process, Spec, User};
use std::path::PathBuf;

/// Replaces `KEY=...` entries of `base` by those in `extra` and appends new
/// keys, as Docker's `ReplaceOrAppendEnvValues` does. A bare `KEY` in `extra`
/// removes the variable.
fn merge_env(base: &[String], extra: &[String]) -> Vec<String> {
    let key = |e: &str| e.split_once('=').map_or(e, |(k, _)| k).to_string();
    let mut out: Vec<String> = base.to_vec();
    for e in extra {
        let k = key(e);
        let pos = out.iter().position(|b| key(b) == k);
        match (pos, e.contains('=')) {
            (Some(i), true) => out[i] = e.clone(),
            (Some(i), false) => {
                out.remove(i);
            }
            (None, true) => out.push(e.clone()),
            (None, false) => {}
        }
    }
    out
}

/// Builds the process of a `docker exec` into a running container.
///
/// Security settings (capabilities, rlimits, `noNewPrivileges`, AppArmor,
/// SELinux label, OOM score) come from the container's spec `base`; `args`,
/// `env_extra` (applied over the container's env), `cwd` (default: the
/// container's), `user` (default: the container's) and `tty` come from the exec.
pub fn exec_process(
    base: &Spec,
    args: &[String],
    env_extra: &[String],
    cwd: Option<&str>,
    user: Option<&UserIds>,
    tty: bool,
) -> Process {
    let mut p = base.process().clone().unwrap_or_default();
    p.set_args(Some(args.to_vec()));
    p.set_command_line(None);
    let mut env = p.env().clone().unwrap_or_default();
    if tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".to_string());
    }
    p.set_env(Some(merge_env(&env, env_extra)));
    if let Some(cwd) = cwd.filter(|c| !c.is_empty()) {
        p.set_cwd(PathBuf::from(cwd));
    }
    if let Some(u) = user {
        let mut nu = User::default();
        nu.set_uid(u.uid);
        nu.set_gid(u.gid);
        let mut gids = vec![u.gid];
        gids.extend(u.additional_gids.iter().copied().filter(|g| *g != u.gid));
        nu.set_additional_gids(Some(gids));
        p.set_user(nu);
    }
    p.set_terminal(Some(tty));
    p.set_console_size(None);
    // A bundle written by an older berth has no inheritable or ambient set.
    let caps = p
        .capabilities()
        .clone()
        .map(super::build::empty_missing_inherited_caps);
    p.set_capabilities(caps);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{build_spec, SpecInput};

    #[test]
    fn env_merge() {
        let base = vec!["A=1".to_string(), "B=2".to_string()];
        let got = merge_env(&base, &["B=3".into(), "C=4".into(), "A".into()]);
        assert_eq!(got, vec!["B=3".to_string(), "C=4".to_string()]);
    }

    #[test]
    fn exec_keeps_security_overrides_rest() {
        let input = SpecInput {
            rootfs: "/r".into(),
            args: vec!["sleep".into(), "100".into()],
            env: vec!["PATH=/bin".into()],
            cwd: "/srv".into(),
            no_new_privileges: true,
            cap_add: vec!["NET_ADMIN".into()],
            ..Default::default()
        };
        let spec = build_spec(&input).unwrap();
        let user = UserIds {
            uid: 1000,
            gid: 1000,
            additional_gids: vec![10],
        };
        let p = exec_process(
            &spec,
            &["sh".to_string()],
            &["X=1".to_string()],
            None,
            Some(&user),
            true,
        );
        assert_eq!(p.args().clone().unwrap(), vec!["sh".to_string()]);
        assert_eq!(
            p.env().clone().unwrap(),
            vec!["PATH=/bin".to_string(), "TERM=xterm".into(), "X=1".into()]
        );
        assert_eq!(p.cwd(), &PathBuf::from("/srv"));
        assert_eq!(p.user().uid(), 1000);
        assert_eq!(p.user().additional_gids().clone().unwrap(), vec![1000, 10]);
        assert_eq!(p.terminal(), Some(true));
        assert_eq!(p.no_new_privileges(), Some(true));
        assert_eq!(
            p.capabilities()
                .as_ref()
                .unwrap()
                .bounding()
                .as_ref()
                .unwrap()
                .len(),
            15
        );
    }

    #[test]
    fn exec_of_an_old_bundle_gets_empty_inherited_sets() {
        let mut spec = build_spec(&SpecInput::default()).unwrap();
        let mut process = spec.process().clone().unwrap();
        let mut caps = process.capabilities().clone().unwrap();
        caps.set_inheritable(None);
        caps.set_ambient(None);
        process.set_capabilities(Some(caps));
        spec.set_process(Some(process));
        let p = exec_process(&spec, &["sh".to_string()], &[], None, None, false);
        let caps = p.capabilities().clone().unwrap();
        assert_eq!(caps.inheritable().as_ref().map(|s| s.len()), Some(0));
        assert_eq!(caps.ambient().as_ref().map(|s| s.len()), Some(0));
    }
}
