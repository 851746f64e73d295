//! Stopping sessions: ask each supervisor to signal its program's process
//! group (the signals, then KILL after the grace period), then wait until
//! each has ended and let go of its lock.

use std::io;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::Conn;
use crate::error::{Error, Result};
use crate::proto::{self, Kind, Role};
use crate::store::{self, Session};

/// What `stop` sends unless told otherwise: HUP, as a terminal going away
/// does (an interactive shell ignores TERM but not HUP; tmux's kill-session
/// sends it too), then TERM, what service managers send.
pub const STOP_SIGNALS: [Signal; 2] = [Signal::SIGHUP, Signal::SIGTERM];

/// Stop several sessions at once: every request is sent before waiting, so
/// `stop --all` takes one grace period, not one per session. Each signal
/// is one Stop request, in order; the supervisor sends KILL `grace` after
/// the first.
pub fn stop_all(sessions: &[Session], signals: &[Signal], grace: Duration) -> Vec<Result<()>> {
    let conns: Vec<Result<Conn>> = sessions
        .iter()
        .map(|s| request_stop(s, signals, grace))
        .collect();
    sessions
        .iter()
        .zip(conns)
        .map(|(s, c)| c.and_then(|c| wait_ended(s, c, grace)))
        .collect()
}

fn request_stop(s: &Session, signals: &[Signal], grace: Duration) -> Result<Conn> {
    let mut c = Conn::open(s, Role::Control, None, false)?;
    for &sig in signals {
        let req = proto::StopReq {
            signal: sig as i32,
            grace_ms: grace.as_millis() as u64,
        };
        c.write(Kind::Stop, &proto::json(&req))?;
    }
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
        c.set_timeout(Some(left))?;
        match proto::read_frame(&mut c.stream) {
            Ok((Kind::Exit, _)) => break,
            Ok((Kind::Error, p)) => return Err(c.remote_error(&p)),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
            Err(e) => return Err(c.io_err(e)),
        }
    }
    drop(c);
    if store::wait_unlocked(&s.dir, deadline) {
        return Ok(());
    }
    Err(Error::new(format!(
        "session {}: the supervisor did not exit in time",
        s.name
    )))
}
