//! Appending a session's output to `output.log` and rotating it, for the
//! supervisor. The writer owns what logging knows (the current file's size,
//! the bytes in logs rotated away, the bytes lost, the last error);
//! meta.json records copies of them ([`LogWriter::record`]).
//!
//! A terminal hands its output over about 4 KiB a read, and ext4 takes a
//! 4 KiB `write` at about three times the CPU per byte of a 64 KiB one (a
//! page-cache folio and an inode update a call). So while the program
//! floods its terminal the supervisor lets the writer hold bytes back
//! ([`LogWriter::hold`]) and write them together, at most [`HOLD_MAX`] and
//! [`HOLD_FOR`] later; everything else is written at once.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use super::rotated;
use super::timeindex::IndexWriter;
use crate::error::describe_io;
use crate::events::Events;
use crate::meta::Meta;
use crate::store::LOG;
use crate::sys;

/// The most bytes held back ([`LogWriter::hold`])...
pub const HOLD_MAX: usize = 64 * 1024;
/// ...and for how long at most.
pub const HOLD_FOR: Duration = Duration::from_millis(2);

pub struct LogWriter {
    dir: PathBuf,
    /// output.log, or stderr.log in pipe mode.
    name: &'static str,
    file: File,
    /// Bytes in the current output.log, with those [`held`](Self::held).
    size: u64,
    /// Bytes not written yet, at most [`HOLD_MAX`]: the end of the log.
    held: Vec<u8>,
    /// When the first of them came.
    held_since: Option<Instant>,
    /// Rotate at this size; None once a rotation failed (then the one log
    /// grows rather than output being lost).
    max_size: Option<u64>,
    /// Rotated logs kept.
    keep: u32,
    /// Output bytes before the current output.log (rotated or removed).
    base: u64,
    /// Bytes that could not be written.
    dropped: u64,
    /// The last write or rotation error.
    error: Option<String>,
    /// output.idx: when the output was written (`timeindex.rs`); output.log
    /// only.
    index: Option<IndexWriter>,
}

impl LogWriter {
    /// Open `dir/output.log` for appending (a fresh session's log).
    pub fn open(dir: &Path, max_size: u64, keep: u32) -> io::Result<LogWriter> {
        Self::open_named(dir, LOG, max_size, keep)
    }

    /// Open `dir/name` (output.log, stderr.log) for appending. Only
    /// output.log has a time index.
    pub fn open_named(
        dir: &Path,
        name: &'static str,
        max_size: u64,
        keep: u32,
    ) -> io::Result<LogWriter> {
        let file = sys::append_nofollow(&dir.join(name))?;
        Ok(Self::with_file(dir, name, file, max_size, keep))
    }

    /// The writer of `dir/name` already open as `file` (empty: nothing
    /// was written to it yet).
    pub fn with_file(
        dir: &Path,
        name: &'static str,
        file: File,
        max_size: u64,
        keep: u32,
    ) -> LogWriter {
        LogWriter {
            dir: dir.to_path_buf(),
            name,
            index: (name == LOG).then(|| IndexWriter::open(dir, &file)),
            file,
            size: 0,
            held: Vec::new(),
            held_since: None,
            max_size: Some(max_size),
            keep,
            base: 0,
            dropped: 0,
            error: None,
        }
    }

    /// The file written to (`supervisor/fresh.rs`).
    #[cfg(target_os = "linux")]
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Append, rotating exactly at the size limit, so the logs kept always
    /// hold the newest bytes, in order. Bytes that cannot be written are
    /// counted, never silently lost. True when meta.json should be rewritten
    /// now (a rotation, or the first error); `rotated` and `dropped` events
    /// are emitted here.
    pub fn write(&mut self, data: &[u8], events: &mut Events) -> bool {
        self.append(data, false, events)
    }

    /// [`LogWriter::write`], but the bytes may wait to be written with the
    /// next ones (more output is coming), until [`HOLD_MAX`] are held or
    /// [`LogWriter::flush_at`]. A time index entry is never held.
    pub fn hold(&mut self, data: &[u8], events: &mut Events) -> bool {
        self.append(data, true, events)
    }

    /// When the bytes held back must be written ([`LogWriter::flush`]).
    pub fn flush_at(&self) -> Option<Instant> {
        self.held_since.map(|t| t + HOLD_FOR)
    }

    /// Write the bytes held back. True as for [`LogWriter::write`].
    pub fn flush(&mut self, events: &mut Events) -> bool {
        if self.held.is_empty() {
            return false;
        }
        let held = std::mem::take(&mut self.held);
        let changed = self.write_out(&held, events);
        self.held = held;
        self.held.clear();
        self.held_since = None;
        changed
    }

