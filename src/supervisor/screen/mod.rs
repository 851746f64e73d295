//! The screen model: the terminal the program draws on, kept the size of the
//! session's window (`term.rs`, parsed by `vte`). It gives the repaint for
//! attaching clients (`paint.rs`), `capture`, the modes `send --keys` needs,
//! the answers to the program's terminal queries, and reflow on resize
//! (`reflow.rs`).
//!
//! Its cost is on the output path, so plain text takes a shortcut. While the
//! scroll region is the whole screen and the parser is in its ground state,
//! output made only of printable characters, CR, LF, TAB and BS changes the
//! final screen only through its tail: the part from a CR that is followed
//! by at least twice the screen's height of line feeds (plus the history's
//! bound while it holds rows). Everything before scrolls away (the first
//! `rows` line feeds bring the cursor to the bottom row whatever row it
//! started on; the next `rows` push out everything written before). Such
//! output is held in `plain` and cut down to that tail as it grows; it is
//! fed to the parser only when the screen is needed or other output comes.
//! `tests::matches_feeding_every_byte` proves the shortcut against feeding
//! every byte.

mod cell;
mod paint;
mod reflow;
mod term;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::time::{Duration, Instant};

use term::{HISTORY_MAX, Term};

use crate::logs::unfinished_utf8;

pub struct Screen {
    vt: Vt,
    /// When a `bell` was last reported (at most one a [`BELL_EVERY`]).
    last_bell: Option<Instant>,
    /// What the parser has been fed, as far as the shortcut cares.
    track: Tracker,
    /// Plain output not yet fed, starting where the parser was in its ground
    /// state and default modes, or just after a CR (see the module docs).
    plain: Vec<u8>,
    /// No model (pipe mode: the program has no terminal): nothing to repaint.
    absent: bool,
}

/// Bells closer together than this are reported once.
const BELL_EVERY: Duration = Duration::from_secs(1);

/// Cut `plain` down once it holds this much.
const PLAIN_LIMIT: usize = 64 * 1024;

impl Screen {
    pub fn new(cols: u16, rows: u16) -> Screen {
        Screen {
            vt: Vt::new(cols, rows),
            last_bell: None,
            track: Tracker::new(),
            plain: Vec::new(),
            absent: false,
        }
    }

    /// Pipe mode: no terminal, so no model. Its repaint is nothing: a
    /// terminal watching (that attached, or fell behind) keeps what it
    /// shows and goes on from the output that comes.
    pub fn none() -> Screen {
        Screen {
            absent: true,
            ..Screen::new(1, 1)
        }
    }

    /// Take program output.
    pub fn feed(&mut self, data: &[u8]) {
        self.track.queries.clear();
        if is_plain(data)
            && (!self.plain.is_empty() || (self.track.ground() && self.vt.term.region_is_whole()))
        {
            self.plain.extend_from_slice(data);
            if self.plain.len() >= PLAIN_LIMIT {
                self.cut_plain();
            }
            return;
        }
        self.sync();
        self.vt.process(data);
        self.track.queries.clear();
        self.track.feed(data);
    }

    /// Feed what is held back, so the parser shows the true screen.
    fn sync(&mut self) {
        if self.plain.is_empty() {
            return;
        }
        self.cut_plain();
        self.vt.process(&self.plain);
        self.track.feed(&self.plain);
        self.plain.clear();
    }

    /// Drop the part of `plain` that can no longer show on screen.
    fn cut_plain(&mut self) {
        let history = if self.vt.term.history.is_empty() {
            0
        } else {
            HISTORY_MAX
        };
        let need = 2 * self.rows() as usize + history;
        let mut lfs = 0;
        let mut i = self.plain.len();
        // Find the point with `need` line feeds after it...
        while i > 0 && lfs < need {
            i -= 1;
            if self.plain[i] == b'\n' {
                lfs += 1;
            }
        }
        if lfs < need {
            return;
        }
        // ...then the last CR before it that ends a whole character.
        while i > 0 {
            i -= 1;
            if self.plain[i] == b'\r' && (i == 0 || self.plain[i - 1] < 0x80) {
                // Keep the CR: it puts the cursor in column 0 in both cases.
                self.plain.drain(..i);
                return;
            }
        }
    }

