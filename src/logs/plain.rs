//! Terminal output as plain text: escape sequences removed, each line as a
//! terminal would show it in the end.
//!
//! The bytes are parsed by `vte`, the parser under the screen model, so
//! escape sequences and strings end exactly where a terminal ends them: an
//! OSC at BEL or ST, any string (OSC, DCS, SOS, PM, APC) also at ESC, CAN
//! or SUB, and a sequence interrupted by another ESC. The line is kept as
//! the screen model keeps a row (`supervisor/screen/`), without its width:
//! wide characters take two columns, combining marks join the character
//! before, and the differential test (`supervisor/plain_vs_screen.rs`)
//! checks the two agree on generated output.
//!
//! Memory is bounded whatever the input: a line holds at most
//! [`MAX_LINE`] columns (longer ones wrap, as on a terminal that wide), and
//! an OSC string is cut after [`MAX_STRING`] bytes ([`StringCap`]: `vte`
//! would otherwise collect all of it).

use std::borrow::Cow;

use unicode_width::UnicodeWidthChar;
use vte::{Params, Perform};

/// The widest line kept; the rest wraps onto the next line.
pub const MAX_LINE: usize = 64 * 1024;
/// The most bytes of an OSC string handed to the parser.
pub const MAX_STRING: usize = 4096;

/// The second half of a wide character.
const WIDE_TAIL: char = '\0';

/// A streaming renderer of terminal output to plain lines.
///
/// It keeps one line and a cursor column: CR returns to column 0, BS steps
/// back, TAB advances to the next multiple of 8, printable characters
/// overwrite what is under the cursor (in insert mode, push it right), and
/// the line-editing sequences (`CSI` `K` `X` `P` `@` `G` `` ` `` `C` `a` `D`
/// `I` `Z` `b`, and `J` on this line) act on it. LF, VT, FF and NEL end
/// the line. Everything else (colours, cursor movement up and down,
/// titles, DCS) is dropped.
#[derive(Default)]
pub struct Plain {
    parser: vte::Parser,
    line: Line,
    cap: StringCap,
    /// The start of a UTF-8 character the last feed did not finish.
    carry: Vec<u8>,
}

#[derive(Default)]
struct Line {
    cells: Vec<char>,
    /// Combining characters, by the column of the character they follow.
    marks: Vec<(usize, String)>,
    col: usize,
    /// At the last column after printing there: the next character wraps.
    pending_wrap: bool,
    insert: bool,
    /// G0..G3, and which is shifted in.
    charsets: [Charset; 4],
    gl: usize,
    last_char: Option<char>,
    /// What DECSC saved: the column, a pending wrap, the character sets.
    saved: Option<(usize, bool, [Charset; 4], usize)>,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Charset {
    #[default]
    Ascii,
    /// DEC special graphics (line drawing).
    Graphics,
    /// UK: `#` is `£`.
    Uk,
}

impl Plain {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed bytes; finished lines (with `\n`) are appended to `out`.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let filtered = self.cap.filter(data);
        // vte 0.15 loses characters when one call finishes a UTF-8
        // sequence and leaves another unfinished: never end a call inside
        // one (as the screen model does).
        let joined;
        let data: &[u8] = if self.carry.is_empty() {
            &filtered
        } else {
            let mut j = std::mem::take(&mut self.carry);
            j.extend_from_slice(&filtered);
            joined = j;
            &joined
        };
        let keep = unfinished_utf8(data);
        let (now, later) = data.split_at(data.len() - keep);
        let mut p = Performer {
            line: &mut self.line,
            out,
        };
        self.parser.advance(&mut p, now);
        self.carry = later.to_vec();
    }

    /// The line being written, as it shows now.
    pub fn current_line(&self) -> String {
        let mut s = String::new();
        self.line.text(&mut s);
        s
    }

    /// Flush a final line that has no newline yet (an unfinished character
    /// shows as U+FFFD).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let mut p = Performer {
            line: &mut self.line,
            out,
        };
        if !self.carry.is_empty() {
            self.carry.clear();
            p.print('\u{FFFD}');
        }
        if !p.line.cells.is_empty() {
            p.end_line(true);
        }
    }
}

/// The parser's performer for one feed: the line, and where finished lines go.
struct Performer<'a> {
    line: &'a mut Line,
    out: &'a mut Vec<u8>,
}

