//! Reading a session's output at an offset, across its rotated logs.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::meta::Meta;
use crate::store;

/// One log file: its path, the output offset where it begins, its length.
type LogFile = (PathBuf, u64, u64);

/// The logs of a session, oldest first, and the output's total: output.log
/// begins at meta's `log_base`, each rotated one right before the next
/// newer one.
pub(super) fn log_files(dir: &Path) -> io::Result<(Vec<LogFile>, u64)> {
    let meta = Meta::read(dir).map_err(|e| io::Error::other(e.to_string()))?;
    let mut files = Vec::new();
    let current = dir.join(store::LOG);
    let cur_len = match std::fs::symlink_metadata(&current) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e),
    };
    let mut start = meta.log_base;
    let mut k = 1;
    loop {
        let p = dir.join(format!("{}.{k}", store::LOG));
        match std::fs::symlink_metadata(&p) {
            Ok(m) => {
                start = start.saturating_sub(m.len());
                files.push((p, start, m.len()));
            }
            Err(_) => break,
        }
        k += 1;
    }
    files.reverse();
    files.push((current, meta.log_base, cur_len));
    Ok((files, meta.log_base + cur_len))
}

/// Read `[from, from + max)`; (bytes, where they begin, total).
pub(super) fn read_output(dir: &Path, from: u64, max: usize) -> io::Result<(Vec<u8>, u64, u64)> {
    // A rotation while we read shifts the names: look again.
    for _ in 0..5 {
        let (files, total) = log_files(dir)?;
        let first = files.first().map_or(total, |f| f.1);
        let start = from.max(first).min(total);
        let mut out = Vec::new();
        let mut ok = true;
        for (path, begin, len) in &files {
            let end = begin + len;
            if end <= start || out.len() >= max {
                continue;
            }
            let at = start.max(*begin) - begin;
            let mut f = match crate::sys::open_nofollow(path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    ok = false;
                    break;
                }
                Err(e) => return Err(e),
            };
            f.seek(SeekFrom::Start(at))?;
            let want = ((len - at) as usize).min(max - out.len());
            let got = f.take(want as u64).read_to_end(&mut out)?;
            if got < want {
                ok = false;
                break;
            }
        }
        if ok && log_files(dir)?.0.first().map(|f| f.1) == files.first().map(|f| f.1) {
            return Ok((out, start, total));
        }
    }
    Err(io::Error::other("the logs kept rotating while being read"))
}

/// Where the last `n` lines begin (as tail(1) counts), and the total.
pub(super) fn tail_start(dir: &Path, n: u64) -> io::Result<(u64, u64)> {
    let (files, total) = log_files(dir)?;
    let first = files.first().map_or(total, |f| f.1);
    if n == 0 {
        return Ok((total, total));
    }
    let mut seen = 0u64;
    let mut last = true;
    let mut buf = vec![0u8; 64 * 1024];
    for (path, begin, len) in files.iter().rev() {
        let mut f = match crate::sys::open_nofollow(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let mut pos = *len;
        while pos > 0 {
            let step = (buf.len() as u64).min(pos);
            pos -= step;
            f.seek(SeekFrom::Start(pos))?;
            let chunk = &mut buf[..step as usize];
            f.read_exact(chunk)?;
            let mut end = chunk.len();
            if last && chunk.last() == Some(&b'\n') {
                // The final newline ends the last line; it starts none.
                end -= 1;
            }
            last = false;
            for j in (0..end).rev() {
                if chunk[j] == b'\n' {
                    seen += 1;
                    if seen == n {
                        return Ok((begin + pos + j as u64 + 1, total));
                    }
                }
            }
        }
    }
    Ok((first, total))
}
