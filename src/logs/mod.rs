//! A session's output on disk: `output.log`, rotated to `output.log.1` …
//! `output.log.KEEP` (newest first). The supervisor appends and rotates
//! ([`LogWriter`], `writer.rs`); the verbs read across the rotated logs
//! ([`LogReader`], `reader.rs`) and render plain text ([`Plain`], `plain.rs`).
//! `events.jsonl` rotates and is read the same way ([`rotate`],
//! [`LogReader::open_start_of`]). The rotated files are named here only
//! ([`rotated`]). `output.idx` says when the output came (`timeindex.rs`,
//! written by the [`LogWriter`], rotated with the log); [`Timed`] reads
//! the output with its times, `asciicast.rs` writes it as a recording.

pub mod asciicast;
mod plain;
mod reader;
mod timed;
mod timeindex;
mod writer;

use std::path::{Path, PathBuf};

pub use plain::{Plain, StringCap, dec_graphics, plain, unfinished_utf8};
pub use reader::{LogReader, last_lines};
pub use timed::{Piece, Timed};
pub use timeindex::{nanos, time};
pub use writer::{LogWriter, rotate, shift};

/// The `k`-th rotated copy of `base` (`output.log`, `events.jsonl`) in
/// `dir`: `output.log.1` is the newest.
pub fn rotated(dir: &Path, base: &str, k: u32) -> PathBuf {
    dir.join(format!("{base}.{k}"))
}
