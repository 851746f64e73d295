//! What the agent reads: output rendered to plain text, the echo of its own
//! input skipped, bounded to a head and a tail with a marker that says where
//! the rest is in the log, and matched against a pattern line by line.

use std::collections::VecDeque;
use std::time::Duration;

use regex::Regex;

use super::backend::{InputAnswer, Plain};

/// Plain-text output, collected line by line.
///
/// - With an [`InputAnswer`], the echo of the input (the terminal shows
///   what was typed before the program answers) is dropped by the same rule
///   as `send --since-input`.
/// - The rest is kept up to `max` bytes: the first half as it comes, then a
///   rolling last half; what falls between is counted, with the range of
///   output offsets it came from, so the agent can page to it.
/// - With a pattern, each line (and the line still being written) is
///   tested; the first that matches is kept.
pub struct Collector {
    plain: Plain,
    buf: Vec<u8>,
    max: usize,
    /// Raw output bytes fed so far (offsets are relative to the first).
    raw: u64,
    /// Where the line being written began.
    line_start: u64,
    echo: Option<InputAnswer>,
    /// Where the answer (after the skipped echo) begins.
    answer_start: u64,
    head: String,
    head_full: bool,
    tail: VecDeque<(String, u64, u64)>,
    tail_len: usize,
    omitted: Option<Omitted>,
    pattern: Option<Regex>,
    matched: Option<String>,
}

/// Output left out of an answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Omitted {
    /// Plain-text bytes and lines left out.
    pub bytes: u64,
    pub lines: u64,
    /// The raw output range they came from, relative to the first byte fed.
    pub raw_from: u64,
    pub raw_to: u64,
}

/// A finished answer: its head, its tail, and what was left out between.
pub struct Collected {
    head: String,
    tail: String,
    pub omitted: Option<Omitted>,
    /// Where the answer begins, relative to the first byte fed (after the
    /// skipped echo).
    pub answer_start: u64,
    /// Raw bytes fed.
    pub raw: u64,
    pub matched: Option<String>,
}

impl Collector {
    pub fn new(max: usize, echo: Option<InputAnswer>, pattern: Option<Regex>) -> Collector {
        Collector {
            plain: Plain::new(),
            buf: Vec::new(),
            max: max.max(64),
            raw: 0,
            line_start: 0,
            echo,
            answer_start: 0,
            head: String::new(),
            head_full: false,
            tail: VecDeque::new(),
            tail_len: 0,
            omitted: None,
            pattern,
            matched: None,
        }
    }

    /// Raw bytes fed so far.
    pub fn raw(&self) -> u64 {
        self.raw
    }

    pub fn matched(&self) -> Option<&str> {
        self.matched.as_deref()
    }

    /// Skip the echo of an input from now on (the output fed next begins
    /// where the answer tracks it from).
    pub fn skip_echo(&mut self, echo: InputAnswer) {
        self.echo = Some(echo);
    }

    /// Feed raw output.
    pub fn feed(&mut self, data: &[u8]) {
        // The echo (and anything before the input) is a prefix of `data`:
        // count it, so offsets stay those of the output, and drop it.
        let data = match &mut self.echo {
            Some(a) => {
                let d = a.feed(data);
                let skipped = (data.len() - d.len()) as u64;
                if skipped > 0 {
                    self.raw += skipped;
                    self.line_start = self.raw;
                    self.answer_start = self.raw;
                }
                d
            }
            None => data,
        };
        // One line at a time, so each finished line knows its raw range.
        for piece in data.split_inclusive(|&b| b == b'\n') {
            self.buf.clear();
            self.plain.feed(piece, &mut self.buf);
            self.raw += piece.len() as u64;
            if piece.last() == Some(&b'\n') {
                let text = String::from_utf8_lossy(&self.buf).into_owned();
                let start = self.line_start;
                self.line_start = self.raw;
                self.line(text, start, self.raw);
            }
        }
        if self.matched.is_none()
            && let Some(re) = &self.pattern
        {
            let partial = self.plain.current_line();
            if !partial.is_empty() && re.is_match(&partial) {
                self.matched = Some(partial);
            }
        }
    }

