//! The model against itself (the shortcut, split reads) and against vt100
//! (the repaint).

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
    b"\x1b[5n",
    b"\x1b[6n",
    b"\x1b[c",
    b"\x1bH",
    b"\x1b[g",
    b"\x1b[3g",
    b"\x1b[2I",
    b"\x1b[Z",
    b"\x1b[s",
    b"\x1b[u",
    b"\x1b#8",
    b"\x1b[3d",
    b"\x1b[38:2::1:2:3m",
    b"\x1b[4:3m",
    b"\x1b[21;9;53m",
    b"\x1b)0\x0e",
    b"\x1b[3b",
    b"\x1b[?1047h",
    b"\x1b[?1047l",
    b"\x1b[?47h",
    b"\x1b[?47l",
    b"\x1b[3X",
    b"\x1b[1J",
    b"\x1b[3J",
    b"\x1b[2K",
    b"\x1b[?3h",
    b"\x1b[?3l",
    b"\x7f",
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

fn state(t: &Term) -> (String, Vec<(String, bool)>) {
    let mut paint = String::new();
    t.repaint(&mut paint);
    let history = t
        .history
        .iter()
        .map(|r| {
            let mut s = String::new();
            r.text(&mut s);
            (s, r.wrapped)
        })
        .collect();
    (paint, history)
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
                slow.term.resize(c, rr);
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
                assert_eq!(state(fast.term()), state(&slow.term), "seed {seed}");
            }
        }
        assert_eq!(state(fast.term()), state(&slow.term), "seed {seed}");
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
        assert_eq!(state(&split.term), state(&whole.term), "seed {seed}");
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
        let mut client = Vt::new(30, 5);
        client.process(b"junk\x1b[");
        client.process(&s.repaint());
        s.feed(after);
        client.process(after);
        assert_eq!(state(&client.term), state(s.term()), "{before:?}");
    }
}

