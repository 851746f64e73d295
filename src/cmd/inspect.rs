//! `inspect`: everything in a session's record, plus where its files are;
//! as text, each value sanitized and cut to the terminal's width.

use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

use super::Ctx;
use crate::cli::InspectArgs;
use crate::error::{Result, stdout_error};
use crate::fmt;
use crate::store::{ERR_LOG, EVENTS, Entry, LOG, SOCK};
use crate::view::SessionJson;

#[derive(Serialize)]
struct Inspect {
    #[serde(flatten)]
    session: SessionJson,
    dir: String,
    log: String,
    /// Pipe mode: stderr.log; null otherwise.
    stderr_log: Option<String>,
    events: String,
    socket: String,
}

pub fn run(a: InspectArgs, ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store()?;
    let s = store.get(&a.name)?;
    let index = store
        .scan()?
        .iter()
        .position(|e| matches!(e, Entry::Ok(o) if o.name == s.name))
        .unwrap_or_default();
    let path = |f: &str| s.path(f).to_string_lossy().into_owned();
    let info = Inspect {
        session: SessionJson::from_session(index, &s),
        dir: s.dir.to_string_lossy().into_owned(),
        log: path(LOG),
        stderr_log: s.meta.is_pipe().then(|| path(ERR_LOG)),
        events: path(EVENTS),
        socket: path(SOCK),
    };
    let mut out = io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &info).map_err(|e| stdout_error(e.into()))?;
        writeln!(out).map_err(stdout_error)?;
        return Ok(ExitCode::SUCCESS);
    }
    let v = serde_json::to_value(&info).expect("serializes");
    let obj = v.as_object().expect("an object");
    let keys = obj.keys().map(String::len).max().unwrap_or(0);
    let limit = fmt::line_width(a.wide);
    for (k, v) in obj {
        let shown = match v {
            serde_json::Value::Null => "-".to_string(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let line = format!("{k:keys$}  {}", fmt::sanitize(&shown));
        let line = match limit {
            Some(w) => fmt::cut(&line, w),
            None => line,
        };
        writeln!(out, "{line}").map_err(stdout_error)?;
    }
    Ok(ExitCode::SUCCESS)
}