    /// Give back the memory that holding bytes used (the output went quiet).
    pub fn release(&mut self) {
        if self.held.is_empty() {
            self.held = Vec::new();
        }
    }

    fn append(&mut self, mut data: &[u8], hold: bool, events: &mut Events) -> bool {
        let mut changed = false;
        // One clock read a batch (no system call: the vDSO).
        let now = Instant::now();
        while !data.is_empty() {
            let room = self
                .max_size
                .map_or(u64::MAX, |m| m.saturating_sub(self.size));
            if room == 0 {
                self.flush(events);
                self.rotate(events);
                changed = true;
                continue;
            }
            let n = data.len().min(room.try_into().unwrap_or(usize::MAX));
            if self.index.as_mut().is_some_and(|i| i.due(now)) {
                // The entry goes before its bytes, with nothing held before
                // them: a write that fails takes back exactly what follows.
                changed |= self.flush(events);
                if let Some(i) = &mut self.index {
                    i.enter(now, SystemTime::now(), self.size);
                }
            }
            self.size += n as u64;
            changed |= self.put(&data[..n], hold, now, events);
            data = &data[n..];
        }
        changed
    }

    /// Bytes `size` already counts: held, or written now.
    fn put(&mut self, data: &[u8], hold: bool, now: Instant, events: &mut Events) -> bool {
        if self.held.is_empty() && (!hold || data.len() >= HOLD_MAX) {
            return self.write_out(data, events);
        }
        if self.held.is_empty() {
            self.held_since = Some(now);
        }
        self.held.extend_from_slice(data);
        if !hold || self.held.len() >= HOLD_MAX {
            return self.flush(events);
        }
        false
    }

    /// Write bytes `size` counts; those that fail are taken off it.
    fn write_out(&mut self, mut data: &[u8], events: &mut Events) -> bool {
        while !data.is_empty() {
            match self.file.write(data) {
                Ok(0) => {
                    let why = format!("writing {}: the log takes no more", self.name);
                    return self.failed(data.len(), why, events);
                }
                Ok(k) => data = &data[k..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // What was written stays; exactly the rest is lost.
                    let why = format!("writing {}: {}", self.name, describe_io(&e));
                    return self.failed(data.len(), why, events);
                }
            }
        }
        false
    }

    /// Copy what logging knows into the record.
    pub fn record(&self, meta: &mut Meta) {
        meta.log_base = self.base;
        meta.dropped_bytes = self.dropped;
        meta.log_error.clone_from(&self.error);
    }

    /// Add what standard error's log knows (pipe mode) to the record that
    /// [`LogWriter::record`] filled: its base, its lost bytes to the
    /// session's, its error unless output.log has one.
    pub fn record_stderr(&self, meta: &mut Meta) {
        meta.stderr_log_base = self.base;
        meta.dropped_bytes += self.dropped;
        if meta.log_error.is_none() {
            meta.log_error.clone_from(&self.error);
        }
    }

    /// Count lost bytes; the first loss is an event. True: first.
    fn failed(&mut self, n: usize, why: String, events: &mut Events) -> bool {
        self.size -= n as u64;
        self.dropped += n as u64;
        let first = self.error.is_none();
        if first {
            events.emit("dropped", json!({"bytes": n, "error": why}));
        }
        self.error = Some(why);
        first
    }

    /// output.log → output.log.1 → … → output.log.KEEP (dropped), then a
    /// fresh output.log.
    fn rotate(&mut self, events: &mut Events) {
        let keep = self.keep;
        match rotate(&self.dir, self.name, keep) {
            Ok(f) => {
                if let Some(index) = &mut self.index {
                    index.rotate(&self.dir, keep, &f);
                }
                self.file = f;
                self.base += self.size;
                self.size = 0;
                let mut ev = json!({"keep": keep, "log_base": self.base});
                if self.name != LOG {
                    ev["log"] = self.name.into();
                }
                events.emit("rotated", ev);
            }
            Err(e) => {
                // Keep writing where we were rather than lose output.
                self.error = Some(format!("rotating {}: {}", self.name, describe_io(&e)));
                self.max_size = None;
            }
        }
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        // Normally flushed by its owner (who hears of a failure).
        let _ = self.file.write_all(&self.held);
    }
}

/// Rotate `dir/base`: base → base.1 → … → base.KEEP (the oldest
/// dropped), then a fresh `base` for appending. The one rotation of the
/// store's files (output.log, events.jsonl); readers follow it by inode
/// (`reader.rs`).
pub fn rotate(dir: &Path, base: &str, keep: u32) -> io::Result<File> {
    shift(dir, base, keep)?;
    sys::append_nofollow(&dir.join(base))
}

