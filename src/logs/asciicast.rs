//! `logs --format asciicast`: asciicast v2, the format `asciinema play`
//! replays. One JSON header line (`version`, `width`, `height`, `timestamp`,
//! `title`), then one `[seconds, "o", text]` line per batch of output, its
//! time relative to the first (never going back, whatever the clock did),
//! and `[seconds, "r", "COLSxROWS"]` for each resize among them
//! (`resized` in events.jsonl). The text is JSON: a character cut between
//! two batches is joined again; bytes that are not UTF-8 become U+FFFD.

use std::io::{self, Write};
use std::path::Path;

use serde_json::{Value, json};

use super::{LogReader, Piece};
use crate::store::EVENTS;

/// A window size from a time on (Unix nanoseconds).
pub type Resize = (u64, u16, u16);

/// The session's size at the start (its `started` event, when it says)
/// and its resizes, from events.jsonl. Unreadable lines are skipped; a
/// rotated-away start leaves the first size to the caller.
pub fn sizes(dir: &Path) -> (Option<(u16, u16)>, Vec<Resize>) {
    let mut text = Vec::new();
    if let Ok(Some(mut r)) = LogReader::open_start_of(dir, EVENTS) {
        let mut buf = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = r.read(&mut buf) {
            text.extend_from_slice(&buf[..n]);
        }
    }
    let size = |v: &Value| {
        let n = |k: &str| v[k].as_u64().and_then(|n| u16::try_from(n).ok());
        Some((n("cols")?, n("rows")?))
    };
    let (mut first, mut resizes) = (None, Vec::new());
    for line in text.split(|&b| b == b'\n') {
        let Ok(v) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        let at = v["ts"]
            .as_str()
            .and_then(|t| humantime::parse_rfc3339(t).ok());
        match v["event"].as_str() {
            Some("started") => first = size(&v),
            Some("resized") => {
                if let (Some(t), Some((c, r))) = (at, size(&v)) {
                    resizes.push((super::timeindex::nanos(t), c, r));
                }
            }
            _ => {}
        }
    }
    (first, resizes)
}

pub struct Cast<W: Write> {
    out: W,
    title: String,
    /// The size before the first event and the resizes not yet written.
    size: (u16, u16),
    resizes: std::collections::VecDeque<Resize>,
    /// The first event's time (the header is written with it).
    start: Option<u64>,
    /// The last time written, relative (never goes back).
    last: u64,
    /// The event being gathered: its time and text.
    pending: Option<(u64, String)>,
    /// The start of a character the next batch ends.
    carry: Vec<u8>,
    /// The last known time, for bytes with none.
    known: u64,
}

impl<W: Write> Cast<W> {
    /// `size`: the window at the session's start; `resizes` in time order.
    pub fn new(out: W, title: &str, size: (u16, u16), resizes: Vec<Resize>) -> Cast<W> {
        Cast {
            out,
            title: title.to_string(),
            size,
            resizes: resizes.into(),
            start: None,
            last: 0,
            pending: None,
            carry: Vec::new(),
            known: 0,
        }
    }

    /// Bytes of output; those with no time take the last known one.
    pub fn piece(&mut self, p: Piece) -> io::Result<()> {
        let t = p.time.unwrap_or(self.known);
        self.known = t;
        if self.pending.as_ref().is_some_and(|e| e.0 != t) {
            self.flush_event()?;
        }
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(p.data);
        let text = &mut self.pending.get_or_insert_with(|| (t, String::new())).1;
        self.carry = push_utf8(text, &data).to_vec();
        Ok(())
    }

    /// Write the event gathered so far (the output has paused).
    pub fn flush(&mut self) -> io::Result<()> {
        self.flush_event()?;
        self.out.flush()
    }

