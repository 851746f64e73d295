//! What the supervisor does with each client's frames (parsed and
//! checked in `requests.rs`): hello, keystrokes, resizes, sends, watches,
//! captures, stops; and a client's own terminal when it passed it.

use super::*;

impl Supervisor {
    pub(super) fn client_activity(&mut self, i: usize, rev: PollFlags) {
        if rev.contains(PollFlags::OUT) {
            self.clients.flush(i, &mut self.screen);
        }
        if rev.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            if !self.clients[i].receive() {
                return;
            }
            loop {
                match requests::next(&mut self.clients[i]) {
                    Ok(Some(r)) => self.on_request(i, r),
                    Ok(None) => break,
                    Err(e) => {
                        let c = &self.clients[i];
                        self.events.emit(
                            "malformed",
                            json!({"uid": c.uid, "pid": c.pid, "error": e.to_string()}),
                        );
                        return;
                    }
                }
            }
        }
        self.clients.flush(i, &mut self.screen);
    }

    /// A client's own terminal: room for output, or keystrokes (the detach
    /// key among them detaches that client), or a hang-up (the client is
    /// dropped; the session goes on).
    pub(super) fn tty_activity(&mut self, i: usize, rev: PollFlags) {
        if self.clients[i].tty_fd().is_none() {
            return;
        }
        if rev.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            match self.clients[i].read_tty() {
                Keys::Typed { keys, detach } => {
                    let read_only = self.clients[i].terminal().is_none_or(|t| t.read_only);
                    if !keys.is_empty() && !read_only {
                        self.on_input(i, &keys);
                    }
                    if detach {
                        self.clients.detach(i);
                    }
                }
                Keys::Nothing | Keys::HungUp => {}
            }
        }
        self.clients.flush(i, &mut self.screen);
    }

    pub(super) fn on_request(&mut self, i: usize, r: Request) {
        match r {
            Request::Hello(hello) => self.on_hello(i, hello),
            Request::Tty(offer) => {
                self.clients[i].take_tty(&offer, &mut self.screen);
            }
            Request::Input(keys) => self.on_input(i, &keys),
            Request::Resize(size) => {
                if self.clients.resized(i, size) {
                    self.apply_size(size);
                }
            }
            Request::Stop { signal, grace } => {
                self.stop_program(signal, grace, "stopped");
                self.clients[i].send(Kind::Ok, &[]);
            }
            Request::Detach => {
                self.clients.detach_all();
                self.clients[i].send(Kind::Ok, &[]);
            }
            Request::Send(payload) => {
                // During a restart delay, input waits in the terminal for
                // the next run, as typeahead does.
                let running = match self.restart.at() {
                    Some(_) => Ok(()),
                    None => self.program.takes_input(),
                };
                let waiting = self.program.waiting();
                let c = &mut self.clients[i];
                if (self.ingress).offer(c, &payload, &mut self.events, running, waiting) {
                    self.try_sends();
                }
            }
            Request::Watch { idle, stderr } => {
                // The watcher reads the logs up to the offset, then frames.
                self.flush_log();
                let info = proto::WatchInfo {
                    offset: self.output_bytes,
                    input_offset: self.input_offset,
                    input_lines: self.input_lines,
                    stderr_offset: self.stderr.as_ref().map_or(0, |e| e.bytes),
                    input_text: self.input_text,
                };
                let mut w = Watch::new(idle, Instant::now());
                w.stderr = stderr;
                self.clients[i].watch_from(w, &info);
            }
            Request::Capture { .. } if self.program.pipes().is_some() => {
                let name = self.record.name();
                let msg = format!("{name} has no screen: it runs in pipe mode");
                self.clients[i].refuse(&msg);
            }
            Request::Capture { ansi, join } => {
                let text = if ansi {
                    self.screen.ansi()
                } else if join {
                    self.screen.text_joined()
                } else {
                    self.screen.text()
                };
                self.clients[i].send_screen(&text);
            }
        }
    }

    pub(super) fn on_hello(&mut self, i: usize, hello: proto::Hello) {
        if self.clients.hello(i, &hello, &mut self.events) {
            if let (Some(a), Some(sock)) = (&mut self.agent, &hello.ssh_auth_sock) {
                let c = &self.clients[i];
                a.attached(c.id, c.pid, sock, &mut self.events);
            }
            self.make_active(i);
            self.attended();
            self.tell_focus(true);
            // A terminal about to pass itself gets its repaint there.
            if !self.clients[i].awaits_tty() {
                self.clients[i].repaint(&mut self.screen);
            }
            self.save_meta();
        }
    }

    /// A person's keystrokes.
    pub(super) fn on_input(&mut self, i: usize, payload: &[u8]) {
        if self.program.pipes().is_some() {
            return; // Terminals only watch a pipe session.
        }
        if !self.clients.is_active(i) {
            self.make_active(i);
        }
        let c = &self.clients[i];
        if self.ingress.keystrokes(c, payload, &mut self.events) {
            // Terminal reports (focus, mouse) are no input to answer.
            self.input_offset = self.output_bytes;
            self.input_lines = ingress::line_ends(payload);
            self.attended();
            self.input_text = ingress::first_line_has_text(payload);
        }
        self.write_pty(payload);
        if self.ingress.has_pending() {
            self.try_sends();
        }
    }

    /// Write the sends that may go now, each as one unit.
    pub(super) fn try_sends(&mut self) {
        let (clients, screen, events) = (&mut self.clients, &mut self.screen, &mut self.events);
        let program = &self.program;
        let name = self.record.name();
        let due = (self.ingress).take_due(
            Instant::now(),
            clients,
            screen,
            events,
            name,
            self.output_bytes,
            || program.reading_input(),
            || program.veof(),
        );
        for d in due {
            if d.interrupt {
                self.program.interrupt();
            }
            self.input_offset = self.output_bytes;
            self.input_lines = ingress::line_ends(&d.bytes);
            self.input_text = ingress::first_line_has_text(&d.bytes);
            self.write_pty(&d.bytes);
            self.attended();
            if d.eof {
                self.program.close_input_when_written();
            }
            self.clients.flush(d.client, &mut self.screen);
        }
    }
}
