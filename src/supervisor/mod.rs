//! The per-session supervisor: one thread, one `poll` over the signal pipe,
//! the listening socket, the PTY master and each client, then the timers.
//! One handler per kind of fd, as in dtach's `master.c`, and one per timer:
//!
//! - [`Supervisor::on_signal`]: SIGCHLD (reap the program), SIGTERM/SIGINT
//!   (stop the program as `stop` would);
//! - [`Supervisor::accept_clients`]: check the peer's uid, then keep it;
//! - [`Supervisor::pump_pty`]: program output to the log, the screen model
//!   and the clients; queued input to the program;
//! - [`Supervisor::client_activity`]: frames from a client; queued output
//!   to it;
//! - [`Supervisor::on_timers`]: each deadline in `timers.rs` that is due.
//!
//! The state lives with the code that changes it: the program and its PTY
//! in `program.rs`, the clients in `clients.rs` (watchers' clocks in
//! `watchers.rs`), `send` and its draft safety in `ingress.rs`, the screen
//! model in `screen/`, the log in `crate::logs`; starting up in
//! `launch.rs`, memory trimming in `trim.rs`. This file is the loop, the
//! handlers, and the record (meta.json) they keep.

mod clients;
mod ingress;
mod launch;
mod program;
mod screen;
mod timers;
mod trim;
mod watchers;

use std::fs::File;
use std::io::Read;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use rustix::event::{PollFd, PollFlags, poll};
use serde_json::json;

pub use launch::{Init, Ready, Settings};

use clients::Clients;
use ingress::{Due, Ingress, Pending};
use launch::ReadyPipe;
use program::{Ended, Program};
use screen::Screen;
use timers::{Timer, Timers};
use watchers::Watch;

use crate::events::Events;
use crate::logs::LogWriter;
use crate::meta::{self, Meta, Status};
use crate::proto::{self, Kind, Role, Size};
use crate::store::{SCREEN_ANSI, SCREEN_TXT, SOCK};
use crate::{error::Result, sys};

const READ_BUF: usize = 64 * 1024;
/// After the program is reaped, how long to keep reading output that its
/// descendants may still hold the terminal open for.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(500);
/// The grace period between TERM and KILL when the supervisor decides.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long the final exit notice may take to reach clients.
const FAREWELL: Duration = Duration::from_secs(1);

struct Supervisor {
    /// The session's record: written on every change, never read back.
    meta: Meta,
    program: Program,
    listener: UnixListener,
    signals: UnixStream,
    /// Set by SIGTERM/SIGINT.
    term: Arc<AtomicBool>,
    clients: Clients,
    screen: Screen,
    log: LogWriter,
    events: Events,
    timers: Timers,
    ingress: Ingress,
    /// Bytes the program wrote, in all.
    output_bytes: u64,
    /// Output bytes when input was last written.
    input_offset: u64,
    last_bell: Option<Instant>,
    buf: Vec<u8>,
    _lock: File,
}

/// Fork the supervisor of the session `init` describes and wait until it
/// reports. Returns in the launcher only.
pub fn start(init: Init) -> Result<Ready> {
    launch::start(init, run)
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
    Client(usize),
}

impl Supervisor {
    fn new(s: launch::Started) -> Supervisor {
        let set = s.settings;
        Supervisor {
            screen: Screen::new(s.meta.cols, s.meta.rows),
            meta: s.meta,
            program: s.program,
            listener: s.listener,
            signals: s.signals,
            term: s.term,
            clients: Clients::new(sys::euid()),
            log: s.log,
            events: s.events,
            timers: Timers::new(
                set.idle_timeout,
                set.ttl,
                set.idle_after.max(Duration::from_millis(1)),
            ),
            ingress: Ingress::new(set.draft_quiet),
            output_bytes: 0,
            input_offset: 0,
            last_bell: None,
            buf: vec![0u8; READ_BUF],
            _lock: s.lock,
        }
    }

