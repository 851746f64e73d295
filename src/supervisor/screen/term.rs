//! The terminal state the program's output drives, as an xterm-compatible
//! terminal keeps it: two screens of cells, the cursor and what DECSC saves,
//! the scroll region, tab stops, character sets and modes. `vte` parses;
//! [`Term`] is its `Perform`.
//!
//! Queries a terminal answers (device attributes, cursor position, status,
//! mode reports, version, window size) are answered here: the replies
//! collect in `replies` for the supervisor to write to the program.

use std::collections::VecDeque;

use vte::{Params, Perform};

use super::cell::{Cell, Pen, Row};

mod edit;

use edit::insert_blanks;

/// Rows kept above the main screen, for a window that grows again to bring
/// back. Only rows pushed off by a resize start it; while it holds any, rows
/// that scroll off join it (so it stays contiguous with the screen).
pub const HISTORY_MAX: usize = 256;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Charset {
    Ascii,
    /// DEC special graphics (line drawing).
    Graphics,
    /// UK: `#` is `£`.
    Uk,
}

impl Charset {
    fn from_final(b: u8) -> Charset {
        match b {
            b'0' => Charset::Graphics,
            b'A' => Charset::Uk,
            _ => Charset::Ascii,
        }
    }

    pub fn final_byte(self) -> char {
        match self {
            Charset::Ascii => 'B',
            Charset::Graphics => '0',
            Charset::Uk => 'A',
        }
    }

    fn map(self, c: char) -> char {
        match self {
            Charset::Ascii => c,
            Charset::Uk if c == '#' => '£',
            Charset::Uk => c,
            Charset::Graphics => crate::logs::dec_graphics(c),
        }
    }
}

/// The cursor and everything DECSC saves with it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Cursor {
    pub row: u16,
    pub col: u16,
    /// At the last column after printing there: the next character wraps.
    pub pending_wrap: bool,
    pub pen: Pen,
    pub charsets: [Charset; 4],
    /// Which of G0..G3 is shifted in (SI, SO, LS2, LS3).
    pub gl: u8,
    pub origin: bool,
}

impl Default for Cursor {
    fn default() -> Self {
        Cursor {
            row: 0,
            col: 0,
            pending_wrap: false,
            pen: Pen::default(),
            charsets: [Charset::Ascii; 4],
            gl: 0,
            origin: false,
        }
    }
}

/// Mouse reporting (DECSET 9, 1000, 1002, 1003) and its encoding (1005,
/// 1006, 1015): the mode numbers, 0 for off.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct Mouse {
    pub mode: u16,
    pub encoding: u16,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Modes {
    pub autowrap: bool,
    pub insert: bool,
    /// LNM: LF also returns the carriage.
    pub newline: bool,
    pub cursor_visible: bool,
    pub cursor_blink: bool,
    /// DECSCUSR's parameter (0 = the terminal's default).
    pub cursor_style: u16,
    pub app_cursor: bool,
    pub app_keypad: bool,
    pub reverse_video: bool,
    pub bracketed_paste: bool,
    pub focus: bool,
    pub mouse: Mouse,
}

impl Default for Modes {
    fn default() -> Self {
        Modes {
            autowrap: true,
            insert: false,
            newline: false,
            cursor_visible: true,
            cursor_blink: false,
            cursor_style: 0,
            app_cursor: false,
            app_keypad: false,
            reverse_video: false,
            bracketed_paste: false,
            focus: false,
            mouse: Mouse::default(),
        }
    }
}

pub struct Term {
    pub cols: u16,
    pub rows: u16,
    /// The main screen's rows (none until [`Term::allocate`]: see
    /// [`Term::unallocated`]).
    pub main: Vec<Row>,
    /// The alternate screen's rows (empty until used; freed when left with
    /// 1047 or 1049, which clear it anyway).
    pub alt: Vec<Row>,
    pub alt_active: bool,
    /// Rows above the main screen (see [`HISTORY_MAX`]).
    pub history: VecDeque<Row>,
    pub cur: Cursor,
    /// What DECSC saved, per screen (main, alternate).
    pub saved: [Option<Cursor>; 2],
    /// The scroll region, inclusive.
    pub top: u16,
    pub bottom: u16,
    /// Tab stops, one bit per column.
    pub tabs: Vec<bool>,
    pub modes: Modes,
    pub title: String,
    /// The last character printed, for REP.
    last_char: Option<char>,
    // Reported to the supervisor:
    pub replies: Vec<u8>,
    pub bells: u32,
    pub new_title: Option<String>,
}

fn default_tabs(cols: u16) -> Vec<bool> {
    (0..cols).map(|c| c > 0 && c % 8 == 0).collect()
}

