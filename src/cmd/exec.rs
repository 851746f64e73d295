//! `exec`: the configured agent command with a prompt, in a background
//! session labelled with the prompt.

use std::process::ExitCode;

use super::Ctx;
use crate::cli::{ExecArgs, RunArgs};
use crate::error::Result;

pub fn run(a: ExecArgs, ctx: &Ctx) -> Result<ExitCode> {
    let mut command = ctx.config.agent_command.clone();
    command.push(a.prompt.clone());
    let first = a.prompt.lines().next().unwrap_or("");
    let label = if first.chars().count() > 60 || a.prompt.contains('\n') {
        format!("{}…", first.chars().take(60).collect::<String>())
    } else {
        first.to_string()
    };
    super::run::run(
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
            command,
        },
        ctx,
    )
}
