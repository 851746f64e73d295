//! `wait`: until the program ends (`--exit`, with its exit code), the
//! output goes quiet (`--idle`), or the output matches (`--output`).

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Instant;

use regex::Regex;

use super::Ctx;
use crate::cli::WaitArgs;
use crate::client::watch::{self, Event};
use crate::error::{Error, Result, stdout_error};
use crate::logs::Plain;
use crate::store::Session;
use crate::{fmt, proto};

pub fn run(a: WaitArgs, ctx: &Ctx) -> Result<ExitCode> {
    let parse = fmt::duration_arg;
    let idle = a.idle.as_deref().map(|d| parse("--idle", d)).transpose()?;
    let timeout = a
        .timeout
        .as_deref()
        .map(|d| parse("--timeout", d))
        .transpose()?;
    let pattern = a
        .output
        .as_deref()
        .map(|r| Regex::new(r).map_err(|e| Error::usage(format!("--output: invalid regex: {e}"))))
        .transpose()?;
    let deadline = timeout.map(|t| Instant::now() + t);
    let store = ctx.store()?;
    let s = store.get(&a.name)?;
    let mut m = Matcher::new(pattern);

    if !s.is_running() {
        return ended(&s, &a, &mut m);
    }
    let (mut conn, info) = match watch::open(&s, idle.map(|d| d.as_millis() as u64)) {
        Ok(w) => w,
        // It may have ended just now, as we connected.
        Err(e) => return s.settle().map_or(Err(e), |s| ended(&s, &a, &mut m)),
    };
    if m.active() && (a.from_start || a.since_input) {
        let from = if a.from_start { 0 } else { info.input_offset };
        m.feed(&watch::read_range(&s, from, info.offset)?);
        if let Some(line) = m.found() {
            return print_match(&line);
        }
    }
    loop {
        match watch::next(&mut conn, deadline)? {
            Event::Output(p) => {
                if m.active() {
                    m.feed(&p);
                    if let Some(line) = m.found() {
                        return print_match(&line);
                    }
                }
            }
            Event::Idle => return Ok(ExitCode::SUCCESS),
            Event::Lost => {
                let Some(s) = s.settle() else {
                    return Err(Error::new(format!(
                        "session {}: the supervisor closed the connection",
                        s.name
                    )));
                };
                m.finish();
                if let Some(line) = m.found() {
                    return print_match(&line);
                }
                return ended(&s, &a, &mut m);
            }
            Event::Exit(info) => {
                if a.exit {
                    return Ok(ExitCode::from(info.status()));
                }
                if a.idle.is_some() {
                    return Ok(ExitCode::SUCCESS);
                }
                m.finish();
                if let Some(line) = m.found() {
                    return print_match(&line);
                }
                let s = store.get(&a.name)?;
                return Err(ended_before(&s, &a));
            }
            Event::Timeout => {
                let what = if a.exit {
                    "the program to end".to_string()
                } else if let Some(d) = idle {
                    format!("{} of quiet", humantime::format_duration(d))
                } else {
                    format!("output matching {:?}", a.output.as_deref().unwrap_or(""))
                };
                return Err(Error::new(format!(
                    "timed out after {} waiting for {what} in {}",
                    humantime::format_duration(timeout.unwrap_or_default()),
                    s.name
                ))
                .with_code(124));
            }
        }
    }
}

/// The session is over: answer from its record.
fn ended(s: &Session, a: &WaitArgs, m: &mut Matcher) -> Result<ExitCode> {
    if a.exit {
        return Ok(ExitCode::from(exit_code(s)));
    }
    if a.idle.is_some() {
        return Ok(ExitCode::SUCCESS);
    }
    if a.from_start || a.since_input {
        m.feed(&watch::read_range(s, 0, u64::MAX)?);
        if let Some(line) = m.found() {
            return print_match(&line);
        }
    }
    Err(ended_before(s, a))
}

fn exit_code(s: &Session) -> u8 {
    proto::ExitInfo {
        code: s.meta.exit_code,
        signal: s.meta.signal.clone(),
    }
    .status()
}

fn ended_before(s: &Session, a: &WaitArgs) -> Error {
    Error::new(format!(
        "session {} ended ({}) before its output matched {:?}",
        s.name,
        s.status(),
        a.output.as_deref().unwrap_or("")
    ))
    .hint("--from-start also searches the output printed before wait started")
}

fn print_match(line: &str) -> Result<ExitCode> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}").map_err(stdout_error)?;
    Ok(ExitCode::SUCCESS)
}

/// Plain-text output, line by line, against a pattern.
struct Matcher {
    re: Option<Regex>,
    plain: Plain,
    lines: Vec<u8>,
    hit: Option<String>,
}

impl Matcher {
    fn new(re: Option<Regex>) -> Matcher {
        Matcher {
            re,
            plain: Plain::new(),
            lines: Vec::new(),
            hit: None,
        }
    }

    fn active(&self) -> bool {
        self.re.is_some()
    }

    fn feed(&mut self, data: &[u8]) {
        if self.hit.is_some() {
            return;
        }
        self.lines.clear();
        self.plain.feed(data, &mut self.lines);
        self.check(false);
    }

    fn finish(&mut self) {
        self.lines.clear();
        self.plain.finish(&mut self.lines);
        self.check(true);
    }

    /// Look at the finished lines, then at the line still being written.
    fn check(&mut self, last: bool) {
        let Some(re) = &self.re else { return };
        let text = String::from_utf8_lossy(&self.lines);
        if let Some(l) = text.lines().find(|l| re.is_match(l)) {
            self.hit = Some(l.to_string());
            return;
        }
        if !last {
            let partial = self.plain.current_line();
            if re.is_match(&partial) {
                self.hit = Some(partial);
            }
        }
    }

    fn found(&self) -> Option<String> {
        self.hit.clone()
    }
}
