//! What the program tells its terminal, recorded: the shell's command marks
//! (OSC 133: `prompt`, `command-start`, `command-end` events, the last ones
//! in meta.json), notifications (OSC 9, 777, 99: `notification` events)
//! and progress (OSC 9;4: `progress` events, the percentage in meta.json).
//! The scanner (`crate::osc`) finds them across read boundaries with their
//! byte offsets, which give a command's output range.
//!
//! Bounded: a program may print these at any rate, so at most [`BURST`]
//! are recorded at once and [`PER_SECOND`] a second after that (the rest
//! are counted and said with the next one recorded, as `skipped`); progress
//! events are coalesced as titles are (`events::COALESCED`). Strings kept
//! in meta.json are cut to `Signs::MAX_TEXT`.

use std::time::Instant;

use serde_json::json;

use crate::events::Events;
use crate::meta::{self, CommandMark, Progress, Signs};
use crate::osc::{Found, Scanner, Sign};

/// Marks and notifications recorded at once at most...
const BURST: f64 = 16.0;
/// ...and a second after that.
const PER_SECOND: f64 = 4.0;

pub struct Marks {
    scanner: Scanner,
    found: Vec<Found>,
    /// When the running command started (OSC 133;C), for its duration.
    started: Option<Instant>,
    tokens: f64,
    refilled: Instant,
    skipped: u64,
}

/// What one batch of output said, for the supervisor to act on.
#[derive(Default)]
pub struct Told {
    /// meta.json's signs changed.
    pub changed: bool,
    /// A notification's text (the session needs a person).
    pub notified: Option<String>,
}

impl Marks {
    pub fn new(now: Instant) -> Marks {
        Marks {
            scanner: Scanner::new(),
            found: Vec::new(),
            started: None,
            tokens: BURST,
            refilled: now,
            skipped: 0,
        }
    }

    /// Look at a batch of output (the scanner counts its offsets from the
    /// session's first byte, as `output_bytes` does).
    pub fn feed(&mut self, data: &[u8], signs: &mut Signs, events: &mut Events) -> Told {
        let mut told = Told::default();
        self.scanner.feed(data, &mut self.found);
        if self.found.is_empty() {
            return told;
        }
        let now = Instant::now();
        let found = std::mem::take(&mut self.found);
        for f in &found {
            if let Sign::Progress { state, percent } = f.sign {
                // Coalesced by `Events`; the record keeps the latest.
                let state = ["", "normal", "error", "indeterminate", "paused"][state as usize];
                let p = (!state.is_empty()).then(|| Progress {
                    state: state.to_string(),
                    percent,
                });
                events.emit(
                    "progress",
                    json!({"state": if state.is_empty() { "removed" } else { state }, "percent": percent}),
                );
                told.changed |= signs.progress != p;
                signs.progress = p;
                continue;
            }
            if !self.allow(now) {
                continue;
            }
            let skipped = std::mem::take(&mut self.skipped);
            let skipped = (skipped > 0).then_some(skipped);
            told.changed = true;
            match &f.sign {
                Sign::Prompt => {
                    signs.last_prompt = Some(meta::now());
                    events.emit("prompt", json!({"offset": f.start, "skipped": skipped}));
                }
                Sign::Input => {}
                Sign::CommandStart { command } => {
                    self.started = Some(now);
                    let command = command.as_deref().map(Signs::cut);
                    events.emit(
                        "command-start",
                        json!({"command": command, "offset": f.end, "skipped": skipped}),
                    );
                    signs.last_command = Some(CommandMark {
                        command,
                        started: meta::now(),
                        output_start: f.end,
                        ..CommandMark::default()
                    });
                }
                Sign::CommandEnd { exit } => {
                    // A D without a C (an empty line at a prompt): no command.
                    let Some(t) = self.started.take() else {
                        continue;
                    };
                    let Some(c) = signs.last_command.as_mut() else {
                        continue;
                    };
                    let ms = now.duration_since(t).as_millis() as u64;
                    c.ended = Some(meta::now());
                    c.exit_code = *exit;
                    c.duration_ms = Some(ms);
                    c.output_end = Some(f.start);
                    events.emit(
                        "command-end",
                        json!({"command": c.command, "exit_code": exit, "duration_ms": ms,
                               "output": [c.output_start, f.start], "skipped": skipped}),
                    );
                }
                Sign::Notify { title, body } => {
                    events.emit(
                        "notification",
                        json!({"title": title, "body": body, "skipped": skipped}),
                    );
                    let text = if title.is_empty() {
                        body.clone()
                    } else if body.is_empty() {
                        title.clone()
                    } else {
                        format!("{title}: {body}")
                    };
                    told.notified = Some(Signs::cut(&text));
                }
                Sign::Progress { .. } => {}
            }
        }
        self.found = found;
        self.found.clear();
        told
    }

    /// One more recorded, if the budget allows; else counted as skipped.
    fn allow(&mut self, now: Instant) -> bool {
        let secs = now.duration_since(self.refilled).as_secs_f64();
        self.refilled = now;
        self.tokens = (self.tokens + secs * PER_SECOND).min(BURST);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            self.skipped += 1;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_is_recorded_with_its_output_range_and_a_flood_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut ev = Events::open(dir.path());
        let mut m = Marks::new(Instant::now());
        let mut signs = Signs::default();
        let out = b"\x1b]133;A\x07$ \x1b]133;C;cmdline=ls\x07a b\r\n\x1b]133;D;2\x07";
        let told = m.feed(&out[..20], &mut signs, &mut ev);
        assert!(told.changed);
        m.feed(&out[20..], &mut signs, &mut ev);
        let c = signs.last_command.clone().unwrap();
        assert_eq!(c.command.as_deref(), Some("ls"));
        assert_eq!(c.exit_code, Some(2));
        let range = c.output_start as usize..c.output_end.unwrap() as usize;
        assert_eq!(&out[range], b"a b\r\n");
        // A flood: the budget holds.
        let flood = b"\x1b]133;A\x07".repeat(1000);
        m.feed(&flood, &mut signs, &mut ev);
        let text = std::fs::read_to_string(dir.path().join(crate::store::EVENTS)).unwrap();
        let prompts = text.lines().filter(|l| l.contains("\"prompt\"")).count();
        assert!(prompts <= BURST as usize + 1, "{prompts}");
    }
}
