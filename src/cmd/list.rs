//! `list`: one line per session, or `--json` / `-q`.

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