    /// The end: what is held, then a header if there was no event.
    pub fn finish(mut self) -> io::Result<()> {
        if !self.carry.is_empty() {
            let t = self.known;
            let text = &mut self.pending.get_or_insert_with(|| (t, String::new())).1;
            text.push_str(&String::from_utf8_lossy(&self.carry));
        }
        self.flush_event()?;
        if self.start.is_none() {
            self.header(self.known)?;
        }
        self.out.flush()
    }

    fn header(&mut self, t: u64) -> io::Result<()> {
        // Resizes before the first event set the starting size.
        while let Some(&(at, c, r)) = self.resizes.front()
            && at <= t
        {
            self.size = (c, r);
            self.resizes.pop_front();
        }
        self.start = Some(t);
        let h = json!({
            "version": 2,
            "width": self.size.0,
            "height": self.size.1,
            "timestamp": t / 1_000_000_000,
            "title": self.title,
        });
        writeln!(self.out, "{h}")
    }

    fn flush_event(&mut self) -> io::Result<()> {
        let Some((t, text)) = self.pending.take() else {
            return Ok(());
        };
        if text.is_empty() {
            return Ok(());
        }
        let start = match self.start {
            Some(s) => s,
            None => {
                self.header(t)?;
                t
            }
        };
        while let Some(&(at, c, r)) = self.resizes.front()
            && at <= t
        {
            self.resizes.pop_front();
            self.event(at.saturating_sub(start), "r", &format!("{c}x{r}"))?;
        }
        self.event(t.saturating_sub(start), "o", &text)
    }

    fn event(&mut self, rel: u64, kind: &str, text: &str) -> io::Result<()> {
        self.last = self.last.max(rel);
        let secs = self.last as f64 / 1e9;
        let text = serde_json::to_string(text).map_err(io::Error::other)?;
        writeln!(self.out, "[{secs:.6}, \"{kind}\", {text}]")
    }
}

/// Append `data` as UTF-8 (each invalid sequence as U+FFFD); return the
/// start of a character it ends in the middle of.
fn push_utf8<'a>(out: &mut String, mut data: &'a [u8]) -> &'a [u8] {
    loop {
        match std::str::from_utf8(data) {
            Ok(s) => {
                out.push_str(s);
                return &[];
            }
            Err(e) => {
                let (ok, rest) = data.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(ok).expect("valid"));
                match e.error_len() {
                    None => return rest,
                    Some(k) => {
                        out.push('\u{fffd}');
                        data = &rest[k..];
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(time: u64, data: &[u8]) -> Piece<'_> {
        Piece {
            time: Some(time),
            line_time: Some(time),
            starts_line: true,
            data,
        }
    }

    #[test]
    fn a_recording_with_resizes_and_cut_characters() {
        let s = 1_000_000_000u64;
        let mut out = Vec::new();
        let resizes = vec![(5 * s, 100, 30), (11 * s, 120, 40), (99 * s, 1, 1)];
        let mut c = Cast::new(&mut out, "api", (80, 24), resizes);
        c.piece(piece(10 * s, b"a\xc3")).unwrap();
        c.piece(piece(10 * s, b"\xa9\"")).unwrap();
        c.piece(piece(12 * s + s / 2, b"\xff\xe2\x82")).unwrap();
        // The clock went back: the time does not.
        c.piece(piece(9 * s, b"\xac\x1b[0m\n")).unwrap();
        c.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                json!({"version": 2, "width": 100, "height": 30, "timestamp": 10, "title": "api"}),
                json!([0.0, "o", "aé\""]),
                json!([1.0, "r", "120x40"]),
                json!([2.5, "o", "\u{fffd}"]),
                json!([2.5, "o", "€\u{1b}[0m\n"]),
            ]
        );
    }

    #[test]
    fn nothing_is_a_header_alone() {
        let mut out = Vec::new();
        Cast::new(&mut out, "x", (80, 24), vec![]).finish().unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            (v["width"].as_u64(), v["height"].as_u64()),
            (Some(80), Some(24))
        );
    }
}
