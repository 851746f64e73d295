//! A session's output on disk: `output.log`, rotated to `output.log.1` …
//! `output.log.KEEP` (newest first). The supervisor appends and rotates
//! ([`LogWriter`], `writer.rs`); the verbs read across the rotated logs
//! ([`LogReader`], `reader.rs`) and render plain text ([`Plain`], `plain.rs`).
//! The rotated files are named here only ([`rotated`]).

mod plain;
mod reader;
mod writer;

use std::path::{Path, PathBuf};

pub use plain::{Plain, plain};
pub use reader::{LogReader, last_lines};
pub use writer::LogWriter;

use crate::store::LOG;

/// The `k`-th rotated log in `dir`: `output.log.1` is the newest.
pub fn rotated(dir: &Path, k: u32) -> PathBuf {
    dir.join(format!("{LOG}.{k}"))
}
