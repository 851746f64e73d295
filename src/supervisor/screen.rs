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
//! `tests::matches_feeding_every_byte` proves the shortcut against feeding
//! every byte.

use std::num::NonZeroU16;

pub struct Screen {
    vt: Vt,
    /// What the parser has been fed, as far as the shortcut cares.
    track: Tracker,
    /// Plain output not yet fed, starting where the parser was in its ground
    /// state and default modes, or just after a CR (see the module docs).
    plain: Vec<u8>,
}

/// Cut `plain` down once it holds this much.
const PLAIN_LIMIT: usize = 64 * 1024;

impl Screen {
    pub fn new(cols: u16, rows: u16) -> Screen {
        Screen {
            vt: Vt::new(cols, rows),
            track: Tracker::new(rows),
            plain: Vec::new(),
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

    /// Bells rung and the last title set since the previous call. (Plain
    /// output held back by the shortcut holds neither.)
    pub fn take_hooks(&mut self) -> (u32, Option<String>) {
        let h = self.vt.parser.callbacks_mut();
        (std::mem::take(&mut h.bells), h.title.take())
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

/// Follows what the shortcut depends on in the bytes fed to the parser:
/// vte's escape-sequence state (its state machine, mirrored), whether a
/// UTF-8 character is unfinished, which grid is active, and whether each
/// grid's scroll region is the whole screen, as vt100 applies them. (vt100
/// implements no insert mode, so that needs no tracking.) Where unsure, it
/// says "not default".
struct Tracker {
    state: St,
    /// UTF-8 continuation bytes still expected in the ground state.
    utf8_left: u8,
    /// A CSI's parameter and intermediate bytes.
    seq: Vec<u8>,
    rows: u16,
    alt: bool,
    /// Per grid (main, alternate): the scroll region is the whole screen.
    region_default: [bool; 2],
    /// The bytes of an unfinished escape sequence or character, for a
    /// repaint to replay so that the output that follows completes it.
    unfinished: Vec<u8>,
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
    fn new(rows: u16) -> Tracker {
        Tracker {
            state: St::Ground,
            utf8_left: 0,
            seq: Vec::new(),
            rows,
            alt: false,
            region_default: [true, true],
            unfinished: Vec::new(),
        }
    }

    fn shortcut_ok(&self) -> bool {
        self.state == St::Ground && self.utf8_left == 0 && self.region_default[self.alt as usize]
    }

    fn resized(&mut self, rows: u16, changed: bool) {
        self.rows = rows;
        if changed {
            self.region_default = [true, true];
        }
    }

    fn feed(&mut self, data: &[u8]) {
        for &b in data {
            if b == 0x1b {
                self.unfinished.clear();
            }
            self.byte(b);
            if self.state == St::Ground && self.utf8_left == 0 {
                self.unfinished.clear();
            } else if self.unfinished.len() < UNFINISHED_MAX {
                self.unfinished.push(b);
            }
        }
    }

    fn byte(&mut self, b: u8) {
        // Anywhere: CAN and SUB cancel, ESC starts over.
        match b {
            0x18 | 0x1a => {
                self.state = St::Ground;
                self.utf8_left = 0;
                return;
            }
            0x1b => {
                self.state = St::Escape;
                self.utf8_left = 0;
                return;
            }
            _ => {}
        }
        match self.state {
            St::Ground => {
                if self.utf8_left > 0 && (0x80..0xc0).contains(&b) {
                    self.utf8_left -= 1;
                    return;
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
                b'c' => {
                    // RIS: a new screen of the same size.
                    let rows = self.rows;
                    *self = Tracker::new(rows);
                }
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
                        self.csi(b);
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
    }

    /// A dispatched CSI: the ones that move scroll regions or grids.
    fn csi(&mut self, fin: u8) {
        let seq = std::mem::take(&mut self.seq);
        let (private, rest) = match seq.first() {
            Some(&c @ 0x3c..=0x3f) => (Some(c), &seq[1..]),
            _ => (None, &seq[..]),
        };
        let inter = rest.iter().any(|c| (0x20..=0x2f).contains(c));
        // Each parameter's first sub-parameter, as vte parses it.
        let params: Vec<u16> = rest
            .split(|&c| c == b';')
            .map(|p| {
                p.iter()
                    .take_while(|c| c.is_ascii_digit())
                    .fold(0u16, |v, &d| {
                        v.saturating_mul(10).saturating_add(u16::from(d - b'0'))
                    })
            })
            .collect();
        let whole = |p: &[u8]| !p.contains(&b':');
        match (private, inter, fin) {
            (None, false, b'r') => {
                let top = params.first().copied().filter(|&v| v > 0).unwrap_or(1);
                let bottom = params
                    .get(1)
                    .copied()
                    .filter(|&v| v > 0)
                    .unwrap_or(self.rows);
                let bottom = (bottom - 1).min(self.rows - 1);
                let top = top - 1;
                self.region_default[self.alt as usize] =
                    top >= bottom || (top == 0 && bottom == self.rows - 1);
            }
            (Some(b'?'), false, b'h' | b'l') => {
                for (p, v) in rest.split(|&c| c == b';').zip(&params) {
                    if whole(p) && (*v == 47 || *v == 1049) {
                        if fin == b'h' && *v == 1049 {
                            // The alternate grid is cleared, region included.
                            self.region_default[1] = true;
                        }
                        self.alt = fin == b'h';
                    }
                }
            }
            _ => {}
        }
        self.seq = seq;
        self.seq.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic PRNG (xorshift) for generated inputs.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
            &v[self.below(v.len() as u64) as usize]
        }
    }

    const WORDS: &[&str] = &[
        "a",
        "hello",
        "world",
        " ",
        "  ",
        "\t",
        "\x08",
        "\r",
        "\n",
        "\r\n",
        "\r\n",
        "\r\n",
        "\n\n",
        "é",
        "日本語",
        "🦀",
        "ｗｉｄｅ",
        "x\u{301}",
        "0123456789abcdef",
        "The quick brown fox jumps over the lazy dog. ",
    ];

    const ESCAPES: &[&[u8]] = &[
        b"\x1b[31m",
        b"\x1b[1;38;5;196m",
        b"\x1b[38;2;10;200;30m",
        b"\x1b[0m",
        b"\x1b[K",
        b"\x1b[2J",
        b"\x1b[H",
        b"\x1b[5;10H",
        b"\x1b[3A",
        b"\x1b[2B",
        b"\x1b[4C",
        b"\x1b[1D",
        b"\x1b[3;8r",
        b"\x1b[r",
        b"\x1b[4h",
        b"\x1b[4l",
        b"\x1b[?1049h",
        b"\x1b[?1049l",
        b"\x1b[?25l",
        b"\x1b[?25h",
        b"\x1b[?2004h",
        b"\x1b[?1h",
        b"\x1b]0;title\x07",
        b"\x1b]2;t\x1b\\",
        b"\x1b7",
        b"\x1b8",
        b"\x1bM",
        b"\x1bD",
        b"\x1bE",
        b"\x1b(0",
        b"\x1b(B",
        b"\x1b[!p",
        b"\x1b[2L",
        b"\x1b[3M",
        b"\x1b[2@",
        b"\x1b[4P",
        b"\x1b[S",
        b"\x1b[2T",
        b"\x1bc",
        b"\x1b[?7l",
        b"\x1b[?7h",
        b"\x1b[?6h",
        b"\x1b[?6l",
        b"\x07",
        b"\x0e",
        b"\x0f",
        b"\x0b",
        b"\x0c",
        b"\x18",
        b"\xff",
        b"\xe2\x82",
        b"\x1bP1$r\x1b\\",
        b"\x1b[1;24r",
        b"\x1b[20h",
        b"\x1b[20l",
    ];

    fn gen_chunk(r: &mut Rng, plain_bias: bool) -> Vec<u8> {
        let mut v = Vec::new();
        let n = r.below(if plain_bias { 400 } else { 30 }) + 1;
        for _ in 0..n {
            if !plain_bias && r.below(4) == 0 {
                let e: &[u8] = r.pick::<&[u8]>(ESCAPES);
                v.extend_from_slice(e);
            } else {
                v.extend_from_slice(r.pick(WORDS).as_bytes());
            }
        }
        v
    }

    fn state(s: &vt100::Screen) -> (String, (u16, u16), String, bool) {
        (
            s.contents_formatted(),
            s.cursor_position(),
            s.input_mode_formatted(),
            s.alternate_screen(),
        )
    }

    /// SCREEN_CASES=N runs more generated cases than the default.
    fn cases_to_run() -> u64 {
        std::env::var("SCREEN_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1500)
    }

    /// The shortcut gives the same screen as feeding every byte, over many
    /// generated inputs: plain bursts long and short, escape sequences split
    /// anywhere, invalid UTF-8, scroll regions, insert mode, resizes.
    #[test]
    fn matches_feeding_every_byte() {
        let mut cases = 0;
        for seed in 1..=cases_to_run() {
            let mut r = Rng(seed.wrapping_mul(0x9E3779B97F4A7C15) | 1);
            let cols = [10, 20, 80][r.below(3) as usize];
            let rows = [3, 5, 24][r.below(3) as usize];
            let mut fast = Screen::new(cols, rows);
            let mut slow = Vt::new(cols, rows);
            let chunks = r.below(40) + 1;
            for _ in 0..chunks {
                let kind = r.below(10);
                if kind == 0 {
                    let c = [7, 10, 30][r.below(3) as usize];
                    let rr = [2, 4, 24][r.below(3) as usize];
                    fast.resize(c, rr);
                    slow.set_size(c, rr);
                    continue;
                }
                let mut data = gen_chunk(&mut r, kind < 7);
                if kind == 9 {
                    // A long plain burst, as a flood of text would be.
                    for _ in 0..r.below(50) {
                        data.extend(gen_chunk(&mut r, true));
                    }
                }
                // Split anywhere, as PTY reads do.
                let mut rest = &data[..];
                while !rest.is_empty() {
                    let take = (r.below(rest.len() as u64) + 1) as usize;
                    fast.feed(&rest[..take]);
                    slow.process(&rest[..take]);
                    rest = &rest[take..];
                }
                if r.below(5) == 0 {
                    assert_eq!(state(fast.screen()), state(slow.screen()), "seed {seed}");
                }
            }
            assert_eq!(state(fast.screen()), state(slow.screen()), "seed {seed}");
            cases += 1;
        }
        assert_eq!(cases, cases_to_run());
    }

    /// However the output is split into reads, the screen is the same.
    #[test]
    fn split_reads_do_not_change_the_screen() {
        for seed in 1..=300u64 {
            let mut r = Rng(seed.wrapping_mul(0x2545F4914F6CDD1D) | 1);
            let mut data = Vec::new();
            for _ in 0..r.below(20) + 1 {
                let bias = r.below(2) == 0;
                data.extend(gen_chunk(&mut r, bias));
            }
            let mut whole = Vt::new(20, 5);
            whole.process(&data);
            let mut split = Vt::new(20, 5);
            let mut rest = &data[..];
            while !rest.is_empty() {
                let take = (r.below(rest.len().min(7) as u64) + 1) as usize;
                split.process(&rest[..take]);
                rest = &rest[take..];
            }
            assert_eq!(state(split.screen()), state(whole.screen()), "seed {seed}");
        }
    }

    /// A client painted while the program is halfway through an escape
    /// sequence or a character sees the same as the model once it finishes.
    #[test]
    fn repaint_replays_an_unfinished_sequence() {
        for (before, after) in [
            (&b"before\r\n\x1b[3"[..], &b"1mRED\x1b[0m after"[..]),
            (b"before\r\n\xe6\x97", b"\xa5 after"),
            (b"x\x1b]0;tit", b"le\x07 after"),
            (b"x\x1b", b"[2J\x1b[Hafter"),
        ] {
            let mut s = Screen::new(30, 5);
            s.feed(before);
            let mut client = vt100::Parser::new(nz(5), nz(30), 0);
            client.process(b"junk\x1b[");
            client.process(&s.repaint());
            s.feed(after);
            client.process(after);
            let want = s.screen();
            assert_eq!(client.screen().contents(), want.contents(), "{before:?}");
            assert_eq!(
                client.screen().contents_formatted(),
                want.contents_formatted(),
                "{before:?}"
            );
        }
    }

    #[test]
    fn a_flood_of_text_keeps_only_the_tail() {
        let mut s = Screen::new(80, 24);
        let mut line = 0;
        for _ in 0..2000 {
            let mut chunk = String::new();
            for _ in 0..50 {
                line += 1;
                chunk.push_str(&format!("line {line}\r\n"));
            }
            s.feed(chunk.as_bytes());
            assert!(s.plain.len() < PLAIN_LIMIT + 4096);
        }
        let text = s.text();
        assert!(text.contains(&format!("line {line}\n")), "{text}");
        assert!(text.contains(&format!("line {}\n", line - 22)), "{text}");
    }

    #[test]
    fn repaint_restores_the_alternate_screen_and_modes() {
        let mut s = Screen::new(40, 10);
        s.feed(b"shell prompt\r\n\x1b[?1049h\x1b[?2004h\x1b[?1h\x1b[H\x1b[31mFULL\x1b[0m SCREEN\x1b[5;3H");
        let paint = s.repaint();
        let mut p = vt100::Parser::new(nz(10), nz(40), 0);
        p.process(b"garbage on the client's terminal\r\n\x1b[");
        p.process(&paint);
        let want = s.screen();
        assert!(p.screen().alternate_screen());
        assert!(p.screen().bracketed_paste());
        assert!(p.screen().application_cursor());
        assert_eq!(p.screen().contents(), want.contents());
        assert_eq!(p.screen().cursor_position(), (4, 2));
        assert_eq!(
            p.screen().cell(0, 0).unwrap().fgcolor(),
            vt100::Color::Idx(1)
        );
    }
}
