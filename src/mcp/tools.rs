//! The tools, as blocking functions: arguments in, an answer (a short text
//! and the structured result) or a failure out. Each honours its deadline
//! itself; the server runs them on tokio's blocking pool.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use regex::Regex;
use serde::Serialize;

use super::args::{self, Dur, Outcome};
use super::backend::{Backend, Event, Fail, Info, Input, StartSpec};
use super::text::{Collected, Collector};

mod reading;

pub use reading::{list, logs, screen};

/// The deadline of a call that does not say.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long quiet output counts as an answer unless told.
const DEFAULT_IDLE: Duration = Duration::from_secs(1);
/// Output read from the logs per step.
const CHUNK: usize = 256 * 1024;

/// A tool's answer: what the agent reads, and the same as fields.
pub struct Answer {
    pub text: String,
    pub structured: serde_json::Value,
}

impl Answer {
    fn new(text: String, fields: &impl Serialize) -> Answer {
        Answer {
            text,
            structured: serde_json::to_value(fields).expect("answers serialize"),
        }
    }
}

pub type Result<T, E = Fail> = std::result::Result<T, E>;

/// The call's timeout: as asked (at most mcp.max_timeout), else 30s.
pub fn timeout(b: &Backend, asked: Option<&Dur>) -> Result<Duration> {
    match asked {
        None => Ok(DEFAULT_TIMEOUT.min(b.max_timeout)),
        Some(d) if d.0 > b.max_timeout => Err(Fail::new(format!(
            "timeout {} is longer than this server allows ({}, the mcp.max_timeout setting): \
             ask for less, and call again to keep waiting",
            humantime::format_duration(d.0),
            humantime::format_duration(b.max_timeout)
        ))),
        Some(d) => Ok(d.0),
    }
}

fn regex(field: &str, r: &str) -> Result<Regex> {
    Regex::new(r).map_err(|e| {
        Fail::new(format!(
            "{field}: invalid regex {r:?}: {}",
            e.to_string().lines().last().unwrap_or("")
        ))
    })
}

fn omitted(c: &Collected, base: u64) -> Option<args::Omitted> {
    c.omitted.map(|o| args::Omitted {
        bytes: o.bytes,
        lines: o.lines,
        offset: base + o.raw_from,
        limit: o.raw_to - o.raw_from,
    })
}

/// Feed the logged output `[from, to)` to a collector; where it really
/// began (rotation may have removed the start).
fn feed_range(b: &Backend, name: &str, c: &mut Collector, from: u64, to: u64) -> Result<u64> {
    let mut pos = from;
    let mut first = None;
    while pos < to {
        let want = CHUNK.min((to - pos) as usize);
        let (bytes, start, _) = b.read_output(name, pos, want)?;
        first.get_or_insert(start);
        if bytes.is_empty() {
            break;
        }
        c.feed(&bytes);
        pos = start + bytes.len() as u64;
    }
    Ok(first.unwrap_or(from))
}

fn status_line(i: &Info) -> String {
    match (i.running, i.pid, i.status.as_str()) {
        (true, Some(pid), _) => format!("session {} is running (pid {pid})", i.name),
        (true, None, _) => format!("session {} is running", i.name),
        (false, _, "lost") => format!("session {} is lost (its supervisor is gone)", i.name),
        (false, _, "damaged") => format!("session {} is damaged", i.name),
        _ => format!("session {} ended: {}", i.name, i.status_text),
    }
}

fn session_info(i: Info) -> args::SessionInfo {
    args::SessionInfo {
        name: i.name,
        status: i.status,
        status_text: i.status_text,
        running: i.running,
        pid: i.pid,
        exit_code: i.exit_code,
        signal: i.signal,
        end_reason: i.end_reason,
        command: i.command,
        cwd: i.cwd,
        label: i.label,
        clients: i.clients,
        output_bytes: i.output_bytes,
        created: i.created,
        ended: i.ended,
        cols: i.cols,
        rows: i.rows,
        error: i.error,
    }
}

// --- session_start -----------------------------------------------------------

