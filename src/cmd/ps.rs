//! `ps`: each running session's command and its last lines of output, as
//! plain text (Codex's `/ps`, in any shell).

use std::io::{self, Write};
use std::process::ExitCode;

use super::Ctx;
use crate::cli::PsArgs;
use crate::error::{Result, stdout_error};
use crate::fmt;
use crate::logs::last_lines;
use crate::store::Session;

pub fn run(a: PsArgs, ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store()?;
    let running: Vec<Session> = store
        .sessions()?
        .into_iter()
        .filter(Session::is_running)
        .collect();
    let mut out = io::BufWriter::new(io::stdout().lock());
    for (i, s) in running.iter().enumerate() {
        if i > 0 {
            writeln!(out).map_err(stdout_error)?;
        }
        let since = s.meta.started.as_deref().unwrap_or(&s.meta.created);
        writeln!(
            out,
            "{}  (pid {}, started {})  {}",
            s.name,
            s.meta.pid.map_or("-".into(), |p| p.to_string()),
            fmt::ago(since),
            s.meta.display_command()
        )
        .map_err(stdout_error)?;
        let lines = last_lines(&s.dir, a.lines).unwrap_or_default();
        for l in lines {
            writeln!(out, "    {l}").map_err(stdout_error)?;
        }
    }
    out.flush().map_err(stdout_error)?;
    Ok(ExitCode::SUCCESS)
}