    fn main_loop(&mut self) {
        let mut slots = Vec::new();
        let mut ready = Vec::new();
        while self.program.running() || self.program.pty().is_some() {
            let timeout = self.next_deadline().map(|d| {
                let t = d.saturating_duration_since(Instant::now());
                rustix::event::Timespec {
                    tv_sec: t.as_secs() as _,
                    tv_nsec: t.subsec_nanos() as _,
                }
            });
            slots.clear();
            ready.clear();
            {
                let mut fds = Vec::with_capacity(3 + self.clients.len());
                fds.push(PollFd::new(&self.signals, PollFlags::IN));
                slots.push(Slot::Signals);
                fds.push(PollFd::new(&self.listener, PollFlags::IN));
                slots.push(Slot::Listener);
                if let Some(m) = self.program.pty() {
                    let mut ev = PollFlags::IN;
                    if self.program.wants_write() {
                        ev |= PollFlags::OUT;
                    }
                    fds.push(PollFd::new(m, ev));
                    slots.push(Slot::Pty);
                }
                for (i, c) in self.clients.iter().enumerate() {
                    let mut ev = PollFlags::IN;
                    if c.wants_write() {
                        ev |= PollFlags::OUT;
                    }
                    fds.push(PollFd::new(&c.stream, ev));
                    slots.push(Slot::Client(i));
                }
                match poll(&mut fds, timeout.as_ref()) {
                    Ok(_) => {}
                    Err(rustix::io::Errno::INTR) => continue,
                    // Nothing sensible is left to do but end cleanly.
                    Err(_) => break,
                }
                ready.extend(fds.iter().map(|f| f.revents()));
            }
            for (slot, rev) in slots.iter().zip(&ready) {
                if rev.is_empty() {
                    continue;
                }
                match *slot {
                    Slot::Signals => self.on_signal(),
                    Slot::Listener => self.accept_clients(),
                    Slot::Pty => self.pump_pty(*rev),
                    Slot::Client(i) => self.client_activity(i, *rev),
                }
            }
            if self.clients.forget_dead(&mut self.events) {
                self.save_meta();
            }
            self.on_timers();
        }
    }

    // --- timers ----------------------------------------------------------

    fn deadline(&self, t: Timer) -> Option<Instant> {
        match t {
            Timer::WatcherQuiet => {
                let last_output = self.timers.last_output();
                (self.clients.iter())
                    .filter_map(|c| c.watching()?.quiet_at(last_output))
                    .min()
            }
            Timer::HeldSend => self.ingress.deadline(),
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
                trim::trim();
            }
            Timer::WatcherQuiet => {
                let last_output = self.timers.last_output();
                for c in self.clients.iter_mut() {
                    if c.watch_mut()
                        .is_some_and(|w| w.take_quiet(now, last_output))
                    {
                        c.send(Kind::Idle, &[]);
                        c.flush();
                    }
                }
            }
            Timer::HeldSend => self.try_sends(),
            Timer::Ttl | Timer::IdleTimeout => {
                let why = if t == Timer::Ttl { "ttl" } else { "idle" };
                let reason = format!("timed out ({why})");
                self.events.emit("timeout", json!({"reason": reason}));
                self.stop_program(Signal::SIGTERM, STOP_GRACE, &reason);
            }
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
        let mut b = [0u8; 64];
        while matches!((&self.signals).read(&mut b), Ok(n) if n > 0) {}
        if let Some(ended) = self.program.reap() {
            match ended {
                Ended::Exited(code) => {
                    self.meta.status = Status::Exited;
                    self.meta.exit_code = Some(code);
                }
                Ended::Killed(sig) => {
                    self.meta.status = Status::Killed;
                    self.meta.signal = Some(sig.as_str().to_string());
                }
            }
            self.timers.ended(DRAIN_AFTER_EXIT);
        }
        if self.term.swap(false, Ordering::Relaxed) {
            self.stop_program(Signal::SIGTERM, STOP_GRACE, "supervisor terminated");
        }
    }