    fn term(&mut self) -> &Term {
        self.sync();
        self.vt.term.allocate();
        &self.vt.term
    }

    /// Give back what output left behind: plain text held back is fed to
    /// the parser, and its buffer (up to [`PLAIN_LIMIT`]) freed.
    pub fn shrink(&mut self) {
        self.sync();
        self.plain = Vec::new();
    }

    /// Whether a bell rang since the previous call (at most one reported a
    /// second), and the last title set. (Plain output held back by the
    /// shortcut holds neither.)
    pub fn take_hooks(&mut self, now: Instant) -> (bool, Option<String>) {
        let t = &mut self.vt.term;
        let (bells, title) = (std::mem::take(&mut t.bells), t.new_title.take());
        let bell = bells > 0
            && self
                .last_bell
                .is_none_or(|t| now.duration_since(t) >= BELL_EVERY);
        if bell {
            self.last_bell = Some(now);
        }
        (bell, title)
    }

    /// The answers to the terminal queries in the output fed so far, for
    /// the supervisor to write to the program (see `term.rs` for the list).
    pub fn take_replies(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.vt.term.replies)
    }

    /// The output of the last `feed` as attached clients get it: without
    /// the queries this model answered (the clients' terminals would answer
    /// them a second time). A query split across two reads goes through.
    pub fn for_clients<'a>(&self, data: &'a [u8]) -> Cow<'a, [u8]> {
        if self.track.queries.is_empty() {
            return Cow::Borrowed(data);
        }
        let mut out = Vec::with_capacity(data.len());
        let mut at = 0;
        for &(from, to) in &self.track.queries {
            if from >= at && to <= data.len() {
                out.extend_from_slice(&data[at..from]);
                at = to;
            }
        }
        out.extend_from_slice(&data[at..]);
        Cow::Owned(out)
    }

    /// Input modes, which plain output held back cannot change.
    /// The program asked for focus reports (`CSI ? 1004 h`).
    pub fn focus_reporting(&self) -> bool {
        self.vt.term.modes.focus
    }

    pub fn bracketed_paste(&self) -> bool {
        self.vt.term.modes.bracketed_paste
    }

    pub fn application_cursor(&self) -> bool {
        self.vt.term.modes.app_cursor
    }

    pub fn rows(&self) -> u16 {
        self.vt.term.rows
    }

    /// (columns, rows).
    pub fn size(&self) -> (u16, u16) {
        (self.vt.term.cols, self.vt.term.rows)
    }

    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.sync();
        self.vt.term.resize(cols, rows);
    }

    /// Escape sequences that bring a terminal in any state to this screen:
    /// both screens, saved cursors, scroll region, tab stops, modes, title,
    /// character sets, attributes and cursor (see `paint.rs`).
    pub fn repaint(&mut self) -> Vec<u8> {
        if self.absent {
            return Vec::new();
        }
        let mut out = String::new();
        self.term().repaint(&mut out);
        let mut out = out.into_bytes();
        // The program may be in the middle of an escape sequence or a
        // character: what it writes next completes it, on the client too.
        out.extend_from_slice(&self.track.unfinished);
        out
    }

    /// The screen as plain text, one line per row, trailing blanks trimmed.
    pub fn text(&mut self) -> String {
        self.term().text(false)
    }

    /// The screen as plain text, a row the text wrapped from joined with
    /// the next.
    pub fn text_joined(&mut self) -> String {
        self.term().text(true)
    }

    /// The screen with colours and attributes, as lines of text.
    pub fn ansi(&mut self) -> String {
        self.term().ansi()
    }
}

/// The parser and the terminal, fed the way that keeps it exact: no call
/// ends inside a UTF-8 sequence (vte 0.15 drops the characters between a
/// sequence one call completes and one the same call leaves unfinished), so
/// an unfinished tail is carried to the next call. And bounded: an OSC
/// string is cut after 4 KiB before vte, which keeps all of one, sees it
/// (`StringCap`, shared with the plain-text view).
struct Vt {
    parser: vte::Parser,
    term: Term,
    carry: Vec<u8>,
    cap: crate::logs::StringCap,
}

