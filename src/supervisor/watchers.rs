//! Watchers: control connections that asked for the output as a stream
//! (`wait`, `send --wait-idle`, `run --bg --wait-idle`).
//!
//! A watcher gets the output byte counts when it starts (Watching: now, and
//! at the last input), then every Output byte from there, then Idle once
//! the output has been quiet as long as it asked, or Exit. Unlike a
//! person's terminal it is never given a repaint instead of the stream: one
//! [`WATCH_LIMIT`] behind is cut off with an error (`clients.rs`).
//!
//! For a `send --wait-idle`, the quiet clock starts only once the send's
//! input has been written to the PTY ([`Watch::arm`]), so a program slow to
//! read its input is not taken for a quiet one.

use std::time::{Duration, Instant};

/// A watcher wants every byte; one this far behind is cut off instead.
pub const WATCH_LIMIT: usize = 64 << 20;

/// One watcher's quiet clock.
pub struct Watch {
    /// Pipe mode: it gets standard error too (ErrOutput frames).
    pub stderr: bool,
    /// Say Idle once the output has been quiet this long...
    idle: Option<Duration>,
    /// ...counting from here (None: the input it sent is not written yet).
    armed_at: Option<Instant>,
}

impl Watch {
    /// A Watch request: the clock runs from now.
    pub fn new(idle: Option<Duration>, now: Instant) -> Watch {
        Watch {
            stderr: false,
            idle,
            armed_at: Some(now),
        }
    }

    /// A send's `--wait-idle`: the clock starts when its input is written.
    pub fn after_input(idle: Duration) -> Watch {
        Watch {
            stderr: false,
            idle: Some(idle),
            armed_at: None,
        }
    }

    /// The input for the program has all been written: start the clock.
    pub fn arm(&mut self, now: Instant) {
        self.armed_at.get_or_insert(now);
    }

    /// When the output will have been quiet long enough, if it stays so.
    pub fn quiet_at(&self, last_output: Instant) -> Option<Instant> {
        Some(self.armed_at?.max(last_output) + self.idle?)
    }

    /// True (once) when the output has been quiet long enough.
    pub fn take_quiet(&mut self, now: Instant, last_output: Instant) -> bool {
        let due = self.quiet_at(last_output).is_some_and(|t| now >= t);
        if due {
            self.idle = None;
        }
        due
    }
}