    /// One finished line (with its newline), from raw `start` to `end`.
    fn line(&mut self, text: String, start: u64, end: u64) {
        if self.matched.is_none()
            && let Some(re) = &self.pattern
        {
            let l = text.trim_end_matches('\n');
            if re.is_match(l) {
                self.matched = Some(l.to_string());
            }
        }
        let half = self.max / 2;
        if !self.head_full {
            if self.head.len() + text.len() <= half {
                self.head.push_str(&text);
                return;
            }
            self.head_full = true;
            if self.head.is_empty() {
                // One line longer than half the room: keep its start.
                let cut = floor_char(&text, half);
                self.head.push_str(&text[..cut]);
                self.head.push('\n');
                self.omit(text.len() - cut, 0, start, end);
                return;
            }
        }
        self.tail_len += text.len();
        self.tail.push_back((text, start, end));
        while self.tail_len > half {
            if self.tail.len() == 1 {
                // One line longer than the room: keep its end.
                let (t, s, e) = self.tail.pop_front().expect("one");
                let cut = ceil_char(&t, t.len() - half);
                self.omit(cut, 0, s, e);
                let rest = t[cut..].to_string();
                self.tail_len = rest.len();
                self.tail.push_back((rest, s, e));
                break;
            }
            let (t, s, e) = self.tail.pop_front().expect("not empty");
            self.tail_len -= t.len();
            self.omit(t.len(), 1, s, e);
        }
    }

    fn omit(&mut self, bytes: usize, lines: u64, from: u64, to: u64) {
        let o = self.omitted.get_or_insert(Omitted {
            raw_from: from,
            raw_to: to,
            ..Omitted::default()
        });
        o.bytes += bytes as u64;
        o.lines += lines;
        o.raw_from = o.raw_from.min(from);
        o.raw_to = o.raw_to.max(to);
    }

    /// The answer, with the line still being written (if any) at its end.
    pub fn finish(mut self) -> Collected {
        self.buf.clear();
        self.plain.finish(&mut self.buf);
        if !self.buf.is_empty() {
            let text = String::from_utf8_lossy(&self.buf).into_owned();
            let start = self.line_start;
            // A final line without its newline: the answer shows it as is.
            let text = text.strip_suffix('\n').unwrap_or(&text).to_string();
            if !text.is_empty() {
                self.line(text, start, self.raw);
            }
        }
        Collected {
            head: std::mem::take(&mut self.head),
            tail: self.tail.iter().map(|(t, _, _)| t.as_str()).collect(),
            omitted: self.omitted,
            answer_start: self.answer_start,
            raw: self.raw,
            matched: self.matched,
        }
    }
}

impl Collected {
    /// The text for the agent; where something was left out, a marker with
    /// the offsets to page to (`base`: the absolute output offset of the
    /// first byte fed).
    pub fn text(&self, base: u64, name: &str, max: usize) -> String {
        let mut text = self.head.clone();
        if let Some(o) = self.omitted {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            let from = base + o.raw_from;
            let len = o.raw_to - o.raw_from;
            let pages = if len as usize > max {
                format!(" (in pages of at most {max} bytes; each answer gives next_offset)")
            } else {
                String::new()
            };
            text.push_str(&format!(
                "[... {} ({} lines) of output left out here: session_logs with name {name:?}, \
                 offset {from}, limit {len} shows them{pages} ...]\n",
                size(o.bytes),
                o.lines
            ));
        }
        text.push_str(&self.tail);
        text
    }
}

/// The largest char boundary at or below `i`.
fn floor_char(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary at or above `i`.
fn ceil_char(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// "90s", "500ms", "1h30m", or a number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if let Ok(secs) = t.parse::<f64>() {
        return seconds(secs);
    }
    humantime::parse_duration(t)
        .map_err(|e| format!("invalid duration {s:?}: {e}; write it like \"500ms\", \"2s\" or \"1m\", or give a number of seconds"))
}

