//! The model's state written out: the repaint for an attaching client, and
//! the text and coloured text `capture` prints.

use std::fmt::Write;

use super::cell::{Pen, Row, WIDE_TAIL};
use super::term::{Cursor, Term};

/// Every character set back to ASCII, G0 shifted in.
const CHARSETS_ASCII: &str = "\x1b(B\x1b)B\x1b*B\x1b+B\x0f";

fn flag(out: &mut String, private: bool, mode: u16, on: bool) {
    let _ = write!(
        out,
        "\x1b[{}{mode}{}",
        if private { "?" } else { "" },
        if on { 'h' } else { 'l' }
    );
}

impl Term {
    /// Escape sequences that bring a terminal in any state to this one:
    /// both screens' cells, the saved cursors, scroll region, tab stops,
    /// modes, title, character sets, pen and cursor.
    pub fn repaint(&self, out: &mut String) {
        // Cancel any half-received sequence, then a known state to paint in.
        out.push('\x18');
        out.push_str("\x1b[?1049l\x1b[r\x1b[?6l\x1b[?7h\x1b[4l");
        out.push_str(CHARSETS_ASCII);
        out.push_str("\x1b[0m\x1b[H\x1b[2J");
        paint_rows(&self.main, self.cols, out);
        self.region(out);
        if self.alt_active {
            // The main screen's cursor is the one 1049 saved; 1049h saves it
            // again on the client.
            self.cursor_state(&self.saved[0].unwrap_or_default(), out);
            out.push_str("\x1b[?1049h\x1b[r\x1b[?6l");
            out.push_str(CHARSETS_ASCII);
            out.push_str("\x1b[0m\x1b[H\x1b[2J");
            paint_rows(&self.alt, self.cols, out);
            self.region(out);
            self.saved_cursor(self.saved[1], out);
        } else {
            self.saved_cursor(self.saved[0], out);
        }
        // Tab stops (absolute positions: origin mode off).
        out.push_str("\x1b[?6l\x1b[3g");
        for (c, _) in self.tabs.iter().enumerate().filter(|(_, t)| **t) {
            let _ = write!(out, "\x1b[1;{}H\x1bH", c + 1);
        }
        // The cursor, with the wrap about to happen if it is.
        let c = &self.cur;
        flag(out, true, 6, c.origin);
        out.push_str("\x1b[?7h");
        out.push_str(CHARSETS_ASCII);
        let row = &self.grid()[c.row as usize];
        if c.pending_wrap {
            let mut col = c.col as usize;
            if row.cells[col].ch == WIDE_TAIL && col > 0 {
                col -= 1;
            }
            self.cup(c.row, col as u16, c.origin, out);
            let cell = row.cells[col];
            cell.pen.write_sgr(out);
            out.push(cell.ch);
            if let Some(m) = row.mark(col) {
                out.push_str(m);
            }
        } else {
            self.cup(c.row, c.col, c.origin, out);
        }
        // Modes.
        let m = &self.modes;
        flag(out, true, 7, m.autowrap);
        flag(out, false, 4, m.insert);
        flag(out, false, 20, m.newline);
        flag(out, true, 1, m.app_cursor);
        out.push_str(if m.app_keypad { "\x1b=" } else { "\x1b>" });
        flag(out, true, 5, m.reverse_video);
        flag(out, true, 12, m.cursor_blink);
        flag(out, true, 25, m.cursor_visible);
        let _ = write!(out, "\x1b[{} q", m.cursor_style);
        out.push_str("\x1b[?9l\x1b[?1000l\x1b[?1002l\x1b[?1003l");
        if m.mouse.mode != 0 {
            flag(out, true, m.mouse.mode, true);
        }
        out.push_str("\x1b[?1005l\x1b[?1006l\x1b[?1015l");
        if m.mouse.encoding != 0 {
            flag(out, true, m.mouse.encoding, true);
        }
        flag(out, true, 1004, m.focus);
        flag(out, true, 2004, m.bracketed_paste);
        if !self.title.is_empty() {
            let t: String = self.title.chars().filter(|c| !c.is_control()).collect();
            let _ = write!(out, "\x1b]2;{t}\x1b\\");
        }
        charsets(c, out);
        c.pen.write_sgr(out);
    }

    fn region(&self, out: &mut String) {
        let _ = write!(out, "\x1b[{};{}r", self.top + 1, self.bottom + 1);
    }

