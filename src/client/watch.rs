//! The CLI's side of a watch: output frames until Idle or Exit, with a
//! deadline. Used by `send --wait-idle`, `run --wait-idle` and `wait`.

use std::io::{self, Write};
use std::time::Instant;

use super::Conn;
use crate::error::{Error, Result, stdout_error};
use crate::logs::{LogReader, Plain};
use crate::proto::{self, Kind, Role};
use crate::store::Session;

pub enum Event {
    Output(Vec<u8>),
    /// The output was quiet as long as asked.
    Idle,
    Exit(proto::ExitInfo),
    /// The deadline passed.
    Timeout,
    /// The connection ended without an exit notice (the session may have
    /// ended as we connected): see [`Session::settle`].
    Lost,
}

/// The next event on a watching connection.
pub fn next(c: &mut Conn, deadline: Option<Instant>) -> Result<Event> {
    loop {
        let left = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(Event::Timeout);
                }
                Some(left)
            }
            None => None,
        };
        c.set_timeout(left)?;
        match proto::read_frame(&mut c.stream) {
            Ok((Kind::Output, p)) => return Ok(Event::Output(p)),
            Ok((Kind::Idle, _)) => return Ok(Event::Idle),
            Ok((Kind::Exit, p)) => return c.parse(Kind::Exit, &p).map(Event::Exit),
            Ok((Kind::Error, p)) => return Err(c.remote_error(&p)),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(Event::Timeout);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::BrokenPipe
                ) =>
            {
                return Ok(Event::Lost);
            }
            Err(e) => return Err(c.io_err(e)),
        }
    }
}

/// Start watching a running session: the connection, and the output
/// offsets at that moment.
pub fn open(s: &Session, idle_ms: Option<u64>) -> Result<(Conn, proto::WatchInfo)> {
    let mut c = Conn::open(s, Role::Control, None, false)?;
    let info = c.request(Kind::Watch, &proto::json(&proto::WatchReq { idle_ms }))?;
    let info = c.parse(Kind::Watching, &info)?;
    Ok((c, info))
}

/// Print the streamed output as plain text until Idle, Exit or the deadline
/// (then exit 124, as timeout(1) does, with what came so far printed).
pub fn print_until_idle(c: &mut Conn, deadline: Instant) -> Result<std::process::ExitCode> {
    print_until_idle_with(c, deadline, Plain::new())
}

/// The same, continuing a renderer that already saw earlier output.
pub fn print_until_idle_with(
    c: &mut Conn,
    deadline: Instant,
    mut plain: Plain,
) -> Result<std::process::ExitCode> {
    let mut out = io::stdout().lock();
    let mut buf = Vec::new();
    let timed_out = loop {
        match next(c, Some(deadline))? {
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
            c.name()
        ))
        .with_code(124));
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Output bytes [from, to) as counted since the session started, from its
/// logs (what rotation has removed is skipped).
pub fn read_range(s: &Session, from: u64, to: u64) -> Result<Vec<u8>> {
    let err = |e| Error::io("reading the output of", &s.dir, e);
    let Some(mut r) = LogReader::open_start(&s.dir).map_err(err)? else {
        return Ok(Vec::new());
    };
    // Where the oldest kept log begins, counted from the session's start.
    let current = crate::meta::Meta::read(&s.dir).map_or(s.meta.log_base, |m| m.log_base);
    let mut pos = current.saturating_sub(r.bytes_before_current().map_err(err)?);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while pos < to {
        let n = r.read(&mut buf).map_err(err)?;
        if n == 0 {
            break;
        }
        let (a, b) = (pos, pos + n as u64);
        let lo = from.max(a);
        let hi = to.min(b);
        if lo < hi {
            out.extend_from_slice(&buf[(lo - a) as usize..(hi - a) as usize]);
        }
        pos = b;
    }
    Ok(out)
}
