//! The per-session supervisor: one thread, one `poll` over the signal pipe,
//! the listening socket, the PTY master (in pipe mode: the program's
//! stdout, stderr and stdin pipes) and each client, then the timers.
//! This file is the loop and the dispatch, as dtach's `master.c`: one
//! handler per kind of fd ([`Slot`]: `on_signal`, `accept_clients`,
//! `pump_pty` and `pump_pipe` in `output.rs`, `client_activity` and
//! `tty_activity` in `handlers.rs`) and one per timer ([`Timer`]:
//! `on_timer`). A client's frames arrive as a [`Request`] (`on_request`,
//! `handlers.rs`); the program's life and the session's end are in
//! `lifecycle.rs`. The state lives with the code that changes it, one part
//! a file; docs/ARCHITECTURE.md has the map.

mod agent;
mod attention;
mod clients;
#[cfg(target_os = "linux")]
mod fresh;
mod handlers;
mod ingress;
mod launch;
mod lifecycle;
mod marks;
mod output;
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
pub use launch::{Init, Ready, Settings, let_go};
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

/// In a fresh image of the supervisor (`fresh.rs`: the process was
/// started with [`fresh::VAR`] in its environment): the rest of the
/// session's life, which never returns. Nothing in any other process.
pub fn resume_if_fresh() {
    #[cfg(target_os = "linux")]
    {
        let Some(state) = std::env::var_os(fresh::VAR) else {
            return;
        };
        let code = match resumed(state) {
            Some(mut sup) => {
                sup.main_loop();
                end(sup);
                0
            }
            None => 1,
        };
        std::process::exit(code)
    }
}

#[cfg(target_os = "linux")]
#[inline(never)]
fn resumed(state: std::ffi::OsString) -> Option<Box<Supervisor>> {
    match fresh::resume(state) {
        // The command line is the title already (the exec's argv).
        Ok(s) => {
            launch::set_comm(&s.meta.name);
            Some(Box::new(Supervisor::new(s)))
        }
        Err(why) => {
            eprintln!("codex-session: resuming a supervisor: {why}");
            None
        }
    }
}

/// The supervisor process's whole life.
fn run(init: Init, ready: ReadyPipe) -> ! {
    let code = match start_up(init, ready) {
        Some(mut sup) => {
            sup.main_loop();
            end(sup);
            0
        }
        None => 1,
    };
    std::process::exit(code)
}

/// The setup and the supervisor's state, built in a frame of their own:
/// the setup's locals (some kilobytes) are left behind with it, instead of
/// lying under the loop's frame, touched stack, for the session's life.
/// The state itself is on the heap for the same reason. On Linux the
/// supervisor goes on in a fresh image once the session is ready
/// (`fresh.rs`); this image goes on only if that exec failed.
#[inline(never)]
fn start_up(init: Init, ready: ReadyPipe) -> Option<Box<Supervisor>> {
    let s = launch::setup(init, ready)?;
    #[cfg(target_os = "linux")]
    let s = fresh::exec(s);
    Some(Box::new(Supervisor::new(s)))
}

/// The session's end, in a frame of its own (see [`start_up`]).
#[inline(never)]
fn end(mut sup: Box<Supervisor>) {
    sup.finish();
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
        // Where there is no fresh image, the launcher's wait is over.
        drop(s.ready);
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
        self.flush_log();
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
            Timer::LogFlush => self.log.flush_at(),
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
            Timer::LogFlush => self.flush_log(),
            Timer::IdleEvent => {
                self.timers.went_quiet();
                let ms = self.timers.idle_after().as_millis() as u64;
                self.events.emit("idle", json!({"after_ms": ms}));
                // Quiet from now on, probably: give back what the burst used.
                self.give_back();
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
                // As `stop` does: HUP, then TERM (an interactive shell
                // ignores TERM alone), KILL after the grace.
                self.stop_program(Signal::SIGHUP, STOP_GRACE, &reason);
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
            Timer::Trim => {
                self.timers.clear(t);
                trim::trim();
            }
        }
    }

    /// Quiet: free the buffers a burst of output used and give memory
    /// back to the system (`trim.rs`).
    fn give_back(&mut self) {
        self.buf = Vec::new();
        self.screen.shrink();
        self.program.shrink();
        self.log.release();
        trim::trim();
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

    // --- the program's output and input ----------------------------------

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

    /// Write what the log holds back (`output.rs` lets it hold output
    /// while the program floods its terminal).
    fn flush_log(&mut self) {
        if self.log.flush(&mut self.events) {
            self.save_meta();
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

    // --- the end -----------------------------------------------------------
}
