//! `logs --since/--until/--timestamps/--format asciicast`: the output read
//! with its times ([`Timed`]). A line is in the window when the time it
//! began is (both ends included, as docker's); `--tail N` is the last N
//! lines of the window; `-f` ends once `--until` has passed.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::SystemTime;

use super::FOLLOW_POLL;
use crate::cli::{LogFormat, LogsArgs};
use crate::error::{Error, Result, note, stdout_error};
use crate::fmt::{parse_when, rfc3339_nanos};
use crate::logs::asciicast::{self, Cast};
use crate::logs::{LogReader, Piece, Plain, Timed, nanos};
use crate::store::{self, Session};

/// Standard output in big writes (a piece is often one line; the lock
/// alone would write each).
type Stdout<'a> = io::BufWriter<io::StdoutLock<'a>>;

fn stdout() -> Stdout<'static> {
    io::BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

/// The lines asked for by the time they began.
#[derive(Clone, Copy)]
struct Window {
    since: Option<u64>,
    until: Option<u64>,
}

impl Window {
    fn any(self) -> bool {
        self.since.is_some() || self.until.is_some()
    }

    /// A line with no known time is in no window.
    fn has(self, t: Option<u64>) -> bool {
        match t {
            None => !self.any(),
            Some(t) => self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u),
        }
    }
}

pub fn run(a: &LogsArgs, s: &Session, plain: bool) -> Result<ExitCode> {
    let now = SystemTime::now();
    let when = |flag: &str, v: &Option<String>| {
        v.as_deref()
            .map(|v| parse_when(v, now).map(nanos))
            .transpose()
            .map_err(|e| Error::usage(format!("{flag}: {e}")))
    };
    let window = Window {
        since: when("--since", &a.since)?,
        until: when("--until", &a.until)?,
    };
    let mut out = match a.format {
        LogFormat::Asciicast => {
            let (first, resizes) = asciicast::sizes(&s.dir);
            let size = first.unwrap_or((s.meta.cols, s.meta.rows));
            let cast = Cast::new(stdout(), &s.name, size, resizes);
            Out::Cast(cast)
        }
        LogFormat::Text => Out::Text(Box::new(Text {
            out: stdout(),
            plain: plain.then(Plain::new),
            stamps: a.timestamps,
            at_line_start: true,
            line_time: None,
            stamp: None,
            buf: Vec::new(),
        })),
    };
    // The last N lines of a window are found reading it all; without a
    // window, from where they begin.
    let mut ring = a
        .tail
        .filter(|_| window.any())
        .map(|n| Ring::new(usize::try_from(n).unwrap_or(usize::MAX)));
    let open = |dir: &std::path::Path| match a.tail {
        Some(n) if !window.any() => LogReader::open_tail_of(dir, store::LOG, n),
        _ => LogReader::open_start_of(dir, store::LOG),
    };
    let read_err = |e| Error::io("reading the output of", &s.dir, e);
    let mut timed = None;
    let (mut said_missing, mut first) = (Vec::new(), true);
    loop {
        // Liveness before reading (as `logs -f`): one more read after the
        // end gets everything.
        let live = a.follow
            && !s.meta.is_ended()
            && store::is_locked(&s.dir)
            && window.until.is_none_or(|u| nanos(SystemTime::now()) <= u);
        if timed.is_none() {
            timed = open(&s.dir)
                .map_err(read_err)?
                .map(|r| Timed::new(r, &s.dir));
        }
        let mut got = 0;
        if let Some(t) = timed.as_mut() {
            loop {
                let n = t.fill().map_err(read_err)?;
                for (file, why) in t.take_missing() {
                    if !said_missing.contains(&file) {
                        let what = match (window.any(), &out) {
                            (true, _) => "its lines are left out of the window",
                            (false, Out::Cast(_)) => "its output has the last time known",
                            (false, Out::Text(_)) => "its lines have no timestamp",
                        };
                        note(format!("{file} has no times: {why}; {what}"));
                        said_missing.push(file);
                    }
                }
                if n == 0 {
                    break;
                }
                got += n;
                for p in t.pieces().filter(|p| window.has(p.line_time)) {
                    match ring.as_mut() {
                        Some(r) => r.push(p),
                        None => out.piece(p)?,
                    }
                }
            }
        }
        if first && let Some(r) = ring.take() {
            for p in r.lines.iter().flatten() {
                out.piece(p.as_piece())?;
            }
        }
        first = false;
        if !live {
            break;
        }
        if got == 0 {
            out.flush()?;
            std::thread::sleep(FOLLOW_POLL);
        }
    }
    out.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// The last N lines of a window, as pieces.
struct Ring {
    n: usize,
    lines: VecDeque<Vec<Owned>>,
}

struct Owned {
    time: Option<u64>,
    line_time: Option<u64>,
    starts_line: bool,
    data: Vec<u8>,
}

impl Owned {
    fn as_piece(&self) -> Piece<'_> {
        Piece {
            time: self.time,
            line_time: self.line_time,
            starts_line: self.starts_line,
            data: &self.data,
        }
    }
}

