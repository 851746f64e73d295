//! The time index of a session's output: `output.idx` beside `output.log`,
//! rotated with it (`output.idx.1` … `.KEEP`, [`super::rotated`]), so that
//! `logs --since/--until/--timestamps` and `--format asciicast` know when
//! each byte was written.
//!
//! Format, little endian: a 16-byte header, `CSTIDX01` then the inode of
//! the `output.log` it indexes (a reader pairs files by it, never by name:
//! a rotation renames both, one after the other); then 16-byte entries,
//! `u64` Unix time in nanoseconds, `u64` byte offset in that log: the
//! output from that offset on was read from the terminal at that time.
//!
//! The supervisor adds an entry for a batch of output when the last one is
//! at least [`SPACING`] old, or the output was quiet for [`QUIET`], and
//! always at the start of a log; each entry is written before the bytes it
//! times (a follower that has read the bytes finds their entry). The
//! spacing doubles every [`MAX_ENTRIES`]/8 entries, and a log gets at most
//! [`MAX_ENTRIES`] (1 MiB of index): later output of that log has the last
//! entry's time. At 100 ms that is more than two days of continuous output.
//!
//! A byte's time is its batch's, to the spacing: a line printed in a burst
//! may carry the time of the burst's first entry.
//!
//! Nothing read is trusted: an index that is missing, of another log, or
//! whose offsets go backwards gives its log no times (with the reason); a
//! record cut short at the end is not read yet. Two entries at one offset
//! (the first batch's bytes were lost to a full disk): the later counts.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{rotated, shift};
use crate::store::LOG;
use crate::sys;

/// The index's file name (rotated as `output.idx.N`).
pub const IDX: &str = "output.idx";
const MAGIC: &[u8; 8] = b"CSTIDX01";
const RECORD: usize = 16;
/// Entries per log, at most.
pub const MAX_ENTRIES: u64 = 65_536;
/// The least time between entries (doubling as a log's index fills).
pub const SPACING: Duration = Duration::from_millis(100);
/// Output after this long a pause always gets an entry.
pub const QUIET: Duration = Duration::from_secs(1);

/// The supervisor's side: the index of the current output.log. The file is
/// made with the log's first entry (a session that never prints has none,
/// and starting one costs no file).
pub struct IndexWriter {
    file: Idx,
    entries: u64,
    /// When the last entry was made.
    last: Option<Instant>,
    /// When output last came.
    last_output: Option<Instant>,
}

enum Idx {
    /// Not made yet: its path, and the inode of the log it indexes.
    Later(PathBuf, u64),
    Open(File),
    /// It could not be written (until the next log).
    Off,
}

impl IndexWriter {
    /// The `output.idx` of `log` (just opened, empty), made with the
    /// first entry.
    pub fn open(dir: &Path, log: &File) -> IndexWriter {
        IndexWriter {
            file: match log.metadata() {
                Ok(m) => Idx::Later(dir.join(IDX), m.ino()),
                Err(_) => Idx::Off,
            },
            entries: 0,
            last: None,
            last_output: None,
        }
    }

    /// Rotate with the log: `output.idx` → `.1` … (when this log had
    /// one), and the index of `log` (the new output.log) made later.
    pub fn rotate(&mut self, dir: &Path, keep: u32, log: &File) {
        if !matches!(self.file, Idx::Later(..)) {
            let _ = shift(dir, IDX, keep);
        }
        *self = Self::open(dir, log);
    }

    /// Output is about to be written at `offset` of the current log:
    /// record the time if an entry is due. At most one `write` a
    /// [`SPACING`], none otherwise. (The writer does the two steps itself.)
    #[cfg(test)]
    pub fn note(&mut self, now: Instant, wall: SystemTime, offset: u64) {
        if self.due(now) {
            self.enter(now, wall, offset);
        }
    }

    /// Output comes at `now`: whether it gets an entry ([`IndexWriter::enter`]).
    pub fn due(&mut self, now: Instant) -> bool {
        let quiet = self
            .last_output
            .replace(now)
            .is_none_or(|t| now.duration_since(t) >= QUIET);
        if matches!(self.file, Idx::Off) || self.entries >= MAX_ENTRIES {
            return false;
        }
        let spacing = SPACING * (1u32 << (self.entries / (MAX_ENTRIES / 8)).min(16));
        self.last
            .is_none_or(|t| quiet || now.duration_since(t) >= spacing)
    }

