//! The connected clients: each one's state, frame decoder and output
//! queue, and the list of them with the one the window follows.
//!
//! A person's terminal gets every byte, as a terminal on the PTY would:
//! once 256 KiB are queued for it (`HOLD_AT` in client.rs) it holds the
//! program back, that is the supervisor stops reading the PTY (the program
//! blocks on a full terminal) until the terminal has taken some. One that
//! takes nothing for `attach.stall` (1 s) while holding the program back
//! is cut loose: its queued output is dropped (a frame already
//! half-written is finished first, so the stream is never torn mid-frame),
//! a `stalled` event is recorded, and once it reads again it gets a full
//! repaint of the screen instead. A read-only terminal never holds the
//! program back: past 1 MiB queued (`QUEUE_LIMIT`) it is resynced the same
//! way at once. A watcher is cut off instead (`../watchers.rs`), and so is
//! the watcher furthest behind whenever all watchers together are more
//! than [`WATCHERS_TOTAL`] behind; likewise the terminal with the most
//! queued is repainted later whenever all together queue more than
//! [`TERMINALS_TOTAL`]. The log and the screen model see every byte either
//! way.
//!
//! Connections are bounded too: at most [`MAX_CONNECTIONS`]; one more is
//! accepted and closed at once with an Error frame saying why. When the
//! process is out of descriptors (EMFILE, ENFILE), a reserve descriptor
//! (`/dev/null`, opened at start) is given back to accept the waiting
//! connection and close it likewise, so the listener does not stay
//! readable; if accepting still fails, the listener is left out of the
//! poll for [`ACCEPT_PAUSE`] (the `AcceptPause` timer) instead of being
//! retried at once: the loop never spins.

mod client;
mod tty;

use std::fs::File;
use std::io::{self, Write};
use std::ops::{Index, IndexMut};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use serde_json::json;

pub use client::Client;
pub use tty::Keys;

use super::screen::Screen;
use crate::events::Events;
use crate::proto::{self, Kind, Role, Size};
use crate::sys;

/// The most connections at once (clients of every kind, and those not yet
/// gone).
pub const MAX_CONNECTIONS: usize = 256;
/// All watchers together may be this far behind; beyond, the one furthest
/// behind is cut off (each alone may be `WATCH_LIMIT` behind).
pub const WATCHERS_TOTAL: usize = 64 << 20;
/// All terminals together may queue this much; beyond, the one with the
/// most queued is repainted instead (each alone may queue 1 MiB).
pub const TERMINALS_TOTAL: usize = 16 << 20;
/// How long the listener rests after accepting failed.
pub const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Every connected client, in the order they came.
pub struct Clients {
    list: Vec<Client>,
    next_id: u64,
    /// The client whose size the window follows (last to attach or type).
    active: Option<u64>,
    /// Only this uid may connect.
    uid: u32,
    /// The answer to every Hello.
    welcome: proto::Welcome,
    /// A descriptor kept to give back when the process runs out of them.
    reserve: Option<File>,
    /// Accepting failed: the listener is not polled until then.
    accept_paused: Option<Instant>,
}

/// A descriptor to give back when the process runs out of them.
fn reserve() -> Option<File> {
    File::open("/dev/null").ok()
}

fn out_of_descriptors(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(nix::libc::EMFILE | nix::libc::ENFILE)
    )
}

/// Tell a connection why it is refused (if its socket takes the frame
/// now: a fresh socket's buffer does) and close it.
fn refuse_at_once(mut s: UnixStream, why: &str) {
    let mut f = Vec::new();
    proto::encode_json(Kind::Error, &proto::ErrorMsg::new(why.to_string()), &mut f);
    let _ = s.set_nonblocking(true);
    let _ = s.write_all(&f);
}

impl Index<usize> for Clients {
    type Output = Client;
    fn index(&self, i: usize) -> &Client {
        &self.list[i]
    }
}

impl IndexMut<usize> for Clients {
    fn index_mut(&mut self, i: usize) -> &mut Client {
        &mut self.list[i]
    }
}

