//! The CLI's side of watching a session's output: reaching the supervisor
//! within a deadline ([`reach`]), the output frames until Idle or Exit
//! ([`next`]), the output already logged ([`read_range`]), and the rule
//! that tells a program's answer from the echo of its input ([`Answer`]).
//! Used by `send --wait-idle`, `run --wait-idle` and `wait` (and by any
//! later interface that waits for an answer).

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::Conn;
use crate::error::{Error, Result, stdout_error};
use crate::logs::{LogReader, Plain};
use crate::meta::Meta;
use crate::proto::{self, Kind, Role};
use crate::store::{self, ERR_LOG, LOG, Session};

pub enum Event {
    Output(Vec<u8>),
    /// The output was quiet as long as asked.
    Idle,
    Exit(proto::ExitInfo),
    /// The deadline passed.
    Timeout,
    /// The connection ended without an exit notice (the session may have
    /// ended as we connected): see [`settle`].
    Lost,
}

/// What a watcher that asked for standard error gets next (pipe mode).
pub enum Piece {
    Event(Event),
    /// Raw standard error.
    Stderr(Vec<u8>),
}

/// The next event on a watching connection.
pub fn next(c: &mut Conn, deadline: Option<Instant>) -> Result<Event> {
    loop {
        if let Piece::Event(e) = next_piece(c, deadline)? {
            return Ok(e);
        }
    }
}

/// The next event, or piece of standard error, on a watching connection.
pub fn next_piece(c: &mut Conn, deadline: Option<Instant>) -> Result<Piece> {
    let ev = |e: Event| Ok(Piece::Event(e));
    loop {
        let left = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return ev(Event::Timeout);
                }
                Some(left)
            }
            None => None,
        };
        c.set_timeout(left)?;
        match proto::read_frame(&mut c.stream) {
            Ok((Kind::Output, p)) => return ev(Event::Output(p)),
            Ok((Kind::ErrOutput, p)) => return Ok(Piece::Stderr(p)),
            Ok((Kind::Idle, _)) => return ev(Event::Idle),
            Ok((Kind::Exit, p)) => {
                return c
                    .parse(Kind::Exit, &p)
                    .map(|e| Piece::Event(Event::Exit(e)));
            }
            Ok((Kind::Error, p)) => return Err(c.remote_error(&p)),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return ev(Event::Timeout);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::BrokenPipe
                ) =>
            {
                return ev(Event::Lost);
            }
            Err(e) => return Err(c.io_err(e)),
        }
    }
}

/// What [`reach`] found.
pub enum Reach {
    /// A control connection, welcomed.
    Conn(Conn),
    /// The session is over: ended, or lost (see [`lost`]), as recorded.
    Over(Box<Session>),
}

/// How long to wait without a deadline for a supervisor that cannot be
/// reached to let go of the session (it may be ending).
const SETTLE: Duration = Duration::from_secs(5);

/// Reach a running session's supervisor as a control client, within
/// `deadline` from the command's start. A supervisor that cannot be
/// reached (its socket refused or gone, no Welcome) while it still holds
/// the session is tried again until the deadline; then the error of
/// `timed_out` (exit 124), with the cause. Without a deadline, the
/// connection's error after a few seconds. A session that ended (or was
/// lost) meanwhile is [`Reach::Over`].
pub fn reach(
    s: &Session,
    deadline: Option<Instant>,
    timed_out: impl Fn() -> Error,
) -> Result<Reach> {
    let mut pause = Duration::from_millis(2);
    let mut first = true;
    loop {
        let limit = match deadline {
            // The first try is always made (`--timeout 0`: no waiting, but
            // still one attempt).
            Some(d) if first => d
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(100)),
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(10),
        };
        first = false;
        let e = if limit.is_zero() {
            Error::new("no time left to connect")
        } else {
            match Conn::open_within(s, Role::Control, None, false, limit) {
                Ok(c) => return Ok(Reach::Conn(c)),
                Err(e) => e,
            }
        };
        // It may have ended just now, as we connected.
        let settle_until = match deadline {
            Some(d) => d.min(Instant::now() + pause),
            None => Instant::now() + SETTLE,
        };
        if let Some(over) = settle(s, settle_until) {
            return Ok(Reach::Over(Box::new(over)));
        }
        match deadline {
            None => return Err(e),
            Some(d) if Instant::now() >= d => {
                let t = timed_out();
                let msg = format!("{} (its supervisor could not be reached: {e})", t.message());
                return Err(Error::new(msg).with_code(t.code()));
            }
            Some(_) => pause = (pause * 2).min(Duration::from_millis(50)),
        }
    }
}

