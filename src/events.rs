//! `events.jsonl`: one JSON object a line, appended by the supervisor:
//! `{"ts": RFC 3339 with ms, "event": "started", ...fields}`.
//!
//! Bounded three ways, whatever the program does:
//! - the file rotates before a line would take it past `[events] max_size`
//!   (1 MiB unless configured; `events.jsonl.1` … `.KEEP`, 2 unless
//!   configured, the same rotation as output.log's, read
//!   across by `LogReader`), a line never split;
//! - a string in an event longer than [`MAX_STRING`] is cut, with a marker
//!   saying how long it was (a title is the program's to choose);
//! - events a program can cause at any rate ([`COALESCED`]: title, bell,
//!   refused connections, progress) are written at most once per [`EVERY`] each: one
//!   that comes sooner waits, replaced by any later one, and the one
//!   written says with `count` how many it stands for.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value, json};

use crate::logs;
use crate::store::EVENTS;
use crate::sys;

/// A string field longer than this (in bytes) is cut.
pub const MAX_STRING: usize = 4096;
/// The events written at most once per [`EVERY`] each.
pub const COALESCED: [&str; 4] = ["title", "bell", "refused", "progress"];
/// 4 a second.
pub const EVERY: Duration = Duration::from_millis(250);

pub struct Events {
    dir: PathBuf,
    /// None when it could not be opened (tried again at the next event).
    file: Option<File>,
    /// Bytes in the current events.jsonl.
    size: u64,
    max_size: u64,
    keep: u32,
    /// Per kind in [`COALESCED`].
    coalesce: [Coalesce; COALESCED.len()],
}

#[derive(Default)]
struct Coalesce {
    /// When one of this kind was last written.
    last: Option<Instant>,
    /// The latest one held back, and how many it stands for.
    pending: Option<(Value, u64)>,
}

impl Events {
    /// With the configuration's default limits (`[events]` in config.rs).
    #[cfg(test)]
    pub fn open(dir: &Path) -> Events {
        Events::open_with(dir, 1 << 20, 2)
    }

    pub fn open_with(dir: &Path, max_size: u64, keep: u32) -> Events {
        Events {
            dir: dir.to_path_buf(),
            file: None,
            size: 0,
            max_size,
            keep,
            coalesce: Default::default(),
        }
    }

    fn reopen(&mut self) {
        self.file = sys::append_nofollow(&self.dir.join(EVENTS)).ok();
        self.size = (self.file.as_ref())
            .and_then(|f| f.metadata().ok())
            .map_or(0, |m| m.len());
    }

    /// Append one event. A failure to record is not a reason to disturb the
    /// program, so it is ignored (the log's own errors are reported in meta).
    pub fn emit(&mut self, event: &str, fields: Value) {
        let now = Instant::now();
        self.flush_due(now);
        let Some(i) = COALESCED.iter().position(|k| *k == event) else {
            return self.write(event, fields, 1);
        };
        let c = &mut self.coalesce[i];
        let count = c.pending.take().map_or(0, |(_, n)| n) + 1;
        if c.last.is_some_and(|t| now.duration_since(t) < EVERY) {
            c.pending = Some((fields, count));
            return;
        }
        c.last = Some(now);
        self.write(event, fields, count);
    }

    /// Write the held-back events whose time has come.
    pub fn flush_due(&mut self, now: Instant) {
        for (kind, i) in COALESCED.into_iter().zip(0..) {
            let c: &mut Coalesce = &mut self.coalesce[i];
            if c.pending.is_some() && c.last.is_none_or(|t| now.duration_since(t) >= EVERY) {
                let (fields, count) = c.pending.take().expect("pending");
                c.last = Some(now);
                self.write(kind, fields, count);
            }
        }
    }

    /// Write every held-back event (at the end).
    pub fn flush_all(&mut self) {
        for (kind, i) in COALESCED.into_iter().zip(0..) {
            if let Some((fields, count)) = self.coalesce[i].pending.take() {
                self.write(kind, fields, count);
            }
        }
    }

