//! Editing the screens: printing, scrolling, moving the cursor, erasing,
//! inserting and deleting, saving the cursor, switching screens, resets.
//! What `Term`'s `Perform` calls (`../term.rs`).

use unicode_width::UnicodeWidthChar;

use super::super::cell::{Cell, Pen, Row, WIDE_TAIL};
use super::{Charset, HISTORY_MAX, Term};

impl Term {
    // --- printing ----------------------------------------------------------

    pub(super) fn print_char(&mut self, c: char) {
        let c = self.cur.charsets[self.cur.gl as usize & 3].map(c);
        let width = c.width().unwrap_or(0);
        if width == 0 {
            self.combine(c);
            return;
        }
        self.last_char = Some(c);
        let cols = self.cols as usize;
        if self.cur.pending_wrap && self.modes.autowrap {
            self.wrap_line();
        }
        if width == 2 && self.cur.col as usize + 1 >= cols {
            if cols < 2 {
                return;
            }
            if self.modes.autowrap {
                // Does not fit: the row ends blank and the character wraps.
                let col = self.cur.col as usize;
                let blank = self.blank();
                self.row_mut().erase(col, cols, blank);
                self.wrap_line();
            } else {
                self.cur.col = (cols - 2) as u16;
            }
        }
        let col = self.cur.col as usize;
        let pen = self.cur.pen;
        let insert = self.modes.insert;
        let blank = self.blank();
        let row = self.row_mut();
        if insert {
            insert_blanks(row, col, width, blank);
        }
        row.split_wide_at(col);
        row.split_wide_at(col + width);
        row.drop_marks(col, col + width);
        row.cells[col] = Cell { ch: c, pen };
        if width == 2 {
            row.cells[col + 1] = Cell { ch: WIDE_TAIL, pen };
        }
        let next = col + width;
        if next >= cols {
            self.cur.col = (cols - 1) as u16;
            self.cur.pending_wrap = self.modes.autowrap;
        } else {
            self.cur.col = next as u16;
            self.cur.pending_wrap = false;
        }
    }

    /// A zero-width character joins the one before the cursor.
    pub(super) fn combine(&mut self, c: char) {
        let cur = self.cur;
        let row = self.row_mut();
        let mut col = cur.col as usize;
        if !cur.pending_wrap {
            if col == 0 {
                return;
            }
            col -= 1;
        }
        if row.cells[col].ch == WIDE_TAIL && col > 0 {
            col -= 1;
        }
        match row.marks.iter_mut().find(|(c, _)| *c as usize == col) {
            Some((_, s)) => {
                if s.len() < 32 {
                    s.push(c)
                }
            }
            None => row.marks.push((col as u16, c.to_string())),
        }
    }

    pub(super) fn wrap_line(&mut self) {
        self.row_mut().wrapped = true;
        self.cur.col = 0;
        self.cur.pending_wrap = false;
        self.index();
    }

    // --- movement and scrolling -------------------------------------------

    /// LF, IND: down one row, scrolling at the bottom of the region.
    pub fn index(&mut self) {
        self.cur.pending_wrap = false;
        if self.cur.row == self.bottom {
            self.scroll_up(1);
        } else if self.cur.row + 1 < self.rows {
            self.cur.row += 1;
        }
    }

    pub(super) fn reverse_index(&mut self) {
        self.cur.pending_wrap = false;
        if self.cur.row == self.top {
            self.scroll_down(1);
        } else if self.cur.row > 0 {
            self.cur.row -= 1;
        }
    }

    /// Scroll the region up `n` rows.
    pub(super) fn scroll_up(&mut self, n: usize) {
        self.scroll_region_up(n, true);
    }

