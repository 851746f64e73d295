//! The screen model against feeding every byte, and its repaint.

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
    s.feed(
        b"shell prompt\r\n\x1b[?1049h\x1b[?2004h\x1b[?1h\x1b[H\x1b[31mFULL\x1b[0m SCREEN\x1b[5;3H",
    );
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