    /// CUP to an absolute row and column, for the given origin mode.
    fn cup(&self, row: u16, col: u16, origin: bool, out: &mut String) {
        let row = if origin {
            row.saturating_sub(self.top)
        } else {
            row
        };
        let _ = write!(out, "\x1b[{};{}H", row + 1, col + 1);
    }

    /// Set what DECSC saves to `c` (origin mode, position, pen, character
    /// sets), leaving it in effect.
    fn cursor_state(&self, c: &Cursor, out: &mut String) {
        flag(out, true, 6, c.origin);
        self.cup(c.row, c.col, c.origin, out);
        c.pen.write_sgr(out);
        charsets(c, out);
    }

    /// Make the client's DECSC slot hold `saved` (nothing saved restores
    /// the defaults, as a fresh DECSC of the home position would).
    fn saved_cursor(&self, saved: Option<Cursor>, out: &mut String) {
        self.cursor_state(&saved.unwrap_or_default(), out);
        out.push_str("\x1b7");
    }

    /// The screen as plain text, one line per row (with `join`, a row the
    /// text wrapped from joins the next), trailing blanks and empty rows
    /// trimmed.
    pub fn text(&self, join: bool) -> String {
        let mut out = String::new();
        for row in self.grid() {
            if join && row.wrapped {
                for (i, c) in row.cells.iter().enumerate() {
                    if c.ch != WIDE_TAIL {
                        out.push(c.ch);
                        if let Some(m) = row.mark(i) {
                            out.push_str(m);
                        }
                    }
                }
            } else {
                row.text(&mut out);
                out.push('\n');
            }
        }
        let keep = out.trim_end_matches(['\n', ' ']).len();
        out.truncate(keep);
        out.push('\n');
        out
    }

    /// The screen with colours and attributes, one line per row.
    pub fn ansi(&self) -> String {
        let mut out = String::new();
        for row in self.grid() {
            let mut pen = Pen::default();
            let used = used(row);
            for (i, c) in row.cells[..used].iter().enumerate() {
                if c.ch == WIDE_TAIL {
                    continue;
                }
                if c.pen != pen {
                    c.pen.write_sgr(&mut out);
                    pen = c.pen;
                }
                out.push(c.ch);
                if let Some(m) = row.mark(i) {
                    out.push_str(m);
                }
            }
            out.push_str("\x1b[0m\n");
        }
        while out.ends_with("\x1b[0m\n\x1b[0m\n") {
            out.truncate(out.len() - "\x1b[0m\n".len());
        }
        out
    }
}

fn charsets(c: &Cursor, out: &mut String) {
    for (i, g) in ['(', ')', '*', '+'].iter().enumerate() {
        let _ = write!(out, "\x1b{g}{}", c.charsets[i].final_byte());
    }
    out.push_str(match c.gl {
        0 => "\x0f",
        1 => "\x0e",
        2 => "\x1bn",
        _ => "\x1bo",
    });
}

/// Columns to paint: up to the last cell that is not a default blank or
/// carries combining characters.
fn used(row: &Row) -> usize {
    let mut used = row.used();
    for (c, _) in &row.marks {
        used = used.max(*c as usize + 1);
    }
    used.min(row.cells.len())
}

/// Paint rows on a cleared screen with the default pen and ASCII, from the
/// top-left; a wrapped row runs on into the next so the terminal knows.
fn paint_rows(rows: &[Row], cols: u16, out: &mut String) {
    let mut pen = Pen::default();
    let mut continued = false;
    for (i, row) in rows.iter().enumerate() {
        let wraps = row.wrapped && i + 1 < rows.len();
        let mut n = if wraps { cols as usize } else { used(row) };
        if continued {
            n = n.max(1);
        } else if n == 0 {
            continue;
        } else {
            let _ = write!(out, "\x1b[{}H", i + 1);
        }
        for (col, c) in row.cells[..n].iter().enumerate() {
            if c.ch == WIDE_TAIL {
                continue;
            }
            if c.pen != pen {
                c.pen.write_sgr(out);
                pen = c.pen;
            }
            out.push(c.ch);
            if let Some(m) = row.mark(col) {
                out.push_str(m);
            }
        }
        continued = wraps;
    }
    if pen != Pen::default() {
        out.push_str("\x1b[0m");
    }
}
