//! `events`: the session's events file, readable or as JSON lines; `-f`
//! follows until the session ends.

use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

use super::Ctx;
use crate::cli::EventsArgs;
use crate::error::{Error, Result, stdout_error};
use crate::store::{self, EVENTS};
use crate::sys;

const FOLLOW_POLL: Duration = Duration::from_millis(20);

pub fn run(a: EventsArgs, ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store()?;
    let s = store.get(&a.name)?;
    let path = s.path(EVENTS);
    let f = sys::open_nofollow(&path).map_err(|e| Error::io("opening", &path, e))?;
    let mut r = io::BufReader::new(f);
    let mut out = io::stdout().lock();
    let mut line = String::new();
    loop {
        let live = a.follow && !s.meta.is_ended() && store::is_locked(&s.dir);
        let mut any = false;
        loop {
            line.clear();
            let n = r
                .read_line(&mut line)
                .map_err(|e| Error::io("reading", &path, e))?;
            if n == 0 || !line.ends_with('\n') {
                // A line still being written: read it whole next time.
                if n > 0 {
                    let back = -(n as i64);
                    io::Seek::seek_relative(r.get_mut(), back)
                        .map_err(|e| Error::io("reading", &path, e))?;
                    // Drop the buffered part too.
                    r = io::BufReader::new(r.into_inner());
                }
                break;
            }
            any = true;
            let text = if a.json {
                line.trim_end().to_string()
            } else {
                readable(&line)
            };
            writeln!(out, "{text}").map_err(stdout_error)?;
        }
        if !live {
            break;
        }
        if !any {
            out.flush().map_err(stdout_error)?;
            std::thread::sleep(FOLLOW_POLL);
        }
    }
    out.flush().map_err(stdout_error)?;
    Ok(ExitCode::SUCCESS)
}

/// `2026-11-21T08:29:39.147Z  exited    code=0 reason=stopped`
fn readable(line: &str) -> String {
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(line) else {
        return line.trim_end().to_string();
    };
    let ts = m.get("ts").and_then(Value::as_str).unwrap_or("");
    let ev = m.get("event").and_then(Value::as_str).unwrap_or("?");
    let mut s = format!("{ts}  {ev:<9}");
    for (k, v) in &m {
        if k == "ts" || k == "event" || v.is_null() {
            continue;
        }
        let v = match v {
            Value::String(t) if !t.is_empty() && !t.contains(char::is_whitespace) => t.clone(),
            other => other.to_string(),
        };
        s.push_str(&format!(" {k}={v}"));
    }
    s
}
