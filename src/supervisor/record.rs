//! meta.json as the supervisor keeps it: the session's record, rewritten on
//! every change and never read back as working state. The supervisor works
//! from its `Settings` and its own parts; the record gets copies.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::json;

use super::pipes::ErrLog;
use super::program::Ended;
use super::screen::Screen;
use crate::events::Events;
use crate::logs::LogWriter;
use crate::meta::{self, LastExit, Meta, Status};
use crate::proto::ExitInfo;
use crate::store::{SCREEN_ANSI, SCREEN_JOINED, SCREEN_TXT};
use crate::sys;

/// Kept allocated while the session runs and freed at its end, so that the
/// final meta.json and screen fit even when the output filled the disk.
const RESERVE: &str = ".reserve";
const RESERVE_SIZE: u64 = 64 * 1024;

/// Allocate the reserve (without writing it where the system allows).
pub fn reserve_space() {
    let Ok(f) = sys::create_nofollow(Path::new(RESERVE)) else {
        return;
    };
    #[cfg(target_os = "linux")]
    if rustix::fs::fallocate(&f, rustix::fs::FallocateFlags::empty(), 0, RESERVE_SIZE).is_ok() {
        return;
    }
    let _ = (&f).write_all(&[0u8; RESERVE_SIZE as usize]);
}

pub struct Record {
    meta: Meta,
}

impl Record {
    pub fn new(meta: Meta) -> Record {
        Record { meta }
    }

    /// What the program told its terminal (`marks.rs`), to update.
    pub fn signs(&mut self) -> &mut meta::Signs {
        &mut self.meta.signs
    }

    /// The session's name.
    pub fn name(&self) -> &str {
        &self.meta.name
    }

    /// The program was reaped.
    pub fn ended(&mut self, how: &Ended) {
        match how {
            Ended::Exited(code) => {
                self.meta.status = Status::Exited;
                self.meta.exit_code = Some(*code);
            }
            Ended::Killed(sig) => {
                self.meta.status = Status::Killed;
                self.meta.signal = Some(sig.as_str().to_string());
            }
        }
    }

    /// The program was reaped (a restart may follow).
    pub fn exited(&mut self, how: &Ended) {
        let e = super::program::exit_info(how);
        self.meta.last_exit = Some(LastExit {
            code: e.code,
            signal: e.signal,
            at: meta::now(),
        });
    }

    /// The program starts again after `delay`.
    pub fn restart_in(&mut self, delay: Duration) {
        let at = SystemTime::now() + delay;
        self.meta.restart_at = Some(humantime::format_rfc3339_millis(at).to_string());
    }

    /// The program was started again, the `count`th time.
    pub fn restarted(&mut self, pid: i32, count: u32) {
        self.meta.pid = Some(pid);
        self.meta.restarts = count;
        self.meta.restart_at = None;
    }

    /// Someone began to stop the program; the first reason is the one kept.
    pub fn stopping(&mut self, reason: &str) {
        self.meta
            .end_reason
            .get_or_insert_with(|| reason.to_string());
    }

    pub fn resized(&mut self, cols: u16, rows: u16) {
        self.meta.cols = cols;
        self.meta.rows = rows;
    }

    /// Rewrite meta.json with what the supervisor knows now.
    pub fn save(
        &mut self,
        clients: u32,
        output_bytes: u64,
        log: &LogWriter,
        stderr: Option<&ErrLog>,
    ) {
        self.meta.clients = clients;
        self.meta.output_bytes = output_bytes;
        log.record(&mut self.meta);
        if let Some(e) = stderr {
            self.meta.stderr_bytes = e.bytes;
            e.log.record_stderr(&mut self.meta);
        }
        let _ = self.meta.write(Path::new("."));
    }

    /// The final records: the reserve given back for them, the last screen
    /// (for `capture` afterwards; none in pipe mode), meta.json (a program never reaped, when
    /// the loop broke, counts as exited), the `exited` event.
    pub fn finish(
        &mut self,
        screen: &mut Screen,
        output_bytes: u64,
        log: &LogWriter,
        stderr: Option<&ErrLog>,
        events: &mut Events,
    ) {
        self.meta.ended = Some(meta::now());
        self.meta.restart_at = None;
        if self.meta.status == Status::Running {
            self.meta.status = Status::Exited;
        }
        let _ = std::fs::remove_file(RESERVE);
        // Replaced, never opened: a FIFO put there would block the end.
        let save = |name: &str, text: String| sys::write_record(Path::new(name), text.as_bytes());
        if !self.meta.is_pipe() {
            let _ = save(SCREEN_TXT, screen.text());
            let _ = save(SCREEN_ANSI, screen.ansi());
            let _ = save(SCREEN_JOINED, screen.text_joined());
        }
        self.save(0, output_bytes, log, stderr);
        let m = &self.meta;
        events.emit(
            "exited",
            json!({"code": m.exit_code, "signal": m.signal, "reason": m.end_reason}),
        );
    }

    /// How the program ended, for the clients.
    pub fn exit_info(&self) -> ExitInfo {
        ExitInfo {
            code: self.meta.exit_code,
            signal: self.meta.signal.clone(),
        }
    }
}