impl Term {
    pub fn new(cols: u16, rows: u16) -> Term {
        let mut t = Term::unallocated(cols, rows);
        t.allocate();
        t
    }

    /// A blank terminal whose rows are not allocated yet (an 80x24 screen
    /// takes 31 KB): a session that has printed nothing does not need
    /// them. Everything but the grid is there; [`Term::allocate`] must be
    /// called before anything is drawn or read from the grid (the parser's
    /// feed, resize, repaint and text do).
    pub fn unallocated(cols: u16, rows: u16) -> Term {
        let cols = cols.max(1);
        let rows = rows.max(1);
        Term {
            cols,
            rows,
            main: Vec::new(),
            alt: Vec::new(),
            alt_active: false,
            history: VecDeque::new(),
            cur: Cursor::default(),
            saved: [None, None],
            top: 0,
            bottom: rows - 1,
            tabs: default_tabs(cols),
            modes: Modes::default(),
            title: String::new(),
            last_char: None,
            replies: Vec::new(),
            bells: 0,
            new_title: None,
        }
    }

    /// Give the main screen its rows if it has none yet.
    pub fn allocate(&mut self) {
        if self.main.is_empty() {
            self.main = vec![Row::new(self.cols, Cell::BLANK); self.rows as usize];
        }
    }

    /// The rows of the active screen.
    pub fn grid(&self) -> &[Row] {
        if self.alt_active {
            &self.alt
        } else {
            &self.main
        }
    }

    fn grid_mut(&mut self) -> &mut Vec<Row> {
        if self.alt_active {
            &mut self.alt
        } else {
            &mut self.main
        }
    }

    fn row_mut(&mut self) -> &mut Row {
        let r = self.cur.row as usize;
        &mut self.grid_mut()[r]
    }

    /// Whether plain text (printable characters, CR, LF, TAB, BS) only
    /// depends on its tail: line feeds scroll the whole screen.
    pub fn region_is_whole(&self) -> bool {
        self.top == 0 && self.bottom == self.rows - 1
    }

    fn blank(&self) -> Cell {
        Cell::erased(&self.cur.pen)
    }

    fn set_private_mode(&mut self, mode: u16, on: bool) {
        match mode {
            1 => self.modes.app_cursor = on,
            // DECCOLM: the window keeps its size (as in tmux), but the rest
            // of what a VT100 does on a switch happens: the screen is
            // erased, the margins reset and the cursor goes home. vttest
            // relies on it ("note: DECCOLM clears the screen").
            3 => {
                self.top = 0;
                self.bottom = self.rows - 1;
                self.erase_display(2);
                self.goto(0, 0);
            }
            5 => self.modes.reverse_video = on,
            6 => {
                self.cur.origin = on;
                self.goto(0, 0);
            }
            7 => {
                self.modes.autowrap = on;
                if !on {
                    self.cur.pending_wrap = false;
                }
            }
            12 => self.modes.cursor_blink = on,
            25 => self.modes.cursor_visible = on,
            66 => self.modes.app_keypad = on,
            9 | 1000 | 1002 | 1003 => {
                if on {
                    self.modes.mouse.mode = mode;
                } else if self.modes.mouse.mode == mode {
                    self.modes.mouse.mode = 0;
                }
            }
            1005 | 1006 | 1015 => {
                if on {
                    self.modes.mouse.encoding = mode;
                } else if self.modes.mouse.encoding == mode {
                    self.modes.mouse.encoding = 0;
                }
            }
            1004 => self.modes.focus = on,
            2004 => self.modes.bracketed_paste = on,
            47 => {
                if on {
                    self.enter_alt(false);
                } else {
                    self.leave_alt(false);
                }
            }
            1047 => {
                if on {
                    self.enter_alt(false);
                } else if self.alt_active {
                    self.leave_alt(true);
                }
            }
            1048 => {
                if on {
                    self.save_cursor();
                } else {
                    self.restore_cursor();
                }
            }
            1049 => {
                if on {
                    if !self.alt_active {
                        self.save_cursor();
                    }
                    self.enter_alt(true);
                } else if self.alt_active {
                    self.leave_alt(true);
                    self.restore_cursor();
                }
            }
            _ => {}
        }
    }

    /// DECRQM's answer for a private mode: 1 set, 2 reset, 0 not recognized.
    fn private_mode_state(&self, mode: u16) -> u8 {
        let m = &self.modes;
        let v = match mode {
            1 => m.app_cursor,
            5 => m.reverse_video,
            6 => self.cur.origin,
            7 => m.autowrap,
            12 => m.cursor_blink,
            25 => m.cursor_visible,
            66 => m.app_keypad,
            9 | 1000 | 1002 | 1003 => m.mouse.mode == mode,
            1005 | 1006 | 1015 => m.mouse.encoding == mode,
            1004 => m.focus,
            2004 => m.bracketed_paste,
            47 | 1047 | 1049 => self.alt_active,
            _ => return 0,
        };
        if v { 1 } else { 2 }
    }