impl Performer<'_> {
    /// Emit the line; `cr`: the cursor returns to column 0 (else it stays,
    /// as after an index).
    fn end_line(&mut self, cr: bool) {
        let mut s = String::new();
        self.line.text(&mut s);
        self.out.extend_from_slice(s.as_bytes());
        self.out.push(b'\n');
        self.line.cells.clear();
        self.line.marks.clear();
        self.line.pending_wrap = false;
        if cr {
            self.line.col = 0;
        }
    }

    fn put_char(&mut self, c: char) {
        let c = match self.line.charsets[self.line.gl] {
            Charset::Ascii => c,
            Charset::Graphics => dec_graphics(c),
            Charset::Uk if c == '#' => '£',
            Charset::Uk => c,
        };
        let width = c.width().unwrap_or(0);
        if width == 0 {
            self.line.combine(c);
            return;
        }
        self.line.last_char = Some(c);
        if self.line.pending_wrap {
            self.end_line(true);
        }
        if width == 2 && self.line.col + 1 >= MAX_LINE {
            // Does not fit: the line ends and the character wraps.
            self.end_line(true);
        }
        let l = &mut *self.line;
        let col = l.col;
        if l.insert {
            l.insert_blanks(col, width);
        }
        l.pad_to(col + width);
        l.split_wide_at(col);
        l.split_wide_at(col + width);
        l.drop_marks(col, col + width);
        l.cells[col] = c;
        if width == 2 {
            l.cells[col + 1] = WIDE_TAIL;
        }
        if col + width >= MAX_LINE {
            l.col = MAX_LINE - 1;
            l.pending_wrap = true;
        } else {
            l.col = col + width;
        }
    }
}

impl Line {
    /// Its text, trailing blanks trimmed (as a screen row's).
    fn text(&self, out: &mut String) {
        let start = out.len();
        for (i, &c) in self.cells.iter().enumerate() {
            if c == WIDE_TAIL {
                continue;
            }
            out.push(c);
            if let Some((_, m)) = self.marks.iter().find(|(at, _)| *at == i) {
                out.push_str(m);
            }
        }
        let keep = out[start..].trim_end_matches(' ').len();
        out.truncate(start + keep);
    }

    /// Make sure columns up to `end` (excluded) exist.
    fn pad_to(&mut self, end: usize) {
        if self.cells.len() < end {
            self.cells.resize(end, ' ');
        }
    }

    fn set_col(&mut self, col: usize) {
        self.col = col.min(MAX_LINE - 1);
        self.pending_wrap = false;
    }

    /// If a wide character straddles the boundary before column `at`, blank
    /// both its halves.
    fn split_wide_at(&mut self, at: usize) {
        if at == 0 || at >= self.cells.len() {
            return;
        }
        if self.cells[at] == WIDE_TAIL {
            self.cells[at - 1] = ' ';
            self.cells[at] = ' ';
        }
    }

    fn drop_marks(&mut self, from: usize, to: usize) {
        self.marks.retain(|(c, _)| *c < from || *c >= to);
    }

    /// A zero-width character joins the one before the cursor.
    fn combine(&mut self, c: char) {
        let mut col = self.col;
        if !self.pending_wrap {
            if col == 0 {
                return;
            }
            col -= 1;
        }
        self.pad_to(col + 1);
        if self.cells[col] == WIDE_TAIL && col > 0 {
            col -= 1;
        }
        match self.marks.iter_mut().find(|(at, _)| *at == col) {
            Some((_, s)) => {
                if s.len() < 32 {
                    s.push(c);
                }
            }
            None => self.marks.push((col, c.to_string())),
        }
    }

    /// Erase columns `from..to` (to the end of the line if `to` is None).
    fn erase(&mut self, from: usize, to: Option<usize>) {
        let to = to.unwrap_or(usize::MAX).min(self.cells.len());
        if from >= to {
            return;
        }
        self.split_wide_at(from);
        self.split_wide_at(to);
        self.cells[from..to].fill(' ');
        self.drop_marks(from, to);
        // Trailing blanks are not kept.
        let used = self
            .cells
            .iter()
            .rposition(|&c| c != ' ')
            .map_or(0, |i| i + 1);
        if self.marks.iter().all(|(c, _)| *c < used) {
            self.cells.truncate(used);
        }
    }

    /// Insert `n` blanks at `col`, pushing the rest right (ICH, insert mode).
    fn insert_blanks(&mut self, col: usize, n: usize) {
        if col >= self.cells.len() {
            return;
        }
        self.split_wide_at(col);
        self.cells
            .splice(col..col, std::iter::repeat_n(' ', n.min(MAX_LINE)));
        for (c, _) in &mut self.marks {
            if *c >= col {
                *c += n;
            }
        }
        if self.cells.len() > MAX_LINE {
            self.split_wide_at(MAX_LINE);
            self.cells.truncate(MAX_LINE);
            self.marks.retain(|(c, _)| *c < MAX_LINE);
        }
    }

