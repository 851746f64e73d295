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
//! way at once. A watcher is cut off instead (`../watchers.rs`). The log
//! and the screen model see every byte either way.

mod client;
mod tty;

use std::io;
use std::ops::{Index, IndexMut};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use serde_json::json;

pub use client::Client;
pub use tty::Keys;

use super::screen::Screen;
use crate::events::Events;
use crate::proto::{self, Kind, Role, Size};
use crate::sys;

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
        }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Take every waiting connection whose peer is our uid; record the
    /// others as `refused`.
    pub fn accept(&mut self, listener: &UnixListener, events: &mut Events) {
        loop {
            let stream = match listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
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
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            self.list.push(Client::new(stream, uid, pid, self.next_id));
            self.next_id += 1;
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
