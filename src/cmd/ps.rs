//! `ps`: each running session's command and its last lines of output, as
//! plain text (Codex's `/ps`, in any shell), sanitized and cut to the
//! terminal's width; `--json` for scripts, `-q` for names.

use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

use super::Ctx;
use crate::cli::PsArgs;
use crate::error::{Result, stdout_error};
use crate::fmt;
use crate::logs::last_lines;
use crate::store::Entry;
use crate::view::SessionJson;

/// One running session in `ps --json`: `list --json`'s object and its last
/// lines of output as plain text.
#[derive(Serialize)]
struct PsJson {
    #[serde(flatten)]
    session: SessionJson,
    lines: Vec<String>,
}

pub fn run(a: PsArgs, ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store()?;
    let running: Vec<_> = store
        .scan()?
        .into_iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            Entry::Ok(s) if s.is_running() => Some((i, s)),
            _ => None,
        })
        .collect();
    let mut out = io::BufWriter::new(io::stdout().lock());
    if a.json {
        let all: Vec<PsJson> = running
            .iter()
            .map(|(i, s)| PsJson {
                session: SessionJson::from_session(*i, s),
                lines: last_lines(&s.dir, a.lines).unwrap_or_default(),
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &all).map_err(|e| stdout_error(e.into()))?;
        writeln!(out).map_err(stdout_error)?;
        out.flush().map_err(stdout_error)?;
        return Ok(ExitCode::SUCCESS);
    }
    let width = fmt::line_width(a.wide);
    let fit = |line: String| match width {
        Some(w) => fmt::cut(&line, w),
        None => line,
    };
    for (n, (i, s)) in running.iter().enumerate() {
        if ctx.quiet {
            writeln!(out, "{}", s.name).map_err(stdout_error)?;
            continue;
        }
        if n > 0 {
            writeln!(out).map_err(stdout_error)?;
        }
        let since = s.meta.started.as_deref().unwrap_or(&s.meta.created);
        let head = format!(
            "{}  (#{i}, pid {}, up {})  {}",
            s.name,
            s.meta.pid.map_or("-".into(), |p| p.to_string()),
            fmt::age(since),
            fmt::sanitize(s.meta.display_command())
        );
        writeln!(out, "{}", fit(head)).map_err(stdout_error)?;
        for l in last_lines(&s.dir, a.lines).unwrap_or_default() {
            writeln!(out, "{}", fit(format!("    {}", fmt::sanitize(&l)))).map_err(stdout_error)?;
        }
    }
    out.flush().map_err(stdout_error)?;
    Ok(ExitCode::SUCCESS)
}
