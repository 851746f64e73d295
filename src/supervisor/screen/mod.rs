//! The screen model: a `vt100::Parser` the size of the session's window,
//! without scrollback (history lives in the log). It gives the repaint for
//! attaching clients, `capture`, and the modes `send --keys` needs.
//!
//! Its cost is on the output path, so plain text takes a shortcut. While the
//! model is in its default modes (whole-screen scroll region, no insert
//! mode) and the parser is in its ground state, output made only of
//! printable characters, CR, LF, TAB and BS changes the final screen only
//! through its tail: the part from a CR that is followed by at least twice
//! the screen's height of line feeds. Everything before scrolls away (the
//! first `rows` line feeds bring the cursor to the bottom row whatever row
//! it started on; the next `rows` push out everything written before). Such
//! output is held in `plain` and cut down to that tail as it grows; it is
//! fed to the parser only when the screen is needed or other output comes.
//! `tests::matches_feeding_every_byte` (tests.rs) proves the shortcut
//! against feeding every byte.

mod tracker;

use std::num::NonZeroU16;
use std::time::{Duration, Instant};

use tracker::Tracker;

pub struct Screen {
    vt: Vt,
    /// What the parser has been fed, as far as the shortcut cares.
    track: Tracker,
    /// Plain output not yet fed, starting where the parser was in its ground
    /// state and default modes, or just after a CR (see the module docs).
    plain: Vec<u8>,
    /// When a bell was last reported.
    last_bell: Option<Instant>,
}

/// Cut `plain` down once it holds this much.
const PLAIN_LIMIT: usize = 64 * 1024;
/// At most one bell a second is reported.
const BELL_EVERY: Duration = Duration::from_secs(1);

impl Screen {
    pub fn new(cols: u16, rows: u16) -> Screen {
        Screen {
            vt: Vt::new(cols, rows),
            track: Tracker::new(rows),
            plain: Vec::new(),
            last_bell: None,
        }
    }

    /// Take program output.
    pub fn feed(&mut self, data: &[u8]) {
        if is_plain(data) && (!self.plain.is_empty() || self.track.shortcut_ok()) {
            self.plain.extend_from_slice(data);
            if self.plain.len() >= PLAIN_LIMIT {
                self.cut_plain();
            }
            return;
        }
        self.sync();
        self.vt.process(data);
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
        let need = 2 * self.rows() as usize;
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

    pub fn screen(&mut self) -> &vt100::Screen {
        self.sync();
        self.vt.screen()
    }

    /// Whether a bell rang since the previous call (reported at most once
    /// a second), and the last title set since then. (Plain output held
    /// back by the shortcut holds neither.)
    pub fn take_hooks(&mut self, now: Instant) -> (bool, Option<String>) {
        let h = self.vt.parser.callbacks_mut();
        let (bells, title) = (std::mem::take(&mut h.bells), h.title.take());
        let bell =
            bells > 0 && (self.last_bell).is_none_or(|t| now.duration_since(t) >= BELL_EVERY);
        if bell {
            self.last_bell = Some(now);
        }
        (bell, title)
    }

    /// Input modes, which plain output held back cannot change.
    pub fn bracketed_paste(&self) -> bool {
        self.vt.screen().bracketed_paste()
    }

    pub fn application_cursor(&self) -> bool {
        self.vt.screen().application_cursor()
    }

    pub fn rows(&self) -> u16 {
        self.vt.screen().size().0.get()
    }

    pub fn size(&self) -> (u16, u16) {
        let (r, c) = self.vt.screen().size();
        (c.get(), r.get())
    }

    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.sync();
        let changed = self.size() != (cols, rows);
        self.vt.set_size(cols, rows);
        // vt100 resets both grids' scroll regions when the size changes.
        self.track.resized(rows, changed);
    }

    /// Escape sequences that paint the current screen on a fresh terminal:
    /// the alternate screen if the program is on it, contents, attributes,
    /// cursor, and input modes. Starts by cancelling any escape sequence the
    /// receiving terminal may be in the middle of.
    pub fn repaint(&mut self) -> Vec<u8> {
        let s = self.screen();
        let mut out = String::from("\x18\x1b[0m");
        if s.alternate_screen() {
            out.push_str("\x1b[?1049h");
        } else {
            out.push_str("\x1b[?1049l");
        }
        out.push_str("\x1b[H\x1b[2J");
        out.push_str(&s.state_formatted());
        let mut out = out.into_bytes();
        // The program may be in the middle of an escape sequence or a
        // character: what it writes next completes it, on the client too.
        out.extend_from_slice(&self.track.unfinished);
        out
    }

