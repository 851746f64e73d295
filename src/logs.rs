//! Reading session output: across rotated logs ([`LogReader`]), plain-text
//! rendering (escape sequences removed, carriage-return rewrites resolved as
//! a terminal would show each line finally), tail offsets counted as tail(1)
//! does, and the last lines for `ps`.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::store::LOG;
use crate::sys;

/// The logs of a session, oldest first: output.log.N … output.log.1,
/// output.log, each with its (dev, inode).
fn chain(dir: &Path) -> Vec<(PathBuf, (u64, u64))> {
    loop {
        let head = ino(&dir.join(LOG));
        let mut files = Vec::new();
        let mut k = 1;
        loop {
            let p = dir.join(format!("{LOG}.{k}"));
            match ino(&p) {
                Some(i) => files.push((p, i)),
                None => break,
            }
            k += 1;
        }
        files.reverse();
        if let Some(h) = head {
            files.push((dir.join(LOG), h));
        }
        // A rotation while we looked shifts every name: look again.
        if ino(&dir.join(LOG)) == head {
            return files;
        }
    }
}

fn ino(p: &Path) -> Option<(u64, u64)> {
    std::fs::symlink_metadata(p)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

fn file_ino(f: &File) -> io::Result<(u64, u64)> {
    let m = f.metadata()?;
    Ok((m.dev(), m.ino()))
}

/// Reads a session's output across rotations. It holds one log open and,
/// at its end, moves to the next one in the chain by inode, so a reader
/// neither loses nor repeats a byte while the rotated logs still exist.
pub struct LogReader {
    dir: PathBuf,
    cur: File,
    cur_ino: (u64, u64),
}

impl LogReader {
    /// From the oldest log kept; None while there is no log yet.
    pub fn open_start(dir: &Path) -> io::Result<Option<LogReader>> {
        Self::open_nth(dir, |files| files.first().cloned())
    }

    /// From where the last `n` lines begin (tail(1)'s count), across logs.
    pub fn open_tail(dir: &Path, n: u64) -> io::Result<Option<LogReader>> {
        let files = chain(dir);
        let mut left = n;
        for (i, (path, id)) in files.iter().enumerate().rev() {
            let mut f = sys::open_nofollow(path)?;
            if file_ino(&f)? != *id {
                // Rotated under us: start over.
                return Self::open_tail(dir, n);
            }
            let (off, found) = tail_offset_count(&mut f, left, i + 1 == files.len())?;
            if found >= left || i == 0 {
                f.seek(SeekFrom::Start(off))?;
                return Ok(Some(LogReader {
                    dir: dir.to_path_buf(),
                    cur: f,
                    cur_ino: *id,
                }));
            }
            left -= found;
        }
        Ok(None)
    }

    fn open_nth(
        dir: &Path,
        pick: impl Fn(&[(PathBuf, (u64, u64))]) -> Option<(PathBuf, (u64, u64))>,
    ) -> io::Result<Option<LogReader>> {
        loop {
            let files = chain(dir);
            let Some((path, id)) = pick(&files) else {
                return Ok(None);
            };
            let f = match sys::open_nofollow(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if file_ino(&f)? == id {
                return Ok(Some(LogReader {
                    dir: dir.to_path_buf(),
                    cur: f,
                    cur_ino: id,
                }));
            }
        }
    }

    /// Bytes in the logs from this reader's file (included) up to the live
    /// output.log (excluded): where this file starts, counted back from the
    /// start of output.log.
    pub fn bytes_before_current(&self) -> io::Result<u64> {
        let files = chain(&self.dir);
        let Some(at) = files.iter().position(|f| f.1 == self.cur_ino) else {
            return Ok(0);
        };
        let mut total = 0;
        for (p, _) in &files[at..files.len().saturating_sub(1)] {
            total += std::fs::symlink_metadata(p)?.len();
        }
        Ok(total)
    }

    /// Read what is there; 0 at the end of the live output.log.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.cur.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            let files = chain(&self.dir);
            if files.last().map(|f| f.1) == Some(self.cur_ino) || files.is_empty() {
                return Ok(0);
            }
            // Ours was rotated away; the supervisor wrote everything to it
            // before renaming it, so one more read finishes it.
            let n = self.cur.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            let at = files.iter().position(|f| f.1 == self.cur_ino);
            let next = match at {
                Some(i) => files[i + 1].clone(),
                // Ours is gone (more rotations than are kept): the oldest left.
                None => files[0].clone(),
            };
            match sys::open_nofollow(&next.0) {
                Ok(f) if file_ino(&f)? == next.1 => {
                    self.cur = f;
                    self.cur_ino = next.1;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// The newest bytes of a session's output, up to `max`, across logs.
pub fn tail_bytes(dir: &Path, max: u64) -> io::Result<Vec<u8>> {
    let mut parts = Vec::new();
    let mut left = max;
    for (path, _) in chain(dir).iter().rev() {
        if left == 0 {
            break;
        }
        let mut f = match sys::open_nofollow(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let len = f.seek(SeekFrom::End(0))?;
        let take = len.min(left);
        f.seek(SeekFrom::Start(len - take))?;
        let mut v = Vec::new();
        f.take(take).read_to_end(&mut v)?;
        left -= take;
        parts.push(v);
    }
    parts.reverse();
    Ok(parts.concat())
}

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

/// The offset where the last `n` lines of `f` start, counting lines as
/// tail(1) does (a final line without a newline counts as a line).
#[cfg(test)]
pub fn tail_offset(f: &mut File, n: u64) -> io::Result<u64> {
    tail_offset_count(f, n, true).map(|(off, _)| off)
}

/// Like [`tail_offset`], also saying how many line starts were found (fewer
/// than `n` means the file holds fewer lines, and the offset is 0). `last`:
/// this file ends the output (its final newline does not start a line).
fn tail_offset_count(f: &mut File, n: u64, last: bool) -> io::Result<(u64, u64)> {
    let len = f.seek(SeekFrom::End(0))?;
    if n == 0 {
        return Ok((len, 0));
    }
    let mut pos = len;
    let mut seen = 0u64;
    let mut first = last;
    let mut buf = vec![0u8; 64 * 1024];
    while pos > 0 {
        let step = (buf.len() as u64).min(pos);
        pos -= step;
        f.seek(SeekFrom::Start(pos))?;
        let chunk = &mut buf[..step as usize];
        f.read_exact(chunk)?;
        let mut end = chunk.len();
        if first {
            // A trailing newline ends the last line; it does not start one.
            if chunk.last() == Some(&b'\n') {
                end -= 1;
            }
        }
        for i in (0..end).rev() {
            if chunk[i] == b'\n' {
                seen += 1;
                if seen == n {
                    return Ok((pos + i as u64 + 1, seen));
                }
            }
        }
        first = false;
    }
    Ok((0, seen))
}

/// The last `n` non-empty lines of plain text from the end of the output.
pub fn last_lines(dir: &Path, n: usize) -> io::Result<Vec<String>> {
    const WINDOW: u64 = 256 * 1024;
    let mut data = tail_bytes(dir, WINDOW)?;
    if data.len() as u64 == WINDOW {
        // Begin at a line boundary, not in the middle of a sequence.
        let skip = data.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
        data.drain(..skip);
    }
    let text = plain(&data);
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let keep = lines.len().saturating_sub(n);
    lines.drain(..keep);
    Ok(lines)
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

    #[test]
    fn tail_counts_like_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let cases: &[(&[u8], u64, usize)] = &[
            (b"a\nb\nc\n", 2, 2),
            (b"a\nb\nc", 2, 2),
            (b"a\nb\nc\n", 5, 0),
            (b"a\nb\nc\n", 1, 4),
            (b"", 3, 0),
        ];
        for (data, n, want) in cases {
            std::fs::write(&p, data).unwrap();
            let mut f = File::open(&p).unwrap();
            assert_eq!(
                tail_offset(&mut f, *n).unwrap(),
                *want as u64,
                "{data:?} -n {n}"
            );
        }
    }
}