impl Vt {
    fn new(cols: u16, rows: u16) -> Vt {
        Vt {
            parser: vte::Parser::new(),
            // The grid comes with the first output (`process`).
            term: Term::unallocated(cols, rows),
            carry: Vec::new(),
            cap: Default::default(),
        }
    }

    fn process(&mut self, data: &[u8]) {
        self.term.allocate();
        let filtered = self.cap.filter(data);
        let data: &[u8] = &filtered;
        let keep = unfinished_utf8(data);
        let (now, later) = data.split_at(data.len() - keep);
        if self.carry.is_empty() {
            self.parser.advance(&mut self.term, now);
        } else {
            let mut joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(now);
            let k = unfinished_utf8(&joined);
            self.parser
                .advance(&mut self.term, &joined[..joined.len() - k]);
            if k > 0 {
                // Still unfinished (tiny input): keep waiting.
                let tail = joined.split_off(joined.len() - k);
                self.carry = tail;
                self.carry.extend_from_slice(later);
                return;
            }
        }
        self.carry.extend_from_slice(later);
    }
}

/// Only printable bytes (including UTF-8), CR, LF, TAB and BS.
fn is_plain(data: &[u8]) -> bool {
    // Branch-free so that it vectorizes.
    data.iter().fold(true, |ok, &b| {
        ok & ((b >= 0x20 && b != 0x7f) | (b == b'\r') | (b == b'\n') | (b == b'\t') | (b == 0x08))
    })
}

/// Follows what the shortcut and the repaint depend on in the bytes fed to
/// the parser: vte's escape-sequence state (its state machine, mirrored) and
/// whether a UTF-8 character is unfinished. It also finds, in each `feed`,
/// where the queries the model answers are, for [`Screen::for_clients`].
struct Tracker {
    state: St,
    /// UTF-8 continuation bytes still expected in the ground state.
    utf8_left: u8,
    /// A CSI's parameter and intermediate bytes.
    seq: Vec<u8>,
    /// The bytes of an unfinished escape sequence or character, for a
    /// repaint to replay so that the output that follows completes it.
    unfinished: Vec<u8>,
    /// Where the escape sequence being parsed began in this feed's data.
    esc_at: Option<usize>,
    /// Byte ranges of this feed's data that are answered queries.
    queries: Vec<(usize, usize)>,
}

/// How much of an unfinished sequence is kept for replay (the rest of an
/// OSC or DCS string is ignored by terminals anyway).
const UNFINISHED_MAX: usize = 64;

#[derive(Clone, Copy, PartialEq, Eq)]
enum St {
    Ground,
    Escape,
    EscInter,
    CsiEntry,
    CsiParam,
    CsiInter,
    CsiIgnore,
    Osc,
    /// DCS before its final byte.
    DcsHead,
    /// DCS data: ends at ESC, CAN, SUB or 0x9C.
    DcsPass,
    /// SOS, PM, APC: end at ESC, CAN or SUB.
    SosPmApc,
}

impl Tracker {
    fn new() -> Tracker {
        Tracker {
            state: St::Ground,
            utf8_left: 0,
            seq: Vec::new(),
            unfinished: Vec::new(),
            esc_at: None,
            queries: Vec::new(),
        }
    }

    fn ground(&self) -> bool {
        self.state == St::Ground && self.utf8_left == 0
    }

    fn feed(&mut self, data: &[u8]) {
        self.esc_at = None;
        let mut i = 0;
        while i < data.len() {
            if self.ground() {
                // Text: only ESC, CAN, SUB and the bytes of a UTF-8
                // character change anything here.
                let Some(k) = crate::osc::find(&data[i..], |b| {
                    (b >= 0x80) | (b == 0x1b) | (b == 0x18) | (b == 0x1a)
                }) else {
                    break;
                };
                i += k;
            }
            let b = data[i];
            i += 1;
            if b == 0x1b {
                self.unfinished.clear();
                self.esc_at = Some(i - 1);
            }
            if self.byte(b)
                && let Some(from) = self.esc_at
            {
                self.queries.push((from, i));
            }
            if self.ground() {
                self.unfinished.clear();
            } else if self.unfinished.len() < UNFINISHED_MAX {
                self.unfinished.push(b);
            }
        }
    }

