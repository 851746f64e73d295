//! `inspect`: everything in a session's record, plus where its files are.

use std::io::{self, Write};
use std::process::ExitCode;

use serde::Serialize;

use super::Ctx;
use crate::cli::InspectArgs;
use crate::error::{Result, stdout_error};
use crate::store::{EVENTS, LOG, SOCK};
use crate::view::SessionJson;

#[derive(Serialize)]
struct Inspect {
    #[serde(flatten)]
    session: SessionJson,
    dir: String,
    log: String,
    events: String,
    socket: String,
}

pub fn run(a: InspectArgs, ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store()?;
    let s = store.get(&a.name)?;
    let path = |f: &str| s.path(f).to_string_lossy().into_owned();
    let info = Inspect {
        session: SessionJson::from_session(&s),
        dir: s.dir.to_string_lossy().into_owned(),
        log: path(LOG),
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
    let width = obj.keys().map(String::len).max().unwrap_or(0);
    for (k, v) in obj {
        let shown = match v {
            serde_json::Value::Null => "-".to_string(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        writeln!(out, "{k:width$}  {shown}").map_err(stdout_error)?;
    }
    Ok(ExitCode::SUCCESS)
}
