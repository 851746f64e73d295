//! The plain-text view (`logs/plain.rs`) against the screen model: for
//! generated output (printable text, wide and combining characters, CR,
//! LF, BS, TAB, line-editing CSI sequences, OSC/DCS/APC strings ended every
//! way a terminal ends them or cut off, invalid UTF-8, character sets),
//! the last lines of the plain view are the screen model's rows.
//!
//! The model is as wide as no generated line gets and in LNM (LF also
//! returns the carriage, as the plain view takes every line feed to), and
//! only sequences that act within a line are generated: the two then see
//! the same lines. `PLAIN_CASES=N` runs more cases than the default.

use super::screen::Screen;
use crate::logs::Plain;

/// A small deterministic PRNG (xorshift).
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
    "   ",
    "READY",
    "é",
    "日本語",
    "🦀",
    "ｗｉｄｅ",
    "x\u{301}",
    "\u{301}",
    "e\u{301}\u{302}",
    "0123456789",
    "#",
    "lqqk",
    "£",
    "\u{a0}",
    "\u{200b}",
];

/// Control characters and sequences that act within a line.
const CONTROLS: &[&[u8]] = &[
    b"\r",
    b"\n",
    b"\r\n",
    b"\r\n",
    b"\x08",
    b"\x08\x08",
    b"\t",
    b"\x0b",
    b"\x0c",
    b"\x07",
    b"\x00",
    b"\x7f",
    b"\x1b[31m",
    b"\x1b[1;38;5;196m",
    b"\x1b[0m",
    b"\x1b[K",
    b"\x1b[0K",
    b"\x1b[1K",
    b"\x1b[2K",
    b"\x1b[5G",
    b"\x1b[G",
    b"\x1b[12`",
    b"\x1b[3C",
    b"\x1b[a",
    b"\x1b[2D",
    b"\x1b[D",
    b"\x1b[3X",
    b"\x1b[2P",
    b"\x1b[P",
    b"\x1b[2@",
    b"\x1b[I",
    b"\x1b[2Z",
    b"\x1b[3b",
    b"\x1b[4h",
    b"\x1b[4l",
    b"\x1b[?25l",
    b"\x1b[?2004h",
    b"\x1b[>c",
    b"\x1b[!p",
    b"\x1bD",
    b"\x1bE",
    b"\x1b(0",
    b"\x1b(B",
    b"\x1b(A",
    b"\x1b)0\x0e",
    b"\x0f",
    b"\x1b=",
    b"\x1b7ab\x1b8",
    b"\x1b[sxy\x1b[u",
    // Strings, ended every way.
    b"\x1b]0;title\x07",
    b"\x1b]2;title\x1b\\",
    b"\x1b]0;cut by CAN\x18",
    b"\x1b]0;cut by SUB\x1a",
    b"\x1b]0;cut by a CSI\x1b[31m",
    b"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
    b"\x1bPq#0;2;0;0;0#0!20~\x1b\\",
    b"\x1bP1$r\x18",
    b"\x1bPq\x1a",
    b"\x1bPq\x1b[1m",
    b"\x1b_apc\x1b\\",
    b"\x1b_apc\x18",
    b"\x1b^pm\x1a",
    b"\x1bXsos\x1b\\",
    b"\x1bXsos\x1b]0;t\x07",
    // Sequences cut off by another.
    b"\x1b[12\x1b[K",
    b"\x1b\x1b[2D",
    b"\x1b(\x18",
    b"\x1b[1;\x18",
    // Not UTF-8.
    b"\xff",
    b"\xc3(",
    b"\xe2\x82",
    b"\xe2\x82\x1b[m",
    b"\xf0\x9f\xa6",
    b"\x9b",
    b"\xc2\x9b",
    b"\xed\xa0\x80",
];

/// A generated stream, and the last lines a terminal would show of it.
fn stream(r: &mut Rng) -> Vec<u8> {
    let mut v = Vec::new();
    // How far right the cursor may be: kept well inside the model's width.
    let mut reach = 0u32;
    for _ in 0..r.below(80) + 1 {
        if reach > 300 {
            v.extend_from_slice(b"\r\n");
            reach = 0;
        }
        match r.below(10) {
            0..=4 => {
                let w = r.pick(WORDS);
                v.extend_from_slice(w.as_bytes());
                reach += 2 * w.chars().count() as u32;
            }
            5 => {
                // A long OSC string: cut the same in both.
                if r.below(10) == 0 {
                    v.extend_from_slice(b"\x1b]0;");
                    v.extend(std::iter::repeat_n(b'x', 5000));
                    v.push(0x07);
                }
            }
            _ => {
                let c: &[u8] = r.pick::<&[u8]>(CONTROLS);
                v.extend_from_slice(c);
                if c.contains(&b'\n') {
                    reach = 0;
                } else {
                    reach += 16;
                }
            }
        }
    }
    v
}

fn cases() -> u64 {
    std::env::var("PLAIN_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

#[test]
fn the_plain_view_shows_the_lines_the_screen_shows() {
    for seed in 1..=cases() {
        let mut r = Rng(seed.wrapping_mul(0x9E3779B97F4A7C15) | 1);
        let mut data = stream(&mut r);
        // Whatever is unfinished is cancelled; then a last line to find.
        data.extend_from_slice(b"\x18\r\n#END");

        let mut screen = Screen::new(1000, 40);
        screen.feed(b"\x1b[20h");
        let mut plain = Plain::new();
        let mut out = Vec::new();
        // Split anywhere, as reads of the PTY or of the log are.
        let mut rest = &data[..];
        while !rest.is_empty() {
            let take = (r.below(rest.len() as u64) + 1) as usize;
            screen.feed(&rest[..take]);
            plain.feed(&rest[..take], &mut out);
            rest = &rest[take..];
        }
        let text = screen.text();
        let rows: Vec<&str> = text.lines().collect();
        let mut lines: Vec<String> = String::from_utf8(out)
            .expect("UTF-8")
            .lines()
            .map(str::to_string)
            .collect();
        lines.push(plain.current_line());
        let last = &lines[lines.len() - rows.len().min(lines.len())..];
        assert_eq!(
            last,
            &rows[..],
            "seed {seed}: {:?}",
            String::from_utf8_lossy(&data)
        );
    }
}
