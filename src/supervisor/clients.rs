//! The connected clients: each one's state, frame decoder and bounded
//! output queue, and the list of them with the one the window follows.
//!
//! Output never waits for a client. A person's terminal queues at most
//! [`QUEUE_LIMIT`] bytes; when program output would overflow it, the queued
//! output is dropped (a frame already half-written is finished first, so the
//! stream is never torn mid-frame) and the terminal is marked for a resync:
//! once it can take data again it gets a full repaint of the screen instead.
//! A watcher is cut off instead (`watchers.rs`).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::ops::{Index, IndexMut};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use serde_json::json;

use super::screen::Screen;
use super::watchers::{WATCH_LIMIT, Watch};
use crate::events::Events;
use crate::proto::{self, Decoder, Kind, ProtoError, Role, Size};
use crate::sys;

/// Queued output per terminal before it is dropped in favour of a repaint.
pub const QUEUE_LIMIT: usize = 1 << 20;
/// Output frames are cut to at most this much payload.
const CHUNK: usize = 64 * 1024;

/// Where a client is in its life. Frames are read from the first four
/// states only; program output goes to `Attached` and `Watching`.
pub enum State {
    /// Connected; its Hello has not arrived yet.
    Connected,
    /// Asks and is answered (stop, send, capture, detach, ...).
    Control,
    /// A control connection that streams the output (`watchers.rs`).
    Watching(Watch),
    /// A person's terminal.
    Attached(Terminal),
    /// Told to go (an Error or Detach frame is queued): closed once its
    /// queue is written. `attached`: a terminal, counted as attached until
    /// it is gone.
    Closing { attached: bool },
    /// Gone; forgotten at the end of this turn of the loop.
    Dead { attached: bool },
}

pub struct Terminal {
    pub read_only: bool,
    pub size: Option<Size>,
    /// Output was dropped: repaint once the queue has drained.
    resync: bool,
}

pub struct Client {
    pub stream: UnixStream,
    dec: Decoder,
    queue: VecDeque<Vec<u8>>,
    /// How much of the front frame has been written.
    front_pos: usize,
    queued: usize,
    state: State,
    pub uid: u32,
    pub pid: Option<i32>,
    /// A serial number, to know which client was active last.
    pub id: u64,
}

impl Client {
    fn new(stream: UnixStream, uid: u32, pid: Option<i32>, id: u64) -> Client {
        Client {
            stream,
            dec: Decoder::default(),
            queue: VecDeque::new(),
            front_pos: 0,
            queued: 0,
            state: State::Connected,
            uid,
            pid,
            id,
        }
    }

    /// What its Hello said it is; None before the Hello and once closing.
    pub fn role(&self) -> Option<Role> {
        match self.state {
            State::Control | State::Watching(_) => Some(Role::Control),
            State::Attached(_) => Some(Role::Attach),
            State::Connected | State::Closing { .. } | State::Dead { .. } => None,
        }
    }

    /// Its frames are read and answered.
    pub fn is_open(&self) -> bool {
        !matches!(self.state, State::Closing { .. } | State::Dead { .. })
    }

    fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected)
    }

    pub fn is_dead(&self) -> bool {
        matches!(self.state, State::Dead { .. })
    }

    /// A person's terminal that is still there (counted in meta.json).
    pub fn is_attached(&self) -> bool {
        matches!(
            self.state,
            State::Attached(_) | State::Closing { attached: true }
        )
    }

    pub fn terminal(&self) -> Option<&Terminal> {
        match &self.state {
            State::Attached(t) => Some(t),
            _ => None,
        }
    }

    pub fn terminal_mut(&mut self) -> Option<&mut Terminal> {
        match &mut self.state {
            State::Attached(t) => Some(t),
            _ => None,
        }
    }

    fn watching(&self) -> Option<&Watch> {
        match &self.state {
            State::Watching(w) => Some(w),
            _ => None,
        }
    }

    fn watch_mut(&mut self) -> Option<&mut Watch> {
        match &mut self.state {
            State::Watching(w) => Some(w),
            _ => None,
        }
    }

    /// The Hello arrived.
    fn hello(&mut self, h: &proto::Hello) {
        self.state = match h.role {
            Role::Control => State::Control,
            Role::Attach => State::Attached(Terminal {
                read_only: h.read_only,
                size: h.size,
                resync: false,
            }),
        };
    }

    /// A control connection starts (or restarts) watching.
    pub fn start_watch(&mut self, w: Watch) {
        if matches!(self.state, State::Control | State::Watching(_)) {
            self.state = State::Watching(w);
        }
    }

    /// A Watch request: the output from now on, after the byte counts.
    pub fn watch_from(&mut self, w: Watch, info: &proto::WatchInfo) {
        self.start_watch(w);
        self.send_json(Kind::Watching, info);
    }

    /// Answer with an error and close this connection only.
    pub fn refuse(&mut self, msg: &str) {
        self.send_json(
            Kind::Error,
            &proto::ErrorMsg {
                message: msg.to_string(),
            },
        );
        self.close();
    }

    /// Close once what is queued has been written.
    pub fn close(&mut self) {
        if self.is_open() {
            let attached = self.is_attached();
            self.state = State::Closing { attached };
        }
    }

    fn die(&mut self) {
        let attached = self.is_attached();
        self.state = State::Dead { attached };
    }

    /// Read what the socket has for the decoder. False when the client
    /// hung up or failed (it is dead then).
    pub fn receive(&mut self) -> bool {
        let mut b = [0u8; 16 * 1024];
        match (&self.stream).read(&mut b) {
            Ok(0) => {
                self.die();
                false
            }
            Ok(n) => {
                self.dec.push(&b[..n]);
                true
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => true,
            Err(_) => {
                self.die();
                false
            }
        }
    }

    /// At the end: the Hello of a client that connected as the program
    /// ended (usually sent already).
    pub fn late_hello(&mut self) -> Option<Vec<u8>> {
        if !self.is_connected() || !self.receive() {
            return None;
        }
        match self.next_frame() {
            Ok(Some((Kind::Hello, p))) => Some(p),
            _ => None,
        }
    }

    /// The next whole frame received; an error kills the client.
    pub fn next_frame(&mut self) -> Result<Option<(Kind, Vec<u8>)>, ProtoError> {
        let r = self.dec.next_frame();
        if r.is_err() {
            self.die();
        }
        r
    }

    /// Queue a control frame; these are small and never dropped.
    pub fn send(&mut self, kind: Kind, payload: &[u8]) {
        let mut f = Vec::with_capacity(5 + payload.len());
        proto::encode(kind, payload, &mut f);
        self.push(f);
    }

    pub fn send_json<T: serde::Serialize>(&mut self, kind: Kind, msg: &T) {
        let mut f = Vec::new();
        proto::encode_json(kind, msg, &mut f);
        self.push(f);
    }

    /// Answer a Capture: the text in Screen frames, then Ok.
    pub fn send_screen(&mut self, text: &str) {
        for chunk in text.as_bytes().chunks(CHUNK) {
            self.send(Kind::Screen, chunk);
        }
        self.send(Kind::Ok, &[]);
    }

    /// Queue raw bytes as Output frames, whatever their size (repaints).
    pub fn send_output_all(&mut self, data: &[u8]) {
        for c in data.chunks(CHUNK) {
            self.send(Kind::Output, c);
        }
    }

    /// Whether program output goes to this client.
    fn wants_output(&self) -> bool {
        matches!(self.state, State::Attached(_) | State::Watching(_))
    }

    /// Queue program output: a terminal that has fallen too far behind
    /// loses its queue and is marked for a resync; a watcher is cut off.
    fn send_output(&mut self, data: &[u8]) {
        let limit = match &self.state {
            State::Watching(_) => WATCH_LIMIT,
            State::Attached(t) if t.resync => return,
            State::Attached(_) => QUEUE_LIMIT,
            _ => return,
        };
        if self.queued + data.len() <= limit {
            return self.send(Kind::Output, data);
        }
        self.drop_queue();
        match &mut self.state {
            State::Attached(t) => t.resync = true,
            _ => {
                self.send_json(
                    Kind::Error,
                    &proto::ErrorMsg {
                        message: "this reader fell too far behind the output".into(),
                    },
                );
                self.state = State::Closing { attached: false };
            }
        }
    }

    fn push(&mut self, f: Vec<u8>) {
        self.queued += f.len();
        self.queue.push_back(f);
    }

    /// Drop every queued frame but a half-written front one.
    fn drop_queue(&mut self) {
        let keep = if self.front_pos > 0 { 1 } else { 0 };
        while self.queue.len() > keep {
            let f = self.queue.pop_back().expect("non-empty");
            self.queued -= f.len();
        }
    }

    pub fn wants_write(&self) -> bool {
        !self.queue.is_empty() || matches!(&self.state, State::Attached(t) if t.resync)
    }

    fn is_flushed(&self) -> bool {
        self.queue.is_empty()
    }

    /// Write what the socket takes now.
    pub fn flush(&mut self) {
        while let Some(front) = self.queue.front() {
            match (&self.stream).write(&front[self.front_pos..]) {
                Ok(0) => return self.die(),
                Ok(n) => {
                    self.front_pos += n;
                    if self.front_pos == front.len() {
                        self.queued -= front.len();
                        self.queue.pop_front();
                        self.front_pos = 0;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => return self.die(),
            }
        }
    }

    /// Blocking write of everything queued, bounded by `timeout` (at exit).
    fn flush_blocking(&mut self, timeout: Duration) {
        let _ = self.stream.set_nonblocking(false);
        let _ = self.stream.set_write_timeout(Some(timeout));
        while let Some(front) = self.queue.pop_front() {
            if self.stream.write_all(&front[self.front_pos..]).is_err() {
                return;
            }
            self.front_pos = 0;
        }
    }

    /// A terminal marked for a resync gets its repaint now.
    fn resync(&mut self, screen: &mut Screen) -> bool {
        match &mut self.state {
            State::Attached(t) if t.resync => {
                t.resync = false;
                let paint = screen.repaint();
                self.send_output_all(&paint);
                true
            }
            _ => false,
        }
    }
}

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
        let c = &mut self.list[i];
        c.flush();
        if c.is_flushed() && c.resync(screen) {
            c.flush();
        }
        if let State::Closing { attached } = c.state
            && c.is_flushed()
        {
            c.state = State::Dead { attached };
        }
    }

    /// Program output to every terminal and watcher.
    pub fn output(&mut self, data: &[u8], screen: &mut Screen) {
        for i in 0..self.list.len() {
            if self.list[i].wants_output() {
                self.list[i].send_output(data);
                self.flush(i, screen);
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
        for c in self.list.iter_mut().filter(|c| c.terminal().is_some()) {
            c.send(Kind::Detach, &[]);
            c.close();
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
            if let State::Dead { attached: true } = c.state {
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
            c.send_json(Kind::Exit, info);
            c.flush_blocking(
                deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1)),
            );
        }
    }
}
