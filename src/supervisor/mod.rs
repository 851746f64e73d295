//! The per-session supervisor: one thread, one `poll` over the PTY master,
//! the listening socket, each client, and a signal pipe. One handler per
//! kind of fd, as in dtach's `master.c`:
//!
//! - [`Supervisor::on_signal`]: SIGCHLD (reap the program), SIGTERM/SIGINT
//!   (stop the program as `stop` would);
//! - [`Supervisor::accept_clients`]: check the peer's uid, then keep it;
//! - [`Supervisor::pump_pty`]: program output to the log and the clients;
//! - [`Supervisor::client_activity`]: frames from a client; queued output to it.
//!
//! The PTY is read whatever the clients do: a client's queue is bounded, and
//! one that falls behind gets a repaint instead of the stream (`clients.rs`).
//! The screen model (`screen.rs`) sees every byte the log does; `send` and
//! its draft safety are in `ingress.rs`; memory trimming in `trim.rs`.

mod clients;
mod ingress;
mod launch;
mod screen;
mod trim;

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{SigHandler, Signal, killpg, signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use rustix::event::{PollFd, PollFlags, poll};
use serde_json::json;

use launch::ReadyPipe;
pub use launch::{Init, Ready, start};

use clients::Client;
use screen::Screen;

use crate::events::Events;
use crate::meta::{self, Meta, Status};
use crate::proto::{self, Kind, Role, Size};
use crate::store::{LOG, SCREEN_ANSI, SCREEN_JOINED, SCREEN_TXT, SOCK};
use crate::{pty, sys};

const READ_BUF: usize = 64 * 1024;
/// After the program is reaped, how long to keep reading output that its
/// descendants may still hold the terminal open for.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(500);
/// Kept allocated while the session runs and freed at its end, so that the
/// final meta.json and screen fit even when the output filled the disk.
const RESERVE: &str = ".reserve";
const RESERVE_SIZE: u64 = 64 * 1024;

/// Allocate the reserve (without writing it where the system allows).
fn reserve_space() {
    let Ok(f) = sys::create_nofollow(std::path::Path::new(RESERVE)) else {
        return;
    };
    #[cfg(target_os = "linux")]
    if rustix::fs::fallocate(&f, rustix::fs::FallocateFlags::empty(), 0, RESERVE_SIZE).is_ok() {
        return;
    }
    let _ = (&f).write_all(&[0u8; RESERVE_SIZE as usize]);
}

/// Input waiting for a program that does not read it, beyond which sends
/// are refused.
pub(crate) const INPUT_LIMIT: usize = 8 << 20;

/// The grace period between TERM and KILL when the supervisor decides.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long the final exit notice may take to reach clients.
const FAREWELL: Duration = Duration::from_secs(1);

struct Supervisor {
    meta: Meta,
    master: Option<OwnedFd>,
    listener: UnixListener,
    signals: UnixStream,
    /// Set by SIGTERM/SIGINT.
    term: Arc<AtomicBool>,
    clients: Vec<Client>,
    next_client_id: u64,
    /// The client whose size the window follows (last to attach or type).
    active: Option<u64>,
    screen: Screen,
    /// Input for the program that the PTY has not taken yet.
    pty_in: Vec<u8>,
    log: File,
    /// Bytes in the current output.log.
    log_size: u64,
    events: Events,
    /// Last output or input, for the idle timeout.
    last_activity: Instant,
    started_at: Instant,
    idle_timeout: Option<Duration>,
    ttl: Option<Duration>,
    /// Last output, for idle/busy events and watchers.
    last_output: Instant,
    /// An `idle` event was the last of idle/busy.
    quiet: bool,
    idle_after: Duration,
    last_bell: Option<Instant>,
    /// `send` ids already delivered.
    delivered: HashSet<String>,
    /// Sends waiting for a typing person to pause.
    pending: VecDeque<ingress::Pending>,
    /// A person has typed since their last Enter...
    draft: bool,
    /// ...and this is when they last typed.
    last_keystroke: Option<Instant>,
    draft_quiet: Duration,
    /// Output bytes when input was last written.
    input_offset: u64,
    /// The program, until it is reaped.
    child: Option<Pid>,
    pgid: Pid,
    /// When to send SIGKILL after a stop.
    kill_at: Option<Instant>,
    /// Reaped: keep reading the PTY until EOF or this deadline.
    drain_until: Option<Instant>,
    uid: u32,
    buf: Vec<u8>,
    _lock: File,
}

/// The supervisor process's whole life. Never returns.
pub fn run(init: Init, ready: ReadyPipe) -> ! {
    let code = match setup(init, ready) {
        Some(mut sup) => {
            sup.main_loop();
            sup.finish();
            0
        }
        None => 1,
    };
    std::process::exit(code)
}

/// Daemon hygiene, the socket, the log, then the program. Reports on the
/// ready pipe; `None` when the session could not start.
fn setup(init: Init, ready: ReadyPipe) -> Option<Supervisor> {
    macro_rules! try_or_report {
        ($e:expr, $what:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => {
                    ready.report(Ready::Failed(format!("{}: {}", $what, e)));
                    return None;
                }
            }
        };
    }
    let Init {
        dir,
        mut meta,
        exec,
        lock,
    } = init;
    try_or_report!(
        std::env::set_current_dir(&dir),
        format!("entering {}", dir.display())
    );
    try_or_report!(detach_stdio(), "redirecting standard streams to /dev/null");
    close_stray_fds(&[lock.as_raw_fd(), ready.raw_fd()]);
    // Safety: SIG_IGN installs no handler.
    unsafe {
        let _ = signal(Signal::SIGHUP, SigHandler::SigIgn);
        let _ = signal(Signal::SIGPIPE, SigHandler::SigIgn);
    }
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));

    let (signals, sig_w) = try_or_report!(UnixStream::pair(), "creating the signal pipe");
    try_or_report!(signals.set_nonblocking(true), "creating the signal pipe");
    let term = Arc::new(AtomicBool::new(false));
    for sig in [Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT] {
        if sig != Signal::SIGCHLD {
            try_or_report!(
                signal_hook::flag::register(sig as i32, term.clone()),
                format!("handling {sig}")
            );
        }
        let w = try_or_report!(sig_w.try_clone(), "creating the signal pipe");
        try_or_report!(
            signal_hook::low_level::pipe::register(sig as i32, w),
            format!("handling {sig}")
        );
    }
    drop(sig_w);

    // Bound relative to the session folder, so any store path length works.
    let listener = try_or_report!(
        UnixListener::bind(SOCK),
        format!("binding {}", dir.join(SOCK).display())
    );
    try_or_report!(
        std::fs::set_permissions(SOCK, std::fs::Permissions::from_mode(0o600)),
        "securing the socket"
    );
    try_or_report!(listener.set_nonblocking(true), "configuring the socket");
    let log = try_or_report!(
        sys::append_nofollow(std::path::Path::new(LOG)),
        format!("opening {}", dir.join(LOG).display())
    );
    let mut events = Events::open(std::path::Path::new("."));

    let spawned = match pty::spawn(&exec, meta.cols, meta.rows) {
        Ok(Ok(s)) => s,
        Ok(Err(errno)) => {
            ready.report(Ready::ExecFailed(errno));
            return None;
        }
        Err(e) => {
            ready.report(Ready::Failed(format!("starting the program: {e}")));
            return None;
        }
    };
    let pid = spawned.pid;
    meta.status = Status::Running;
    meta.started = Some(meta::now());
    meta.pid = Some(pid.as_raw());
    meta.supervisor_pid = Some(std::process::id() as i32);
    try_or_report!(meta.write(std::path::Path::new(".")), "writing meta.json");
    events.emit(
        "started",
        json!({"pid": pid.as_raw(), "supervisor_pid": std::process::id(), "command": meta.command}),
    );
    ready.report(Ready::Running { pid: pid.as_raw() });
    reserve_space();
    drop(dir);

    let screen = Screen::new(meta.cols, meta.rows);
    let idle_timeout = meta.idle_timeout_ms.map(Duration::from_millis);
    let ttl = meta.ttl_ms.map(Duration::from_millis);
    let idle_after = Duration::from_millis(meta.idle_after_ms.max(1));
    let draft_quiet = Duration::from_millis(meta.draft_quiet_ms);
    // Drop the pages the CLI part of this process touched.
    trim::trim();
    Some(Supervisor {
        meta,
        master: Some(spawned.master),
        listener,
        signals,
        term,
        clients: Vec::new(),
        next_client_id: 1,
        active: None,
        screen,
        pty_in: Vec::new(),
        log,
        log_size: 0,
        events,
        last_activity: Instant::now(),
        started_at: Instant::now(),
        idle_timeout,
        ttl,
        last_output: Instant::now(),
        quiet: false,
        idle_after,
        last_bell: None,
        delivered: HashSet::new(),
        pending: VecDeque::new(),
        draft: false,
        last_keystroke: None,
        draft_quiet,
        input_offset: 0,
        child: Some(pid),
        pgid: pid,
        kill_at: None,
        drain_until: None,
        uid: sys::euid(),
        buf: vec![0u8; READ_BUF],
        _lock: lock,
    })
}

