//! `list`: one numbered line per session, oldest first, or `--json` / `-q`.
//! Every cell is sanitized, and each line cut to the terminal's width.

use std::io::{self, Write};
use std::process::ExitCode;

use super::Ctx;
use crate::cli::ListArgs;
use crate::error::{Result, stdout_error};
use crate::fmt;
use crate::store::Entry;
use crate::view::SessionJson;

pub fn run(a: ListArgs, ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store()?;
    ctx.retain(&store);
    // Numbered before filtering: a session keeps its number in every view.
    let entries: Vec<(usize, Entry)> = store
        .scan()?
        .into_iter()
        .enumerate()
        .filter(|(_, e)| {
            let running = matches!(e, Entry::Ok(s) if s.is_running());
            let attention = matches!(e, Entry::Ok(s) if s.live && s.meta.signs.attention.is_some());
            if a.attention && !attention {
                false
            } else if a.running {
                running
            } else if a.ended {
                !running
            } else {
                true
            }
        })
        .collect();
    let mut out = io::BufWriter::new(io::stdout().lock());
    if a.json {
        let all: Vec<SessionJson> = entries
            .iter()
            .map(|(i, e)| SessionJson::from_entry(*i, e))
            .collect();
        serde_json::to_writer_pretty(&mut out, &all).map_err(|e| stdout_error(e.into()))?;
        writeln!(out).map_err(stdout_error)?;
    } else if ctx.quiet {
        for (_, e) in &entries {
            writeln!(out, "{}", entry_name(e)).map_err(stdout_error)?;
        }
    } else {
        // ERR: only when some session listed keeps its standard error
        // apart (pipe mode); a PTY has one stream.
        let err_column = entries
            .iter()
            .any(|(_, e)| matches!(e, Entry::Ok(s) if s.meta.is_pipe()));
        let mut header = vec!["#", "NAME", "TYPE", "STATUS", "PID", "CLIENTS", "OUT"];
        if err_column {
            header.push("ERR");
        }
        header.extend(["CREATED", "COMMAND"]);
        let mut rows = vec![header.into_iter().map(String::from).collect()];
        for (i, e) in &entries {
            rows.push(row(*i, e, err_column));
        }
        let table = fmt::table(&rows, fmt::line_width(a.wide));
        out.write_all(table.as_bytes()).map_err(stdout_error)?;
    }
    out.flush().map_err(stdout_error)?;
    Ok(ExitCode::SUCCESS)
}

fn entry_name(e: &Entry) -> &str {
    match e {
        Entry::Ok(s) => &s.name,
        Entry::Damaged { name, .. } => name,
    }
}

/// One line of the table, every cell sanitized.
fn row(i: usize, e: &Entry, err_column: bool) -> Vec<String> {
    let mut r = vec![i.to_string()];
    match e {
        Entry::Ok(s) => {
            let mut status = match s.meta.dropped_bytes {
                0 => s.status(),
                n => format!("{} (log: {} lost)", s.status(), fmt::size(n)),
            };
            if s.is_running() && s.meta.restart_at.is_some() {
                status = "restarting".into();
            }
            match s.meta.restarts {
                0 => {}
                1 => status.push_str(" (1 restart)"),
                n => status.push_str(&format!(" ({n} restarts)")),
            }
            // What the program said: it needs a person (`!`), its progress.
            let signs = &s.meta.signs;
            if s.live {
                if let Some(p) = signs.progress.as_ref().and_then(|p| p.percent) {
                    status = format!("{status} {p}%");
                }
                if signs.attention.is_some() {
                    status = format!("!{status}");
                }
            }
            r.extend([
                s.name.clone(),
                s.meta.kind.as_str().to_string(),
                status,
                match s.meta.pid {
                    Some(p) if s.is_running() => p.to_string(),
                    _ => "-".into(),
                },
                if s.live {
                    s.meta.clients.to_string()
                } else {
                    "-".into()
                },
                fmt::size(s.output_bytes()),
            ]);
            if err_column {
                r.push(s.stderr_bytes().map_or("-".into(), fmt::size));
            }
            r.extend([
                fmt::age(&s.meta.created),
                s.meta.display_command().to_string(),
            ]);
        }
        Entry::Damaged { name, reason } => {
            r.extend([
                name.clone(),
                "-".into(),
                "damaged".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ]);
            if err_column {
                r.push("-".into());
            }
            r.extend(["-".into(), reason.clone()]);
        }
    }
    r.iter().map(|c| fmt::sanitize(c)).collect()
}