impl Clients {
    /// Clients of the session `name`, whose program is `pid`.
    pub fn new(uid: u32, name: &str, pid: i32) -> Clients {
        Clients {
            list: Vec::new(),
            next_id: 1,
            active: None,
            uid,
            welcome: proto::Welcome {
                version: proto::VERSION,
                name: name.to_string(),
                pid,
                // Terminals may pass themselves (`tty.rs`).
                tty: true,
            },
            reserve: reserve(),
            accept_paused: None,
        }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Take every waiting connection whose peer is our uid; record the
    /// others as `refused`. Beyond [`MAX_CONNECTIONS`], or out of
    /// descriptors, a connection is closed at once with the reason.
    pub fn accept(&mut self, listener: &UnixListener, events: &mut Events) {
        loop {
            let stream = match listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if out_of_descriptors(&e) && self.reserve.is_some() => {
                    // Give the reserve back to take the connection and
                    // close it, so the listener is not left readable.
                    self.reserve = None;
                    let taken = listener.accept();
                    self.reserve = reserve();
                    match taken {
                        Ok((s, _)) => {
                            refuse_at_once(
                                s,
                                "the session's supervisor is out of file descriptors",
                            );
                            events.emit("refused", json!({"reason": "out of file descriptors"}));
                            continue;
                        }
                        Err(_) => return self.pause_accept(),
                    }
                }
                Err(_) => return self.pause_accept(),
            };
            let Ok((uid, pid)) = sys::peer_cred(&stream) else {
                continue;
            };
            if uid != self.uid {
                events.emit(
                    "refused",
                    json!({"uid": uid, "pid": pid, "reason": "peer uid differs"}),
                );
                continue;
            }
            if self.list.len() >= MAX_CONNECTIONS {
                let why =
                    format!("too many connections to this session (at most {MAX_CONNECTIONS})");
                refuse_at_once(stream, &why);
                events.emit("refused", json!({"uid": uid, "pid": pid, "reason": why}));
                continue;
            }
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            self.list.push(Client::new(stream, uid, pid, self.next_id));
            self.next_id += 1;
        }
    }

    /// Accepting failed: leave the listener out of the poll a while.
    fn pause_accept(&mut self) {
        self.accept_paused = Some(Instant::now() + ACCEPT_PAUSE);
    }

    /// Whether the listener is left out of the poll now.
    pub fn accept_paused(&self) -> bool {
        self.accept_paused.is_some()
    }

    /// The `AcceptPause` timer.
    pub fn accept_resumes_at(&self) -> Option<Instant> {
        self.accept_paused
    }

    /// The pause is over: listen again (and take the reserve back if it
    /// could not be had before).
    pub fn resume_accept(&mut self) {
        self.accept_paused = None;
        if self.reserve.is_none() {
            self.reserve = reserve();
        }
    }

    /// The i-th client's Hello arrived: welcome it. True when it is a
    /// terminal (an `attached` event).
    pub fn hello(&mut self, i: usize, h: &proto::Hello, events: &mut Events) -> bool {
        let c = &mut self.list[i];
        c.hello(h);
        c.send_json(Kind::Welcome, &self.welcome);
        if h.role != Role::Attach {
            return false;
        }
        events.emit(
            "attached",
            json!({"client_pid": c.pid, "read_only": h.read_only}),
        );
        true
    }

    /// Where the client with this id is, unless it is gone.
    pub fn live(&self, id: u64) -> Option<usize> {
        self.list.iter().position(|c| c.id == id && !c.is_dead())
    }

    pub fn is_active(&self, i: usize) -> bool {
        self.active == Some(self.list[i].id)
    }

    /// A terminal's window changed size; true when the window follows it.
    pub fn resized(&mut self, i: usize, size: Size) -> bool {
        if let Some(t) = self.list[i].terminal_mut() {
            t.size = Some(size);
        }
        self.is_active(i)
    }

    /// The window follows the terminal that attached or typed last: its
    /// size, if it is the one now (read-only terminals never are).
    pub fn activate(&mut self, i: usize) -> Option<Size> {
        let c = &mut self.list[i];
        let id = c.id;
        let t = c.terminal().filter(|t| !t.read_only)?;
        let size = t.size;
        self.active = Some(id);
        size
    }

    /// How many terminals are attached.
    pub fn attached(&self) -> u32 {
        self.list.iter().filter(|c| c.is_attached()).count() as u32
    }

    /// Whether a watcher follows the output.
    pub fn watching(&self) -> bool {
        self.list.iter().any(|c| c.watching().is_some())
    }

    /// Write what the client takes; a terminal that caught up after falling
    /// behind gets a fresh repaint; a closing client that is done closes.
    pub fn flush(&mut self, i: usize, screen: &mut Screen) {
        self.list[i].flush_settled(screen);
    }

    /// Program output to every terminal and watcher.
    /// Program output: `data` as read for watchers, `shown` (without the
    /// queries the model answered) for terminals.
    pub fn output(&mut self, data: &[u8], shown: &[u8], screen: &mut Screen) {
        for i in 0..self.list.len() {
            if self.list[i].wants_output() {
                let out = if self.list[i].terminal().is_some() {
                    shown
                } else {
                    data
                };
                self.list[i].send_output(out);
                self.flush(i, screen);
            }
        }
        self.bound_watchers();
        self.bound_terminals();
    }

    /// Pipe mode's standard error: `shown` to terminals (with stdout, one
    /// stream), `data` to the watchers that asked for it (ErrOutput).
    pub fn output_stderr(&mut self, data: &[u8], shown: &[u8], screen: &mut Screen) {
        for i in 0..self.list.len() {
            let c = &mut self.list[i];
            if c.terminal().is_some() {
                c.send_output(shown);
            } else if c.watching().is_some_and(|w| w.stderr) {
                c.send_err_output(data);
            } else {
                continue;
            }
            self.flush(i, screen);
        }
        self.bound_watchers();
        self.bound_terminals();
    }

