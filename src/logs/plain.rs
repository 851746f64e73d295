//! Terminal output as plain text: escape sequences removed, carriage-return
//! rewrites resolved as a terminal would show each line in the end.

/// A streaming renderer of terminal output to plain lines.
///
/// It keeps one line of cells and a cursor column: CR returns to column 0,
/// BS steps back, TAB advances to the next multiple of 8, printable
/// characters overwrite what is under the cursor, and `CSI K` / `CSI G` /
/// `CSI C` / `CSI D` act on the line. LF ends the line. Every other escape
/// sequence (colours, OSC titles, DCS, charset selection) is dropped.
#[derive(Default)]
pub struct Plain {
    line: Vec<char>,
    col: usize,
    state: State,
    utf8: Vec<u8>,
    params: Vec<u8>,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Ground,
    Esc,
    Csi,
    /// OSC: until BEL or ST.
    Osc,
    /// DCS, SOS, PM, APC: until ST.
    Str,
    /// ESC seen inside an OSC/string: `\` ends it.
    StrEsc,
    /// ESC ( and friends: one more byte to skip.
    Skip1,
}

const MAX_PARAMS: usize = 64;

impl Plain {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed bytes; finished lines (with `\n`) are appended to `out`.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<u8>) {
        for &b in data {
            self.byte(b, out);
        }
    }

    /// The line being written, as it shows now.
    pub fn current_line(&self) -> String {
        let s: String = self.line.iter().collect();
        s.trim_end().to_string()
    }

    /// Flush a final line that has no newline yet.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.utf8.is_empty() {
            self.utf8.clear();
            self.put('\u{FFFD}');
        }
        if !self.line.is_empty() {
            self.emit(out);
        }
    }

    fn byte(&mut self, b: u8, out: &mut Vec<u8>) {
        match self.state {
            State::Ground => self.ground(b, out),
            State::Esc => {
                self.state = match b {
                    b'[' => {
                        self.params.clear();
                        State::Csi
                    }
                    b']' => State::Osc,
                    b'P' | b'X' | b'^' | b'_' => State::Str,
                    b'(' | b')' | b'*' | b'+' | b'-' | b'.' | b'/' | b'#' | b'%' | b' ' => {
                        State::Skip1
                    }
                    _ => State::Ground,
                }
            }
            State::Csi => {
                if (0x40..=0x7e).contains(&b) {
                    self.state = State::Ground;
                    self.csi(b);
                } else if b == 0x1b {
                    self.state = State::Esc;
                } else if self.params.len() < MAX_PARAMS {
                    self.params.push(b);
                } else {
                    self.state = State::Ground;
                }
            }
            State::Osc => match b {
                0x07 => self.state = State::Ground,
                0x1b => self.state = State::StrEsc,
                _ => {}
            },
            State::Str => {
                if b == 0x1b {
                    self.state = State::StrEsc;
                }
            }
            State::StrEsc => {
                self.state = if b == b'\\' {
                    State::Ground
                } else {
                    State::Str
                };
            }
            State::Skip1 => self.state = State::Ground,
        }
    }

    fn ground(&mut self, b: u8, out: &mut Vec<u8>) {
        if !self.utf8.is_empty() {
            if b & 0xc0 == 0x80 {
                self.utf8.push(b);
                let need = utf8_len(self.utf8[0]);
                if self.utf8.len() == need {
                    let c = std::str::from_utf8(&self.utf8)
                        .ok()
                        .and_then(|s| s.chars().next())
                        .unwrap_or('\u{FFFD}');
                    self.utf8.clear();
                    self.put(c);
                }
                return;
            }
            self.utf8.clear();
            self.put('\u{FFFD}');
        }
        match b {
            b'\n' => self.emit(out),
            b'\r' => self.col = 0,
            0x08 => self.col = self.col.saturating_sub(1),
            b'\t' => self.col = (self.col / 8 + 1) * 8,
            0x1b => self.state = State::Esc,
            0x00..=0x1f | 0x7f => {}
            0x20..=0x7e => self.put(b as char),
            _ => {
                if utf8_len(b) > 1 {
                    self.utf8.push(b);
                } else {
                    self.put('\u{FFFD}');
                }
            }
        }
    }

    fn put(&mut self, c: char) {
        if self.col < self.line.len() {
            self.line[self.col] = c;
        } else {
            self.line.resize(self.col, ' ');
            self.line.push(c);
        }
        self.col += 1;
    }

    fn csi(&mut self, fin: u8) {
        let n = |default: usize| -> usize {
            std::str::from_utf8(&self.params)
                .ok()
                .and_then(|p| p.split(';').next())
                .and_then(|p| p.trim_start_matches('?').parse().ok())
                .filter(|&v: &usize| v > 0)
                .unwrap_or(default)
        };
        match fin {
            b'K' => match n(0) {
                0 => self.line.truncate(self.col),
                1 => {
                    let end = (self.col + 1).min(self.line.len());
                    self.line[..end].iter_mut().for_each(|c| *c = ' ');
                }
                _ => self.line.clear(),
            },
            b'G' => self.col = n(1) - 1,
            b'C' => self.col += n(1),
            b'D' => self.col = self.col.saturating_sub(n(1)),
            _ => {}
        }
    }

    fn emit(&mut self, out: &mut Vec<u8>) {
        let end = self
            .line
            .iter()
            .rposition(|c| !c.is_whitespace())
            .map_or(0, |i| i + 1);
        let mut tmp = [0u8; 4];
        for c in &self.line[..end] {
            out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
        }
        out.push(b'\n');
        self.line.clear();
        self.col = 0;
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 1,
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
    fn tabs_backspace_utf8() {
        assert_eq!(plain(b"a\tb\n"), "a       b\n");
        assert_eq!(plain(b"abc\x08\x08X\n"), "aXc\n");
        assert_eq!(plain("héllo ✓ 日本\n".as_bytes()), "héllo ✓ 日本\n");
        assert_eq!(plain(b"bad \xff byte\n"), "bad \u{FFFD} byte\n");
    }

    #[test]
    fn split_feeds_match_whole() {
        let input = "x\x1b[31my\u{e9}\r\nz\x1b]0;t\x07w\n".as_bytes();
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
}
