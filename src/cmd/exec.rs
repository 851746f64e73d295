//! `exec`: the configured agent command with a prompt, in a background
//! session labelled with the prompt, in pipe mode unless `--tty` (its answer
//! on stdout, its progress on stderr): the arguments of a `run --bg`, which
//! `cmd::run` hands to the `run` verb.

use super::Ctx;
use crate::cli::{ExecArgs, RunArgs};

pub fn run_args(a: ExecArgs, ctx: &Ctx) -> RunArgs {
    let mut command = ctx.config.agent_command.clone();
    command.push(a.prompt.clone());
    let first = a.prompt.lines().next().unwrap_or("");
    let label = if first.chars().count() > 60 || a.prompt.contains('\n') {
        format!("{}…", first.chars().take(60).collect::<String>())
    } else {
        first.to_string()
    };
    RunArgs {
        bg: true,
        name: a.name,
        cwd: a.cwd,
        env: Vec::new(),
        label: Some(label),
        size: "80x24".into(),
        detach_key: None,
        idle_timeout: None,
        ttl: None,
        if_absent: false,
        replace: false,
        wait_idle: None,
        shell: None,
        no_shell_integration: false,
        pipe: !a.tty,
        // A prompt is a job: run once, whatever the configured policy.
        restart: Some("no".into()),
        restart_delay: None,
        max_restarts: None,
        restart_marker: false,
        command,
        agent: true,
    }
}