    /// Scroll the region up `n` rows; rows leaving the top of the main
    /// screen join the history if `history` and it holds any.
    pub(super) fn scroll_region_up(&mut self, n: usize, history: bool) {
        let (top, bottom) = (self.top as usize, self.bottom as usize);
        let n = n.min(bottom - top + 1);
        let blank = self.blank();
        let keep =
            history && !self.alt_active && self.region_is_whole() && !self.history.is_empty();
        let cols = self.cols;
        for i in 0..n {
            if keep {
                let row = std::mem::replace(&mut self.main[top + i], Row::new(0, blank));
                self.push_history(row);
            }
        }
        let grid = self.grid_mut();
        grid[top..=bottom].rotate_left(n);
        for row in &mut grid[bottom + 1 - n..=bottom] {
            if row.cells.len() != cols as usize {
                *row = Row::new(cols, blank);
            } else {
                row.clear(blank);
            }
        }
    }

    pub fn push_history(&mut self, mut row: Row) {
        let used = row.used();
        row.cells.truncate(used);
        row.cells.shrink_to_fit();
        if self.history.len() >= HISTORY_MAX {
            self.history.pop_front();
        }
        self.history.push_back(row);
    }

    /// Scroll the region down `n` rows.
    pub(super) fn scroll_down(&mut self, n: usize) {
        let (top, bottom) = (self.top as usize, self.bottom as usize);
        let n = n.min(bottom - top + 1);
        let blank = self.blank();
        let grid = self.grid_mut();
        grid[top..=bottom].rotate_right(n);
        for row in &mut grid[top..top + n] {
            row.clear(blank);
        }
    }

    pub(super) fn set_col(&mut self, col: u16) {
        self.cur.col = col.min(self.cols - 1);
        self.cur.pending_wrap = false;
    }

    /// The rows the cursor may move in: the region if it is inside it.
    pub(super) fn bounds(&self) -> (u16, u16) {
        let top = if self.cur.row >= self.top {
            self.top
        } else {
            0
        };
        let bottom = if self.cur.row <= self.bottom {
            self.bottom
        } else {
            self.rows - 1
        };
        (top, bottom)
    }

    pub(super) fn up(&mut self, n: u16) {
        let (top, _) = self.bounds();
        self.cur.row = self.cur.row.saturating_sub(n).max(top);
        self.cur.pending_wrap = false;
    }

    pub(super) fn down(&mut self, n: u16) {
        let (_, bottom) = self.bounds();
        self.cur.row = self.cur.row.saturating_add(n).min(bottom);
        self.cur.pending_wrap = false;
    }

    /// Move to a row counted from 0 at the top, or the region's top in
    /// origin mode.
    pub(super) fn goto_row(&mut self, row: u16) {
        self.cur.row = if self.cur.origin {
            self.top.saturating_add(row).min(self.bottom)
        } else {
            row.min(self.rows - 1)
        };
        self.cur.pending_wrap = false;
    }

    pub(super) fn goto(&mut self, row: u16, col: u16) {
        self.goto_row(row);
        self.set_col(col);
    }

    pub(super) fn tab_forward(&mut self, n: u16) {
        for _ in 0..n {
            let from = self.cur.col as usize + 1;
            let next = (from..self.cols as usize)
                .find(|&c| self.tabs[c])
                .unwrap_or(self.cols as usize - 1);
            self.cur.col = next as u16;
        }
        self.cur.pending_wrap = false;
    }

    pub(super) fn tab_back(&mut self, n: u16) {
        for _ in 0..n {
            let col = self.cur.col as usize;
            self.cur.col = (0..col).rev().find(|&c| self.tabs[c]).unwrap_or(0) as u16;
        }
        self.cur.pending_wrap = false;
    }

    // --- erasing and editing ----------------------------------------------

    pub(super) fn erase_display(&mut self, mode: u16) {
        let blank = self.blank();
        let (row, col) = (self.cur.row as usize, self.cur.col as usize);
        let cols = self.cols as usize;
        let grid = self.grid_mut();
        match mode {
            0 => {
                grid[row].erase(col, cols, blank);
                grid[row].wrapped = false;
                for r in &mut grid[row + 1..] {
                    r.clear(blank);
                }
            }
            1 => {
                for r in &mut grid[..row] {
                    r.clear(blank);
                }
                grid[row].erase(0, col + 1, blank);
            }
            2 => {
                for r in grid.iter_mut() {
                    r.clear(blank);
                }
            }
            3 => self.history.clear(),
            _ => {}
        }
    }