    /// One byte; true if it ends a query the model answers.
    fn byte(&mut self, b: u8) -> bool {
        // Anywhere: CAN and SUB cancel, ESC starts over.
        match b {
            0x18 | 0x1a => {
                self.state = St::Ground;
                self.utf8_left = 0;
                return false;
            }
            0x1b => {
                self.state = St::Escape;
                self.utf8_left = 0;
                return false;
            }
            _ => {}
        }
        match self.state {
            St::Ground => {
                if self.utf8_left > 0 && (0x80..0xc0).contains(&b) {
                    self.utf8_left -= 1;
                    return false;
                }
                self.utf8_left = match b {
                    0xc2..=0xdf => 1,
                    0xe0..=0xef => 2,
                    0xf0..=0xf4 => 3,
                    _ => 0,
                };
            }
            St::Escape => match b {
                0x20..=0x2f => self.state = St::EscInter,
                b'P' => self.state = St::DcsHead,
                b'X' | b'^' | b'_' => self.state = St::SosPmApc,
                b'[' => {
                    self.seq.clear();
                    self.state = St::CsiEntry;
                }
                b']' => self.state = St::Osc,
                0x30..=0x7e => self.state = St::Ground,
                _ => {}
            },
            St::EscInter => {
                if (0x30..=0x7e).contains(&b) {
                    self.state = St::Ground;
                }
            }
            St::CsiEntry | St::CsiParam | St::CsiInter => {
                let st = self.state;
                match b {
                    0x40..=0x7e => {
                        self.state = St::Ground;
                        return self.is_query(b);
                    }
                    0x3c..=0x3f if st == St::CsiEntry => {
                        self.seq.push(b);
                        self.state = St::CsiParam;
                    }
                    0x30..=0x3f if st == St::CsiInter => self.state = St::CsiIgnore,
                    0x3c..=0x3f => self.state = St::CsiIgnore,
                    0x30..=0x3b => {
                        self.seq.push(b);
                        self.state = St::CsiParam;
                    }
                    0x20..=0x2f => {
                        self.seq.push(b);
                        self.state = St::CsiInter;
                    }
                    _ => {}
                }
            }
            St::CsiIgnore => {
                if (0x40..=0x7e).contains(&b) {
                    self.state = St::Ground;
                }
            }
            St::Osc => {
                if b == 0x07 {
                    self.state = St::Ground;
                }
            }
            St::DcsHead => {
                if (0x40..=0x7e).contains(&b) {
                    self.state = St::DcsPass;
                }
            }
            St::DcsPass => {
                if b == 0x9c {
                    self.state = St::Ground;
                }
            }
            St::SosPmApc => {}
        }
        false
    }

    /// Whether the CSI ending in `fin` is one `term.rs` answers.
    fn is_query(&self, fin: u8) -> bool {
        let seq = &self.seq[..];
        let (private, rest) = match seq.first() {
            Some(&c @ 0x3c..=0x3f) => (Some(c), &seq[1..]),
            _ => (None, seq),
        };
        let (params, inter): (Vec<u8>, Vec<u8>) = rest.iter().partition(|c| **c >= 0x30);
        let first = params
            .split(|&c| c == b';' || c == b':')
            .next()
            .unwrap_or(&[]);
        let first: u32 = std::str::from_utf8(first)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        match (private, &inter[..], fin) {
            (None | Some(b'>'), [], b'c') => first == 0,
            (None, [], b'n') => first == 5 || first == 6,
            (Some(b'?'), [], b'n') => first == 6,
            (None | Some(b'?'), [b'$'], b'p') => true,
            (Some(b'>'), [], b'q') => first == 0,
            (None, [], b't') => first == 18 || first == 19,
            _ => false,
        }
    }
}
