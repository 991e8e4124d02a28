//! Exec instances.

use berth_api::exec as api;
use berth_engine::model::{ExecDetails, ExecSpec, ExecStart};

pub fn spec(c: api::ExecConfig) -> ExecSpec {
    ExecSpec {
        user: c.user,
        privileged: c.privileged,
        tty: c.tty,
        console_size: c.console_size,
        attach_stdin: c.attach_stdin,
        attach_stdout: c.attach_stdout,
        attach_stderr: c.attach_stderr,
        detach_keys: c.detach_keys,
        env: c.env,
        working_dir: c.working_dir,
        cmd: c.cmd,
    }
}

pub fn start(c: api::ExecStartConfig) -> ExecStart {
    ExecStart {
        detach: c.detach,
        tty: c.tty,
        console_size: c.console_size,
    }
}

pub fn inspect(d: ExecDetails) -> api::ExecInspect {
    let cmd = d.spec.cmd.clone().unwrap_or_default();
    api::ExecInspect {
        id: d.id,
        running: d.running,
        exit_code: d.exit_code,
        process_config: api::ExecProcessConfig {
            tty: d.spec.tty,
            entrypoint: cmd.first().cloned().unwrap_or_default(),
            arguments: cmd.iter().skip(1).cloned().collect(),
            privileged: d.spec.privileged,
            user: d.spec.user.clone(),
        },
        open_stdin: d.spec.attach_stdin,
        open_stderr: d.spec.attach_stderr,
        open_stdout: d.spec.attach_stdout,
        can_remove: !d.running,
        container_id: d.container_id,
        detach_keys: d.spec.detach_keys,
        pid: d.pid,
    }
}