    /// Delete `n` characters at `col`, pulling the rest left (DCH).
    fn delete_chars(&mut self, col: usize, n: usize) {
        if col >= self.cells.len() {
            return;
        }
        let end = (col + n).min(self.cells.len());
        self.split_wide_at(col);
        self.split_wide_at(end);
        self.drop_marks(col, end);
        self.cells.drain(col..end);
        let n = end - col;
        for (c, _) in &mut self.marks {
            if *c >= end {
                *c -= n;
            }
        }
    }

    /// DECSC, as far as a line cares.
    fn save(&mut self) {
        self.saved = Some((self.col, self.pending_wrap, self.charsets, self.gl));
    }

    /// DECRC (without a save: column 0 and the default character sets).
    fn restore(&mut self) {
        let (col, wrap, charsets, gl) = self.saved.unwrap_or_default();
        (self.col, self.pending_wrap, self.charsets, self.gl) = (col, wrap, charsets, gl);
    }

    fn tab_forward(&mut self, n: usize) {
        for _ in 0..n {
            self.col = ((self.col / 8 + 1) * 8).min(MAX_LINE - 1);
        }
        self.pending_wrap = false;
    }

    fn tab_back(&mut self, n: usize) {
        for _ in 0..n {
            self.col = self.col.saturating_sub(1) / 8 * 8;
        }
        self.pending_wrap = false;
    }
}

/// The first value of parameter `i`, or `default` when missing or 0.
fn arg(params: &Params, i: usize, default: usize) -> usize {
    match params.iter().nth(i).and_then(|p| p.first()) {
        Some(&0) | None => default,
        Some(&v) => v as usize,
    }
}

impl Perform for Performer<'_> {
    fn print(&mut self, c: char) {
        // vte hands DEL to print; a terminal ignores it (as the screen model does).
        if c != '\u{7f}' {
            self.put_char(c);
        }
    }

    fn execute(&mut self, b: u8) {
        let l = &mut *self.line;
        match b {
            0x08 => {
                l.pending_wrap = false;
                l.col = l.col.saturating_sub(1);
            }
            0x09 => l.tab_forward(1),
            0x0a..=0x0c => self.end_line(true),
            0x0d => {
                l.col = 0;
                l.pending_wrap = false;
            }
            0x0e => l.gl = 1,
            0x0f => l.gl = 0,
            // A lone byte 0x80..0x9f is not UTF-8: shown as U+FFFD, as a
            // UTF-8 terminal (and the screen model) does.
            0x80..=0x9f => self.put_char('\u{fffd}'),
            _ => {}
        }
    }

    fn csi_dispatch(&mut self, params: &Params, inter: &[u8], ignore: bool, action: char) {
        if ignore {
            return;
        }
        let n = |i: usize| arg(params, i, 1);
        let raw = params
            .iter()
            .next()
            .and_then(|p| p.first())
            .copied()
            .unwrap_or(0);
        if inter == b"!" && action == 'p' {
            // DECSTR, as far as a line cares.
            let l = &mut *self.line;
            l.insert = false;
            l.charsets = Default::default();
            l.gl = 0;
            l.pending_wrap = false;
            l.saved = None;
            return;
        }
        if !inter.is_empty() {
            return;
        }
        if action == 'b' {
            // REP: the last character again (already mapped: as is).
            if let Some(c) = self.line.last_char {
                let (charsets, gl) = (self.line.charsets, self.line.gl);
                self.line.charsets = Default::default();
                for _ in 0..n(0).min(MAX_LINE) {
                    self.put_char(c);
                }
                self.line.charsets = charsets;
                self.line.gl = gl;
            }
            return;
        }
        let l = &mut *self.line;
        let col = l.col;
        match action {
            '@' => {
                l.insert_blanks(col, n(0));
                l.pending_wrap = false;
            }
            'C' | 'a' => l.set_col(col.saturating_add(n(0))),
            'D' => l.set_col(col.saturating_sub(n(0))),
            'G' | '`' => l.set_col(n(0) - 1),
            'I' => l.tab_forward(n(0)),
            'Z' => l.tab_back(n(0)),
            // On this line, erasing in the display is erasing in the line
            // (but `CSI 3 J`, which only empties the history).
            'K' | 'J' => match raw {
                0 => l.erase(col, None),
                1 => l.erase(0, Some(col + 1)),
                2 => l.erase(0, None),
                _ => {}
            },
            'P' => {
                l.delete_chars(col, n(0));
                l.pending_wrap = false;
            }
            'X' => {
                l.erase(col, Some(col + n(0)));
                l.pending_wrap = false;
            }
            'h' | 'l' => {
                for p in params.iter() {
                    if p.first() == Some(&4) {
                        l.insert = action == 'h';
                    }
                }
            }
            's' => l.save(),
            'u' => l.restore(),
            _ => {}
        }
    }

    fn esc_dispatch(&mut self, inter: &[u8], ignore: bool, b: u8) {
        if ignore {
            return;
        }
        match (inter, b) {
            // IND: down a line, the column kept.
            ([], b'D') => self.end_line(false),
            // NEL: a new line.
            ([], b'E') => self.end_line(true),
            // RIS: the line as a fresh terminal's.
            ([], b'c') => *self.line = Line::default(),
            ([], b'7') => self.line.save(),
            ([], b'8') => self.line.restore(),
            ([], b'n') => self.line.gl = 2,
            ([], b'o') => self.line.gl = 3,
            ([i @ (b'(' | b')' | b'*' | b'+')], f) => {
                self.line.charsets[(i - b'(') as usize] = match f {
                    b'0' => Charset::Graphics,
                    b'A' => Charset::Uk,
                    _ => Charset::Ascii,
                };
            }
            _ => {}
        }
    }
}