/// The session as recorded once its supervisor has let go of it (waiting
/// until `until` at most): ended, or lost (see [`lost`]). None while a
/// supervisor still holds it.
pub fn settle(s: &Session, until: Instant) -> Option<Session> {
    if !store::wait_unlocked(&s.dir, until) {
        return None;
    }
    let meta = Meta::read(&s.dir).ok()?;
    Some(Session {
        name: s.name.clone(),
        dir: s.dir.clone(),
        meta,
        live: false,
    })
}

/// The error for a session whose supervisor died without recording how its
/// program ended (`list` shows it as `lost`); None for any other.
pub fn lost(s: &Session) -> Option<Error> {
    (!s.is_running() && !s.meta.is_ended()).then(|| {
        Error::new(format!(
            "{} was lost: its supervisor died without recording an exit",
            s.name
        ))
    })
}

/// Start watching a running session: the connection, and the output
/// offsets at that moment; or the session as recorded if it is over (see
/// [`reach`] for the deadline and `timed_out`).
pub fn open(
    s: &Session,
    idle_ms: Option<u64>,
    deadline: Option<Instant>,
    timed_out: impl Fn() -> Error,
) -> Result<Result<(Conn, proto::WatchInfo), Session>> {
    let req = proto::WatchReq {
        idle_ms,
        stderr: false,
    };
    open_with(s, &req, deadline, timed_out)
}

/// [`open`] with the whole request (`stderr`: pipe mode's standard error
/// too, read with [`next_piece`]).
pub fn open_with(
    s: &Session,
    req: &proto::WatchReq,
    deadline: Option<Instant>,
    timed_out: impl Fn() -> Error,
) -> Result<Result<(Conn, proto::WatchInfo), Session>> {
    let mut c = match reach(s, deadline, &timed_out)? {
        Reach::Conn(c) => c,
        Reach::Over(s) => return Ok(Err(*s)),
    };
    // A supervisor that hangs up now is ending: its record will say how.
    let mut closed = c.write(Kind::Watch, &proto::json(req)).is_err();
    while !closed {
        if let Some(d) = deadline {
            // The answer comes at once: wait for it even with no time left,
            // so that what was printed already is still looked at.
            let left = d.saturating_duration_since(Instant::now());
            c.set_timeout(Some(left.max(Duration::from_millis(100))))?;
        }
        match proto::read_frame(&mut c.stream) {
            Ok((Kind::Watching, p)) => {
                let info = c.parse(Kind::Watching, &p)?;
                return Ok(Ok((c, info)));
            }
            Ok((Kind::Error, p)) => return Err(c.remote_error(&p)),
            Ok((Kind::Exit, _)) => closed = true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(timed_out());
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::BrokenPipe
                ) =>
            {
                closed = true;
            }
            Err(e) => return Err(c.io_err(e)),
        }
    }
    // The program ended as we connected: answer from the record.
    let until = deadline.unwrap_or_else(|| Instant::now() + SETTLE);
    match settle(s, until) {
        Some(over) => Ok(Err(over)),
        None if deadline.is_some_and(|d| Instant::now() >= d) => Err(timed_out()),
        None => Err(c.io_err(io::ErrorKind::UnexpectedEof.into())),
    }
}