pub fn start(b: &Backend, a: args::StartArgs) -> Result<Answer> {
    let if_absent = a.if_absent.unwrap_or(false);
    if if_absent && a.name.is_none() {
        return Err(Fail::new(
            "if_absent needs a name: it means \"unless a session of this name runs\"",
        ));
    }
    let mut env = Vec::new();
    for (k, v) in a.env.unwrap_or_default() {
        if k.is_empty() || k.contains(['=', '\0']) {
            return Err(Fail::new(format!(
                "env: invalid variable name {k:?} (no '=', not empty)"
            )));
        }
        env.push((k, v));
    }
    let t = timeout(b, a.timeout.as_ref())?;
    let deadline = Instant::now() + t;
    let spec = StartSpec {
        name: a.name,
        command: a.command.map(|c| c.0).unwrap_or_default(),
        cwd: a.cwd,
        env,
        size: a.size,
        label: a.label,
        if_absent,
    };
    let (name, already) = b.start(&spec, deadline)?;
    let idle = a.wait_idle.map_or(DEFAULT_IDLE, |d| d.0);
    let mut c = Collector::new(b.max_output, None, None);
    let mut outcome = Outcome::Sent;
    let mut base = 0;
    if !already && !idle.is_zero() {
        (outcome, base) = first_output(b, &name, idle, deadline, &mut c)?;
    }
    let c = c.finish();
    let info = b.info(&name)?;
    let output = c.text(base, &name, b.max_output);
    let r = args::StartResult {
        name: name.clone(),
        pid: info.pid,
        status: info.status.clone(),
        already_running: already,
        outcome,
        exit_code: info.exit_code,
        signal: info.signal.clone(),
        omitted: omitted(&c, base),
        output: output.clone(),
    };
    let mut text = if already {
        format!("{} already; nothing started", status_line(&info))
    } else {
        format!("started: {}", status_line(&info))
    };
    match outcome {
        Outcome::Timeout => text.push_str("; its output had not gone quiet before the timeout"),
        Outcome::Idle => {
            let _ = write!(text, "; quiet for {}", humantime::format_duration(idle));
        }
        _ => {}
    }
    if !output.is_empty() {
        let _ = write!(text, ". Its first output:\n{output}");
    }
    Ok(Answer::new(text, &r))
}

/// The program's output from its start until quiet for `idle`; how it
/// ended, and the offset of the first byte fed.
fn first_output(
    b: &Backend,
    name: &str,
    idle: Duration,
    deadline: Instant,
    c: &mut Collector,
) -> Result<(Outcome, u64)> {
    let mut w = match b.watch(name, Some(idle)) {
        Ok(w) => w,
        // Ended already: all it printed is in the log.
        Err(_) => {
            let total = b.output_bytes(name)?;
            let base = feed_range(b, name, c, 0, total)?;
            return Ok((Outcome::Exited, base));
        }
    };
    let base = feed_range(b, name, c, 0, w.offset)?;
    loop {
        match w.stream.next(deadline)? {
            Event::Output(p) => c.feed(&p),
            Event::Idle => return Ok((Outcome::Idle, base)),
            Event::Exit(_) => return Ok((Outcome::Exited, base)),
            Event::Timeout => return Ok((Outcome::Timeout, base)),
        }
    }
}

// --- session_send ------------------------------------------------------------