    /// Write the entry [`IndexWriter::due`] asked for: the output from
    /// `offset` on came at `now` (`wall`).
    pub fn enter(&mut self, now: Instant, wall: SystemTime, offset: u64) {
        if let Idx::Later(path, ino) = &self.file {
            self.file = match sys::append_nofollow(path) {
                Ok(f) if (&f).write_all(&header(*ino)).is_ok() => Idx::Open(f),
                _ => Idx::Off,
            };
        }
        let Idx::Open(f) = &mut self.file else { return };
        if f.write_all(&record(nanos(wall), offset)).is_err() {
            // A cut record would be read as not yet written; later
            // output of this log has the last entry's time.
            self.file = Idx::Off;
            return;
        }
        self.last = Some(now);
        self.entries += 1;
    }
}

fn header(ino: u64) -> [u8; RECORD] {
    let mut h = [0u8; RECORD];
    h[..8].copy_from_slice(MAGIC);
    h[8..].copy_from_slice(&ino.to_le_bytes());
    h
}

fn record(nanos: u64, offset: u64) -> [u8; RECORD] {
    let mut r = [0u8; RECORD];
    r[..8].copy_from_slice(&nanos.to_le_bytes());
    r[8..].copy_from_slice(&offset.to_le_bytes());
    r
}

/// Nanoseconds since the Unix epoch (0 before it, saturating past 2554).
pub fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().try_into().unwrap_or(u64::MAX))
}

/// The time of `nanos` since the Unix epoch.
pub fn time(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

/// One log's entries as read so far, or why it has none.
struct Times {
    /// The log's inode.
    ino: u64,
    /// (offset, nanos), offsets increasing.
    entries: Vec<(u64, u64)>,
    /// Open to read entries appended later.
    file: Option<File>,
    /// The bytes of a record not complete yet.
    partial: Vec<u8>,
    /// Why this log has no times.
    missing: Option<String>,
}

/// The reader's side: the time of any byte of the logs, one log at a time
/// (a reader moves forward through them).
pub struct Clock {
    dir: PathBuf,
    cur: Option<Times>,
    /// Why logs had no times, each said once: (file, reason).
    pub missing: Vec<(String, String)>,
}

impl Clock {
    pub fn new(dir: &Path) -> Clock {
        Clock {
            dir: dir.to_path_buf(),
            cur: None,
            missing: Vec::new(),
        }
    }

    /// The time of the byte at `offset` of the log whose inode is `ino`
    /// (None: not known), and the offset where the next entry starts (None:
    /// not yet written).
    pub fn at(&mut self, ino: u64, offset: u64) -> (Option<u64>, Option<u64>) {
        if self.cur.as_ref().is_none_or(|t| t.ino != ino) {
            self.cur = Some(find(&self.dir, ino));
            self.note_missing();
        }
        let t = self.cur.as_mut().expect("set above");
        if t.entries.last().is_none_or(|e| e.0 <= offset) && t.missing.is_none() {
            t.read_more();
            self.note_missing();
        }
        let t = self.cur.as_mut().expect("set above");
        let i = t.entries.partition_point(|e| e.0 <= offset);
        if i == 0 && t.missing.is_none() && !t.partial.is_empty() {
            // A record read while it was being written: once more.
            t.read_more();
        }
        let i = t.entries.partition_point(|e| e.0 <= offset);
        if i == 0 && t.missing.is_none() {
            // Every log's first entry is at 0, written before any output.
            t.missing = Some("its time index is cut short".into());
            t.file = None;
            self.note_missing();
            return (None, None);
        }
        let t = self.cur.as_mut().expect("set above");
        let time = i.checked_sub(1).map(|i| t.entries[i].1);
        (time, t.entries.get(i).map(|e| e.0))
    }
}

impl Clock {
    /// Say once why the current log has no times, naming it.
    fn note_missing(&mut self) {
        let Some(Times {
            ino,
            missing: Some(why),
            ..
        }) = &self.cur
        else {
            return;
        };
        let log = (0..)
            .map(|k| match k {
                0 => self.dir.join(LOG),
                k => rotated(&self.dir, LOG, k),
            })
            .map_while(|p| std::fs::symlink_metadata(&p).ok().map(|m| (p, m.ino())))
            .find(|(_, i)| i == ino);
        let name = log.map_or_else(
            || LOG.to_string(),
            |(p, _)| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            },
        );
        if !self.missing.iter().any(|m| m.0 == name && m.1 == *why) {
            self.missing.push((name, why.clone()));
        }
    }
}

