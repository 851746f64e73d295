//! `stop`: ask each supervisor to signal its program's process group (HUP
//! and TERM, or the one `--signal`, then KILL after the grace period), then
//! wait until each has ended.

use std::io::{self, Write};
use std::process::ExitCode;

use super::Ctx;
use crate::cli::StopArgs;
use crate::client::{STOP_SIGNALS, stop_all};
use crate::error::{Error, Result, note, stdout_error};
use crate::store::Session;
use crate::{fmt, sys};

pub fn run(a: StopArgs, ctx: &Ctx) -> Result<ExitCode> {
    let signals = match &a.signal {
        None => STOP_SIGNALS.to_vec(),
        Some(s) => vec![sys::parse_signal(s).ok_or_else(|| {
            Error::usage(format!(
                "invalid --signal {s:?}: expected a name like TERM or INT, or a number"
            ))
        })?],
    };
    let grace = fmt::duration_arg("--timeout", &a.timeout)?;
    let store = ctx.store()?;
    let mut ok = true;
    let mut targets = Vec::new();
    if a.all {
        targets = store
            .sessions()?
            .into_iter()
            .filter(Session::is_running)
            .collect();
    } else {
        for name in &a.names {
            match store.get(name) {
                Ok(s) if s.is_running() => targets.push(s),
                Ok(s) => note(format!(
                    "session {} is not running ({})",
                    s.name,
                    s.status()
                )),
                Err(e) => {
                    e.print();
                    ok = false;
                }
            }
        }
    }
    let mut out = io::stdout().lock();
    for (s, r) in targets.iter().zip(stop_all(&targets, &signals, grace)) {
        match r.and_then(|()| store.get(&s.name)) {
            Ok(after) => {
                writeln!(out, "stopped {}: {}", s.name, after.status()).map_err(stdout_error)?
            }
            Err(e) => {
                e.print();
                ok = false;
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
