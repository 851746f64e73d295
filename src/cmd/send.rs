//! `send`: input for the program through its supervisor, as one unit, with
//! draft safety, an audit record and de-duplication; `--wait-idle` then
//! prints what the program answered.

use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::{Ctx, stdout_error};
use crate::cli::SendArgs;
use crate::client::{Conn, io_err, remote_error};
use crate::error::{Error, Result, describe_io, note};
use crate::fmt;
use crate::logs::Plain;
use crate::proto::{self, Kind, Role};
use crate::store::Session;
use crate::watch::{self, Event};

pub fn run(a: SendArgs, ctx: &Ctx) -> Result<ExitCode> {
    let timeout = fmt::duration_arg("--timeout", &a.timeout)?;
    let wait_idle = a
        .wait_idle
        .as_deref()
        .map(|d| fmt::duration_arg("--wait-idle", d))
        .transpose()?;
    let mut text = a.text.clone().unwrap_or_default().into_bytes();
    if a.stdin {
        io::stdin()
            .read_to_end(&mut text)
            .map_err(|e| Error::new(format!("reading standard input: {}", describe_io(&e))))?;
    }
    let nothing = text.is_empty() && a.keys.is_empty() && !a.submit && !a.interrupt && !a.eof;
    if nothing && !a.stdin {
        return Err(Error::usage(
            "nothing to send: give TEXT, --stdin, --keys, --submit, --interrupt or --eof",
        )
        .hint("`codex-session send NAME --submit` sends just Enter"));
    }
    let req = proto::SendReq {
        keys: a.keys.clone(),
        paste: a.paste,
        submit: a.submit,
        interrupt: a.interrupt,
        eof: a.eof,
        force: a.force,
        timeout_ms: timeout.as_millis() as u64,
        label: a.as_label.clone(),
        id: a.id.clone(),
        wait_idle_ms: wait_idle.map(|d| d.as_millis() as u64),
    };
    let store = ctx.store()?;
    let s = store.get_running(&a.name)?;
    let result = send(&s, &req, &text)?;
    if result.0.duplicate {
        note(format!(
            "id {} was already delivered to {}: duplicate, not delivered",
            a.id.as_deref().unwrap_or(""),
            s.name
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let mut conn = result.1;
    match wait_idle {
        None => Ok(ExitCode::SUCCESS),
        Some(_) => print_until_idle(&mut conn, &s, Instant::now() + timeout),
    }
}

/// Deliver one send; the answer, and the connection (which streams the
/// output next when --wait-idle asked for it).
pub fn send(s: &Session, req: &proto::SendReq, text: &[u8]) -> Result<(proto::SendResult, Conn)> {
    let json = serde_json::to_vec(req).expect("serializes");
    let mut payload = Vec::with_capacity(4 + json.len() + text.len());
    payload.extend_from_slice(&(json.len() as u32).to_le_bytes());
    payload.extend_from_slice(&json);
    payload.extend_from_slice(text);
    if payload.len() > proto::MAX_FRAME {
        return Err(Error::new(format!(
            "input of {} bytes is more than one send can carry ({})",
            text.len(),
            fmt::size(proto::MAX_FRAME as u64)
        ))
        .hint("split it into several sends"));
    }
    let mut c = Conn::open(s, Role::Control, None, false)?;
    proto::write_frame(&mut c.stream, Kind::Send, &payload).map_err(|e| io_err(s, e))?;
    // The supervisor answers once delivered, or when it gave up waiting for
    // a typing person to pause.
    let deadline = Duration::from_millis(req.timeout_ms) + Duration::from_secs(10);
    c.stream
        .set_read_timeout(Some(deadline))
        .map_err(|e| io_err(s, e))?;
    loop {
        match proto::read_frame(&mut c.stream).map_err(|e| io_err(s, e))? {
            (Kind::Ok, p) => {
                let r = proto::parse_json(Kind::Ok, &p)
                    .map_err(|e| Error::new(format!("session {}: {e}", s.name)))?;
                return Ok((r, c));
            }
            (Kind::Error, p) => return Err(remote_error(s, &p)),
            _ => {}
        }
    }
}

/// Print the streamed output as plain text until Idle, Exit or the deadline
/// (exit 124, as timeout(1) does, with what came so far printed).
pub fn print_until_idle(c: &mut Conn, s: &Session, deadline: Instant) -> Result<ExitCode> {
    print_until_idle_with(c, s, deadline, Plain::new())
}

/// The same, continuing a renderer that already saw earlier output.
pub fn print_until_idle_with(
    c: &mut Conn,
    s: &Session,
    deadline: Instant,
    mut plain: Plain,
) -> Result<ExitCode> {
    let mut out = io::stdout().lock();
    let mut buf = Vec::new();
    let timed_out = loop {
        match watch::next(c, s, Some(deadline))? {
            Event::Output(p) => {
                buf.clear();
                plain.feed(&p, &mut buf);
                out.write_all(&buf).map_err(stdout_error)?;
            }
            Event::Idle => break false,
            // The program ended: its output is complete.
            Event::Exit(_) | Event::Lost => break false,
            Event::Timeout => break true,
        }
    };
    buf.clear();
    plain.finish(&mut buf);
    out.write_all(&buf).map_err(stdout_error)?;
    out.flush().map_err(stdout_error)?;
    if timed_out {
        return Err(Error::new(format!(
            "{}: the output did not go quiet before the timeout",
            s.name
        ))
        .with_code(124));
    }
    Ok(ExitCode::SUCCESS)
}
