//! A session's output with its times, for `logs --since/--until/
//! --timestamps` and `--format asciicast`: the bytes a [`LogReader`] reads,
//! cut into [`Piece`]s at each line end and each time entry
//! (`timeindex.rs`), each knowing the time of its own batch and of the
//! line it belongs to (a line's time is the time its first byte came).

use std::io;
use std::ops::Range;
use std::path::Path;

use super::LogReader;
use super::timeindex::Clock;

/// Bytes of output that share their batch and their line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece<'a> {
    /// When these bytes came (Unix nanoseconds), if known.
    pub time: Option<u64>,
    /// When the line they belong to began, if known.
    pub line_time: Option<u64>,
    /// They begin a line.
    pub starts_line: bool,
    pub data: &'a [u8],
}

struct Span {
    time: Option<u64>,
    line_time: Option<u64>,
    starts_line: bool,
    range: Range<usize>,
}

pub struct Timed {
    reader: LogReader,
    clock: Clock,
    /// The current line's time; None at the start of a line.
    line: Option<Option<u64>>,
    buf: Vec<u8>,
    spans: Vec<Span>,
}

impl Timed {
    /// The output `reader` reads (from the start, or a line's start), timed
    /// by `dir`'s index.
    pub fn new(reader: LogReader, dir: &Path) -> Timed {
        Timed {
            reader,
            clock: Clock::new(dir),
            line: None,
            buf: vec![0; 256 * 1024],
            spans: Vec::new(),
        }
    }

    /// Read what is there (0 at the end of the live log); then
    /// [`pieces`](Self::pieces) are the bytes read.
    pub fn fill(&mut self) -> io::Result<usize> {
        self.spans.clear();
        let (n, ino, offset) = self.reader.read_at(&mut self.buf)?;
        let mut at = 0;
        while at < n {
            let (time, next) = self.clock.at(ino, offset + at as u64);
            let end = next.map_or(n, |o| usize::try_from(o - offset).unwrap_or(n).min(n));
            let end = end.max(at + 1);
            // Cut at each line end.
            let mut from = at;
            while from < end {
                let stop = self.buf[from..end]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(end, |i| from + i + 1);
                let starts_line = self.line.is_none();
                let line_time = *self.line.get_or_insert(time);
                self.spans.push(Span {
                    time,
                    line_time,
                    starts_line,
                    range: from..stop,
                });
                if self.buf[stop - 1] == b'\n' {
                    self.line = None;
                }
                from = stop;
            }
            at = end;
        }
        Ok(n)
    }

    /// The pieces of the bytes the last [`fill`](Self::fill) read.
    pub fn pieces(&self) -> impl Iterator<Item = Piece<'_>> {
        self.spans.iter().map(|s| Piece {
            time: s.time,
            line_time: s.line_time,
            starts_line: s.starts_line,
            data: &self.buf[s.range.clone()],
        })
    }

    /// Logs found with no times so far (file, why), each once; taken.
    pub fn take_missing(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.clock.missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::timeindex::{IndexWriter, QUIET};
    use std::io::Write;
    use std::time::{Instant, SystemTime};

    #[test]
    fn pieces_carry_their_batch_and_line_times() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut log = crate::sys::append_nofollow(&d.join(crate::store::LOG)).unwrap();
        let mut idx = IndexWriter::open(d, &log);
        let (now, wall) = (Instant::now(), SystemTime::now());
        idx.note(now, wall, 0);
        log.write_all(b"one\ntw").unwrap();
        idx.note(now + QUIET, wall + QUIET, 6);
        log.write_all(b"o\nthree\nfo").unwrap();
        let mut t = Timed::new(
            LogReader::open_start_of(d, crate::store::LOG)
                .unwrap()
                .unwrap(),
            d,
        );
        assert_eq!(t.fill().unwrap(), 16);
        let p: Vec<_> = t.pieces().collect();
        let texts: Vec<_> = p.iter().map(|p| p.data).collect();
        assert_eq!(texts, [&b"one\n"[..], b"tw", b"o\n", b"three\n", b"fo"]);
        let (t0, t1) = (p[0].time.unwrap(), p[2].time.unwrap());
        assert!(t1 > t0);
        let times: Vec<_> = p
            .iter()
            .map(|p| (p.time, p.line_time, p.starts_line))
            .collect();
        assert_eq!(
            times,
            [
                (Some(t0), Some(t0), true),
                (Some(t0), Some(t0), true),
                (Some(t1), Some(t0), false),
                (Some(t1), Some(t1), true),
                (Some(t1), Some(t1), true),
            ]
        );
        assert!(t.take_missing().is_empty());
    }
}