pub fn seconds(secs: f64) -> Result<Duration, String> {
    if secs.is_finite() && (0.0..=1e9).contains(&secs) {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err(format!(
            "invalid duration {secs}: give a number of seconds from 0 up"
        ))
    }
}

/// A size the way people read it: 512 B, 16.0 KiB, 4.8 MiB.
pub fn size(n: u64) -> String {
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    for unit in ["KiB", "MiB", "GiB"] {
        if v < 1024.0 {
            return format!("{v:.1} {unit}");
        }
        v /= 1024.0;
    }
    format!("{v:.1} TiB")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(max: usize, skip: u32, data: &[&[u8]]) -> Collected {
        let echo = (skip > 0).then(|| InputAnswer::new(0, skip, true));
        let mut c = Collector::new(max, echo, None);
        for d in data {
            c.feed(d);
        }
        c.finish()
    }

    #[test]
    fn skips_the_echo_and_renders_plain() {
        let c = collect(1000, 1, &[b"print(6*7)\r\n4", b"2\r\n\x1b[1m>>> \x1b[0m"]);
        assert_eq!(c.text(0, "x", 1000), "42\n>>>");
        assert_eq!(c.answer_start, 12);
        assert_eq!(c.raw, 12 + 4 + 12);
    }

    #[test]
    fn progress_bars_resolve() {
        let c = collect(1000, 0, &[b"10%\r50%\r100%\ndone\n"]);
        assert_eq!(c.text(0, "x", 1000), "100%\ndone\n");
    }

    #[test]
    fn keeps_head_and_tail_with_a_marker() {
        let mut data = Vec::new();
        for i in 0..1000 {
            data.extend_from_slice(format!("line {i:04}\n").as_bytes());
        }
        let c = collect(200, 0, &[&data]);
        let text = c.text(5000, "x", 200);
        assert!(text.starts_with("line 0000\n"), "{text}");
        assert!(text.ends_with("line 0999\n"), "{text}");
        let o = c.omitted.unwrap();
        // 10 lines of 10 bytes fit in each half.
        assert_eq!(o.lines, 980);
        assert_eq!(o.bytes, 9800);
        assert_eq!((o.raw_from, o.raw_to), (100, 9900));
        assert!(text.contains("offset 5100, limit 9800"), "{text}");
        assert!(text.len() < 200 + 250, "{}", text.len());
    }

    #[test]
    fn one_huge_line_is_cut_in_the_middle() {
        // Shorter than the plain view's widest line (65,536 columns), which
        // wraps.
        let line = vec![b'a'; 60_000];
        let c = collect(1000, 0, &[&line, b"\nend\n"]);
        let text = c.text(0, "x", 1000);
        assert!(text.len() < 1300, "{}", text.len());
        assert!(text.ends_with("end\n"));
        assert!(c.omitted.unwrap().bytes > 58_000);
    }

    #[test]
    fn matches_finished_and_partial_lines_after_the_echo() {
        let re = Regex::new("^done$").unwrap();
        let mut c = Collector::new(1000, Some(InputAnswer::new(0, 1, true)), Some(re.clone()));
        c.feed(b"echo done\r\n");
        assert_eq!(c.matched(), None);
        c.feed(b"don");
        assert_eq!(c.matched(), None);
        c.feed(b"e");
        assert_eq!(c.matched(), Some("done"));
        let re = Regex::new("ready").unwrap();
        let mut c = Collector::new(1000, None, Some(re));
        c.feed(b"\x1b[32mserver ready\x1b[0m on :80\r\n");
        assert_eq!(c.matched(), Some("server ready on :80"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("soon").unwrap_err().contains("500ms"));
        assert!(seconds(-1.0).is_err());
    }
}
