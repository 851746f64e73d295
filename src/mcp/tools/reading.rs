//! The tools that read a session: its screen, its logs, the list.

use std::fmt::Write as _;

use super::super::args;
use super::super::backend::{Backend, Fail};
use super::super::text::{self, Collector};
use super::{Answer, Result, feed_range, omitted, session_info};

// --- session_screen ----------------------------------------------------------

pub fn screen(b: &Backend, a: args::ScreenArgs) -> Result<Answer> {
    let (screen, live, cursor) = if a.cursor.unwrap_or(false) && b.info(&a.name)?.running {
        let (s, row, col) = b.screen_with_cursor(&a.name)?;
        (s, true, Some(args::Cursor { row, col }))
    } else {
        let (s, live) = b.screen(&a.name)?;
        (s, live, None)
    };
    let title = if a.title.unwrap_or(false) {
        b.title(&a.name)?
    } else {
        None
    };
    let screen = clip(&screen, b.max_output);
    let mut text = screen.clone();
    let mut notes = Vec::new();
    if !live {
        notes.push(format!(
            "{} has ended: this is the last screen it showed",
            a.name
        ));
    }
    if let Some(c) = &cursor {
        notes.push(format!(
            "cursor at row {}, column {} (from 0)",
            c.row, c.col
        ));
    }
    if a.title.unwrap_or(false) {
        notes.push(match &title {
            Some(t) => format!("title {t:?}"),
            None => "no title set".into(),
        });
    }
    if !notes.is_empty() {
        let _ = write!(text, "[{}]", notes.join("; "));
    }
    let r = args::ScreenResult {
        name: a.name,
        screen,
        live,
        cursor,
        title,
    };
    Ok(Answer::new(text, &r))
}

/// At most `max` bytes of a text that has no log offsets (a screen): the
/// head and the tail, with a marker.
fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut h = max / 2;
    while !s.is_char_boundary(h) {
        h -= 1;
    }
    let mut t = s.len() - max / 2;
    while !s.is_char_boundary(t) {
        t += 1;
    }
    format!(
        "{}\n[... {} left out ...]\n{}",
        &s[..h],
        text::size((t - h) as u64),
        &s[t..]
    )
}

// --- session_logs ------------------------------------------------------------

pub fn logs(b: &Backend, a: args::LogsArgs) -> Result<Answer> {
    if a.tail.is_some() && a.offset.is_some() {
        return Err(Fail::new(
            "give tail (the last lines) or offset (a byte position, with limit), not both",
        ));
    }
    if a.limit.is_some() && a.offset.is_none() {
        return Err(Fail::new(
            "limit needs offset (give offset: 0 to read from the start)",
        ));
    }
    let max = b.max_output;
    let mut c = Collector::new(max, None, None);
    let (start, next, total, skipped) = match a.offset {
        Some(offset) => {
            let limit = a.limit.map_or(max, |l| (l as usize).min(max));
            if limit == 0 {
                return Err(Fail::new("limit must be at least 1"));
            }
            let (mut bytes, start, total) = b.read_output(&a.name, offset, limit)?;
            // A page that stops short of the end ends after a whole line,
            // so the next one starts at the beginning of one.
            if start + (bytes.len() as u64) < total
                && let Some(nl) = bytes.iter().rposition(|&x| x == b'\n')
                && nl + 1 >= bytes.len() / 2
            {
                bytes.truncate(nl + 1);
            }
            c.feed(&bytes);
            (
                start,
                start + bytes.len() as u64,
                total,
                start.saturating_sub(offset),
            )
        }
        None => {
            let (start, total) = b.tail_start(&a.name, a.tail.unwrap_or(100))?;
            let real = feed_range(b, &a.name, &mut c, start, total)?;
            (real, real + c.raw(), total, 0)
        }
    };
    let c = c.finish();
    let text = c.text(start, &a.name, max);
    let r = args::LogsResult {
        name: a.name.clone(),
        text: text.clone(),
        offset: start,
        next_offset: next,
        total,
        skipped,
        omitted: omitted(&c, start),
    };
    let mut out = text;
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    let _ = write!(
        out,
        "[bytes {start}..{next} of {total}{}{}]",
        if skipped > 0 {
            format!("; {skipped} bytes before offset were rotated away")
        } else {
            String::new()
        },
        if next < total {
            format!("; next page: offset {next}")
        } else {
            "; this is the end so far".to_string()
        }
    );
    Ok(Answer::new(out, &r))
}

// --- session_list ------------------------------------------------------------

pub fn list(b: &Backend) -> Result<Answer> {
    let all = b.list()?;
    let mut text = String::new();
    if all.is_empty() {
        text.push_str("no sessions (session_start starts one)");
    }
    for i in &all {
        let _ = writeln!(
            text,
            "{}  {}  pid {}  {} of output  {}{}",
            i.name,
            i.status_text,
            i.pid.map_or("-".into(), |p| p.to_string()),
            text::size(i.output_bytes),
            i.command.replace(['\n', '\r'], " "),
            i.label
                .as_deref()
                .map(|l| format!("  ({l})"))
                .unwrap_or_default()
        );
    }
    let r = args::ListResult {
        sessions: all.into_iter().map(session_info).collect(),
    };
    Ok(Answer::new(text.trim_end().to_string(), &r))
}
