//! `wait`: until the program ends (`--exit`, with its exit code), the
//! output goes quiet (`--idle`), or the output matches (`--output`: by
//! default everything the session printed that is still kept, then what
//! comes; `--from-now`: only what comes; `--since-input`: only the answer
//! to the last input, after its echo). Of a pipe session, `--output`
//! searches standard output and standard error, each line by line (the
//! answer to an input is looked for on standard output only).

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use regex::Regex;

use super::Ctx;
use crate::cli::WaitArgs;
use crate::client::command;
use crate::client::watch::{self, Answer, Event, Piece};
use crate::error::{Error, Result, stdout_error};
use crate::fmt;
use crate::logs::Plain;
use crate::meta::Meta;
use crate::proto::WatchReq;
use crate::store::{ERR_LOG, Session};

/// How long a connection that ended without an exit notice may take to be
/// followed by the supervisor's end.
const SETTLE: Duration = Duration::from_secs(5);

pub fn run(a: WaitArgs, ctx: &Ctx) -> Result<ExitCode> {
    // The timeout counts from here: connecting and retrying are waiting too.
    let started = Instant::now();
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
    let deadline = timeout.map(|t| started + t);
    let store = ctx.store()?;
    let s = store.get(&a.name)?;
    let mut m = Matcher::new(pattern);
    // Pipe mode: standard error is searched too (not for --since-input:
    // the answer to an input is on standard output).
    m.with_stderr(s.meta.is_pipe() && !a.since_input);
    let timed_out = || {
        let what = if a.exit {
            "the program to end".to_string()
        } else if a.command {
            "a command's end".to_string()
        } else if a.attention {
            "the session to need attention".to_string()
        } else if let Some(d) = idle {
            format!("{} of quiet", humantime::format_duration(d))
        } else {
            format!("output matching {:?}", a.output.as_deref().unwrap_or(""))
        };
        Error::new(format!(
            "timed out after {} waiting for {what} in {}",
            humantime::format_duration(timeout.unwrap_or_default()),
            s.name
        ))
        .with_code(124)
    };

    if a.attention {
        return attention(&store, &s, deadline, timed_out);
    }
    if a.command {
        let ended = || {
            Error::new(format!(
                "session {} is not running ({})",
                s.name,
                s.status()
            ))
        };
        if !s.is_running() {
            return Err(watch::lost(&s).unwrap_or_else(ended));
        }
        command::require_marks(&s, "`wait --idle DUR` (or `send --wait-idle DUR`)")?;
        let (mut conn, info) = match watch::open(&s, None, deadline, timed_out)? {
            Ok(w) => w,
            Err(over) => return Err(watch::lost(&over).unwrap_or_else(ended)),
        };
        // A command already running (its end still to come): its output so far too.
        let running_from = Meta::read(&s.dir)
            .ok()
            .and_then(|m| m.signs.last_command)
            .filter(|c| c.output_end.is_none_or(|e| e >= info.offset))
            .map(|c| c.output_start);
        return command::print_command(&mut conn, &s, info.offset, running_from, deadline);
    }
    if !s.is_running() {
        return over(&s, &a, &mut m);
    }
    let idle_ms = idle.map(|d| d.as_millis() as u64);
    let req = WatchReq {
        idle_ms,
        stderr: m.err.is_some(),
    };
    let (mut conn, info) = match watch::open_with(&s, &req, deadline, timed_out)? {
        Ok(w) => w,
        Err(ended) => return over(&ended, &a, &mut m),
    };
    // What was printed before the watch began, as far as it counts.
    let mut answer = None;
    if m.active() && !a.from_now {
        let from = if a.since_input {
            let mut ans = Answer::to_last_input(&info);
            let (at, before) = watch::read_range(&s, info.input_offset, info.offset)?;
            m.feed(ans.feed_at(at, &before));
            answer = Some(ans);
            None
        } else {
            Some(watch::read_range(&s, 0, info.offset)?.1)
        };
        if let Some(before) = from {
            m.feed(&before);
        }
        if m.err.is_some() {
            m.feed_err(&watch::read_range_of(&s, ERR_LOG, 0, info.stderr_offset)?.1);
        }
        if let Some(line) = m.found() {
            return print_match(&line);
        }
    }
    loop {
        let ev = match watch::next_piece(&mut conn, deadline)? {
            Piece::Event(ev) => ev,
            Piece::Stderr(p) => {
                m.feed_err(&p);
                if let Some(line) = m.found() {
                    return print_match(&line);
                }
                continue;
            }
        };
        match ev {
            Event::Output(p) => {
                if m.active() {
                    let p = match &mut answer {
                        Some(ans) => ans.feed(&p),
                        None => &p,
                    };
                    m.feed(p);
                    if let Some(line) = m.found() {
                        return print_match(&line);
                    }
                }
            }
            Event::Idle => return Ok(ExitCode::SUCCESS),
            Event::Lost => {
                let Some(ended) = watch::settle(&s, Instant::now() + SETTLE) else {
                    return Err(Error::new(format!(
                        "session {}: the supervisor closed the connection",
                        s.name
                    )));
                };
                m.finish();
                if let Some(line) = m.found() {
                    return print_match(&line);
                }
                if let Some(e) = watch::lost(&ended) {
                    return Err(e);
                }
                if a.exit {
                    return Ok(ExitCode::from(watch::exit_status(&ended)));
                }
                if a.idle.is_some() {
                    return Ok(ExitCode::SUCCESS);
                }
                return Err(ended_before(&ended, &a));
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
            Event::Timeout => return Err(timed_out()),
        }
    }
}

/// Until the session's record says it needs a person (the supervisor
/// rewrites it when that begins); prints why.
fn attention(
    store: &crate::store::Store,
    s: &Session,
    deadline: Option<Instant>,
    timed_out: impl Fn() -> Error,
) -> Result<ExitCode> {
    loop {
        let now = store.get(&s.name)?;
        if let Some(at) = &now.meta.signs.attention {
            let mut out = io::stdout().lock();
            match &at.text {
                Some(t) => writeln!(out, "{}: {}", at.reason, fmt::sanitize(t)),
                None => writeln!(out, "{}", at.reason),
            }
            .map_err(stdout_error)?;
            return Ok(ExitCode::SUCCESS);
        }
        if !now.is_running() {
            return Err(watch::lost(&now).unwrap_or_else(|| {
                Error::new(format!(
                    "session {} ended ({}) without needing attention",
                    now.name,
                    now.status()
                ))
            }));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(timed_out());
        }
        std::thread::sleep(ATTENTION_POLL);
    }
}

/// How often `wait --attention` reads the session's record.
const ATTENTION_POLL: Duration = Duration::from_millis(50);

/// The session is over: answer from its record and its kept output. A
/// lost session (its supervisor died without recording an exit) is an
/// error, unless its output matched.
fn over(s: &Session, a: &WaitArgs, m: &mut Matcher) -> Result<ExitCode> {
    if m.active() && !a.from_now {
        // No input is known of an ended session: all its output counts.
        m.feed(&watch::read_range(s, 0, u64::MAX)?.1);
        if m.err.is_some() {
            m.feed_err(&watch::read_range_of(s, ERR_LOG, 0, u64::MAX)?.1);
        }
        m.finish();
        if let Some(line) = m.found() {
            return print_match(&line);
        }
    }
    if let Some(e) = watch::lost(s) {
        return Err(e);
    }
    if a.exit {
        return Ok(ExitCode::from(watch::exit_status(s)));
    }
    if a.idle.is_some() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(ended_before(s, a))
}

fn ended_before(s: &Session, a: &WaitArgs) -> Error {
    let e = Error::new(format!(
        "session {} ended ({}) before its output matched {:?}",
        s.name,
        s.status(),
        a.output.as_deref().unwrap_or("")
    ));
    if a.from_now {
        e.hint("without --from-now, wait also searches the output printed before it started")
    } else {
        e
    }
}

fn print_match(line: &str) -> Result<ExitCode> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}").map_err(stdout_error)?;
    Ok(ExitCode::SUCCESS)
}