/// Print the streamed output as plain text (only the [`Answer`], when
/// given) until Idle, the program's end or the deadline. Exit 0 at Idle;
/// the program's status (128+N for signal N) when it ended first; 124 at
/// the deadline, as timeout(1) does; what came is printed in every case.
pub fn print_until_idle(
    c: &mut Conn,
    s: &Session,
    deadline: Instant,
    mut plain: Plain,
    mut answer: Option<Answer>,
) -> Result<ExitCode> {
    let mut out = io::stdout().lock();
    let mut buf = Vec::new();
    let end = loop {
        let ev = next(c, Some(deadline))?;
        let Event::Output(p) = ev else { break ev };
        let p = match &mut answer {
            Some(a) => a.feed(&p),
            None => &p,
        };
        buf.clear();
        plain.feed(p, &mut buf);
        out.write_all(&buf).map_err(stdout_error)?;
    };
    buf.clear();
    plain.finish(&mut buf);
    out.write_all(&buf).map_err(stdout_error)?;
    out.flush().map_err(stdout_error)?;
    match end {
        Event::Idle => Ok(ExitCode::SUCCESS),
        Event::Exit(info) => Ok(ExitCode::from(info.status())),
        Event::Lost => {
            let Some(over) = settle(s, Instant::now() + SETTLE) else {
                return Err(c.io_err(io::ErrorKind::UnexpectedEof.into()));
            };
            match lost(&over) {
                Some(e) => Err(e),
                None => Ok(ExitCode::from(exit_status(&over))),
            }
        }
        _ => Err(Error::new(format!(
            "{}: the output did not go quiet before the timeout",
            c.name()
        ))
        .with_code(124)),
    }
}

/// An ended session's exit status as a shell reports it.
pub fn exit_status(s: &Session) -> u8 {
    proto::ExitInfo {
        code: s.meta.exit_code,
        signal: s.meta.signal.clone(),
    }
    .status()
}

/// Output bytes [from, to) as counted since the session started, from its
/// logs (what rotation has removed is skipped): where the bytes returned
/// begin, and the bytes.
pub fn read_range(s: &Session, from: u64, to: u64) -> Result<(u64, Vec<u8>)> {
    read_range_of(s, LOG, from, to)
}

/// [`read_range`] of `base`'s logs: output.log, or in pipe mode stderr.log
/// (bytes counted as standard error's).
pub fn read_range_of(
    s: &Session,
    base: &'static str,
    from: u64,
    to: u64,
) -> Result<(u64, Vec<u8>)> {
    let err = |e| Error::io("reading the output of", &s.dir, e);
    let Some(mut r) = LogReader::open_start_of(&s.dir, base).map_err(err)? else {
        return Ok((from, Vec::new()));
    };
    // Where the oldest kept log begins, counted from the session's start.
    let log_base = |m: &Meta| match base {
        ERR_LOG => m.stderr_log_base,
        _ => m.log_base,
    };
    let current = Meta::read(&s.dir).map_or(log_base(&s.meta), |m| log_base(&m));
    let mut pos = current.saturating_sub(r.bytes_before_current().map_err(err)?);
    let start = from.max(pos);
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
    Ok((start, out))
}

/// The program's answer to an input: its output after the echo of that
/// input. The supervisor records, at each input written to the program,
/// the output byte count then (`input_offset`) and the line ends in the
/// input (`input_lines`: CR, LF, or CR LF counted once; a send's Enter
/// counts). The answer begins after the first `input_lines` LF bytes the
/// program prints at or after `input_offset` — for a submitted line,
/// after the line break that ends its echo — or right at `input_offset`
/// when the input had no line end. A program that does not echo has the
/// first line of its answer taken for the echo. When the input's first
/// line has text, a line end with nothing but CRs before it (from
/// `input_offset`) is not its echo's: the program was finishing a line it
/// had begun before the input came (a PTY may pass "ready" and its "\r\n"
/// in two reads, and the input may come between them).
///
/// Feed it the output from any position on (bytes before `input_offset`
/// are never the answer); it passes on the part that is.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The input's offset in the output.
    from: u64,
    /// LFs of the echo still to come.
    echo_lines: u32,
    /// The echo's first line has text, none of which has come yet.
    awaits_text: bool,
    /// Where the next bytes fed begin.
    pos: u64,
}

impl Answer {
    pub fn new(input_offset: u64, input_lines: u32, input_text: bool) -> Answer {
        Answer {
            from: input_offset,
            echo_lines: input_lines,
            awaits_text: input_text && input_lines > 0,
            pos: input_offset,
        }
    }

