//! The CLI's side of a watch: output frames until Idle or Exit, with a
//! deadline. Used by `send --wait-idle`, `run --wait-idle` and `wait`.

use std::io;
use std::time::Instant;

use crate::client::{Conn, io_err, remote_error};
use crate::error::{Error, Result};
use crate::logs::LogReader;
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
pub fn next(c: &mut Conn, s: &Session, deadline: Option<Instant>) -> Result<Event> {
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
        c.stream.set_read_timeout(left).map_err(|e| io_err(s, e))?;
        match proto::read_frame(&mut c.stream) {
            Ok((Kind::Output, p)) => return Ok(Event::Output(p)),
            Ok((Kind::Idle, _)) => return Ok(Event::Idle),
            Ok((Kind::Exit, p)) => {
                return proto::parse_json(Kind::Exit, &p)
                    .map(Event::Exit)
                    .map_err(|e| Error::new(format!("session {}: {e}", s.name)));
            }
            Ok((Kind::Error, p)) => return Err(remote_error(s, &p)),
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
            Err(e) => return Err(io_err(s, e)),
        }
    }
}

/// Start watching a running session: the connection, and the output
/// offsets at that moment.
pub fn open(s: &Session, idle_ms: Option<u64>) -> Result<(Conn, proto::WatchInfo)> {
    let mut c = Conn::open(s, Role::Control, None, false)?;
    proto::write_json(&mut c.stream, Kind::Watch, &proto::WatchReq { idle_ms })
        .map_err(|e| io_err(s, e))?;
    loop {
        match proto::read_frame(&mut c.stream).map_err(|e| io_err(s, e))? {
            (Kind::Watching, p) => {
                let info = proto::parse_json(Kind::Watching, &p)
                    .map_err(|e| Error::new(format!("session {}: {e}", s.name)))?;
                return Ok((c, info));
            }
            (Kind::Error, p) => return Err(remote_error(s, &p)),
            (Kind::Exit, _) => return Err(Error::new(format!("session {} has ended", s.name))),
            _ => {}
        }
    }
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
