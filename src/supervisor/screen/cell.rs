//! Cells, their colours and attributes, and rows of them.

use std::fmt::Write;

/// A colour as a program set it.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub enum Color {
    #[default]
    Default,
    Idx(u8),
    Rgb(u8, u8, u8),
}

pub const BOLD: u16 = 1;
pub const DIM: u16 = 1 << 1;
pub const ITALIC: u16 = 1 << 2;
pub const BLINK: u16 = 1 << 3;
pub const INVERSE: u16 = 1 << 4;
pub const HIDDEN: u16 = 1 << 5;
pub const STRIKE: u16 = 1 << 6;
pub const OVERLINE: u16 = 1 << 7;
/// Underline style in bits 8..11: 0 none, 1 single, 2 double, 3 curly,
/// 4 dotted, 5 dashed.
pub const UL_SHIFT: u16 = 8;
pub const UL_MASK: u16 = 7 << UL_SHIFT;

/// The attributes text is drawn with: what SGR sets.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct Pen {
    pub fg: Color,
    pub bg: Color,
    pub attrs: u16,
}

impl Pen {
    pub fn underline(&self) -> u16 {
        (self.attrs & UL_MASK) >> UL_SHIFT
    }

    pub fn set_underline(&mut self, style: u16) {
        self.attrs = (self.attrs & !UL_MASK) | ((style.min(5)) << UL_SHIFT);
    }

    /// Apply one SGR parameter with its sub-parameters (`4:3`, `38:2::1:2:3`),
    /// or a run of `;`-separated ones for the extended colours
    /// (`38;5;n`, `38;2;r;g;b`): returns how many of `rest` it used.
    pub fn sgr(&mut self, p: &[u16], rest: &[&[u16]]) -> usize {
        let first = p.first().copied().unwrap_or(0);
        match first {
            0 => *self = Pen::default(),
            1 => self.attrs |= BOLD,
            2 => self.attrs |= DIM,
            3 => self.attrs |= ITALIC,
            4 => self.set_underline(if p.len() > 1 { p[1] } else { 1 }),
            5 | 6 => self.attrs |= BLINK,
            7 => self.attrs |= INVERSE,
            8 => self.attrs |= HIDDEN,
            9 => self.attrs |= STRIKE,
            21 => self.set_underline(2),
            22 => self.attrs &= !(BOLD | DIM),
            23 => self.attrs &= !ITALIC,
            24 => self.set_underline(0),
            25 => self.attrs &= !BLINK,
            27 => self.attrs &= !INVERSE,
            28 => self.attrs &= !HIDDEN,
            29 => self.attrs &= !STRIKE,
            30..=37 => self.fg = Color::Idx((first - 30) as u8),
            39 => self.fg = Color::Default,
            40..=47 => self.bg = Color::Idx((first - 40) as u8),
            49 => self.bg = Color::Default,
            53 => self.attrs |= OVERLINE,
            55 => self.attrs &= !OVERLINE,
            90..=97 => self.fg = Color::Idx((first - 90 + 8) as u8),
            100..=107 => self.bg = Color::Idx((first - 100 + 8) as u8),
            38 | 48 | 58 => {
                let (color, used) = extended_color(p, rest);
                if let Some(c) = color {
                    match first {
                        38 => self.fg = c,
                        48 => self.bg = c,
                        _ => {} // underline colour: parsed, not kept
                    }
                }
                return used;
            }
            59 => {}
            _ => {}
        }
        0
    }

    /// The SGR sequence that sets exactly this pen from any state.
    pub fn write_sgr(&self, out: &mut String) {
        out.push_str("\x1b[0");
        for (bit, code) in [
            (BOLD, "1"),
            (DIM, "2"),
            (ITALIC, "3"),
            (BLINK, "5"),
            (INVERSE, "7"),
            (HIDDEN, "8"),
            (STRIKE, "9"),
            (OVERLINE, "53"),
        ] {
            if self.attrs & bit != 0 {
                out.push(';');
                out.push_str(code);
            }
        }
        match self.underline() {
            0 => {}
            1 => out.push_str(";4"),
            n => {
                let _ = write!(out, ";4:{n}");
            }
        }
        write_color(out, self.fg, 30);
        write_color(out, self.bg, 40);
        out.push('m');
    }
}

fn write_color(out: &mut String, c: Color, base: u8) {
    match c {
        Color::Default => {}
        Color::Idx(i) if i < 8 => {
            let _ = write!(out, ";{}", base + i);
        }
        Color::Idx(i) if i < 16 => {
            let _ = write!(out, ";{}", base + 60 + i - 8);
        }
        Color::Idx(i) => {
            let _ = write!(out, ";{};5;{i}", base + 8);
        }
        Color::Rgb(r, g, b) => {
            let _ = write!(out, ";{};2;{r};{g};{b}", base + 8);
        }
    }
}