    /// The screen as plain text, trailing blanks trimmed.
    pub fn text(&mut self) -> String {
        let s = self.screen().contents();
        let mut lines: Vec<&str> = s.lines().map(str::trim_end).collect();
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        let mut out = lines.join("\n");
        out.push('\n');
        out
    }

    /// The screen with colours and attributes, as lines of text.
    pub fn ansi(&mut self) -> String {
        let s = self.screen();
        let (_, cols) = s.size();
        let mut out = String::new();
        for row in s.rows_formatted(0, cols.get()) {
            out.push_str(&row);
            out.push_str("\x1b[0m\n");
        }
        while out.ends_with("\x1b[0m\n\x1b[0m\n") {
            out.truncate(out.len() - "\x1b[0m\n".len());
        }
        out
    }
}

/// vt100's parser, fed the way that keeps it exact:
///
/// - no call ends inside a UTF-8 sequence: vte 0.15 drops the characters
///   between a sequence one call completes and one the same call leaves
///   unfinished, so an unfinished tail is carried to the next call;
/// - after each call on the main screen, the count of lines scrolled off it
///   is forgotten. vt100 uses that count when the window grows (it pulls
///   that many blank rows down from a history it does not keep); history
///   lives in the log, and the shortcut skips scrolling, so the count must
///   not matter: a window that grows keeps its content at the top.
struct Vt {
    parser: vt100::Parser<Hooks>,
    carry: Vec<u8>,
}

/// What the parser reports besides the screen: bells and window titles.
#[derive(Default)]
pub struct Hooks {
    pub bells: u32,
    pub title: Option<String>,
}

impl vt100::Callbacks for Hooks {
    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.bells += 1;
    }

    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.title = Some(String::from_utf8_lossy(title).into_owned());
    }
}

impl Vt {
    fn new(cols: u16, rows: u16) -> Vt {
        Vt {
            parser: vt100::Parser::new_with_callbacks(nz(rows), nz(cols), 0, Hooks::default()),
            carry: Vec::new(),
        }
    }

    fn process(&mut self, data: &[u8]) {
        let keep = unfinished_utf8(data);
        let (now, later) = data.split_at(data.len() - keep);
        if self.carry.is_empty() {
            self.parser.process(now);
        } else {
            let mut joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(now);
            let k = unfinished_utf8(&joined);
            self.parser.process(&joined[..joined.len() - k]);
            if k > 0 {
                // Still unfinished (tiny input): keep waiting.
                let tail = joined.split_off(joined.len() - k);
                self.carry = tail;
                self.carry.extend_from_slice(later);
                self.forget_scrolled();
                return;
            }
        }
        self.carry.extend_from_slice(later);
        self.forget_scrolled();
    }

    fn forget_scrolled(&mut self) {
        if !self.parser.screen().alternate_screen() {
            self.parser.screen_mut().clear_scrollback();
        }
    }

    fn set_size(&mut self, cols: u16, rows: u16) {
        self.parser.set_size(nz(rows), nz(cols));
    }

    fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }
}

/// How many bytes at the end of `d` begin a UTF-8 sequence that `d` does
/// not finish.
fn unfinished_utf8(d: &[u8]) -> usize {
    for back in 1..=d.len().min(3) {
        let b = d[d.len() - back];
        if b & 0xc0 == 0x80 {
            continue;
        }
        let need = match b {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => 1,
        };
        return if need > back { back } else { 0 };
    }
    0
}

fn nz(v: u16) -> NonZeroU16 {
    NonZeroU16::new(v.max(1)).expect("nonzero")
}

/// Only printable bytes (including UTF-8), CR, LF, TAB and BS.
fn is_plain(data: &[u8]) -> bool {
    // Branch-free so that it vectorizes.
    data.iter().fold(true, |ok, &b| {
        ok & ((b >= 0x20 && b != 0x7f) | (b == b'\r') | (b == b'\n') | (b == b'\t') | (b == 0x08))
    })
}

#[cfg(test)]
mod tests;
