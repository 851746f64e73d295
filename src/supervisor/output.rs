//! The data path: the program's output (PTY or pipes) to the log, the
//! screen, the marks and every client; input to the program; what output
//! tells about attention and focus.

use super::*;

/// A batch of output this big (half a terminal read) says the program
/// writes faster than the supervisor reads.
const FLOOD: usize = 2048;

impl Supervisor {
    pub(super) fn pump_pty(&mut self, rev: PollFlags) {
        if rev.contains(PollFlags::OUT) {
            self.write_pty(&[]);
        }
        if rev.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            self.buf.clear();
            self.buf.reserve_exact(READ_BUF);
            // A terminal attached gets the output as the PTY hands it over,
            // so that both terminals stream: a batch of reads (up to 64 KiB)
            // before one write to it left each PTY idle while the other
            // worked (attached throughput 0.70–0.81× raw, against 0.91–0.99×
            // a read at a time). With none attached, a batch is handled at
            // once (detached throughput).
            let batch = self.clients.attached() == 0;
            let r = self.program.read(&mut self.buf, batch);
            if r.n > 0 {
                self.output(r.n);
            }
            if r.eof {
                self.program.close_pty();
            }
        }
    }

    /// Pipe mode: read stdout (the session's output) or stderr.
    pub(super) fn pump_pipe(&mut self, s: Stream, rev: PollFlags) {
        if rev.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            self.buf.clear();
            self.buf.reserve_exact(READ_BUF);
            let r = self.program.read_pipe(s, &mut self.buf);
            match s {
                _ if r.n == 0 => {}
                Stream::Stdout => self.output(r.n),
                Stream::Stderr => self.stderr_output(r.n),
            }
            if r.eof
                && let Some(p) = self.program.pipes_mut()
            {
                p.close_output(s);
            }
        }
    }

    /// Pipe mode: a batch of standard error, logged apart, shown to
    /// terminals and streamed to the watchers that asked; it counts as
    /// output for the idle clocks.
    pub(super) fn stderr_output(&mut self, n: usize) {
        let buf = std::mem::take(&mut self.buf);
        let data = &buf[..n];
        let now = Instant::now();
        if self.timers.output(now) {
            self.events.emit("busy", json!({}));
        }
        if let Some(e) = &mut self.stderr
            && e.write(data, &mut self.events)
        {
            self.save_meta();
        }
        self.events.flush_due(now);
        if let Some(p) = self.program.pipes_mut() {
            let shown = p.shown(Stream::Stderr, data);
            self.clients.output_stderr(data, &shown, &mut self.screen);
        }
        self.buf = buf;
    }

    /// A batch of output: log first, then the screen, then each client.
    pub(super) fn output(&mut self, n: usize) {
        // Taken for the while (no copy), so the handlers below may use self.
        let buf = std::mem::take(&mut self.buf);
        let data = &buf[..n];
        self.output_bytes += n as u64;
        let now = Instant::now();
        if self.timers.output(now) {
            self.events.emit("busy", json!({}));
        }
        // A flood (more than a read's worth at once) is logged in bigger
        // writes (`logs/writer.rs`); a watcher may read the log once it
        // has a batch, so while one watches, every batch is written.
        let logged = if n >= FLOOD && !self.clients.watching() {
            self.log.hold(data, &mut self.events)
        } else {
            self.log.write(data, &mut self.events)
        };
        if logged {
            self.save_meta();
        }
        if let Some(p) = self.program.pipes_mut() {
            // No terminal, no screen model.
            self.events.flush_due(now);
            let shown = p.shown(Stream::Stdout, data);
            self.clients.output(data, &shown, &mut self.screen);
            self.buf = buf;
            return;
        }
        self.screen.feed(data);
        // Terminal queries the model answered (the program waits for them).
        let replies = self.screen.take_replies();
        if !replies.is_empty() {
            self.write_pty(&replies);
        }
        // (Titles and bells are coalesced by `Events`; one held back is
        // written once its time comes, here or at the next event.)
        self.events.flush_due(now);
        let (bell, title) = self.screen.take_hooks(now);
        if bell {
            self.events.emit("bell", json!({}));
        }
        let told = (self.marks).feed(data, self.record.signs(), &mut self.events);
        let mut changed = told.changed;
        if let Some(t) = title {
            self.events.emit("title", json!({"title": t}));
            self.record.signs().title = Some(meta::Signs::cut(&t));
            changed = true;
        }
        self.attention.output(now);
        if let Some(text) = told.notified {
            self.attention_begins("notification", Some(text));
        } else if bell {
            self.attention_begins("bell", None);
        }
        self.tell_focus(false);
        if changed {
            self.save_meta();
        }
        let shown = self.screen.for_clients(data);
        self.clients.output(data, &shown, &mut self.screen);
        self.buf = buf;
    }

    /// The session needs a person, from now: recorded and told.
    pub(super) fn attention_begins(&mut self, reason: &'static str, text: Option<String>) {
        if reason != "input" && reason != "idle" && !self.attention.begin(reason) {
            return;
        }
        self.events
            .emit("attention", json!({"reason": reason, "text": text}));
        self.record.signs().attention = Some(meta::Attention {
            reason: reason.to_string(),
            since: meta::now(),
            text,
        });
        self.save_meta();
    }

    /// A person attached or input was written: attention is cleared.
    pub(super) fn attended(&mut self) {
        if self.attention.reset() {
            self.record.signs().attention = None;
            self.save_meta();
        }
    }

    /// A program that asked for focus reports is told focus-out when no
    /// terminal is attached (at once if none is), focus-in when one attaches.
    pub(super) fn tell_focus(&mut self, arrived: bool) {
        if !self.screen.focus_reporting() {
            self.focus = None;
            return;
        }
        // An attached terminal reports its own focus changes (the program's
        // mode reached it): only a person's arrival is said here.
        let attached = self.clients.attached() > 0;
        if self.focus != Some(attached) && (!attached || arrived) {
            self.focus = Some(attached);
            self.write_pty(if attached { b"\x1b[I" } else { b"\x1b[O" });
        }
    }

    /// Queue input for the program and write what the PTY takes now.
    pub(super) fn write_pty(&mut self, data: &[u8]) {
        let now = Instant::now();
        if !data.is_empty() {
            self.timers.input(now);
        }
        if self.program.write(data) {
            self.clients.arm_watchers(now);
        }
    }
}
