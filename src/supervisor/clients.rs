//! One connected client: its frame decoder and its bounded output queue.
//!
//! Output never waits for a client. Each client's queue holds at most
//! [`QUEUE_LIMIT`] bytes; when program output would overflow it, the queued
//! output is dropped (a frame already half-written is finished first, so the
//! stream is never torn mid-frame) and the client is marked for a resync:
//! once it can take data again it gets a full repaint of the screen instead.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::os::unix::net::UnixStream;

use crate::proto::{self, Decoder, Kind, Role, Size};

/// Queued output per client before it is dropped in favour of a repaint.
pub const QUEUE_LIMIT: usize = 1 << 20;
/// A watcher wants every byte; one this far behind is cut off instead.
pub const WATCH_LIMIT: usize = 64 << 20;

/// A client that asked for the output as a stream (`send --wait-idle`,
/// `wait`).
pub struct Watch {
    /// Say Idle once the output has been quiet this long...
    pub idle: Option<std::time::Duration>,
    /// ...counting from here (None: the input it sent is not written yet).
    pub armed_at: Option<std::time::Instant>,
}
/// Output frames are cut to at most this much payload.
pub const CHUNK: usize = 64 * 1024;

pub struct Client {
    pub stream: UnixStream,
    pub dec: Decoder,
    queue: VecDeque<Vec<u8>>,
    /// How much of the front frame has been written.
    front_pos: usize,
    queued: usize,
    /// Output was dropped: repaint once the queue has drained.
    pub resync: bool,
    /// None until its Hello arrived.
    pub role: Option<Role>,
    pub read_only: bool,
    pub size: Option<Size>,
    pub uid: u32,
    pub pid: Option<i32>,
    /// A serial number, to know which client was active last.
    pub id: u64,
    pub watch: Option<Watch>,
    /// Close once the queue is flushed.
    pub closing: bool,
    pub dead: bool,
}

impl Client {
    pub fn new(stream: UnixStream, uid: u32, pid: Option<i32>, id: u64) -> Client {
        Client {
            stream,
            dec: Decoder::default(),
            queue: VecDeque::new(),
            front_pos: 0,
            queued: 0,
            resync: false,
            role: None,
            read_only: false,
            size: None,
            uid,
            pid,
            id,
            watch: None,
            closing: false,
            dead: false,
        }
    }

    pub fn is_attached(&self) -> bool {
        self.role == Some(Role::Attach) && !self.dead
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

    /// Queue raw bytes as Output frames, whatever their size (repaints).
    pub fn send_output_all(&mut self, data: &[u8]) {
        for c in data.chunks(CHUNK) {
            self.send(Kind::Output, c);
        }
    }

    /// Queue program output, or drop the queue and ask for a resync when
    /// this client has fallen too far behind.
    pub fn send_output(&mut self, data: &[u8]) {
        if self.watch.is_some() {
            if self.queued + data.len() > WATCH_LIMIT {
                self.drop_queue();
                self.send_json(
                    Kind::Error,
                    &proto::ErrorMsg {
                        message: "this reader fell too far behind the output".into(),
                    },
                );
                self.closing = true;
                self.watch = None;
                return;
            }
            self.send(Kind::Output, data);
            return;
        }
        if self.resync {
            return;
        }
        if self.queued + data.len() > QUEUE_LIMIT {
            self.drop_queue();
            self.resync = true;
            return;
        }
        self.send(Kind::Output, data);
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
        !self.queue.is_empty() || self.resync
    }

    pub fn is_flushed(&self) -> bool {
        self.queue.is_empty()
    }

    /// Write what the socket takes now.
    pub fn flush(&mut self) {
        while let Some(front) = self.queue.front() {
            match (&self.stream).write(&front[self.front_pos..]) {
                Ok(0) => {
                    self.dead = true;
                    return;
                }
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
                Err(_) => {
                    self.dead = true;
                    return;
                }
            }
        }
    }

    /// Blocking write of everything queued, bounded by `timeout` (at exit).
    pub fn flush_blocking(&mut self, timeout: std::time::Duration) {
        let _ = self.stream.set_nonblocking(false);
        let _ = self.stream.set_write_timeout(Some(timeout));
        while let Some(front) = self.queue.pop_front() {
            if self.stream.write_all(&front[self.front_pos..]).is_err() {
                return;
            }
            self.front_pos = 0;
        }
    }
}