/// Plain-text output, line by line, against a pattern (in pipe mode,
/// standard error too, rendered apart).
struct Matcher {
    re: Option<Regex>,
    plain: Plain,
    /// Pipe mode: standard error's renderer, when it is searched.
    err: Option<Plain>,
    lines: Vec<u8>,
    hit: Option<String>,
}

impl Matcher {
    fn new(re: Option<Regex>) -> Matcher {
        Matcher {
            re,
            plain: Plain::new(),
            err: None,
            lines: Vec::new(),
            hit: None,
        }
    }

    /// Search standard error too (pipe mode), when there is a pattern.
    fn with_stderr(&mut self, yes: bool) {
        if yes && self.active() {
            self.err = Some(Plain::new());
        }
    }

    /// Standard error (pipe mode; ignored unless [`Matcher::with_stderr`]).
    fn feed_err(&mut self, data: &[u8]) {
        if self.hit.is_some() {
            return;
        }
        let Some(p) = &mut self.err else { return };
        self.lines.clear();
        p.feed(data, &mut self.lines);
        self.check(false, true);
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
        self.check(false, false);
    }

    fn finish(&mut self) {
        if self.hit.is_some() {
            return;
        }
        self.lines.clear();
        self.plain.finish(&mut self.lines);
        if let Some(p) = &mut self.err {
            p.finish(&mut self.lines);
        }
        self.check(true, false);
    }

    /// Look at the finished lines, then at the line still being written
    /// (on standard error when `err`).
    fn check(&mut self, last: bool, err: bool) {
        let Some(re) = &self.re else { return };
        let text = String::from_utf8_lossy(&self.lines);
        if let Some(l) = text.lines().find(|l| re.is_match(l)) {
            self.hit = Some(l.to_string());
            return;
        }
        if !last {
            let partial = match (&self.err, err) {
                (Some(p), true) => p.current_line(),
                _ => self.plain.current_line(),
            };
            if re.is_match(&partial) {
                self.hit = Some(partial);
            }
        }
    }

    fn found(&self) -> Option<String> {
        self.hit.clone()
    }
}