/// The index of the log `ino`: whichever of output.idx, output.idx.1, …
/// names it in its header.
fn find(dir: &Path, ino: u64) -> Times {
    let mut t = Times {
        ino,
        entries: Vec::new(),
        file: None,
        partial: Vec::new(),
        missing: None,
    };
    // A file that cannot be read may be another log's index: said only
    // when none is this log's. A rotation renames one file at a time, so
    // one name may be missing for a moment: the look goes on past one gap,
    // and is made twice.
    let mut unreadable = None;
    for _ in 0..2 {
        let (mut k, mut gaps) = (0, 0);
        while gaps < 2 {
            let path = match k {
                0 => dir.join(IDX),
                k => rotated(dir, IDX, k),
            };
            k += 1;
            let mut f = match sys::open_nofollow(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    gaps += 1;
                    continue;
                }
                Err(e) => {
                    let name = path.file_name().unwrap_or_default().to_string_lossy();
                    let why = format!("{name}: {}", crate::error::describe_io(&e));
                    unreadable.get_or_insert(why);
                    continue;
                }
            };
            gaps = 0;
            let mut h = [0u8; RECORD];
            if f.read_exact(&mut h).is_ok() && h[..8] == MAGIC[..] && h[8..] == ino.to_le_bytes() {
                t.file = Some(f);
                return t;
            }
        }
    }
    t.missing = Some(
        unreadable
            .unwrap_or_else(|| "no time index (written before there was one, or lost)".into()),
    );
    t
}

impl Times {
    /// Read the entries written since; a damaged index gives no times.
    fn read_more(&mut self) {
        let Some(f) = &mut self.file else { return };
        let room = (MAX_ENTRIES as usize).saturating_sub(self.entries.len()) * RECORD;
        let mut buf = Vec::new();
        let got = f
            .take((room - self.partial.len().min(room)) as u64)
            .read_to_end(&mut buf);
        if got.is_err() {
            self.file = None;
            return;
        }
        let mut data = std::mem::take(&mut self.partial);
        data.extend_from_slice(&buf);
        let whole = data.len() / RECORD * RECORD;
        for r in data[..whole].chunks_exact(RECORD) {
            let nanos = u64::from_le_bytes(r[..8].try_into().expect("8 bytes"));
            let offset = u64::from_le_bytes(r[8..].try_into().expect("8 bytes"));
            // Output that could not be written (a full disk) leaves an
            // entry that the next one, at the same offset, replaces.
            if let Some(last) = self.entries.last_mut()
                && last.0 == offset
            {
                last.1 = nanos;
                continue;
            }
            if self.entries.last().is_some_and(|e| e.0 > offset) {
                self.entries.clear();
                self.file = None;
                self.missing = Some("its time index is damaged (offsets go backwards)".into());
                return;
            }
            self.entries.push((offset, nanos));
        }
        self.partial = data[whole..].to_vec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(dir: &Path) -> File {
        sys::append_nofollow(&dir.join(crate::store::LOG)).unwrap()
    }

    fn ino(dir: &Path) -> u64 {
        std::fs::metadata(dir.join(crate::store::LOG))
            .unwrap()
            .ino()
    }

    #[test]
    fn entries_are_spaced_and_quiet_output_gets_one() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut w = IndexWriter::open(d, &log(d));
        let t0 = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |ms: u64| {
            (
                t0 + Duration::from_millis(ms),
                wall + Duration::from_millis(ms),
            )
        };
        // 0: first; 50: too soon; 120: due; 150: too soon; 1200: quiet.
        for (ms, off) in [(0, 0), (50, 10), (120, 20), (150, 30), (1200, 40)] {
            let (now, wall) = at(ms);
            w.note(now, wall, off);
        }
        let mut c = Clock::new(d);
        let base = nanos(wall);
        let ms = |m: u64| base + m * 1_000_000;
        assert_eq!(c.at(ino(d), 0), (Some(ms(0)), Some(20)));
        assert_eq!(c.at(ino(d), 15), (Some(ms(0)), Some(20)));
        assert_eq!(c.at(ino(d), 35), (Some(ms(120)), Some(40)));
        assert_eq!(c.at(ino(d), 99), (Some(ms(1200)), None));
        assert!(c.missing.is_empty());
        // Appended later: read when asked past the last entry.
        w.note(at(1400).0, at(1400).1, 100);
        assert_eq!(c.at(ino(d), 99), (Some(ms(1200)), Some(100)));
        assert_eq!(c.at(ino(d), 100), (Some(ms(1400)), None));
    }