    fn reply(&mut self, s: &str) {
        self.replies.extend_from_slice(s.as_bytes());
    }

    /// Cursor position as CPR reports it (1-based, relative to the region
    /// in origin mode).
    fn report_position(&self) -> (u16, u16) {
        let row = if self.cur.origin {
            self.cur.row.saturating_sub(self.top)
        } else {
            self.cur.row
        };
        (row + 1, self.cur.col + 1)
    }
}

/// The first value of parameter `i`, or `default` when missing or 0.
fn arg(params: &[&[u16]], i: usize, default: u16) -> u16 {
    match params.get(i).and_then(|p| p.first()) {
        Some(&0) | None => default,
        Some(&v) => v,
    }
}

impl Perform for Term {
    fn print(&mut self, c: char) {
        // vte hands DEL to `print`; a terminal ignores it (it was the
        // paper tape's rub-out, not a character).
        if c != '\x7f' {
            self.print_char(c);
        }
    }

    fn execute(&mut self, b: u8) {
        match b {
            0x07 => self.bells += 1,
            0x08 => {
                if self.cur.pending_wrap {
                    self.cur.pending_wrap = false;
                }
                self.cur.col = self.cur.col.saturating_sub(1);
            }
            0x09 => self.tab_forward(1),
            0x0a..=0x0c => {
                self.index();
                if self.modes.newline {
                    self.cur.col = 0;
                }
            }
            0x0d => {
                self.cur.col = 0;
                self.cur.pending_wrap = false;
            }
            0x0e => self.cur.gl = 1,
            0x0f => self.cur.gl = 0,
            // A lone byte 0x80..0x9f is not UTF-8: shown as U+FFFD, as a
            // UTF-8 terminal does.
            0x80..=0x9f => self.print_char('\u{fffd}'),
            _ => {}
        }
    }

