//! The per-session supervisor: one thread, one `poll` over the signal pipe,
//! the listening socket, the PTY master (in pipe mode: the program's
//! stdout, stderr and stdin pipes) and each client, then the timers.
//! One handler per kind of fd, as in dtach's `master.c` ([`Slot`]:
//! `on_signal`, `accept_clients`, `pump_pty`, `pump_pipe`,
//! `client_activity`), and one per timer ([`Timer`]: `on_timer`). A
//! client's frames arrive as a [`Request`] (`on_request`). The state lives with the code that changes
//! it, one part a file; docs/ARCHITECTURE.md has the map.

mod agent;
mod attention;
mod clients;
mod ingress;
mod launch;
mod marks;
mod pipes;
#[cfg(test)]
mod plain_vs_screen;
mod program;
mod record;
mod requests;
mod restart;
mod screen;
mod signals;
mod timers;
mod trim;
mod watchers;

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use rustix::event::{PollFd, PollFlags, poll};
use serde_json::json;

pub use agent::AGENT_SOCK;
pub use launch::{Init, Ready, Settings};
pub use restart::RestartSettings;

use agent::Agent;

use attention::Attention;
use clients::{Clients, Keys};
use ingress::Ingress;
use launch::ReadyPipe;
use marks::Marks;
use pipes::{ErrLog, Stream};
use program::Program;
use record::Record;
use requests::Request;
use restart::Restart;
use screen::Screen;
use signals::Signals;
use timers::{Timer, Timers};
use watchers::Watch;

use crate::events::Events;
use crate::logs::LogWriter;
use crate::meta;
use crate::proto::{self, Kind, Size};
use crate::pty::Exec;
use crate::slots::Slot as RunningSlot;
use crate::store::SOCK;
use crate::{error::Result, sys};

/// The most output read from the PTY in one batch. The buffer is allocated
/// when output comes and given back when the session goes quiet.
const READ_BUF: usize = 64 * 1024;
/// The grace period between TERM and KILL when the supervisor decides.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long the final exit notice may take to reach clients.
const FAREWELL: Duration = Duration::from_secs(1);

struct Supervisor {
    record: Record,
    program: Program,
    listener: UnixListener,
    signals: Signals,
    clients: Clients,
    screen: Screen,
    log: LogWriter,
    /// Pipe mode: standard error's log and count.
    stderr: Option<ErrLog>,
    events: Events,
    timers: Timers,
    ingress: Ingress,
    marks: Marks,
    attention: Attention,
    /// The focus report last written to the program (true: in), while it
    /// asks for them.
    focus: Option<bool>,
    restart: Restart,
    /// How the program was started, to start it again.
    exec: Exec,
    agent: Option<Agent>,
    /// Bytes the program wrote, in all.
    output_bytes: u64,
    /// Output bytes when input was last written...
    input_offset: u64,
    /// ...and the line ends in that input (`ingress::line_ends`).
    input_lines: u32,
    /// Its first line has text (`proto::WatchInfo::input_text`).
    input_text: bool,
    buf: Vec<u8>,
    /// How long a terminal may hold the program back without progress.
    attach_stall: Duration,
    /// Counts the session as running until the end (`slots.rs`).
    slot: Option<RunningSlot>,
    _lock: File,
}

/// Fork the supervisor of the session `init` describes and wait until it
/// reports. In the child it returns [`Ready::Forked`]: the caller returns
/// to `main`, which calls [`run_if_forked`].
pub fn start(init: Init) -> Result<Ready> {
    launch::start(init)
}

/// In the process [`start`] forked, once the CLI's frames have been left
/// (and what they held freed): the supervisor's life, which never returns.
/// Nothing elsewhere.
pub fn run_if_forked() {
    if let Some((init, ready)) = launch::forked() {
        run(init, ready)
    }
}

/// The supervisor process's whole life.
fn run(init: Init, ready: ReadyPipe) -> ! {
    let code = match launch::setup(init, ready) {
        Some(s) => {
            let mut sup = Supervisor::new(s);
            // Drop the pages the CLI part of this process touched.
            trim::trim();
            sup.main_loop();
            sup.finish();
            0
        }
        None => 1,
    };
    std::process::exit(code)
}