/// [`rotate`] without the fresh `base`: `base` → `base.1` → … → `base.KEEP`.
pub fn shift(dir: &Path, base: &str, keep: u32) -> io::Result<()> {
    let path = dir.join(base);
    if keep == 0 {
        std::fs::remove_file(&path)
    } else {
        let _ = std::fs::remove_file(rotated(dir, base, keep));
        for k in (1..keep).rev() {
            let _ = std::fs::rename(rotated(dir, base, k), rotated(dir, base, k + 1));
        }
        std::fs::rename(&path, rotated(dir, base, 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_exactly_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut ev = Events::open(d);
        let mut w = LogWriter::open(d, 4096, 1).unwrap();
        assert!(!w.write(&[b'a'; 4000], &mut ev), "no rotation yet");
        assert!(w.write(&[b'b'; 6000], &mut ev), "rotated");
        let len = |p: PathBuf| std::fs::metadata(p).unwrap().len();
        assert_eq!(len(rotated(d, LOG, 1)), 4096);
        assert_eq!(len(d.join(LOG)), 10000 - 8192);
        assert!(!rotated(d, LOG, 2).exists(), "one kept");
        assert_eq!((w.base, w.dropped, w.error.as_deref()), (8192, 0, None));
    }

    #[test]
    fn held_bytes_are_written_together_in_order_and_rotate_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut ev = Events::open(d);
        let mut w = LogWriter::open(d, 3 * HOLD_MAX as u64, 1).unwrap();
        let len = |p: PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
        w.write(b"<", &mut ev);
        assert_eq!(len(d.join(LOG)), 1, "written at once");
        assert_eq!(w.flush_at(), None);
        w.hold(&[b'a'; 4000], &mut ev);
        w.hold(&[b'b'; 4000], &mut ev);
        assert_eq!(len(d.join(LOG)), 1, "held");
        assert!(w.flush_at().is_some());
        w.write(b">", &mut ev);
        assert_eq!(len(d.join(LOG)), 8002, "a write takes what is held first");
        assert_eq!(w.flush_at(), None);
        // Held up to HOLD_MAX, then written; rotated exactly at the limit.
        let mut all = b"<".to_vec();
        all.extend([b'a'; 4000]);
        all.extend([b'b'; 4000]);
        all.push(b'>');
        for i in 0..50u32 {
            let chunk = vec![b'0' + (i % 10) as u8; 4095];
            w.hold(&chunk, &mut ev);
            all.extend(&chunk);
            assert!(w.held.len() < HOLD_MAX);
        }
        assert_eq!(w.base, 3 * HOLD_MAX as u64, "rotated once");
        w.flush(&mut ev);
        let mut got = std::fs::read(rotated(d, LOG, 1)).unwrap();
        assert_eq!(got.len(), 3 * HOLD_MAX);
        got.extend(std::fs::read(d.join(LOG)).unwrap());
        assert_eq!(got, all);
        assert_eq!((w.dropped, w.error.as_deref()), (0, None));
    }

    #[test]
    fn a_time_entry_goes_before_the_bytes_it_times() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut ev = Events::open(d);
        let mut w = LogWriter::open(d, 1 << 20, 1).unwrap();
        w.hold(b"first", &mut ev);
        let idx = std::fs::read(d.join(super::super::timeindex::IDX)).unwrap();
        assert_eq!(idx.len(), 32, "header and one entry, written already");
        assert_eq!(&idx[24..32], &0u64.to_le_bytes(), "at offset 0");
        assert_eq!(std::fs::read(d.join(LOG)).unwrap(), b"");
        w.flush(&mut ev);
        assert_eq!(std::fs::read(d.join(LOG)).unwrap(), b"first");
    }

    #[test]
    fn a_failed_rotation_keeps_writing_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("s");
        std::fs::create_dir(&d).unwrap();
        let mut ev = Events::open(&d);
        let mut w = LogWriter::open(&d, 4096, 2).unwrap();
        std::fs::remove_dir_all(&d).unwrap();
        assert!(w.write(&[b'x'; 10000], &mut ev), "the failure is news");
        // Everything went to the one log; it no longer rotates.
        assert_eq!((w.size, w.base, w.dropped, w.max_size), (10000, 0, 0, None));
        assert!(
            w.error
                .as_deref()
                .unwrap()
                .starts_with("rotating output.log: ")
        );
    }
}