    fn csi_dispatch(&mut self, params: &Params, inter: &[u8], ignore: bool, action: char) {
        if ignore {
            return;
        }
        let ps: Vec<&[u16]> = params.iter().collect();
        let n = |i: usize| arg(&ps, i, 1);
        let raw = |i: usize| ps.get(i).and_then(|p| p.first()).copied().unwrap_or(0);
        match (inter, action) {
            ([], '@') => {
                let (col, blank) = (self.cur.col as usize, self.blank());
                insert_blanks(self.row_mut(), col, n(0) as usize, blank);
                self.cur.pending_wrap = false;
            }
            ([], 'A') => self.up(n(0)),
            ([], 'B') | ([], 'e') => self.down(n(0)),
            ([], 'C') | ([], 'a') => self.set_col(self.cur.col.saturating_add(n(0))),
            ([], 'D') => self.set_col(self.cur.col.saturating_sub(n(0))),
            ([], 'E') => {
                self.down(n(0));
                self.cur.col = 0;
            }
            ([], 'F') => {
                self.up(n(0));
                self.cur.col = 0;
            }
            ([], 'G') | ([], '`') => self.set_col(n(0) - 1),
            ([], 'H') | ([], 'f') => self.goto(n(0) - 1, n(1) - 1),
            ([], 'I') => self.tab_forward(n(0)),
            ([], 'J') => self.erase_display(raw(0)),
            ([], 'K') => self.erase_line(raw(0)),
            ([], 'L') => self.insert_lines(n(0), false),
            ([], 'M') => self.insert_lines(n(0), true),
            ([], 'P') => self.delete_chars(n(0)),
            ([], 'S') => self.scroll_up(n(0) as usize),
            ([], 'T') if ps.len() <= 1 => self.scroll_down(n(0) as usize),
            ([], 'X') => self.erase_chars(n(0)),
            ([], 'Z') => self.tab_back(n(0)),
            ([], 'b') => {
                if let Some(c) = self.last_char {
                    for _ in 0..n(0).min(self.cols * self.rows) {
                        // Already mapped through the charset: print as is.
                        let gl = self.cur.gl;
                        let cs = self.cur.charsets;
                        self.cur.charsets = [Charset::Ascii; 4];
                        self.print_char(c);
                        self.cur.charsets = cs;
                        self.cur.gl = gl;
                    }
                }
            }
            ([], 'c') if raw(0) == 0 => self.reply("\x1b[?62;22c"),
            ([b'>'], 'c') if raw(0) == 0 => self.reply("\x1b[>84;0;0c"),
            ([], 'd') => self.goto_row(n(0) - 1),
            ([], 'g') => match raw(0) {
                0 => self.tabs[self.cur.col as usize] = false,
                3 => self.tabs.fill(false),
                _ => {}
            },
            ([], 'h') | ([], 'l') => {
                let on = action == 'h';
                for p in &ps {
                    match p.first() {
                        Some(4) => self.modes.insert = on,
                        Some(20) => self.modes.newline = on,
                        _ => {}
                    }
                }
            }
            ([b'?'], 'h') | ([b'?'], 'l') => {
                for p in &ps {
                    if let Some(&m) = p.first() {
                        self.set_private_mode(m, action == 'h');
                    }
                }
            }
            ([], 'm') => {
                let mut i = 0;
                if ps.is_empty() {
                    self.cur.pen = Pen::default();
                }
                while i < ps.len() {
                    let used = self.cur.pen.sgr(ps[i], &ps[i + 1..]);
                    i += 1 + used;
                }
            }
            ([], 'n') => match raw(0) {
                5 => self.reply("\x1b[0n"),
                6 => {
                    let (r, c) = self.report_position();
                    self.reply(&format!("\x1b[{r};{c}R"));
                }
                _ => {}
            },
            ([b'?'], 'n') if raw(0) == 6 => {
                let (r, c) = self.report_position();
                self.reply(&format!("\x1b[?{r};{c};1R"));
            }
            ([], 'r') => {
                let top = n(0) - 1;
                let bottom = arg(&ps, 1, self.rows).min(self.rows) - 1;
                if top < bottom {
                    self.top = top;
                    self.bottom = bottom;
                    self.goto(0, 0);
                }
            }
            ([], 's') => self.save_cursor(),
            ([], 'u') => self.restore_cursor(),
            ([], 't') => match raw(0) {
                18 => {
                    let (r, c) = (self.rows, self.cols);
                    self.reply(&format!("\x1b[8;{r};{c}t"));
                }
                19 => {
                    let (r, c) = (self.rows, self.cols);
                    self.reply(&format!("\x1b[9;{r};{c}t"));
                }
                _ => {}
            },
            ([b' '], 'q') => self.modes.cursor_style = raw(0),
            ([b'>'], 'q') if raw(0) == 0 => self.reply(concat!(
                "\x1bP>|codex-session ",
                env!("CARGO_PKG_VERSION"),
                "\x1b\\"
            )),
            ([b'!'], 'p') => self.soft_reset(),
            ([b'$'], 'p') => {
                let m = raw(0);
                let v = match m {
                    4 => 2 - self.modes.insert as u8,
                    20 => 2 - self.modes.newline as u8,
                    _ => 0,
                };
                self.reply(&format!("\x1b[{m};{v}$y"));
            }
            ([b'?', b'$'], 'p') => {
                let m = raw(0);
                let v = self.private_mode_state(m);
                self.reply(&format!("\x1b[?{m};{v}$y"));
            }
            _ => {}
        }
    }

    fn esc_dispatch(&mut self, inter: &[u8], ignore: bool, b: u8) {
        if ignore {
            return;
        }
        match (inter, b) {
            ([], b'7') => self.save_cursor(),
            ([], b'8') => self.restore_cursor(),
            ([], b'D') => self.index(),
            ([], b'E') => {
                self.index();
                self.cur.col = 0;
            }
            ([], b'H') => self.tabs[self.cur.col as usize] = true,
            ([], b'M') => self.reverse_index(),
            ([], b'c') => self.full_reset(),
            ([], b'=') => self.modes.app_keypad = true,
            ([], b'>') => self.modes.app_keypad = false,
            ([], b'n') => self.cur.gl = 2,
            ([], b'o') => self.cur.gl = 3,
            ([b'#'], b'8') => {
                // DECALN: the screen full of E, margins reset, cursor home.
                self.top = 0;
                self.bottom = self.rows - 1;
                let fill = Cell {
                    ch: 'E',
                    pen: Pen::default(),
                };
                for r in self.grid_mut() {
                    r.clear(fill);
                }
                self.cur.origin = false;
                self.goto(0, 0);
            }
            ([i @ (b'(' | b')' | b'*' | b'+')], f) => {
                self.cur.charsets[(i - b'(') as usize] = Charset::from_final(f);
            }
            _ => {}
        }
    }

    fn osc_dispatch(&mut self, params: &[&[u8]], _bell: bool) {
        if let [kind, rest @ ..] = params
            && matches!(*kind, b"0" | b"2")
        {
            let t = rest.join(&b';');
            let t = String::from_utf8_lossy(&t).into_owned();
            self.title = t.clone();
            self.new_title = Some(t);
        }
    }
}