    /// While all terminals together have more than [`TERMINALS_TOTAL`]
    /// queued, the one with the most is repainted once it reads again
    /// instead (its queue dropped).
    fn bound_terminals(&mut self) {
        loop {
            let queued = |c: &Client| c.terminal().map(|_| c.queued());
            let total: usize = self.list.iter().filter_map(queued).sum();
            if total <= TERMINALS_TOTAL {
                return;
            }
            let Some(worst) = (self.list.iter_mut())
                .filter(|c| c.terminal().is_some() && c.queued() > 0)
                .max_by_key(|c| c.queued())
            else {
                return;
            };
            let before = worst.queued();
            worst.repaint_later();
            if worst.queued() == before {
                return;
            }
        }
    }

    /// While all watchers together are more than [`WATCHERS_TOTAL`]
    /// behind, cut off the one furthest behind (the slowest, or the oldest
    /// of equally slow ones).
    fn bound_watchers(&mut self) {
        loop {
            let behind = |c: &Client| c.watching().map(|_| c.queued());
            let total: usize = self.list.iter().filter_map(behind).sum();
            if total <= WATCHERS_TOTAL {
                return;
            }
            let Some(worst) = (self.list.iter_mut())
                .filter(|c| c.watching().is_some())
                .rev()
                .max_by_key(|c| c.queued())
            else {
                return;
            };
            worst.fell_behind();
        }
    }

    /// A person's terminal has too much output queued: do not read the
    /// program's output for now.
    pub fn holds_back(&self) -> bool {
        self.list.iter().any(Client::holds_back)
    }

    /// When the first terminal holding the program back will have been
    /// stuck for `stall`.
    pub fn stall_at(&self, stall: Duration) -> Option<Instant> {
        self.list.iter().filter_map(|c| c.stall_at(stall)).min()
    }

    /// Cut loose every terminal stuck for `stall` (a `stalled` event each).
    pub fn cut_stalled(&mut self, now: Instant, stall: Duration, events: &mut Events) {
        for c in &mut self.list {
            if c.stall_at(stall).is_some_and(|at| now >= at) {
                c.cut_loose();
                events.emit(
                    "stalled",
                    json!({"client_pid": c.pid, "after_ms": stall.as_millis() as u64}),
                );
            }
        }
    }

    /// When the first watcher's output will have been quiet long enough.
    pub fn watchers_quiet_at(&self, last_output: Instant) -> Option<Instant> {
        (self.list.iter())
            .filter_map(|c| c.watching()?.quiet_at(last_output))
            .min()
    }

    /// Idle to each watcher whose output has been quiet long enough.
    pub fn tell_quiet(&mut self, now: Instant, last_output: Instant) {
        for c in &mut self.list {
            if (c.watch_mut()).is_some_and(|w| w.take_quiet(now, last_output)) {
                c.send(Kind::Idle, &[]);
                c.flush();
            }
        }
    }

    /// The program's input has all been written: watchers that wait for
    /// their send's input to be written start their clock.
    pub fn arm_watchers(&mut self, now: Instant) {
        for w in self.list.iter_mut().filter_map(Client::watch_mut) {
            w.arm(now);
        }
    }

    /// Tell every terminal it is detached.
    pub fn detach_all(&mut self) {
        for i in 0..self.list.len() {
            self.detach(i);
        }
    }

    /// Tell one terminal it is detached. Its own terminal, if the
    /// supervisor writes it, is let go of first (closing drops it), so the
    /// client's restoring writes come after the last of the output.
    pub fn detach(&mut self, i: usize) {
        let c = &mut self.list[i];
        if c.terminal().is_some() {
            c.close();
            c.send(Kind::Detach, &[]);
        }
    }

    /// Drop the dead; a terminal among them is a `detached` event. True
    /// when a terminal left.
    /// The ids of the terminals [`Clients::forget_dead`] is about to forget.
    pub fn gone_terminals(&self) -> Vec<u64> {
        (self.list.iter().filter(|c| c.is_gone_terminal()))
            .map(|c| c.id)
            .collect()
    }

    pub fn forget_dead(&mut self, events: &mut Events) -> bool {
        if !self.list.iter().any(Client::is_dead) {
            return false;
        }
        let mut left = false;
        for c in &self.list {
            if c.is_gone_terminal() {
                left = true;
                events.emit("detached", json!({"client_pid": c.pid}));
                if self.active == Some(c.id) {
                    self.active = None;
                }
            }
        }
        self.list.retain(|c| !c.is_dead());
        left
    }

    /// The program ended: a last repaint where one is owed, then Exit to
    /// every client, all within `timeout`.
    pub fn farewell(&mut self, info: &proto::ExitInfo, screen: &mut Screen, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for c in &mut self.list {
            c.resync(screen);
            c.flush_tty_until(deadline);
            c.send_json(Kind::Exit, info);
            c.flush_blocking(
                deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1)),
            );
        }
    }
}