    /// The answer to the last input before a watch began.
    pub fn to_last_input(info: &proto::WatchInfo) -> Answer {
        Answer::new(info.input_offset, info.input_lines, info.input_text)
    }

    /// The answer to a send just delivered.
    pub fn to_send(r: &proto::SendResult) -> Answer {
        Answer::new(r.offset, r.input_lines, r.input_text)
    }

    /// Output bytes that begin at `at` (counted from the session's start):
    /// the part of them that is answer. Bytes missing between two feeds
    /// (rotated away) are taken to hold no line end.
    pub fn feed_at<'a>(&mut self, at: u64, data: &'a [u8]) -> &'a [u8] {
        let end = at + data.len() as u64;
        let before = self.from.saturating_sub(at).min(data.len() as u64) as usize;
        let mut d = &data[before..];
        while self.echo_lines > 0 && !d.is_empty() {
            let line_end = d.iter().position(|&b| b == b'\n');
            let before = &d[..line_end.unwrap_or(d.len())];
            let texted = before.iter().any(|&b| b != b'\r');
            match line_end {
                // The end of a line begun before the input: not the echo's.
                Some(i) if self.awaits_text && !texted => d = &d[i + 1..],
                Some(i) => {
                    self.awaits_text = false;
                    self.echo_lines -= 1;
                    d = &d[i + 1..];
                }
                None => {
                    self.awaits_text &= !texted;
                    d = &[];
                }
            }
        }
        self.pos = self.pos.max(end);
        d
    }

    /// The next bytes of the output, right after the last ones fed.
    pub fn feed<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        self.feed_at(self.pos, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(a: &mut Answer, pieces: &[&[u8]]) -> Vec<u8> {
        pieces.iter().flat_map(|p| a.feed(p).to_vec()).collect()
    }

    #[test]
    fn the_answer_follows_the_echo_of_a_submitted_line() {
        // A REPL echoes the typed line, then answers.
        let mut a = Answer::new(4, 1, true);
        assert_eq!(a.feed_at(0, b">>> "), b"");
        let got = all(
            &mut a,
            &[b"print(\"ready-", b"now\")\r", b"\nready-now\r\n>>> "],
        );
        assert_eq!(got, b"ready-now\r\n>>> ");
    }

    #[test]
    fn input_without_a_line_end_is_answered_right_away() {
        let mut a = Answer::new(10, 0, false);
        assert_eq!(
            a.feed_at(6, b"old!abc"),
            b"abc",
            "bytes before the input never"
        );
        assert_eq!(a.feed(b"def\n"), b"def\n");
    }

    #[test]
    fn the_end_of_a_line_begun_before_the_input_is_not_its_echo() {
        // "ready-now" and its "\r\n" came in two reads, the input between.
        let mut a = Answer::new(9, 1, true);
        assert_eq!(a.feed_at(0, b"ready-now"), b"");
        let got = all(&mut a, &[b"\r", b"\n>>> print(1)", b"\r\n1\r\n>>> "]);
        assert_eq!(got, b"1\r\n>>> ");
        // An Enter alone: its echo is that bare line end.
        let mut a = Answer::new(0, 1, false);
        assert_eq!(all(&mut a, &[b"\r\n>>> "]), b">>> ");
    }

    #[test]
    fn several_lines_skip_as_many_line_breaks_and_crlf_counts_once() {
        let mut a = Answer::new(0, 3, true);
        let got = all(
            &mut a,
            &[b"def f():\r\n...   return 1\r\n", b"...\r\n", b"ok\r\n"],
        );
        assert_eq!(got, b"ok\r\n");
    }

    #[test]
    fn history_then_live_output_from_a_watch() {
        let info = proto::WatchInfo {
            offset: 20,
            input_offset: 12,
            input_lines: 1,
            stderr_offset: 0,
            input_text: true,
        };
        let mut a = Answer::to_last_input(&info);
        // The logged output [12, 20), then the stream from 20.
        assert_eq!(a.feed_at(12, b"x = 1\r\nA"), b"A");
        assert_eq!(a.feed(b"BC"), b"BC");
    }
}
