//! `stop`: ask each supervisor to signal its program's process group (TERM,
//! then KILL after the grace period), then wait until each has ended.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::{Ctx, report, stdout_error};
use crate::cli::StopArgs;
use crate::client::{Conn, io_err, remote_error};
use crate::error::{Error, Result, note};
use crate::proto::{self, Kind, Role};
use crate::store::{self, Session};
use crate::{fmt, sys};

pub fn run(a: StopArgs, ctx: &Ctx) -> Result<ExitCode> {
    let sig = sys::parse_signal(&a.signal).ok_or_else(|| {
        Error::usage(format!(
            "invalid --signal {:?}: expected a name like TERM or INT, or a number",
            a.signal
        ))
    })?;
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
                Ok(s) => note(format!("session {name} is not running ({})", s.status())),
                Err(e) => {
                    report(&e);
                    ok = false;
                }
            }
        }
    }
    let mut out = io::stdout().lock();
    for (s, r) in targets.iter().zip(stop_all(&targets, sig as i32, grace)) {
        match r.and_then(|()| store.get(&s.name)) {
            Ok(after) => {
                writeln!(out, "stopped {}: {}", s.name, after.status()).map_err(stdout_error)?
            }
            Err(e) => {
                report(&e);
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

/// Stop several sessions at once: every request is sent before waiting, so
/// `stop --all` takes one grace period, not one per session.
pub fn stop_all(sessions: &[Session], signal: i32, grace: Duration) -> Vec<Result<()>> {
    let conns: Vec<Result<Conn>> = sessions
        .iter()
        .map(|s| request_stop(s, signal, grace))
        .collect();
    sessions
        .iter()
        .zip(conns)
        .map(|(s, c)| c.and_then(|c| wait_ended(s, c, grace)))
        .collect()
}

fn request_stop(s: &Session, signal: i32, grace: Duration) -> Result<Conn> {
    let mut c = Conn::open(s, Role::Control, None, false)?;
    let req = proto::StopReq {
        signal,
        grace_ms: grace.as_millis() as u64,
    };
    proto::write_json(&mut c.stream, Kind::Stop, &req).map_err(|e| io_err(s, e))?;
    Ok(c)
}

/// Read until the supervisor reports the exit (or hangs up), then until it
/// has released its lock, so `list` right after shows how it ended.
fn wait_ended(s: &Session, mut c: Conn, grace: Duration) -> Result<()> {
    let deadline = Instant::now() + grace + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::new(format!(
                "session {} did not end in time",
                s.name
            )));
        }
        c.stream
            .set_read_timeout(Some(left))
            .map_err(|e| io_err(s, e))?;
        match proto::read_frame(&mut c.stream) {
            Ok((Kind::Exit, _)) => break,
            Ok((Kind::Error, p)) => return Err(remote_error(s, &p)),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
            Err(e) => return Err(io_err(s, e)),
        }
    }
    drop(c);
    wait_unlocked(s, deadline)
}

fn wait_unlocked(s: &Session, deadline: Instant) -> Result<()> {
    if store::wait_unlocked(&s.dir, deadline) {
        return Ok(());
    }
    Err(Error::new(format!(
        "session {}: the supervisor did not exit in time",
        s.name
    )))
}