/// `38:5:n`, `38:2::r:g:b`, `38:2:r:g:b` (colon forms, in `p`) or
/// `38;5;n`, `38;2;r;g;b` (in `p` and the following parameters).
fn extended_color(p: &[u16], rest: &[&[u16]]) -> (Option<Color>, usize) {
    let byte = |v: u16| v.min(255) as u8;
    if p.len() > 1 {
        let c = match p[1] {
            5 => p.get(2).map(|&n| Color::Idx(byte(n))),
            // With a colour-space id (`38:2::r:g:b`, `38:2:0:r:g:b`) or without.
            2 if p.len() >= 6 => Some(Color::Rgb(byte(p[3]), byte(p[4]), byte(p[5]))),
            2 if p.len() == 5 => Some(Color::Rgb(byte(p[2]), byte(p[3]), byte(p[4]))),
            _ => None,
        };
        return (c, 0);
    }
    let first = |i: usize| rest.get(i).and_then(|q| q.first().copied());
    match first(0) {
        Some(5) => match first(1) {
            Some(n) => (Some(Color::Idx(byte(n))), 2),
            None => (None, rest.len()),
        },
        Some(2) => match (first(1), first(2), first(3)) {
            (Some(r), Some(g), Some(b)) => (Some(Color::Rgb(byte(r), byte(g), byte(b))), 4),
            _ => (None, rest.len()),
        },
        _ => (None, 0),
    }
}

/// The second half of a wide character.
pub const WIDE_TAIL: char = '\0';

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Cell {
    pub ch: char,
    pub pen: Pen,
}

impl Cell {
    pub const BLANK: Cell = Cell {
        ch: ' ',
        pen: Pen {
            fg: Color::Default,
            bg: Color::Default,
            attrs: 0,
        },
    };

    /// An erased cell: blank, keeping the background colour (as xterm does).
    pub fn erased(pen: &Pen) -> Cell {
        Cell {
            ch: ' ',
            pen: Pen {
                bg: pen.bg,
                ..Pen::default()
            },
        }
    }

    pub fn is_blank(&self) -> bool {
        *self == Cell::BLANK
    }
}

/// One row of the screen.
#[derive(Clone, Debug, Default)]
pub struct Row {
    pub cells: Vec<Cell>,
    /// The text continues on the next row (it was wrapped there by autowrap).
    pub wrapped: bool,
    /// Combining characters, by the column of the character they follow.
    pub marks: Vec<(u16, String)>,
}

impl Row {
    pub fn new(cols: u16, fill: Cell) -> Row {
        Row {
            cells: vec![fill; cols as usize],
            wrapped: false,
            marks: Vec::new(),
        }
    }

    /// Blank it with `fill`.
    pub fn clear(&mut self, fill: Cell) {
        self.cells.fill(fill);
        self.wrapped = false;
        self.marks.clear();
    }

    /// Erase columns `from..to` (clamped), splitting wide characters cut in
    /// half.
    pub fn erase(&mut self, from: usize, to: usize, fill: Cell) {
        let to = to.min(self.cells.len());
        if from >= to {
            return;
        }
        self.split_wide_at(from);
        self.split_wide_at(to);
        self.cells[from..to].fill(fill);
        self.drop_marks(from, to);
    }

    /// If a wide character straddles the boundary before column `at`, blank
    /// both its halves.
    pub fn split_wide_at(&mut self, at: usize) {
        if at == 0 || at >= self.cells.len() {
            return;
        }
        if self.cells[at].ch == WIDE_TAIL {
            let pen = self.cells[at - 1].pen;
            self.cells[at - 1] = Cell::erased(&pen);
            self.cells[at] = Cell::erased(&pen);
        }
    }

    pub fn drop_marks(&mut self, from: usize, to: usize) {
        if !self.marks.is_empty() {
            self.marks
                .retain(|(c, _)| (*c as usize) < from || (*c as usize) >= to);
        }
    }

    pub fn mark(&self, col: usize) -> Option<&str> {
        if self.marks.is_empty() {
            return None;
        }
        self.marks
            .iter()
            .find(|(c, _)| *c as usize == col)
            .map(|(_, s)| s.as_str())
    }

    /// Columns up to the last one that is not a default blank.
    pub fn used(&self) -> usize {
        self.cells
            .iter()
            .rposition(|c| !c.is_blank())
            .map_or(0, |i| i + 1)
    }

    /// Its text, trailing blanks trimmed.
    pub fn text(&self, out: &mut String) {
        let start = out.len();
        for (i, c) in self.cells.iter().enumerate() {
            if c.ch == WIDE_TAIL {
                continue;
            }
            out.push(c.ch);
            if let Some(m) = self.mark(i) {
                out.push_str(m);
            }
        }
        let keep = out[start..].trim_end_matches(' ').len();
        out.truncate(start + keep);
    }
}