/// Which fd a poll slot belongs to.
#[derive(Clone, Copy)]
enum Slot {
    Signals,
    Listener,
    Pty,
    /// Pipe mode: an output pipe, and the stdin pipe (polled only while
    /// input waits for it).
    Out(Stream),
    Stdin,
    Client(usize),
    /// A client's own terminal, passed to the supervisor.
    Tty(usize),
}

impl Supervisor {
    fn new(s: launch::Started) -> Supervisor {
        let set = s.settings;
        let pipe = s.stderr.is_some();
        Supervisor {
            screen: match pipe {
                true => Screen::none(),
                false => Screen::new(s.meta.cols, s.meta.rows),
            },
            clients: Clients::new(sys::euid(), &s.meta.name, s.program.pgid().as_raw()),
            record: Record::new(s.meta),
            program: s.program,
            listener: s.listener,
            signals: s.signals,
            log: s.log,
            stderr: s.stderr,
            events: s.events,
            timers: Timers::new(set.idle_timeout, set.ttl, set.idle_after),
            ingress: Ingress::new(set.draft_quiet, Instant::now(), pipe),
            marks: Marks::new(Instant::now()),
            attention: Attention::new(set.attention_after),
            focus: None,
            restart: Restart::new(set.restart, Instant::now()),
            exec: s.exec,
            agent: s.agent,
            output_bytes: 0,
            input_offset: 0,
            input_lines: 0,
            input_text: false,
            buf: Vec::new(),
            attach_stall: set.attach_stall,
            slot: s.slot,
            _lock: s.lock,
        }
    }