    fn write(&mut self, event: &str, fields: Value, count: u64) {
        let mut obj = Map::new();
        obj.insert(
            "ts".into(),
            json!(humantime::format_rfc3339_millis(SystemTime::now()).to_string()),
        );
        obj.insert("event".into(), json!(event));
        if let Value::Object(m) = fields {
            obj.extend(m);
        }
        if count > 1 {
            obj.insert("count".into(), json!(count));
        }
        let mut v = Value::Object(obj);
        cut_strings(&mut v);
        let mut line = serde_json::to_vec(&v).expect("event serializes");
        line.push(b'\n');
        if self.size > 0 && self.size + line.len() as u64 > self.max_size {
            self.rotate();
        }
        if self.file.is_none() {
            self.reopen();
        }
        let Some(f) = self.file.as_mut() else { return };
        if f.write_all(&line).is_ok() {
            self.size += line.len() as u64;
        }
    }

    /// events.jsonl → .1 → … → .KEEP; on failure the next event tries to
    /// open events.jsonl again (so the file never grows past its limit).
    fn rotate(&mut self) {
        self.file = logs::rotate(&self.dir, EVENTS, self.keep).ok();
        self.size = 0;
    }
}

/// Cut every string longer than [`MAX_STRING`] bytes, saying so.
fn cut_strings(v: &mut Value) {
    match v {
        Value::String(s) if s.len() > MAX_STRING => {
            let all = s.len();
            let mut end = MAX_STRING;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
            s.push_str(&format!("…[truncated: {all} bytes]"));
        }
        Value::Array(a) => a.iter_mut().for_each(cut_strings),
        Value::Object(m) => m.values_mut().for_each(cut_strings),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(dir: &Path, name: &str) -> Vec<Value> {
        std::fs::read_to_string(dir.join(name))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn rotates_at_a_line_boundary_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut ev = Events::open_with(d, 1000, 2);
        for i in 0..100 {
            ev.emit(
                "input",
                json!({"id": format!("{i:04}"), "pad": "x".repeat(50)}),
            );
        }
        for f in [EVENTS, "events.jsonl.1", "events.jsonl.2"] {
            let len = std::fs::metadata(d.join(f)).unwrap().len();
            assert!(len <= 1000, "{f}: {len}");
            // Whole lines only.
            let text = std::fs::read_to_string(d.join(f)).unwrap();
            assert!(text.ends_with('\n') && !lines(d, f).is_empty(), "{f}");
        }
        assert!(!d.join("events.jsonl.3").exists());
        let newest = lines(d, EVENTS);
        assert_eq!(newest.last().unwrap()["id"], "0099");
    }

    #[test]
    fn long_strings_are_cut_with_a_marker() {
        let dir = tempfile::tempdir().unwrap();
        let mut ev = Events::open(dir.path());
        let title = "é".repeat(5000);
        ev.emit(
            "resized",
            json!({"title": title, "list": ["y".repeat(9000)]}),
        );
        let v = &lines(dir.path(), EVENTS)[0];
        let t = v["title"].as_str().unwrap();
        assert!(t.ends_with("…[truncated: 10000 bytes]"), "{t}");
        assert!(t.len() <= MAX_STRING + 40);
        assert!(v["list"][0].as_str().unwrap().contains("truncated: 9000"));
    }

    #[test]
    fn a_flood_of_titles_is_coalesced() {
        let dir = tempfile::tempdir().unwrap();
        let mut ev = Events::open(dir.path());
        for i in 0..1000 {
            ev.emit("title", json!({"title": format!("t{i}")}));
        }
        ev.emit("idle", json!({}));
        let v = lines(dir.path(), EVENTS);
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(v[0]["title"], "t0");
        assert!(v[0].get("count").is_none());
        ev.flush_all();
        let v = lines(dir.path(), EVENTS);
        assert_eq!(v[2]["title"], "t999");
        assert_eq!(v[2]["count"], 999);
    }
}