fn detach_stdio() -> io::Result<()> {
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    rustix::stdio::dup2_stdin(&null)?;
    rustix::stdio::dup2_stdout(&null)?;
    rustix::stdio::dup2_stderr(&null)?;
    Ok(())
}

/// Close descriptors inherited from whoever ran `run --bg` (a pipe a caller
/// waits on for EOF must not be held open by a daemon).
fn close_stray_fds(keep: &[i32]) {
    let Ok(rd) = std::fs::read_dir("/dev/fd") else {
        return;
    };
    let fds: Vec<i32> = rd
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in fds {
        if fd > 2 && !keep.contains(&fd) {
            // The read_dir handle is gone by now; closing an fd number that
            // is no longer open just fails with EBADF.
            let _ = nix::unistd::close(fd);
        }
    }
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
    fn main_loop(&mut self) {
        let mut slots = Vec::new();
        let mut ready = Vec::new();
        while !self.done() {
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
                if let Some(m) = &self.master {
                    let mut ev = PollFlags::IN;
                    if !self.pty_in.is_empty() {
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
                    Err(_) => {
                        // Nothing sensible is left to do but end cleanly.
                        break;
                    }
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
                    Slot::Pty => {
                        if rev.contains(PollFlags::OUT) {
                            self.write_pty(&[]);
                        }
                        if rev.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
                            self.pump_pty();
                        }
                    }
                    Slot::Client(i) => self.client_activity(i, *rev),
                }
            }
            self.forget_dead_clients();
            self.on_timers();
        }
    }

    fn done(&self) -> bool {
        self.child.is_none()
            && (self.master.is_none() || self.drain_until.is_some_and(|d| Instant::now() >= d))
    }

    fn next_deadline(&self) -> Option<Instant> {
        let pending = self.pending.iter().map(|p| {
            let quiet_at = self.last_keystroke.map(|t| t + self.draft_quiet);
            quiet_at.map_or(p.deadline, |q| q.min(p.deadline))
        });
        let watchers = self.clients.iter().filter_map(|c| {
            let w = c.watch.as_ref()?;
            Some(w.armed_at?.max(self.last_output) + w.idle?)
        });
        let quiet_at =
            (!self.quiet && self.child.is_some()).then(|| self.last_output + self.idle_after);
        [
            self.kill_at,
            self.drain_until,
            self.idle_deadline(),
            self.ttl_deadline(),
            quiet_at,
        ]
        .into_iter()
        .flatten()
        .chain(pending)
        .chain(watchers)
        .min()
    }

    /// Timeouts apply until the program is being stopped for any reason.
    fn timeouts_armed(&self) -> bool {
        self.child.is_some() && self.meta.end_reason.is_none()
    }

    fn idle_deadline(&self) -> Option<Instant> {
        self.idle_timeout
            .filter(|_| self.timeouts_armed())
            .map(|d| self.last_activity + d)
    }

    fn ttl_deadline(&self) -> Option<Instant> {
        self.ttl
            .filter(|_| self.timeouts_armed())
            .map(|d| self.started_at + d)
    }

    fn on_timers(&mut self) {
        let now = Instant::now();
        if !self.quiet && self.child.is_some() && now >= self.last_output + self.idle_after {
            self.quiet = true;
            self.events.emit(
                "idle",
                json!({"after_ms": self.idle_after.as_millis() as u64}),
            );
            // Quiet from now on, probably: give back what the burst used.
            trim::trim();
        }
        let last_output = self.last_output;
        for c in &mut self.clients {
            let Some(w) = c.watch.as_mut() else { continue };
            if let (Some(idle), Some(armed)) = (w.idle, w.armed_at)
                && now >= armed.max(last_output) + idle
            {
                w.idle = None;
                c.send(Kind::Idle, &[]);
                c.flush();
            }
        }
        if !self.pending.is_empty() {
            self.try_sends();
        }
        let why = if self.ttl_deadline().is_some_and(|t| now >= t) {
            Some("ttl")
        } else if self.idle_deadline().is_some_and(|t| now >= t) {
            Some("idle")
        } else {
            None
        };
        if let Some(why) = why {
            let reason = format!("timed out ({why})");
            self.events.emit("timeout", json!({"reason": reason}));
            self.stop_program(Signal::SIGTERM, STOP_GRACE, &reason);
        }
        if self.kill_at.is_some_and(|t| Instant::now() >= t) {
            self.kill_at = None;
            if self.child.is_some() {
                let _ = killpg(self.pgid, Signal::SIGKILL);
            }
        }
    }

    // --- signals -------------------------------------------------------

    fn on_signal(&mut self) {
        let mut b = [0u8; 64];
        while matches!((&self.signals).read(&mut b), Ok(n) if n > 0) {}
        self.reap();
        if self.term.swap(false, Ordering::Relaxed) {
            self.stop_program(
                Signal::SIGTERM,
                Duration::from_secs(10),
                "supervisor terminated",
            );
        }
    }

    fn reap(&mut self) {
        let Some(pid) = self.child else { return };
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(p, code)) if p == pid => {
                    self.meta.status = Status::Exited;
                    self.meta.exit_code = Some(code);
                    self.program_ended();
                }
                Ok(WaitStatus::Signaled(p, sig, _)) if p == pid => {
                    self.meta.status = Status::Killed;
                    self.meta.signal = Some(sig.as_str().to_string());
                    self.program_ended();
                }
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }

    fn program_ended(&mut self) {
        self.child = None;
        self.kill_at = None;
        self.drain_until = Some(Instant::now() + DRAIN_AFTER_EXIT);
    }

    fn stop_program(&mut self, sig: Signal, grace: Duration, reason: &str) {
        if self.child.is_none() {
            return;
        }
        if self.meta.end_reason.is_none() {
            self.meta.end_reason = Some(reason.to_string());
        }
        let _ = killpg(self.pgid, sig);
        if sig != Signal::SIGKILL {
            let at = Instant::now() + grace;
            self.kill_at = Some(self.kill_at.map_or(at, |t| t.min(at)));
        }
    }

    // --- the program's output and input ---------------------------------

    /// Read what the program wrote: the terminal hands it over about 4 KiB
    /// a read, so keep reading until it has no more (or the buffer is
    /// full) and log, model and forward the batch once.
    fn pump_pty(&mut self) {
        let Some(m) = &self.master else { return };
        let mut n = 0;
        let mut eof = false;
        while n + 4096 <= self.buf.len() {
            match rustix::io::read(m, &mut self.buf[n..]) {
                Ok(0) | Err(rustix::io::Errno::IO) => {
                    // EIO: nobody holds the terminal open any more; end of output.
                    eof = true;
                    break;
                }
                Ok(k) => {
                    n += k;
                    // A short read means the terminal had no more just now
                    // (a keystroke's echo, say): skip the read that would
                    // only say so; poll reports what comes next.
                    if k < 2048 {
                        break;
                    }
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => break,
                Err(_) => {
                    eof = true;
                    break;
                }
            }
        }
        if n > 0 {
            self.output(n);
        }
        if eof {
            self.master = None;
        }
    }

    /// Log first, then the screen, then each attached client.
    fn output(&mut self, n: usize) {
        let buf = std::mem::take(&mut self.buf);
        let data = &buf[..n];
        self.meta.output_bytes += n as u64;
        let now = Instant::now();
        self.last_activity = now;
        self.last_output = now;
        if self.quiet {
            self.quiet = false;
            self.events.emit("busy", json!({}));
        }
        self.log_write(data);
        self.screen.feed(data);
        let replies = self.screen.take_replies();
        if !replies.is_empty() {
            self.write_pty(&replies);
        }
        let shown = self.screen.for_clients(data);
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
        for i in 0..self.clients.len() {
            let c = &self.clients[i];
            if c.is_attached() || c.watch.is_some() {
                let out = if c.is_attached() { &shown[..] } else { data };
                self.clients[i].send_output(out);
                self.flush_client(i);
            }
        }
        self.buf = buf;
    }

    /// Append to output.log, rotating exactly at the size limit, so the
    /// logs kept always hold the newest bytes, in order.
    fn log_write(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = self.meta.log_max_size.saturating_sub(self.log_size);
            if room == 0 {
                self.rotate();
                continue;
            }
            let n = data.len().min(room as usize);
            match self.log.write(&data[..n]) {
                Ok(0) => {
                    self.log_failed(data.len(), &format!("writing {LOG}: the log takes no more"));
                    return;
                }
                Ok(k) => {
                    self.log_size += k as u64;
                    data = &data[k..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // What was written stays; exactly the rest is lost.
                    self.log_failed(
                        data.len(),
                        &format!("writing {LOG}: {}", crate::error::describe_io(&e)),
                    );
                    return;
                }
            }
        }
    }

    /// Bytes that could not be logged are counted, never silently lost.
    fn log_failed(&mut self, n: usize, why: &str) {
        self.meta.dropped_bytes += n as u64;
        let first = self.meta.log_error.is_none();
        self.meta.log_error = Some(why.to_string());
        if first {
            self.events
                .emit("dropped", json!({"bytes": n, "error": why}));
            self.save_meta();
        }
    }

    /// output.log → output.log.1 → … → output.log.KEEP (dropped), then a
    /// fresh output.log.
    fn rotate(&mut self) {
        let keep = self.meta.log_keep;
        let name = |k: u32| format!("{LOG}.{k}");
        let moved = if keep == 0 {
            std::fs::remove_file(LOG)
        } else {
            let _ = std::fs::remove_file(name(keep));
            for k in (1..keep).rev() {
                let _ = std::fs::rename(name(k), name(k + 1));
            }
            std::fs::rename(LOG, name(1))
        };
        let fresh = moved.and_then(|()| sys::append_nofollow(std::path::Path::new(LOG)));
        match fresh {
            Ok(f) => {
                self.log = f;
                self.meta.log_base += self.log_size;
                self.log_size = 0;
                self.events.emit(
                    "rotated",
                    json!({"keep": keep, "log_base": self.meta.log_base}),
                );
                self.save_meta();
            }
            Err(e) => {
                // Keep writing where we were rather than lose output.
                let why = format!("rotating {LOG}: {}", crate::error::describe_io(&e));
                self.meta.log_error = Some(why);
                self.meta.log_max_size = u64::MAX;
                self.save_meta();
            }
        }
    }

    /// Queue input for the program and write what the PTY takes now.
    fn write_pty(&mut self, data: &[u8]) {
        if !data.is_empty() {
            self.last_activity = Instant::now();
        }
        self.pty_in.extend_from_slice(data);
        let Some(m) = &self.master else {
            self.pty_in.clear();
            return;
        };
        while !self.pty_in.is_empty() {
            match rustix::io::write(m, &self.pty_in) {
                Ok(n) => {
                    self.pty_in.drain(..n);
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(_) => break,
            }
        }
        if self.pty_in.is_empty() {
            // Watchers whose input is now written start their quiet clock.
            let now = Instant::now();
            for c in &mut self.clients {
                if let Some(w) = c.watch.as_mut()
                    && w.armed_at.is_none()
                {
                    w.armed_at = Some(now);
                }
            }
        }
    }

    fn apply_size(&mut self, size: Size) {
        if (size.cols, size.rows) == (self.meta.cols, self.meta.rows)
            || size.cols == 0
            || size.rows == 0
        {
            return;
        }
        if let Some(m) = &self.master {
            let _ = pty::resize(m, size.cols, size.rows);
        }
        self.screen.resize(size.cols, size.rows);
        self.meta.cols = size.cols;
        self.meta.rows = size.rows;
        self.events
            .emit("resized", json!({"cols": size.cols, "rows": size.rows}));
        self.save_meta();
    }

    /// The window follows the client that attached or typed last.
    fn make_active(&mut self, i: usize) {
        let c = &self.clients[i];
        if c.read_only {
            return;
        }
        self.active = Some(c.id);
        if let Some(size) = c.size {
            self.apply_size(size);
        }
    }

    fn save_meta(&mut self) {
        self.meta.clients = self.clients.iter().filter(|c| c.is_attached()).count() as u32;
        let _ = self.meta.write(std::path::Path::new("."));
    }

    // --- clients -------------------------------------------------------

    fn accept_clients(&mut self) {
        loop {
            let stream = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            let (uid, pid) = match sys::peer_cred(&stream) {
                Ok(c) => c,
                Err(_) => continue,
            };
            if uid != self.uid {
                self.events.emit(
                    "refused",
                    json!({"uid": uid, "pid": pid, "reason": "peer uid differs"}),
                );
                continue;
            }
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            let id = self.next_client_id;
            self.next_client_id += 1;
            self.clients.push(Client::new(stream, uid, pid, id));
        }
    }

    fn client_activity(&mut self, i: usize, rev: PollFlags) {
        if rev.contains(PollFlags::OUT) {
            self.flush_client(i);
        }
        if rev.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            let mut b = [0u8; 16 * 1024];
            match (&self.clients[i].stream).read(&mut b) {
                Ok(0) => {
                    self.clients[i].dead = true;
                    return;
                }
                Ok(n) => self.clients[i].dec.push(&b[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.clients[i].dead = true;
                    return;
                }
            }
            loop {
                match self.clients[i].dec.next_frame() {
                    Ok(Some((kind, payload))) => self.on_frame(i, kind, &payload),
                    Ok(None) => break,
                    Err(e) => {
                        let c = &self.clients[i];
                        self.events.emit(
                            "malformed",
                            json!({"uid": c.uid, "pid": c.pid, "error": e.to_string()}),
                        );
                        self.clients[i].dead = true;
                        return;
                    }
                }
                if self.clients[i].dead || self.clients[i].closing {
                    break;
                }
            }
        }
        self.flush_client(i);
    }

    /// Write what the client takes; a client that caught up after falling
    /// behind gets a fresh repaint.
    fn flush_client(&mut self, i: usize) {
        let c = &mut self.clients[i];
        c.flush();
        if c.is_flushed() && c.resync && !c.dead {
            c.resync = false;
            let paint = self.screen.repaint();
            let c = &mut self.clients[i];
            c.send_output_all(&paint);
            c.flush();
        }
        let c = &mut self.clients[i];
        if c.closing && c.is_flushed() {
            c.dead = true;
        }
    }

    fn forget_dead_clients(&mut self) {
        if !self.clients.iter().any(|c| c.dead) {
            return;
        }
        let mut left = false;
        for c in self
            .clients
            .iter()
            .filter(|c| c.dead && c.role == Some(Role::Attach))
        {
            left = true;
            self.events.emit("detached", json!({"client_pid": c.pid}));
            if self.active == Some(c.id) {
                self.active = None;
            }
        }
        self.clients.retain(|c| !c.dead);
        if left {
            self.save_meta();
        }
    }

    fn on_frame(&mut self, i: usize, kind: Kind, payload: &[u8]) {
        let role = self.clients[i].role;
        if role.is_none() && kind != Kind::Hello {
            return self.refuse(i, "expected a Hello frame first");
        }
        match (kind, role) {
            (Kind::Hello, None) => self.on_hello(i, payload),
            (Kind::Input, Some(Role::Attach)) => {
                if self.clients[i].read_only {
                    return;
                }
                if self.active != Some(self.clients[i].id) {
                    self.make_active(i);
                }
                self.keystrokes(payload);
                self.input_offset = self.meta.output_bytes;
                self.write_pty(payload);
                if !self.pending.is_empty() {
                    self.try_sends();
                }
            }
            (Kind::Resize, Some(Role::Attach)) => {
                let size: Size = match proto::parse_json(kind, payload) {
                    Ok(s) => s,
                    Err(e) => return self.refuse(i, &e.to_string()),
                };
                self.clients[i].size = Some(size);
                if self.active == Some(self.clients[i].id) {
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
            (Kind::Detach, Some(Role::Control)) => {
                for c in self.clients.iter_mut().filter(|c| c.is_attached()) {
                    c.send(Kind::Detach, &[]);
                    c.closing = true;
                }
                self.clients[i].send(Kind::Ok, &[]);
            }
            (Kind::Send, Some(Role::Control)) => self.on_send(i, payload),
            (Kind::Watch, Some(Role::Control)) => {
                let req: proto::WatchReq = match proto::parse_json(kind, payload) {
                    Ok(r) => r,
                    Err(e) => return self.refuse(i, &e.to_string()),
                };
                let info = proto::WatchInfo {
                    offset: self.meta.output_bytes,
                    input_offset: self.input_offset,
                };
                let c = &mut self.clients[i];
                c.watch = Some(clients::Watch {
                    idle: req.idle_ms.map(Duration::from_millis),
                    armed_at: Some(Instant::now()),
                });
                c.send_json(Kind::Watching, &info);
            }
            (Kind::Capture, _) => {
                let req: proto::CaptureReq = match proto::parse_json(kind, payload) {
                    Ok(r) => r,
                    Err(e) => return self.refuse(i, &e.to_string()),
                };
                let text = if req.ansi {
                    self.screen.ansi()
                } else if req.join {
                    self.screen.text_joined()
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
            pid: self.pgid.as_raw(),
        };
        let c = &mut self.clients[i];
        c.role = Some(hello.role);
        c.read_only = hello.read_only;
        c.size = hello.size;
        c.send_json(Kind::Welcome, &welcome);
        if hello.role == Role::Attach {
            let (pid, ro) = (c.pid, c.read_only);
            self.events
                .emit("attached", json!({"client_pid": pid, "read_only": ro}));
            self.make_active(i);
            let paint = self.screen.repaint();
            self.clients[i].send_output_all(&paint);
            self.save_meta();
        }
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
        c.closing = true;
    }

    // --- the end ---------------------------------------------------------

    fn finish(&mut self) {
        self.meta.ended = Some(meta::now());
        if self.meta.status == Status::Running {
            // The poll loop broke without the program being reaped.
            self.meta.status = Status::Exited;
        }
        // Give back the reserve: the final records must fit.
        let _ = std::fs::remove_file(RESERVE);
        // The last screen stays next to meta.json, for `capture` afterwards.
        let _ = std::fs::write(SCREEN_TXT, self.screen.text());
        let _ = std::fs::write(SCREEN_ANSI, self.screen.ansi());
        let _ = std::fs::write(SCREEN_JOINED, self.screen.text_joined());
        self.meta.clients = 0;
        let _ = self.meta.write(std::path::Path::new("."));
        self.events.emit(
            "exited",
            json!({"code": self.meta.exit_code, "signal": self.meta.signal, "reason": self.meta.end_reason}),
        );
        // Connections that came in as the program ended get a proper answer:
        // their Hello (usually already sent) is read, then they get Exit.
        self.accept_clients();
        for i in 0..self.clients.len() {
            if self.clients[i].role.is_some() {
                continue;
            }
            let mut b = [0u8; 4096];
            if let Ok(n) = (&self.clients[i].stream).read(&mut b) {
                self.clients[i].dec.push(&b[..n]);
            }
            if let Ok(Some((Kind::Hello, p))) = self.clients[i].dec.next_frame() {
                self.on_hello(i, &p);
            }
        }
        let _ = std::fs::remove_file(SOCK);
        let info = proto::ExitInfo {
            code: self.meta.exit_code,
            signal: self.meta.signal.clone(),
        };
        let deadline = Instant::now() + FAREWELL;
        for c in &mut self.clients {
            if c.resync {
                c.resync = false;
                let paint = self.screen.repaint();
                c.send_output_all(&paint);
            }
            c.send_json(Kind::Exit, &info);
            c.flush_blocking(
                deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1)),
            );
        }
    }
}