pub fn send(b: &Backend, a: args::SendArgs, label: String) -> Result<Answer> {
    let text = a.text.unwrap_or_default();
    let keys = a.keys.unwrap_or_default();
    let submit = a.submit.unwrap_or(false);
    let interrupt = a.interrupt.unwrap_or(false);
    let eof = a.eof.unwrap_or(false);
    if text.is_empty() && keys.is_empty() && !submit && !interrupt && !eof {
        return Err(Fail::new(
            "nothing to send: give text (with submit: true to press Enter), keys, submit, interrupt or eof",
        ));
    }
    super::backend::check_keys(&keys)?;
    let pattern = a
        .wait_output
        .as_deref()
        .map(|r| regex("wait_output", r))
        .transpose()?;
    let t = timeout(b, a.timeout.as_ref())?;
    let deadline = Instant::now() + t;
    // Without a pattern, idle is the end (1s unless told); with one, idle
    // ends it only if asked for.
    let idle = match (&a.wait_idle, &pattern) {
        (Some(d), _) => Some(d.0),
        (None, None) => Some(DEFAULT_IDLE),
        (None, Some(_)) => None,
    };
    let follow = match (idle, &pattern) {
        (Some(d), None) if d.is_zero() => None,
        (Some(d), Some(_)) if d.is_zero() => Some(t + Duration::from_secs(1)),
        (Some(d), _) => Some(d),
        (None, _) => Some(t + Duration::from_secs(1)),
    };
    let before = b.output_bytes(&a.name)?;
    let input = Input {
        text: text.clone().into_bytes(),
        keys: keys.clone(),
        submit,
        paste: a.paste.unwrap_or(false),
        interrupt,
        eof,
        label,
        follow,
        timeout: t,
    };
    let (mut stream, echo) = b.send(&a.name, &input).map_err(|f| {
        if f.draft {
            Fail::new(format!(
                "not delivered: someone attached to {} is typing a line, and input from an agent is \
                 never mixed into a person's unfinished line; nothing was sent. Try again later \
                 (session_screen shows what they are doing), or ask the person to finish the line",
                a.name
            ))
        } else {
            f
        }
    })?;
    let name = stream.name().to_string();
    let mut c = Collector::new(b.max_output, Some(echo), pattern);
    let mut ended = None;
    let outcome = if follow.is_none() {
        Outcome::Sent
    } else {
        loop {
            match stream.next(deadline)? {
                Event::Output(p) => {
                    c.feed(&p);
                    if c.matched().is_some() {
                        break Outcome::Matched;
                    }
                }
                Event::Idle => break Outcome::Idle,
                Event::Exit(e) => {
                    ended = Some(e);
                    break Outcome::Exited;
                }
                Event::Timeout => break Outcome::Timeout,
            }
        }
    };
    drop(stream);
    let c = c.finish();
    // Where the answer starts in the log: the output is quiet (idle) or
    // complete (exited) now, so it ends at the total; otherwise output came
    // on and the total before the send is the better guess.
    let base = match outcome {
        Outcome::Idle | Outcome::Exited => b.output_bytes(&name)?.saturating_sub(c.raw),
        _ => before,
    };
    let answer = c.text(base, &name, b.max_output);
    let (exit_code, signal) = ended.map_or((None, None), |e| (e.code, e.signal));
    let r = args::SendResult {
        name: name.clone(),
        answer: answer.clone(),
        outcome,
        matched: c.matched.clone(),
        exit_code,
        signal: signal.clone(),
        offset: base + c.answer_start,
        omitted: omitted(&c, base),
    };
    let mut out = answer;
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push('[');
    out.push_str(&match outcome {
        Outcome::Sent => format!("delivered to {name}"),
        Outcome::Idle => format!(
            "{name} has been quiet for {}",
            humantime::format_duration(idle.unwrap_or_default())
        ),
        Outcome::Matched => format!("{name}: wait_output matched"),
        Outcome::Exited => format!(
            "{name} exited: {}",
            ended_text(exit_code, signal.as_deref())
        ),
        Outcome::Timeout => format!(
            "{name}: timed out after {}, still running; this is the answer so far",
            humantime::format_duration(t)
        ),
    });
    out.push(']');
    Ok(Answer::new(out, &r))
}

fn ended_text(code: Option<i32>, signal: Option<&str>) -> String {
    match (code, signal) {
        (_, Some(s)) => format!("killed by {s}"),
        (Some(c), None) => format!("exit code {c}"),
        _ => "ended".into(),
    }
}

// --- session_wait ------------------------------------------------------------

