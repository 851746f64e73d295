//! Resizing. The main screen reflows, as tmux and modern terminals do:
//! lines the terminal wrapped are rewrapped at the new width, rows pushed
//! off the top by a shrink go to the history, and come back when the window
//! grows. The alternate screen (whose program redraws on SIGWINCH) is cut or
//! padded.

use super::cell::{Cell, Row, WIDE_TAIL};
use super::term::{Cursor, Term};

impl Term {
    pub fn resize(&mut self, cols: u16, rows: u16) {
        let (cols, rows) = (cols.max(1), rows.max(1));
        if (cols, rows) == (self.cols, self.rows) {
            return;
        }
        self.allocate();
        let old_cols = self.cols;
        if self.alt_active {
            // The main screen's cursor is the one saved on entering.
            let mut saved = self.saved[0].unwrap_or_default();
            self.reflow_main(cols, rows, &mut saved);
            if self.saved[0].is_some() {
                self.saved[0] = Some(saved);
            }
            let mut alt = std::mem::take(&mut self.alt);
            cut(&mut alt, cols, rows);
            self.alt = alt;
            clamp(&mut self.cur, cols, rows);
            if let Some(s) = &mut self.saved[1] {
                clamp(s, cols, rows);
            }
        } else {
            let mut cur = self.cur;
            self.reflow_main(cols, rows, &mut cur);
            self.cur = cur;
            if let Some(s) = &mut self.saved[0] {
                clamp(s, cols, rows);
            }
            if !self.alt.is_empty() {
                let mut alt = std::mem::take(&mut self.alt);
                cut(&mut alt, cols, rows);
                self.alt = alt;
            }
        }
        self.cols = cols;
        self.rows = rows;
        self.top = 0;
        self.bottom = rows - 1;
        self.tabs.resize(cols as usize, false);
        for c in old_cols..cols {
            self.tabs[c as usize] = c % 8 == 0;
        }
    }

    /// Rewrap the main screen and its history at `cols`, keep the last
    /// `rows` rows that end at or after the cursor's, and follow `cur`.
    fn reflow_main(&mut self, cols: u16, rows: u16, cur: &mut Cursor) {
        let mut lines: Vec<Vec<(Cell, Option<String>)>> = Vec::new();
        // Where the cursor is: line index and offset in it.
        let mut at = (0usize, 0usize);
        let mut line: Vec<(Cell, Option<String>)> = Vec::new();
        let screen_start = self.history.len();
        // Rows below the cursor that are blank do not count as content.
        let last = self.main[cur.row as usize + 1..]
            .iter()
            .rposition(|r| r.used() > 0 || r.wrapped)
            .map_or(cur.row as usize, |i| cur.row as usize + 1 + i);
        let main = std::mem::take(&mut self.main);
        let history = std::mem::take(&mut self.history);
        for (i, row) in history.into_iter().chain(main).enumerate() {
            if i > screen_start + last {
                break;
            }
            let n = if row.wrapped {
                row.cells.len()
            } else {
                row.used()
            };
            if i == screen_start + cur.row as usize {
                at = (
                    lines.len(),
                    line.len() + cur.col as usize + usize::from(cur.pending_wrap),
                );
            }
            let Row {
                cells,
                wrapped,
                mut marks,
            } = row;
            for (c, cell) in cells.into_iter().take(n).enumerate() {
                let mark = marks
                    .iter()
                    .position(|(m, _)| *m as usize == c)
                    .map(|k| marks.swap_remove(k).1);
                line.push((cell, mark));
            }
            if !wrapped {
                lines.push(std::mem::take(&mut line));
            }
        }
        if !line.is_empty() || at.0 == lines.len() {
            lines.push(line);
        }
        // Rewrap.
        let cols_u = cols as usize;
        let mut out: Vec<Row> = Vec::new();
        let mut cur_at = (0usize, 0usize);
        let mut wrap_pending = false;
        for (li, line) in lines.into_iter().enumerate() {
            let mut row = Row::new(cols, Cell::BLANK);
            let mut col = 0;
            let mut i = 0;
            let mut found = false;
            while i < line.len() {
                let (cell, mark) = &line[i];
                if cell.ch == WIDE_TAIL {
                    // An orphan tail (its head was cut off): skip.
                    i += 1;
                    continue;
                }
                let wide = line.get(i + 1).is_some_and(|(c, _)| c.ch == WIDE_TAIL);
                let w = if wide { 2 } else { 1 };
                if col + w > cols_u {
                    row.wrapped = true;
                    out.push(std::mem::replace(&mut row, Row::new(cols, Cell::BLANK)));
                    col = 0;
                    if w > cols_u {
                        i += w;
                        continue;
                    }
                }
                if li == at.0 && i <= at.1 && at.1 < i + w {
                    cur_at = (out.len(), col);
                    found = true;
                }
                row.cells[col] = *cell;
                if wide {
                    row.cells[col + 1] = line[i + 1].0;
                }
                if let Some(m) = mark {
                    row.marks.push((col as u16, m.clone()));
                }
                col += w;
                i += w;
            }
            if li == at.0 && !found {
                // Past the end of its line's text: as many columns past.
                let c = col + at.1.saturating_sub(line.len());
                wrap_pending = c >= cols_u && cur.pending_wrap && at.1 == line.len();
                cur_at = (out.len(), c.min(cols_u - 1));
            }
            out.push(row);
        }
        if out.is_empty() {
            out.push(Row::new(cols, Cell::BLANK));
        }
        // The screen is the last `rows` rows, but never past the cursor.
        let total = out.len();
        let rows_u = rows as usize;
        let top = total.saturating_sub(rows_u).min(cur_at.0);
        let mut screen: Vec<Row> = out.drain(top..).collect();
        screen.truncate(rows_u);
        while screen.len() < rows_u {
            screen.push(Row::new(cols, Cell::BLANK));
        }
        for row in out {
            self.push_history(row);
        }
        self.main = screen;
        cur.row = (cur_at.0 - top) as u16;
        cur.col = (cur_at.1 as u16).min(cols - 1);
        cur.pending_wrap = wrap_pending;
    }
}

/// Cut or pad rows to the new size, without reflow.
fn cut(grid: &mut Vec<Row>, cols: u16, rows: u16) {
    grid.truncate(rows as usize);
    for row in grid.iter_mut() {
        let c = cols as usize;
        if row.cells.len() > c {
            row.split_wide_at(c);
            row.cells.truncate(c);
            row.drop_marks(c, usize::MAX);
            row.wrapped = false;
        } else {
            row.cells.resize(c, Cell::BLANK);
        }
    }
    while grid.len() < rows as usize {
        grid.push(Row::new(cols, Cell::BLANK));
    }
}

fn clamp(c: &mut Cursor, cols: u16, rows: u16) {
    c.row = c.row.min(rows - 1);
    if c.col >= cols {
        c.col = cols - 1;
    }
    c.pending_wrap = c.pending_wrap && c.col == cols - 1;
}