/// DEC special graphics for 0x60..=0x7e (the screen model maps them with
/// [`dec_graphics`] too).
const GRAPHICS: [char; 31] = [
    '◆', '▒', '␉', '␌', '␍', '␊', '°', '±', '␤', '␋', '┘', '┐', '┌', '└', '┼', '⎺', '⎻', '─', '⎼',
    '⎽', '├', '┤', '┴', '┬', '│', '≤', '≥', 'π', '≠', '£', '·',
];

/// A character in the DEC special graphics set, as a terminal draws it.
pub fn dec_graphics(c: char) -> char {
    match c {
        '_' => ' ',
        '`'..='~' => GRAPHICS[(c as usize) - 0x60],
        _ => c,
    }
}

/// How many bytes at the end of `d` begin a UTF-8 sequence that `d` does
/// not finish (the screen model holds them back the same way).
pub fn unfinished_utf8(d: &[u8]) -> usize {
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

/// Keeps what `vte` collects of an OSC string bounded: the bytes of an OSC
/// string after its first [`MAX_STRING`] are not handed to the parser (vte
/// keeps every byte of one until it ends). It follows just enough of vte's
/// state machine for that: ESC starts an escape from any state; in an
/// escape, C0 controls (but CAN and SUB), DEL and bytes from 0x80 keep it
/// an escape, `]` begins an OSC and anything else ends it; an OSC ends at
/// BEL, CAN, SUB or ESC.
#[derive(Default)]
pub struct StringCap {
    state: CapState,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum CapState {
    #[default]
    Other,
    Escape,
    /// In an OSC string, this many bytes in.
    Osc(usize),
}

impl StringCap {
    /// `data` without the bytes of OSC strings beyond their first
    /// [`MAX_STRING`] (borrowed when nothing is cut).
    pub fn filter<'a>(&mut self, data: &'a [u8]) -> Cow<'a, [u8]> {
        let mut out: Option<Vec<u8>> = None;
        let mut i = 0;
        while i < data.len() {
            if self.state == CapState::Other {
                // The common case: nothing to look at until an ESC.
                match crate::osc::find_esc(&data[i..]) {
                    Some(k) => {
                        if let Some(o) = out.as_mut() {
                            o.extend_from_slice(&data[i..i + k]);
                        }
                        i += k;
                    }
                    None => {
                        if let Some(o) = out.as_mut() {
                            o.extend_from_slice(&data[i..]);
                        }
                        break;
                    }
                }
            }
            let b = data[i];
            let keep = self.byte(b);
            match (&mut out, keep) {
                (Some(o), true) => o.push(b),
                (None, false) => out = Some(data[..i].to_vec()),
                _ => {}
            }
            i += 1;
        }
        match out {
            Some(o) => Cow::Owned(o),
            None => Cow::Borrowed(data),
        }
    }

    /// One byte; false when it is dropped.
    fn byte(&mut self, b: u8) -> bool {
        use CapState::*;
        self.state = match (self.state, b) {
            (_, 0x1b) => Escape,
            (Escape, 0x18 | 0x1a) => Other,
            (Escape, b']') => Osc(0),
            (Escape, 0x00..=0x1f | 0x7f..=0xff) => Escape,
            (Escape, _) => Other,
            (Osc(_), 0x07 | 0x18 | 0x1a) => Other,
            (Osc(n), _) => {
                if n >= MAX_STRING {
                    return false;
                }
                Osc(n + 1)
            }
            (Other, _) => Other,
        };
        true
    }
}

