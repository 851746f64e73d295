//! Reading session output: across rotated logs ([`LogReader`]), tail
//! offsets counted as tail(1) does, and the last lines for `ps`. The same
//! reader follows `events.jsonl` across its rotations.
//!
//! Every file is opened as a record ([`sys::open_nofollow`]: no symlink,
//! no FIFO, never blocking); an error names the file.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{plain, rotated};
use crate::error::describe_io;
use crate::store::LOG;
use crate::sys;

/// The files of a session's `base` (output.log, events.jsonl), oldest
/// first: base.N … base.1, base, each with its (dev, inode).
fn chain(dir: &Path, base: &str) -> Vec<(PathBuf, (u64, u64))> {
    loop {
        let head = ino(&dir.join(base));
        let mut files = Vec::new();
        let mut k = 1;
        loop {
            let p = rotated(dir, base, k);
            match ino(&p) {
                Some(i) => files.push((p, i)),
                None => break,
            }
            k += 1;
        }
        files.reverse();
        if let Some(h) = head {
            files.push((dir.join(base), h));
        }
        // A rotation while we looked shifts every name: look again.
        if ino(&dir.join(base)) == head {
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

/// Open one file of the chain; an error other than "gone" names it.
fn open(path: &Path) -> io::Result<File> {
    sys::open_nofollow(path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            return e;
        }
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        io::Error::new(e.kind(), format!("{name}: {}", describe_io(&e)))
    })
}

/// Reads a session's output across rotations. It holds one log open and,
/// at its end, moves to the next one in the chain by inode, so a reader
/// neither loses nor repeats a byte while the rotated logs still exist.
pub struct LogReader {
    dir: PathBuf,
    /// output.log or events.jsonl.
    base: &'static str,
    cur: File,
    cur_ino: (u64, u64),
}

impl LogReader {
    /// From the oldest kept of `base`'s files (`events.jsonl`); None while
    /// there is none.
    pub fn open_start_of(dir: &Path, base: &'static str) -> io::Result<Option<LogReader>> {
        Self::open_nth(dir, base, |files| files.first().cloned())
    }

    /// From where the last `n` lines begin (tail(1)'s count), across
    /// `base`'s files (output.log, stderr.log).
    pub fn open_tail_of(dir: &Path, base: &'static str, n: u64) -> io::Result<Option<LogReader>> {
        let files = chain(dir, base);
        let mut left = n;
        for (i, (path, id)) in files.iter().enumerate().rev() {
            let mut f = open(path)?;
            if file_ino(&f)? != *id {
                // Rotated under us: start over.
                return Self::open_tail_of(dir, base, n);
            }
            let (off, found) = tail_offset_count(&mut f, left, i + 1 == files.len())?;
            if found >= left || i == 0 {
                f.seek(SeekFrom::Start(off))?;
                return Ok(Some(LogReader {
                    dir: dir.to_path_buf(),
                    base,
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
        base: &'static str,
        pick: impl Fn(&[(PathBuf, (u64, u64))]) -> Option<(PathBuf, (u64, u64))>,
    ) -> io::Result<Option<LogReader>> {
        loop {
            let files = chain(dir, base);
            let Some((path, id)) = pick(&files) else {
                return Ok(None);
            };
            let f = match open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if file_ino(&f)? == id {
                return Ok(Some(LogReader {
                    dir: dir.to_path_buf(),
                    base,
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
        let files = chain(&self.dir, self.base);
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
            let files = chain(&self.dir, self.base);
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
            match open(&next.0) {
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
    for (path, _) in chain(dir, LOG).iter().rev() {
        if left == 0 {
            break;
        }
        let mut f = match open(path) {
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