    fn main_loop(&mut self) {
        let mut slots = Vec::new();
        let mut ready = Vec::new();
        while self.program.running() || self.program.output_open() {
            slots.clear();
            slots.push(Slot::Signals);
            // Not while accepting is paused (descriptors ran out).
            if !self.clients.accept_paused() {
                slots.push(Slot::Listener);
            }
            // A person's terminal that is behind holds the program back:
            // its output waits in the PTY (the program blocks on it).
            if self.program.pty().is_some() && !self.clients.holds_back() {
                slots.push(Slot::Pty);
            }
            if let Some(p) = self.program.pipes() {
                // The PTY's rule (though a pipe session has only viewers,
                // and they never hold it back).
                if !self.clients.holds_back() {
                    slots.extend(p.stdout.as_ref().map(|_| Slot::Out(Stream::Stdout)));
                    slots.extend(p.stderr.as_ref().map(|_| Slot::Out(Stream::Stderr)));
                }
                if self.program.wants_write() {
                    slots.push(Slot::Stdin);
                }
            }
            slots.extend((0..self.clients.len()).map(Slot::Client));
            slots.extend(
                (0..self.clients.len())
                    .filter(|&i| self.clients[i].tty_fd().is_some())
                    .map(Slot::Tty),
            );
            let mut fds: Vec<PollFd> = slots.iter().map(|s| self.poll_fd(*s)).collect();
            match poll(&mut fds, timers::timeout(self.next_deadline()).as_ref()) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                // Nothing sensible is left to do but end cleanly.
                Err(_) => break,
            }
            ready.clear();
            ready.extend(fds.iter().map(PollFd::revents));
            drop(fds);
            for (slot, rev) in slots.iter().zip(&ready).filter(|(_, r)| !r.is_empty()) {
                match *slot {
                    Slot::Signals => self.on_signal(),
                    Slot::Listener => self.accept_clients(),
                    Slot::Pty => self.pump_pty(*rev),
                    Slot::Out(s) => self.pump_pipe(s, *rev),
                    Slot::Stdin => self.write_pty(&[]),
                    Slot::Client(i) => self.client_activity(i, *rev),
                    Slot::Tty(i) => self.tty_activity(i, *rev),
                }
            }
            let gone = self.clients.gone_terminals();
            if self.clients.forget_dead(&mut self.events) {
                self.tell_focus(false);
                self.save_meta();
            }
            if let Some(a) = self.agent.as_mut().filter(|_| !gone.is_empty()) {
                a.detached(&gone, &mut self.events);
            }
            self.on_timers();
        }
    }

    /// The fd behind a slot, polled for input, and for output when
    /// something waits to be written to it.
    fn poll_fd(&self, slot: Slot) -> PollFd<'_> {
        let (fd, write) = match slot {
            Slot::Signals => (self.signals.as_fd(), false),
            Slot::Listener => (self.listener.as_fd(), false),
            Slot::Pty => (
                self.program.pty().expect("polled only while open").as_fd(),
                self.program.wants_write(),
            ),
            Slot::Out(s) => {
                let p = self.program.pipes().expect("polled only in pipe mode");
                (p.output(s).expect("polled only while open").as_fd(), false)
            }
            Slot::Stdin => {
                let p = self.program.pipes().expect("polled only in pipe mode");
                let fd = p.stdin.as_ref().expect("polled only while open");
                // A pipe's write end: only whether it takes input.
                return PollFd::from_borrowed_fd(fd.as_fd(), PollFlags::OUT);
            }
            Slot::Client(i) => (
                self.clients[i].stream.as_fd(),
                self.clients[i].wants_write(),
            ),
            Slot::Tty(i) => (
                self.clients[i].tty_fd().expect("polled only while passed"),
                self.clients[i].wants_tty_write(),
            ),
        };
        let out = if write {
            PollFlags::OUT
        } else {
            PollFlags::empty()
        };
        PollFd::from_borrowed_fd(fd, PollFlags::IN | out)
    }

    // --- timers ----------------------------------------------------------

    fn deadline(&self, t: Timer) -> Option<Instant> {
        match t {
            // Once the program has ended, watchers get Exit, not Idle.
            Timer::WatcherQuiet => (self.program.running())
                .then(|| (self.clients).watchers_quiet_at(self.timers.last_output()))
                .flatten(),
            Timer::FirstRead => self.ingress.first_read_at(),
            Timer::AcceptPause => self.clients.accept_resumes_at(),
            Timer::HeldSend => self.ingress.deadline(),
            Timer::Attention => (self.program.running())
                .then(|| self.attention.deadline())
                .flatten(),
            Timer::Restart => self.restart.at(),
            Timer::ClientStall => self.clients.stall_at(self.attach_stall),
            _ => self.timers.at(t),
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        Timer::ALL
            .into_iter()
            .filter_map(|t| self.deadline(t))
            .min()
    }

    fn on_timers(&mut self) {
        let now = Instant::now();
        for t in Timer::ALL {
            if self.deadline(t).is_some_and(|at| now >= at) {
                self.on_timer(t, now);
            }
        }
    }

    fn on_timer(&mut self, t: Timer, now: Instant) {
        match t {
            Timer::IdleEvent => {
                self.timers.went_quiet();
                let ms = self.timers.idle_after().as_millis() as u64;
                self.events.emit("idle", json!({"after_ms": ms}));
                // Quiet from now on, probably: give back what the burst used.
                self.buf = Vec::new();
                trim::trim();
            }
            Timer::WatcherQuiet => (self.clients).tell_quiet(now, self.timers.last_output()),
            Timer::FirstRead | Timer::HeldSend => self.try_sends(),
            Timer::AcceptPause => self.clients.resume_accept(),
            Timer::Attention => {
                let reading = self.program.reading_input();
                if let Some(reason) = self.attention.look(now, reading) {
                    self.attention_begins(reason, None);
                }
            }
            Timer::ClientStall => {
                (self.clients).cut_stalled(now, self.attach_stall, &mut self.events);
            }
            Timer::Ttl | Timer::IdleTimeout => {
                let why = if t == Timer::Ttl { "ttl" } else { "idle" };
                let reason = format!("timed out ({why})");
                self.events.emit("timeout", json!({"reason": reason}));
                self.stop_program(Signal::SIGTERM, STOP_GRACE, &reason);
            }
            Timer::Restart => self.restart_program(now),
            Timer::Kill => {
                self.timers.clear(t);
                self.program.signal(Signal::SIGKILL);
            }
            Timer::Drain => {
                self.timers.clear(t);
                self.program.close_pty();
            }
        }
    }

    // --- signals ---------------------------------------------------------

    fn on_signal(&mut self) {
        let term = self.signals.take();
        if let Some(how) = self.program.reap() {
            self.program_ended(how);
        }
        if term {
            self.stop_program(Signal::SIGTERM, STOP_GRACE, "supervisor terminated");
        }
    }

    /// The program was reaped: start it again later, or the session ends.
    fn program_ended(&mut self, how: program::Ended) {
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
    fn session_ends(&mut self, how: program::Ended) {
        self.program.let_go();
        self.record.ended(&how);
        self.timers.ended();
    }

    /// The restart delay is over: the program again, on the same terminal.
    fn restart_program(&mut self, now: Instant) {
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

    fn stop_program(&mut self, sig: Signal, grace: Duration, reason: &str) {
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

    // --- the program's output and input ----------------------------------

    fn pump_pty(&mut self, rev: PollFlags) {
        if rev.contains(PollFlags::OUT) {
            self.write_pty(&[]);
        }
        if rev.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            self.buf.clear();
            self.buf.reserve_exact(READ_BUF);
            let r = self.program.read(&mut self.buf);
            if r.n > 0 {
                self.output(r.n);
            }
            if r.eof {
                self.program.close_pty();
            }
        }
    }

    /// Pipe mode: read stdout (the session's output) or stderr.
    fn pump_pipe(&mut self, s: Stream, rev: PollFlags) {
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
    fn stderr_output(&mut self, n: usize) {
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
    fn output(&mut self, n: usize) {
        // Taken for the while (no copy), so the handlers below may use self.
        let buf = std::mem::take(&mut self.buf);
        let data = &buf[..n];
        self.output_bytes += n as u64;
        let now = Instant::now();
        if self.timers.output(now) {
            self.events.emit("busy", json!({}));
        }
        if self.log.write(data, &mut self.events) {
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
    fn attention_begins(&mut self, reason: &'static str, text: Option<String>) {
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
    fn attended(&mut self) {
        if self.attention.reset() {
            self.record.signs().attention = None;
            self.save_meta();
        }
    }

    /// A program that asked for focus reports is told focus-out when no
    /// terminal is attached (at once if none is), focus-in when one attaches.
    fn tell_focus(&mut self, arrived: bool) {
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
    fn write_pty(&mut self, data: &[u8]) {
        let now = Instant::now();
        if !data.is_empty() {
            self.timers.input(now);
        }
        if self.program.write(data) {
            self.clients.arm_watchers(now);
        }
    }

    /// The window's size, as a terminal asked (cut to [`Size::MAX`]: the
    /// screen model's memory grows with it).
    fn apply_size(&mut self, size: Size) {
        let size = size.clamped();
        if self.program.pipes().is_some() {
            return; // No terminal to size.
        }
        if (size.cols, size.rows) == self.screen.size() || size.cols == 0 || size.rows == 0 {
            return;
        }
        self.program.resize(size.cols, size.rows);
        self.screen.resize(size.cols, size.rows);
        self.record.resized(size.cols, size.rows);
        self.events
            .emit("resized", json!({"cols": size.cols, "rows": size.rows}));
        self.save_meta();
    }

    /// The window follows the terminal that attached or typed last.
    fn make_active(&mut self, i: usize) {
        if let Some(size) = self.clients.activate(i) {
            self.apply_size(size);
        }
    }

    /// Rewrite meta.json with what the supervisor knows now.
    fn save_meta(&mut self) {
        let clients = self.clients.attached();
        (self.record).save(clients, self.output_bytes, &self.log, self.stderr.as_ref());
    }

    // --- clients ---------------------------------------------------------

    fn accept_clients(&mut self) {
        self.clients.accept(&self.listener, &mut self.events);
    }

    fn client_activity(&mut self, i: usize, rev: PollFlags) {
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
    fn tty_activity(&mut self, i: usize, rev: PollFlags) {
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

    fn on_request(&mut self, i: usize, r: Request) {
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

    fn on_hello(&mut self, i: usize, hello: proto::Hello) {
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
    fn on_input(&mut self, i: usize, payload: &[u8]) {
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
    fn try_sends(&mut self) {
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

    // --- the end -----------------------------------------------------------

    fn finish(&mut self) {
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