    pub(super) fn erase_line(&mut self, mode: u16) {
        let blank = self.blank();
        let col = self.cur.col as usize;
        let cols = self.cols as usize;
        let row = self.row_mut();
        match mode {
            0 => {
                row.erase(col, cols, blank);
                row.wrapped = false;
            }
            1 => row.erase(0, col + 1, blank),
            2 => row.clear(blank),
            _ => {}
        }
    }

    pub(super) fn insert_lines(&mut self, n: u16, delete: bool) {
        if self.cur.row < self.top || self.cur.row > self.bottom {
            return;
        }
        let top = self.top;
        self.top = self.cur.row;
        if delete {
            self.scroll_region_up(n as usize, false);
        } else {
            self.scroll_down(n as usize);
        }
        self.top = top;
        self.cur.col = 0;
        self.cur.pending_wrap = false;
    }

    pub(super) fn delete_chars(&mut self, n: u16) {
        let blank = self.blank();
        let col = self.cur.col as usize;
        let cols = self.cols as usize;
        let row = self.row_mut();
        let n = (n as usize).min(cols - col);
        row.split_wide_at(col);
        row.split_wide_at(col + n);
        row.drop_marks(col, col + n);
        row.cells[col..].rotate_left(n);
        row.cells[cols - n..].fill(blank);
        for (c, _) in &mut row.marks {
            if *c as usize >= col + n {
                *c -= n as u16;
            }
        }
        self.cur.pending_wrap = false;
    }

    pub(super) fn erase_chars(&mut self, n: u16) {
        let blank = self.blank();
        let col = self.cur.col as usize;
        self.row_mut().erase(col, col + n.max(1) as usize, blank);
        self.cur.pending_wrap = false;
    }

    // --- state -------------------------------------------------------------

    pub(super) fn save_cursor(&mut self) {
        self.saved[self.alt_active as usize] = Some(self.cur);
    }

    pub(super) fn restore_cursor(&mut self) {
        let c = self.saved[self.alt_active as usize].unwrap_or_default();
        self.cur = c;
        self.cur.row = c.row.min(self.rows - 1);
        self.cur.col = c.col.min(self.cols - 1);
    }

    pub(super) fn enter_alt(&mut self, clear: bool) {
        if self.alt.len() != self.rows as usize {
            self.alt = vec![Row::new(self.cols, Cell::BLANK); self.rows as usize];
        } else if clear {
            let blank = self.blank();
            for r in &mut self.alt {
                r.clear(blank);
            }
        }
        self.alt_active = true;
    }

    pub(super) fn leave_alt(&mut self, free: bool) {
        if free {
            self.alt = Vec::new();
        }
        self.alt_active = false;
    }

    pub(super) fn soft_reset(&mut self) {
        self.modes.cursor_visible = true;
        self.modes.insert = false;
        self.modes.autowrap = true;
        self.modes.app_cursor = false;
        self.modes.app_keypad = false;
        self.cur.origin = false;
        self.cur.pen = Pen::default();
        self.cur.charsets = [Charset::Ascii; 4];
        self.cur.gl = 0;
        self.cur.pending_wrap = false;
        self.top = 0;
        self.bottom = self.rows - 1;
        self.saved = [None, None];
    }

    pub(super) fn full_reset(&mut self) {
        let (cols, rows) = (self.cols, self.rows);
        let replies = std::mem::take(&mut self.replies);
        let bells = self.bells;
        let new_title = self.new_title.take();
        *self = Term::new(cols, rows);
        self.replies = replies;
        self.bells = bells;
        self.new_title = new_title;
    }
}

pub(super) fn insert_blanks(row: &mut Row, col: usize, n: usize, blank: Cell) {
    let cols = row.cells.len();
    let n = n.min(cols - col);
    row.split_wide_at(col);
    // A wide character cut at the right edge goes too.
    row.split_wide_at(cols - n);
    row.drop_marks(cols - n, cols);
    row.cells[col..].rotate_right(n);
    row.cells[col..col + n].fill(blank);
    for (c, _) in &mut row.marks {
        if *c as usize >= col {
            *c += n as u16;
        }
    }
}