/// Render a whole buffer to plain text, including a final unterminated line.
pub fn plain(data: &[u8]) -> String {
    let mut p = Plain::new();
    let mut out = Vec::new();
    p.feed(data, &mut out);
    p.finish(&mut out);
    String::from_utf8(out).expect("renderer emits UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_bars_resolve_to_the_final_line() {
        assert_eq!(plain(b"10%\r50%\r100%\r\n"), "100%\n");
        assert_eq!(plain(b"building...\r\x1b[Kdone\r\nnext"), "done\nnext\n");
        assert_eq!(plain(b"downloading 10%\rdone\n"), "doneloading 10%\n");
    }

    #[test]
    fn escapes_are_removed() {
        assert_eq!(
            plain(b"\x1b[1;31mred\x1b[0m \x1b]0;title\x07ok\x1b]2;t\x1b\\!\n"),
            "red ok!\n"
        );
        assert_eq!(plain(b"a\x1b(Bb\x1b=c\n"), "abc\n");
    }

    #[test]
    fn strings_end_as_terminals_end_them() {
        // An OSC cut off by the ESC of the next sequence.
        assert_eq!(plain(b"\x1b]0;title\x1b[31mREADY\x1b[0m\r\n"), "READY\n");
        // DCS, APC, PM and SOS end at CAN and SUB too.
        assert_eq!(plain(b"\x1bPq#0;2\x18A\r\n"), "A\n");
        assert_eq!(plain(b"\x1b_apc\x1aB\r\n"), "B\n");
        assert_eq!(plain(b"\x1b^pm\x1b\\C\x1bXsos\x18D\n"), "CD\n");
        assert_eq!(plain(b"\x1b]2;x\x1a\x1b[mE\n"), "E\n");
    }

    #[test]
    fn tabs_backspace_utf8() {
        assert_eq!(plain(b"a\tb\n"), "a       b\n");
        assert_eq!(plain(b"abc\x08\x08X\n"), "aXc\n");
        assert_eq!(plain("héllo ✓ 日本\n".as_bytes()), "héllo ✓ 日本\n");
        assert_eq!(plain(b"bad \xff byte\n"), "bad \u{FFFD} byte\n");
    }

    #[test]
    fn wide_characters_take_two_columns() {
        // Overwriting half of a wide character blanks it, as a terminal does.
        assert_eq!(plain("日本\x08\x08x\n".as_bytes()), "日x\n");
        assert_eq!(plain("ab日\r\x1b[2Cx\n".as_bytes()), "abx\n");
        assert_eq!(plain("日\x1b[2Gy\n".as_bytes()), " y\n");
        assert_eq!(plain("e\u{301}\n".as_bytes()), "e\u{301}\n");
    }

    #[test]
    fn split_feeds_match_whole() {
        let input = "x\x1b[31my\u{e9}\r\nz\x1b]0;t\x07w日\n".as_bytes();
        let whole = plain(input);
        for cut in 0..input.len() {
            let mut p = Plain::new();
            let mut out = Vec::new();
            p.feed(&input[..cut], &mut out);
            p.feed(&input[cut..], &mut out);
            p.finish(&mut out);
            assert_eq!(String::from_utf8(out).unwrap(), whole, "cut at {cut}");
        }
    }

    #[test]
    fn memory_is_bounded() {
        // An endless line wraps at MAX_LINE columns.
        let long = vec![b'x'; MAX_LINE * 2 + 10];
        let text = plain(&long);
        let lens: Vec<usize> = text.lines().map(str::len).collect();
        assert_eq!(lens, [MAX_LINE, MAX_LINE, 10]);
        // An endless OSC string is cut before the parser sees it.
        let mut cap = StringCap::default();
        let mut osc = b"\x1b]0;".to_vec();
        osc.extend(std::iter::repeat_n(b'y', 100_000));
        osc.extend_from_slice(b"\x07after");
        let kept = cap.filter(&osc);
        assert_eq!(
            kept.len(),
            2 + MAX_STRING + 6,
            "ESC ], the string cut, BEL after"
        );
        assert!(kept.ends_with(b"\x07after"));
        assert_eq!(plain(&osc), "after\n");
        // Nothing cut: nothing copied.
        assert!(matches!(
            cap.filter(b"plain \x1b[31m text"),
            Cow::Borrowed(_)
        ));
    }
}
