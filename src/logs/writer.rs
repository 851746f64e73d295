//! Appending a session's output to `output.log` and rotating it, for the
//! supervisor. The writer owns what logging knows (the current file's size,
//! the bytes in logs rotated away, the bytes lost, the last error);
//! meta.json records copies of them ([`LogWriter::record`]).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::json;

use super::rotated;
use crate::error::describe_io;
use crate::events::Events;
use crate::meta::Meta;
use crate::store::LOG;
use crate::sys;

pub struct LogWriter {
    dir: PathBuf,
    /// output.log, or stderr.log in pipe mode.
    name: &'static str,
    file: File,
    /// Bytes in the current output.log.
    size: u64,
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
}

impl LogWriter {
    /// Open `dir/output.log` for appending (a fresh session's log).
    pub fn open(dir: &Path, max_size: u64, keep: u32) -> io::Result<LogWriter> {
        Self::open_named(dir, LOG, max_size, keep)
    }

    /// Open `dir/name` (output.log, stderr.log) for appending.
    pub fn open_named(
        dir: &Path,
        name: &'static str,
        max_size: u64,
        keep: u32,
    ) -> io::Result<LogWriter> {
        Ok(LogWriter {
            dir: dir.to_path_buf(),
            name,
            file: sys::append_nofollow(&dir.join(name))?,
            size: 0,
            max_size: Some(max_size),
            keep,
            base: 0,
            dropped: 0,
            error: None,
        })
    }

    /// Append, rotating exactly at the size limit, so the logs kept always
    /// hold the newest bytes, in order. Bytes that cannot be written are
    /// counted, never silently lost. True when meta.json should be rewritten
    /// now (a rotation, or the first error); `rotated` and `dropped` events
    /// are emitted here.
    pub fn write(&mut self, mut data: &[u8], events: &mut Events) -> bool {
        let mut changed = false;
        while !data.is_empty() {
            let room = self
                .max_size
                .map_or(u64::MAX, |m| m.saturating_sub(self.size));
            if room == 0 {
                self.rotate(events);
                changed = true;
                continue;
            }
            let n = data.len().min(room.try_into().unwrap_or(usize::MAX));
            match self.file.write(&data[..n]) {
                Ok(0) => {
                    let why = format!("writing {}: the log takes no more", self.name);
                    return self.failed(data.len(), why, events) || changed;
                }
                Ok(k) => {
                    self.size += k as u64;
                    data = &data[k..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // What was written stays; exactly the rest is lost.
                    let why = format!("writing {}: {}", self.name, describe_io(&e));
                    return self.failed(data.len(), why, events) || changed;
                }
            }
        }
        changed
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

/// Rotate `dir/base`: base → base.1 → … → base.KEEP (the oldest
/// dropped), then a fresh `base` for appending. The one rotation of the
/// store's files (output.log, events.jsonl); readers follow it by inode
/// (`reader.rs`).
pub fn rotate(dir: &Path, base: &str, keep: u32) -> io::Result<File> {
    let path = dir.join(base);
    if keep == 0 {
        std::fs::remove_file(&path)?;
    } else {
        let _ = std::fs::remove_file(rotated(dir, base, keep));
        for k in (1..keep).rev() {
            let _ = std::fs::rename(rotated(dir, base, k), rotated(dir, base, k + 1));
        }
        std::fs::rename(&path, rotated(dir, base, 1))?;
    }
    sys::append_nofollow(&path)
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
