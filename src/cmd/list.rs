//! `list`: one line per session, or `--json` / `-q`.

use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

use super::{Ctx, stdout_error};
use crate::cli::ListArgs;
use crate::error::Result;
use crate::fmt;
use crate::store::{Entry, Session};

/// One session in `list --json` and `inspect --json`. Stable: fields are
/// only ever added.
#[derive(Serialize)]
pub struct SessionJson {
    pub name: String,
    /// starting, running, exited, killed, lost or damaged.
    pub status: String,
    /// The program's pid (its process group too).
    pub pid: Option<i32>,
    pub supervisor_pid: Option<i32>,
    pub exit_code: Option<i32>,
    /// e.g. "SIGTERM".
    pub signal: Option<String>,
    pub end_reason: Option<String>,
    pub created: Option<String>,
    pub started: Option<String>,
    pub ended: Option<String>,
    /// The argv executed.
    pub command: Vec<String>,
    pub command_line: Option<String>,
    pub cwd: Option<String>,
    pub label: Option<String>,
    pub clients: u32,
    pub output_bytes: u64,
    pub dropped_bytes: u64,
    pub cols: Option<u16>,
    pub rows: Option<u16>,
    pub id: Option<String>,
    /// Why the session is `damaged`, or the last log error.
    pub error: Option<String>,
}

impl SessionJson {
    pub fn from_session(s: &Session) -> Self {
        let m = &s.meta;
        let status = if !m.is_ended() && !s.live {
            "lost".to_string()
        } else {
            serde_json::to_value(m.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        SessionJson {
            name: s.name.clone(),
            status,
            pid: m.pid,
            supervisor_pid: m.supervisor_pid,
            exit_code: m.exit_code,
            signal: m.signal.clone(),
            end_reason: m.end_reason.clone(),
            created: Some(m.created.clone()),
            started: m.started.clone(),
            ended: m.ended.clone(),
            command: m.command.clone(),
            command_line: Some(m.command_line.clone()),
            cwd: Some(m.cwd.clone()),
            label: m.label.clone(),
            clients: if s.live { m.clients } else { 0 },
            output_bytes: s.output_bytes(),
            dropped_bytes: m.dropped_bytes,
            cols: Some(m.cols),
            rows: Some(m.rows),
            id: Some(m.id.clone()),
            error: m.log_error.clone(),
        }
    }

    pub fn damaged(name: &str, reason: &str) -> Self {
        SessionJson {
            name: name.to_string(),
            status: "damaged".into(),
            pid: None,
            supervisor_pid: None,
            exit_code: None,
            signal: None,
            end_reason: None,
            created: None,
            started: None,
            ended: None,
            command: Vec::new(),
            command_line: None,
            cwd: None,
            label: None,
            clients: 0,
            output_bytes: 0,
            dropped_bytes: 0,
            cols: None,
            rows: None,
            id: None,
            error: Some(reason.to_string()),
        }
    }
}

pub fn run(a: ListArgs, ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store()?;
    super::prune::auto(ctx, &store);
    let entries = store.scan()?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    if a.json {
        let all: Vec<SessionJson> = entries
            .iter()
            .map(|e| match e {
                Entry::Ok(s) => SessionJson::from_session(s),
                Entry::Damaged { name, reason } => SessionJson::damaged(name, reason),
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &all).map_err(|e| stdout_error(e.into()))?;
        writeln!(out).map_err(stdout_error)?;
    } else if a.quiet {
        for e in &entries {
            let name = match e {
                Entry::Ok(s) => &s.name,
                Entry::Damaged { name, .. } => name,
            };
            writeln!(out, "{name}").map_err(stdout_error)?;
        }
    } else {
        let mut rows = vec![
            [
                "NAME", "STATUS", "PID", "CLIENTS", "OUT", "CREATED", "COMMAND",
            ]
            .map(String::from),
        ];
        for e in &entries {
            rows.push(match e {
                Entry::Ok(s) => [
                    s.name.clone(),
                    match s.meta.dropped_bytes {
                        0 => s.status(),
                        n => format!("{} (log: {} lost)", s.status(), fmt::size(n)),
                    },
                    s.meta.pid.map_or("-".into(), |p| p.to_string()),
                    if s.live {
                        s.meta.clients.to_string()
                    } else {
                        "-".into()
                    },
                    fmt::size(s.output_bytes()),
                    fmt::ago(&s.meta.created),
                    s.meta.display_command().replace(['\n', '\r'], " "),
                ],
                Entry::Damaged { name, reason } => [
                    name.clone(),
                    "damaged".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    reason.clone(),
                ],
            });
        }
        write_table(&mut out, &rows).map_err(stdout_error)?;
    }
    out.flush().map_err(stdout_error)?;
    Ok(ExitCode::SUCCESS)
}

/// Columns padded to their widest cell; the last column is not padded.
pub fn write_table<const N: usize>(out: &mut impl Write, rows: &[[String; N]]) -> io::Result<()> {
    let mut w = [0usize; N];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == N {
                line.push_str(c);
            } else {
                line.push_str(c);
                line.extend(std::iter::repeat_n(' ', w[i] - c.chars().count() + 2));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