impl Ring {
    fn new(n: usize) -> Ring {
        Ring {
            n,
            lines: VecDeque::new(),
        }
    }

    fn push(&mut self, p: Piece) {
        if self.n == 0 {
            return;
        }
        if p.starts_line || self.lines.is_empty() {
            if self.lines.len() == self.n {
                self.lines.pop_front();
            }
            self.lines.push_back(Vec::new());
        }
        self.lines.back_mut().expect("pushed").push(Owned {
            time: p.time,
            line_time: p.line_time,
            starts_line: p.starts_line,
            data: p.data.to_vec(),
        });
    }
}

enum Out<'a> {
    Text(Box<Text<'a>>),
    Cast(Cast<Stdout<'a>>),
}

impl Out<'_> {
    fn piece(&mut self, p: Piece) -> Result<()> {
        match self {
            Out::Text(t) => t.piece(p),
            Out::Cast(c) => c.piece(p).map_err(stdout_error),
        }
    }

    fn flush(&mut self) -> Result<()> {
        match self {
            Out::Text(t) => t.out.flush().map_err(stdout_error),
            Out::Cast(c) => c.flush().map_err(stdout_error),
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            Out::Text(mut t) => {
                if let Some(p) = &mut t.plain {
                    let mut buf = Vec::new();
                    p.finish(&mut buf);
                    t.write(&buf)?;
                }
                t.out.flush().map_err(stdout_error)
            }
            Out::Cast(c) => c.finish().map_err(stdout_error),
        }
    }
}

/// Text, raw or plain, each line after its time with `--timestamps`.
struct Text<'a> {
    out: Stdout<'a>,
    plain: Option<Plain>,
    stamps: bool,
    /// The next byte written begins a line.
    at_line_start: bool,
    /// The time of the line being written.
    line_time: Option<u64>,
    /// The last time written, formatted.
    stamp: Option<(u64, String)>,
    buf: Vec<u8>,
}

impl Text<'_> {
    fn piece(&mut self, p: Piece) -> Result<()> {
        // Plain text comes out a line at a time, when its end is fed: the
        // line is the one this piece belongs to.
        self.line_time = p.line_time;
        match self.plain.as_mut() {
            None => self.write(p.data),
            Some(plain) => {
                let mut buf = std::mem::take(&mut self.buf);
                buf.clear();
                plain.feed(p.data, &mut buf);
                let r = self.write(&buf);
                self.buf = buf;
                r
            }
        }
    }

    fn write(&mut self, mut data: &[u8]) -> Result<()> {
        if !self.stamps {
            return self.out.write_all(data).map_err(stdout_error);
        }
        while !data.is_empty() {
            let end = data
                .iter()
                .position(|&b| b == b'\n')
                .map_or(data.len(), |i| i + 1);
            if self.at_line_start
                && let Some(t) = self.line_time
            {
                // Lines of one batch share their time: formatted once.
                if self.stamp.as_ref().is_none_or(|s| s.0 != t) {
                    self.stamp = Some((t, rfc3339_nanos(crate::logs::time(t)) + " "));
                }
                let stamp = &self.stamp.as_ref().expect("set above").1;
                self.out.write_all(stamp.as_bytes()).map_err(stdout_error)?;
            }
            self.out.write_all(&data[..end]).map_err(stdout_error)?;
            self.at_line_start = data[end - 1] == b'\n';
            data = &data[end..];
        }
        Ok(())
    }
}