    #[test]
    fn a_damaged_or_foreign_index_gives_no_times() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut w = IndexWriter::open(d, &log(d));
        let now = Instant::now();
        w.note(now, SystemTime::now(), 0);
        w.note(now + QUIET, SystemTime::now(), 50);
        // A cut record is not there yet.
        let mut f = sys::append_nofollow(&d.join(IDX)).unwrap();
        f.write_all(&[1, 2, 3]).unwrap();
        let mut c = Clock::new(d);
        assert_eq!(c.at(ino(d), 60).1, None);
        assert!(c.at(ino(d), 60).0.is_some());
        // A second entry at one offset replaces the first's time.
        f.write_all(&[0; 5]).unwrap();
        f.write_all(&50u64.to_le_bytes()).unwrap();
        let mut c = Clock::new(d);
        let t = u64::from_le_bytes([1, 2, 3, 0, 0, 0, 0, 0]);
        assert_eq!(c.at(ino(d), 60), (Some(t), None));
        // Offsets going backwards: damaged.
        f.write_all(&record(7, 49)).unwrap();
        f.write_all(&record(5, 1)).unwrap();
        let mut c = Clock::new(d);
        assert_eq!(c.at(ino(d), 60), (None, None));
        assert!(c.missing[0].1.contains("damaged"), "{:?}", c.missing);
        // A header and no entry: cut short.
        std::fs::write(d.join(IDX), header(ino(d))).unwrap();
        let mut c = Clock::new(d);
        assert_eq!(c.at(ino(d), 0), (None, None));
        assert!(c.missing[0].1.contains("cut short"), "{:?}", c.missing);
        // Of another log, or garbage, or empty: none.
        for bytes in [&header(ino(d) + 1)[..], b"garbage", b""] {
            std::fs::write(d.join(IDX), bytes).unwrap();
            let mut c = Clock::new(d);
            assert_eq!(c.at(ino(d), 0), (None, None));
            assert!(c.missing[0].1.contains("no time index"), "{:?}", c.missing);
        }
    }

    #[test]
    fn an_index_is_found_past_a_name_a_rotation_is_moving() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut w = IndexWriter::open(d, &log(d));
        w.note(Instant::now(), UNIX_EPOCH + Duration::from_secs(9), 0);
        // output.idx.1 renamed to .2, output.idx (another log's) not yet
        // to .1.
        std::fs::rename(d.join(IDX), rotated(d, IDX, 2)).unwrap();
        std::fs::write(d.join(IDX), header(ino(d) + 1)).unwrap();
        let mut c = Clock::new(d);
        assert_eq!(c.at(ino(d), 5), (Some(9_000_000_000), None));
        assert!(c.missing.is_empty(), "{:?}", c.missing);
    }

    #[test]
    fn the_index_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut w = IndexWriter::open(d, &log(d));
        let t0 = Instant::now();
        for i in 0..MAX_ENTRIES + 100 {
            w.note(t0 + QUIET * (i as u32 + 1), SystemTime::now(), i);
        }
        let len = std::fs::metadata(d.join(IDX)).unwrap().len();
        assert_eq!(len, (MAX_ENTRIES + 1) * RECORD as u64);
    }
}