    fn stop_program(&mut self, sig: Signal, grace: Duration, reason: &str) {
        if !self.program.running() {
            return;
        }
        if self.meta.end_reason.is_none() {
            self.meta.end_reason = Some(reason.to_string());
        }
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
            let r = self.program.read(&mut self.buf);
            if r.n > 0 {
                self.output(r.n);
            }
            if r.eof {
                self.program.close_pty();
            }
        }
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
        self.screen.feed(data);
        let (bells, title) = self.screen.take_hooks();
        if bells > 0
            && self
                .last_bell
                .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1))
        {
            self.last_bell = Some(now);
            self.events.emit("bell", json!({}));
        }
        if let Some(t) = title {
            self.events.emit("title", json!({"title": t}));
        }
        self.clients.output(data, &mut self.screen);
        self.buf = buf;
    }

    /// Queue input for the program and write what the PTY takes now.
    fn write_pty(&mut self, data: &[u8]) {
        let now = Instant::now();
        if !data.is_empty() {
            self.timers.input(now);
        }
        if self.program.write(data) {
            // Watchers whose input is now written start their quiet clock.
            for w in self.clients.iter_mut().filter_map(|c| c.watch_mut()) {
                w.arm(now);
            }
        }
    }

    fn apply_size(&mut self, size: Size) {
        if (size.cols, size.rows) == self.screen.size() || size.cols == 0 || size.rows == 0 {
            return;
        }
        self.program.resize(size.cols, size.rows);
        self.screen.resize(size.cols, size.rows);
        self.meta.cols = size.cols;
        self.meta.rows = size.rows;
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
        self.meta.clients = self.clients.attached();
        self.write_meta();
    }

    fn write_meta(&mut self) {
        self.meta.output_bytes = self.output_bytes;
        self.log.record(&mut self.meta);
        let _ = self.meta.write(Path::new("."));
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
            while self.clients[i].is_open() {
                match self.clients[i].next_frame() {
                    Ok(Some((kind, payload))) => self.on_frame(i, kind, &payload),
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

    fn on_frame(&mut self, i: usize, kind: Kind, payload: &[u8]) {
        let Some(role) = self.clients[i].role() else {
            if kind == Kind::Hello {
                return self.on_hello(i, payload);
            }
            return self.refuse(i, "expected a Hello frame first");
        };
        match (kind, role) {
            (Kind::Input, Role::Attach) => self.on_input(i, payload),
            (Kind::Resize, Role::Attach) => {
                let size: Size = match proto::parse_json(kind, payload) {
                    Ok(s) => s,
                    Err(e) => return self.refuse(i, &e.to_string()),
                };
                if let Some(t) = self.clients[i].terminal_mut() {
                    t.size = Some(size);
                }
                if self.clients.is_active(i) {
                    self.apply_size(size);
                }
            }
            (Kind::Stop, _) => {
                let req: proto::StopReq = match proto::parse_json(kind, payload) {
                    Ok(r) => r,
                    Err(e) => return self.refuse(i, &e.to_string()),
                };
                let sig = Signal::try_from(req.signal).unwrap_or(Signal::SIGTERM);
                self.stop_program(sig, Duration::from_millis(req.grace_ms), "stopped");
                self.clients[i].send(Kind::Ok, &[]);
            }
            (Kind::Detach, Role::Control) => {
                self.clients.detach_all();
                self.clients[i].send(Kind::Ok, &[]);
            }
            (Kind::Send, Role::Control) => {
                let (running, waiting) = (self.program.running(), self.program.waiting());
                let c = &mut self.clients[i];
                match (self.ingress).offer(c, payload, &mut self.events, running, waiting) {
                    Ok(()) => self.try_sends(),
                    Err(why) => self.refuse(i, &why),
                }
            }
            (Kind::Watch, Role::Control) => {
                let req: proto::WatchReq = match proto::parse_json(kind, payload) {
                    Ok(r) => r,
                    Err(e) => return self.refuse(i, &e.to_string()),
                };
                let info = proto::WatchInfo {
                    offset: self.output_bytes,
                    input_offset: self.input_offset,
                };
                let c = &mut self.clients[i];
                let idle = req.idle_ms.map(Duration::from_millis);
                c.start_watch(Watch::new(idle, Instant::now()));
                c.send_json(Kind::Watching, &info);
            }
            (Kind::Capture, _) => {
                let req: proto::CaptureReq = match proto::parse_json(kind, payload) {
                    Ok(r) => r,
                    Err(e) => return self.refuse(i, &e.to_string()),
                };
                let text = if req.ansi {
                    self.screen.ansi()
                } else {
                    self.screen.text()
                };
                let c = &mut self.clients[i];
                for chunk in text.as_bytes().chunks(clients::CHUNK) {
                    c.send(Kind::Screen, chunk);
                }
                c.send(Kind::Ok, &[]);
            }
            _ => self.refuse(i, &format!("unexpected {kind:?} frame")),
        }
    }

    fn on_hello(&mut self, i: usize, payload: &[u8]) {
        let hello: proto::Hello = match proto::parse_json(Kind::Hello, payload) {
            Ok(h) => h,
            Err(e) => return self.refuse(i, &e.to_string()),
        };
        if hello.version != proto::VERSION {
            return self.refuse(
                i,
                &format!(
                    "this session's supervisor speaks protocol {}, the client {}; use the codex-session that started it",
                    proto::VERSION,
                    hello.version
                ),
            );
        }
        let welcome = proto::Welcome {
            version: proto::VERSION,
            name: self.meta.name.clone(),
            pid: self.program.pgid().as_raw(),
        };
        let c = &mut self.clients[i];
        c.hello(&hello);
        c.send_json(Kind::Welcome, &welcome);
        if hello.role == Role::Attach {
            let (pid, ro) = (c.pid, hello.read_only);
            self.events
                .emit("attached", json!({"client_pid": pid, "read_only": ro}));
            self.make_active(i);
            let paint = self.screen.repaint();
            self.clients[i].send_output_all(&paint);
            self.save_meta();
        }
    }

    /// A person's keystrokes.
    fn on_input(&mut self, i: usize, payload: &[u8]) {
        if self.clients[i].terminal().is_none_or(|t| t.read_only) {
            return;
        }
        if !self.clients.is_active(i) {
            self.make_active(i);
        }
        self.ingress.keystrokes(payload);
        self.input_offset = self.output_bytes;
        self.write_pty(payload);
        if self.ingress.has_pending() {
            self.try_sends();
        }
    }

    /// Deliver the sends that may go now; refuse those that waited too long.
    fn try_sends(&mut self) {
        for due in self.ingress.take_due(Instant::now()) {
            let (Due::Deliver(p) | Due::Expired(p)) = &due;
            let Some(i) = self.clients.live(p.client) else {
                continue;
            };
            match due {
                Due::Deliver(p) => self.deliver(i, p),
                Due::Expired(p) => {
                    let c = &self.clients[i];
                    let why = self
                        .ingress
                        .expired(&p, c, &mut self.events, &self.meta.name);
                    self.refuse(i, &why);
                    self.clients.flush(i, &mut self.screen);
                }
            }
        }
    }

    /// Write one send to the program as one unit, and record it.
    fn deliver(&mut self, i: usize, p: Pending) {
        if p.interrupts() {
            self.program.interrupt();
        }
        let bytes = p.bytes(&self.screen, || self.program.veof());
        (self.ingress).delivered(p, bytes.len(), &mut self.clients[i], &mut self.events);
        self.input_offset = self.output_bytes;
        self.write_pty(&bytes);
        self.clients.flush(i, &mut self.screen);
    }

    /// Answer with an error and close this connection only.
    fn refuse(&mut self, i: usize, msg: &str) {
        let c = &mut self.clients[i];
        c.send_json(
            Kind::Error,
            &proto::ErrorMsg {
                message: msg.to_string(),
            },
        );
        c.close();
    }

    // --- the end -----------------------------------------------------------

    fn finish(&mut self) {
        self.meta.ended = Some(meta::now());
        if self.meta.status == Status::Running {
            // The poll loop broke without the program being reaped.
            self.meta.status = Status::Exited;
        }
        launch::release_reserve();
        // The last screen stays next to meta.json, for `capture` afterwards.
        let _ = std::fs::write(SCREEN_TXT, self.screen.text());
        let _ = std::fs::write(SCREEN_ANSI, self.screen.ansi());
        self.meta.clients = 0;
        self.write_meta();
        self.events.emit(
            "exited",
            json!({"code": self.meta.exit_code, "signal": self.meta.signal, "reason": self.meta.end_reason}),
        );
        // Connections that came in as the program ended get a proper answer:
        // their Hello (usually already sent) is read, then they get Exit.
        self.accept_clients();
        for i in 0..self.clients.len() {
            if self.clients[i].is_connected()
                && self.clients[i].receive()
                && let Ok(Some((Kind::Hello, p))) = self.clients[i].next_frame()
            {
                self.on_hello(i, &p);
            }
        }
        let _ = std::fs::remove_file(SOCK);
        let info = proto::ExitInfo {
            code: self.meta.exit_code,
            signal: self.meta.signal.clone(),
        };
        self.clients.farewell(&info, &mut self.screen, FAREWELL);
    }
}