pub fn wait(b: &Backend, a: args::WaitArgs) -> Result<Answer> {
    let exit = a.exit.unwrap_or(false);
    let asked = usize::from(exit) + usize::from(a.idle.is_some()) + usize::from(a.output.is_some());
    if asked != 1 {
        return Err(Fail::new(
            "give exactly one of exit: true, idle (a duration) or output (a regex) to wait for",
        ));
    }
    if a.from.is_some() && a.output.is_none() {
        return Err(Fail::new("from only applies to output"));
    }
    let pattern = a
        .output
        .as_deref()
        .map(|r| regex("output", r))
        .transpose()?;
    let from = a.from.unwrap_or(args::From::Start);
    let t = timeout(b, a.timeout.as_ref())?;
    let deadline = Instant::now() + t;
    let idle = a.idle.as_ref().map(|d| d.0);
    let name = a.name.clone();
    let has_pattern = pattern.is_some();
    let mut c = Collector::new(1024, None, pattern);

    let done = |outcome: Outcome, matched: Option<&str>| -> Result<Answer> {
        let i = b.info(&name)?;
        let r = args::WaitResult {
            name: name.clone(),
            outcome,
            matched: matched.map(str::to_string),
            exit_code: i.exit_code,
            signal: i.signal.clone(),
            status: i.status.clone(),
        };
        let text = match outcome {
            Outcome::Matched => format!("matched: {}", r.matched.as_deref().unwrap_or("")),
            Outcome::Idle => format!(
                "{name} has printed nothing for {}",
                humantime::format_duration(idle.unwrap_or_default())
            ),
            Outcome::Exited if has_pattern => format!(
                "{} before its output matched {:?}",
                status_line(&i),
                a.output.as_deref().unwrap_or("")
            ),
            Outcome::Exited => status_line(&i),
            Outcome::Timeout => format!(
                "timed out after {}: {}",
                humantime::format_duration(t),
                status_line(&i)
            ),
            Outcome::Sent => String::new(),
        };
        Ok(Answer::new(text, &r))
    };

    // The session is over: its log answers (all of it: when input came is
    // not known any more).
    let ended = |mut c: Collector| -> Result<Answer> {
        if has_pattern && from != args::From::Now {
            let total = b.output_bytes(&name)?;
            feed_range(b, &name, &mut c, 0, total)?;
        }
        let c = c.finish();
        match &c.matched {
            Some(m) => done(Outcome::Matched, Some(m)),
            None => done(Outcome::Exited, None),
        }
    };

    let mut w = match b.watch(&name, idle) {
        Ok(w) => w,
        Err(e) => {
            // Not running (or it ended as we connected): its record answers.
            if b.info(&name)?.running {
                return Err(e);
            }
            return ended(c);
        }
    };
    if has_pattern && from != args::From::Now {
        let start = if from == args::From::Start {
            0
        } else {
            // The answer to the last input: its echo is not searched.
            c.skip_echo(w.answer.clone());
            w.input_offset
        };
        feed_range(b, &name, &mut c, start, w.offset)?;
        if let Some(m) = c.matched() {
            return done(Outcome::Matched, Some(m));
        }
    }
    loop {
        match w.stream.next(deadline)? {
            Event::Output(p) => {
                if has_pattern {
                    c.feed(&p);
                    if let Some(m) = c.matched() {
                        return done(Outcome::Matched, Some(m));
                    }
                }
            }
            Event::Idle => return done(Outcome::Idle, None),
            Event::Exit(_) => {
                // A last line without a newline is complete now.
                let c = c.finish();
                return match &c.matched {
                    Some(m) => done(Outcome::Matched, Some(m)),
                    None => done(Outcome::Exited, None),
                };
            }
            Event::Timeout => return done(Outcome::Timeout, None),
        }
    }
}

// --- session_stop, session_remove ----------------------------------------------

pub fn stop(b: &Backend, a: args::StopArgs) -> Result<Answer> {
    let t = timeout(b, a.timeout.as_ref())?;
    let grace = a.grace.map_or(Duration::from_secs(10), |d| d.0);
    let signal = a.signal.as_deref().unwrap_or("TERM");
    let i = b.stop(&a.name, signal, grace, Instant::now() + t)?;
    let r = args::StopResult {
        name: i.name.clone(),
        status: i.status.clone(),
        exit_code: i.exit_code,
        signal: i.signal.clone(),
    };
    Ok(Answer::new(format!("stopped: {}", status_line(&i)), &r))
}

pub fn remove(b: &Backend, a: args::RemoveArgs) -> Result<Answer> {
    let t = timeout(b, a.timeout.as_ref())?;
    b.remove(
        &a.name,
        a.force.unwrap_or(false),
        Duration::from_secs(10),
        Instant::now() + t,
    )?;
    let r = args::RemoveResult {
        name: a.name.clone(),
        removed: true,
    };
    Ok(Answer::new(format!("removed session {}", a.name), &r))
}
