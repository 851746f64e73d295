//! `events`: the session's events, readable or as JSON lines; `-f`
//! follows until the session ends, across the rotations of events.jsonl
//! as `logs -f` follows output.log's (one file open at a time, moving to
//! the next by inode: no event lost or repeated while the rotated files
//! exist).

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

use super::Ctx;
use crate::cli::EventsArgs;
use crate::error::{Error, Result, stdout_error};
use crate::logs::LogReader;
use crate::store::{self, EVENTS};

const FOLLOW_POLL: Duration = Duration::from_millis(20);

pub fn run(a: EventsArgs, ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store()?;
    let s = store.get(&a.name)?;
    let err = |e| Error::io("reading the events of", &s.dir, e);
    let mut reader = LogReader::open_start_of(&s.dir, EVENTS).map_err(err)?;
    let mut out = io::stdout().lock();
    let mut buf = vec![0u8; 64 * 1024];
    // Bytes of a line not yet whole (one being written).
    let mut part: Vec<u8> = Vec::new();
    loop {
        // Liveness first: the supervisor writes its last event before it
        // lets go of the lock, so one more read after that gets it.
        let live = a.follow && !s.meta.is_ended() && store::is_locked(&s.dir);
        if reader.is_none() {
            reader = LogReader::open_start_of(&s.dir, EVENTS).map_err(err)?;
        }
        let mut any = false;
        if let Some(r) = reader.as_mut() {
            loop {
                let n = r.read(&mut buf).map_err(err)?;
                if n == 0 {
                    break;
                }
                any = true;
                part.extend_from_slice(&buf[..n]);
                let Some(end) = part.iter().rposition(|&b| b == b'\n') else {
                    continue;
                };
                for line in part[..end].split(|&b| b == b'\n') {
                    let line = String::from_utf8_lossy(line);
                    let text = if a.json {
                        line.trim_end().to_string()
                    } else {
                        readable(&line)
                    };
                    writeln!(out, "{text}").map_err(stdout_error)?;
                }
                part.drain(..=end);
            }
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