/// The repaint brings a terminal in any state to the model's state, as the
/// model itself sees it (everything it keeps) and as vt100 sees it (cells,
/// cursor, input modes).
#[test]
fn repaint_reproduces_the_state() {
    for seed in 1..=cases_to_run() / 2 {
        let mut r = Rng(seed.wrapping_mul(0x9E3779B97F4A7C15) | 1);
        let cols = [10, 20, 80][r.below(3) as usize];
        let rows = [3, 5, 24][r.below(3) as usize];
        let mut s = Screen::new(cols, rows);
        for _ in 0..r.below(30) + 1 {
            let bias = r.below(3) == 0;
            let data: Vec<u8> = gen_chunk(&mut r, bias);
            s.feed(&data);
        }
        let paint = s.repaint();
        // The model itself, from a dirty state.
        let mut client = Vt::new(cols, rows);
        let mut junk = Screen::new(cols, rows);
        for _ in 0..5 {
            let data = gen_chunk(&mut r, false);
            junk.feed(&data);
        }
        client.process(&junk.repaint());
        client.process(&paint);
        if s.term().title.is_empty() {
            // An empty title is not painted (it would blank the terminal's).
            client.term.title.clear();
        }
        // The history is not painted; the rest must match.
        assert_eq!(state(&client.term).0, state(s.term()).0, "seed {seed}");
        // vt100, an independent emulator.
        let mut p = vt100::Parser::new(nz(rows), nz(cols), 0);
        p.process(&paint);
        let v = p.screen();
        let t = s.term();
        let mut mine = Vec::new();
        for row in t.grid() {
            let mut line = String::new();
            row.text(&mut line);
            mine.push(line);
        }
        let theirs: Vec<String> = v.rows(0, cols).map(|l| l.trim_end().to_string()).collect();
        // vt100 drops U+FFFD and does not wrap wide characters as xterm does.
        if !mine.iter().any(|l| l.contains('\u{fffd}'))
            && !t.grid().iter().any(|r| !r.marks.is_empty())
        {
            assert_eq!(theirs, mine, "seed {seed}");
        }
        let (row, col) = v.cursor_position();
        assert_eq!(row, t.cur.row, "seed {seed}");
        if !t.cur.pending_wrap {
            assert_eq!(col, t.cur.col, "seed {seed}");
        }
        assert_eq!(v.alternate_screen(), t.alt_active, "seed {seed}");
        assert_eq!(v.application_cursor(), t.modes.app_cursor, "seed {seed}");
        assert_eq!(v.application_keypad(), t.modes.app_keypad, "seed {seed}");
        assert_eq!(v.bracketed_paste(), t.modes.bracketed_paste, "seed {seed}");
        assert_eq!(v.hide_cursor(), !t.modes.cursor_visible, "seed {seed}");
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
    assert!(p.screen().alternate_screen());
    assert!(p.screen().bracketed_paste());
    assert!(p.screen().application_cursor());
    assert_eq!(p.screen().contents(), "FULL SCREEN");
    assert_eq!(p.screen().cursor_position(), (4, 2));
    assert_eq!(
        p.screen().cell(0, 0).unwrap().fgcolor(),
        vt100::Color::Idx(1)
    );
    // Leaving the alternate screen shows the main one, cursor restored.
    p.process(b"\x1b[?1049l");
    assert_eq!(p.screen().contents(), "shell prompt");
    assert_eq!(p.screen().cursor_position(), (1, 0));
}

fn nz(v: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(v).unwrap()
}

fn screen_of(cols: u16, rows: u16, data: &[u8]) -> Screen {
    let mut s = Screen::new(cols, rows);
    s.feed(data);
    s
}

#[test]
fn dec_special_graphics() {
    let mut s = screen_of(20, 3, b"\x1b(0lqqk\x1b(B\r\n\x1b)0a\x0ex\x0fx\r\n");
    assert_eq!(s.text(), "┌──┐\na│x\n");
}

#[test]
fn rows_ending_at_the_last_column_stay_rows() {
    let mut data = format!("{:0100}\nnext\n", 0).into_bytes();
    data = String::from_utf8(data)
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    let mut s = screen_of(100, 5, &data);
    assert_eq!(s.text(), format!("{:0100}\nnext\n", 0));
    let mut s = screen_of(
        40,
        5,
        b"0123456789012345678901234567890123456789more\r\nnext",
    );
    assert_eq!(
        s.text(),
        "0123456789012345678901234567890123456789\nmore\nnext\n"
    );
    assert_eq!(
        s.text_joined(),
        "0123456789012345678901234567890123456789more\nnext\n"
    );
}

#[test]
fn tab_stops() {
    // ESC H sets, CSI g clears one, CSI 3 g all, CSI I forward, CSI Z back.
    let mut s = screen_of(
        40,
        3,
        b"\x1b[3g\x1b[5G\x1bH\x1b[12G\x1bH\x1b[20G\x1bH\rA\tB\tC\x1b[Z\x1b[ZD\r\n\x1b[2IE",
    );
    assert_eq!(s.text(), "A   D      C\n           E\n");
    let mut s = screen_of(40, 3, b"\x1b[9G\x1b[g\rA\tB");
    assert_eq!(s.text(), "A               B\n");
}

#[test]
fn autowrap_off_index_next_line_save_restore_insert_decaln() {
    let mut s = screen_of(10, 4, b"\x1b[?7l0123456789abc\x1b[?7h");
    assert_eq!(s.text(), "012345678c\n");
    let mut s = screen_of(10, 4, b"ab\x1bDc\x1bEd\x1b[sXY\x1b[uZ");
    assert_eq!(s.text(), "ab\n  c\ndZY\n");
    let mut s = screen_of(10, 4, b"world\r\x1b[4hhello \x1b[4l");
    assert_eq!(s.text(), "hello worl\n");
    let mut s = screen_of(4, 2, b"\x1b#8");
    assert_eq!(s.text(), "EEEE\nEEEE\n");
}

#[test]
fn vpa_under_origin_mode() {
    let mut s = screen_of(10, 6, b"\x1b[3;5r\x1b[?6h\x1b[2dX\x1b[9dY");
    assert_eq!(s.text(), "\n\n\nX\n Y\n");
}

#[test]
fn attributes_colon_colours_and_invalid_utf8() {
    let mut s = screen_of(20, 2, b"\x1b[38:2::1:2:3;4:3;9;53mA\x1b[21mB\x1b[0m\xffC");
    let t = s.term();
    let a = t.grid()[0].cells[0].pen;
    assert_eq!(a.fg, cell::Color::Rgb(1, 2, 3));
    assert_eq!(a.underline(), 3);
    assert!(a.attrs & cell::STRIKE != 0 && a.attrs & cell::OVERLINE != 0);
    assert_eq!(t.grid()[0].cells[1].pen.underline(), 2);
    assert_eq!(s.text(), "AB\u{fffd}C\n");
    assert_eq!(
        s.ansi(),
        "\x1b[0;9;53;4:3;38;2;1;2;3mA\x1b[0;9;53;4:2;38;2;1;2;3mB\x1b[0m\u{fffd}C\x1b[0m\n"
    );
}

#[test]
fn queries_are_answered() {
    let mut s = Screen::new(80, 24);
    let out = b"ab\x1b[6n\x1b[c\x1b[>c\x1b[5n\x1b[?2004h\x1b[?2004$p\x1b[4$p\x1b[>q\x1b[18t\x1b[3;5r\x1b[?6h\x1b[6n";
    s.feed(out);
    let replies = String::from_utf8(s.take_replies()).unwrap();
    assert_eq!(
        replies,
        format!(
            "\x1b[1;3R\x1b[?62;22c\x1b[>84;0;0c\x1b[0n\x1b[?2004;1$y\x1b[4;2$y\x1bP>|codex-session {}\x1b\\\x1b[8;24;80t\x1b[1;1R",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(&s.for_clients(out)[..], b"ab\x1b[?2004h\x1b[3;5r\x1b[?6h");
}

#[test]
fn shrink_then_grow_brings_rows_back() {
    let mut s = Screen::new(20, 10);
    for i in 1..=9 {
        s.feed(format!("line {i}\r\n").as_bytes());
    }
    s.feed(b"$ ");
    let before = s.text();
    s.resize(20, 4);
    assert_eq!(s.text(), "line 7\nline 8\nline 9\n$\n");
    s.resize(20, 10);
    assert_eq!(s.text(), before);
    assert_eq!(s.term().cur.row, 9);
}

#[test]
fn narrow_then_wide_rewraps() {
    let mut s = Screen::new(40, 5);
    s.feed(b"$ echo the quick brown fox jumps\r\nthe quick brown fox jumps\r\n$ ");
    s.resize(10, 5);
    assert_eq!(s.text(), "ps\nthe quick\nbrown fox\njumps\n$\n");
    s.resize(40, 5);
    assert_eq!(
        s.text(),
        "$ echo the quick brown fox jumps\nthe quick brown fox jumps\n$\n"
    );
    let t = s.term();
    assert_eq!((t.cur.row, t.cur.col), (2, 2));
}

/// DECCOLM keeps the window's size but does the rest of what a VT100 does
/// on a switch: erase the screen, reset the margins, home the cursor
/// (vttest's autowrap test relies on it).
#[test]
fn deccolm_erases_resets_the_margins_and_homes() {
    for set in [&b"h"[..], b"l"] {
        let mut data = b"one\r\ntwo\x1b[2;3r\x1b[?6h\x1b[2;2H\x1b[?3".to_vec();
        data.extend_from_slice(set);
        data.extend_from_slice(b"X");
        let mut s = screen_of(10, 4, &data);
        assert_eq!(s.text(), "X\n");
        let t = s.term();
        assert!(t.region_is_whole());
        assert_eq!((t.cur.row, t.cur.col, t.cols), (0, 1, 10));
    }
}

/// DEL is not a character: a terminal ignores it.
#[test]
fn del_is_ignored() {
    let mut s = screen_of(10, 2, b"a\x7fb\x1b[31m\x7f\x1b[0mc");
    assert_eq!(s.text(), "abc\n");
}

/// The grid comes with the first output, and the held plain text goes
/// when the session is quiet, neither changing what the screen shows.
#[test]
fn the_grid_comes_with_output_and_quiet_frees_the_held_text() {
    let mut s = Screen::new(80, 24);
    assert!(s.vt.term.main.is_empty(), "nothing printed, no rows");
    s.resize(40, 10);
    assert_eq!((s.text(), s.size()), ("\n".to_string(), (40, 10)));
    let mut s = Screen::new(20, 5);
    s.feed(b"one\r\ntwo\r\n$ ");
    assert!(
        !s.plain.is_empty() && s.vt.term.main.is_empty(),
        "held back"
    );
    let mut held = Screen::new(20, 5);
    held.feed(b"one\r\ntwo\r\n$ ");
    s.shrink();
    assert!(s.plain.capacity() == 0 && s.vt.term.main.len() == 5);
    assert_eq!(s.repaint(), held.repaint());
    s.feed(b"x");
    assert_eq!(s.text(), "one\ntwo\n$ x\n");
}
