//! The program's life in the session: it ended (restart it, or the
//! session ends), it is stopped, and the session's end.

use super::*;

impl Supervisor {
    /// The program was reaped: start it again later, or the session ends.
    pub(super) fn program_ended(&mut self, how: program::Ended) {
        self.record.exited(&how);
        match self.restart.after_exit(how, Instant::now()) {
            Ok(delay) => {
                self.timers.between_runs();
                self.record.restart_in(delay);
                self.save_meta();
            }
            Err(how) => self.session_ends(how),
        }
    }

    /// The program ended for good: read what is left of its output, then
    /// the loop ends.
    pub(super) fn session_ends(&mut self, how: program::Ended) {
        self.program.let_go();
        self.record.ended(&how);
        self.timers.ended();
    }

    /// The restart delay is over: the program again, on the same terminal.
    pub(super) fn restart_program(&mut self, now: Instant) {
        let Some(p) = self.restart.take(now) else {
            return;
        };
        if let Some(line) = self.restart.marker(&p) {
            self.buf.clear();
            self.buf.extend_from_slice(line.as_bytes());
            self.output(line.len());
        }
        match self.program.restart(&self.exec) {
            Ok(pid) => {
                self.timers.restarted();
                self.record.restarted(pid.as_raw(), self.restart.count());
                self.events.emit("restarted", p.event(pid.as_raw()));
                self.save_meta();
            }
            Err(why) => {
                let e = json!({"attempt": p.attempt, "error": why});
                self.events.emit("restart_failed", e);
                self.restart.stop();
                self.record.stopping(&format!("restart failed: {why}"));
                self.session_ends(p.ended);
            }
        }
    }

    pub(super) fn stop_program(&mut self, sig: Signal, grace: Duration, reason: &str) {
        // A stop ends the restart policy; during the delay, the session.
        if let Some(how) = self.restart.stop() {
            self.record.stopping(reason);
            self.session_ends(how);
            return;
        }
        if !self.program.running() {
            return;
        }
        self.record.stopping(reason);
        self.program.signal(sig);
        self.timers
            .stopping((sig != Signal::SIGKILL).then_some(grace));
    }

    pub(super) fn finish(&mut self) {
        self.events.flush_all();
        // Nobody is needed by a program that ended, nor shown its progress.
        let signs = self.record.signs();
        (signs.attention, signs.progress) = (None, None);
        let (screen, log) = (&mut self.screen, &self.log);
        let stderr = self.stderr.as_ref();
        (self.record).finish(screen, self.output_bytes, log, stderr, &mut self.events);
        // Ended: no longer one of the max_sessions.
        if let Some(s) = self.slot.take() {
            s.release();
        }
        // Connections that came in as the program ended get a proper answer:
        // their Hello (usually already sent) is read, then they get Exit.
        self.accept_clients();
        for i in 0..self.clients.len() {
            if let Some(p) = self.clients[i].late_hello()
                && let Some(hello) = requests::hello(&mut self.clients[i], &p)
            {
                self.on_hello(i, hello);
            }
        }
        let _ = std::fs::remove_file(SOCK);
        let info = self.record.exit_info();
        self.clients.farewell(&info, &mut self.screen, FAREWELL);
    }
}
