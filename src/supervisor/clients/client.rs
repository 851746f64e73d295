//! One connection: its state, its frame decoder and its output queue (the
//! queue's rules are in the parent module's docs).

use std::collections::VecDeque;
use std::io::{self, IoSliceMut, Write};
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, poll};
use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, recvmsg};

use super::tty::{Keys, Tty};

mod terminal;
use crate::proto::{self, Decoder, Kind, ProtoError, Role, Size};
use crate::supervisor::screen::Screen;
use crate::supervisor::watchers::{WATCH_LIMIT, Watch};

/// A person's terminal with this much output queued holds the program back:
/// the supervisor stops reading the PTY until it has taken some.
pub const HOLD_AT: usize = 256 << 10;
/// Queued output per read-only terminal before it is dropped in favour of
/// a repaint (a viewer never holds the program back).
const QUEUE_LIMIT: usize = 1 << 20;
/// Output frames are cut to at most this much payload.
const CHUNK: usize = 64 * 1024;

/// Where a client is in its life. Frames are read from the first four
/// states only; program output goes to `Attached` and `Watching`.
enum State {
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
    /// Holding the program back, with no progress since this moment.
    stuck_since: Option<Instant>,
    /// How output gets there and keystrokes come back.
    link: Link,
}

/// How a terminal is reached.
enum Link {
    /// Through the client process: Output and Input frames.
    Relay,
    /// The client offered its terminal and it has not come yet: nothing is
    /// sent (the repaint follows either way).
    Awaiting,
    /// Its own terminal, read and written by the supervisor (`tty.rs`).
    Direct(Tty),
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
    /// A descriptor that came with its frames (SCM_RIGHTS), until a Tty
    /// frame takes it.
    passed: Option<OwnedFd>,
}

impl Client {
    pub(super) fn new(stream: UnixStream, uid: u32, pid: Option<i32>, id: u64) -> Client {
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
            passed: None,
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

    pub(super) fn watching(&self) -> Option<&Watch> {
        match &self.state {
            State::Watching(w) => Some(w),
            _ => None,
        }
    }

    pub(super) fn watch_mut(&mut self) -> Option<&mut Watch> {
        match &mut self.state {
            State::Watching(w) => Some(w),
            _ => None,
        }
    }

    /// The Hello arrived.
    pub(super) fn hello(&mut self, h: &proto::Hello) {
        self.state = match h.role {
            Role::Control => State::Control,
            Role::Attach => State::Attached(Terminal {
                read_only: h.read_only,
                size: h.size,
                resync: false,
                stuck_since: None,
                link: if h.tty { Link::Awaiting } else { Link::Relay },
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
        self.send_json(Kind::Error, &proto::ErrorMsg::new(msg));
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

    /// Read what the socket has for the decoder, and a descriptor passed
    /// with it (a terminal; any others are closed). False when the client
    /// hung up or failed (it is dead then).
    pub fn receive(&mut self) -> bool {
        let mut b = [0u8; 16 * 1024];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        // Close-on-exec as it arrives where the system can (macOS cannot:
        // it is set right after, before anything could be spawned, as the
        // supervisor is single-threaded).
        #[cfg(not(target_vendor = "apple"))]
        let flags = RecvFlags::CMSG_CLOEXEC | RecvFlags::DONTWAIT;
        #[cfg(target_vendor = "apple")]
        let flags = RecvFlags::DONTWAIT;
        let got = recvmsg(
            &self.stream,
            &mut [IoSliceMut::new(&mut b)],
            &mut control,
            flags,
        );
        for msg in control.drain() {
            if let RecvAncillaryMessage::ScmRights(fds) = msg {
                for fd in fds {
                    #[cfg(target_vendor = "apple")]
                    let _ = rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC);
                    self.passed.get_or_insert(fd);
                }
            }
        }
        match got {
            Ok(r) if r.bytes == 0 => {
                self.die();
                false
            }
            Ok(r) => {
                self.dec.push(&b[..r.bytes]);
                true
            }
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => true,
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
    pub(super) fn wants_output(&self) -> bool {
        matches!(self.state, State::Attached(_) | State::Watching(_))
    }

    /// Queue program output. A person's terminal takes it all (it holds
    /// the program back instead, [`Client::holds_back`]); a read-only one
    /// that has fallen too far behind loses its queue and is marked for a
    /// resync; a watcher is cut off.
    pub(super) fn send_output(&mut self, data: &[u8]) {
        let queued = self.out_queued();
        if let State::Attached(t) = &mut self.state
            && let Link::Direct(tty) = &mut t.link
        {
            if t.resync {
                return;
            }
            if t.read_only && queued + data.len() > QUEUE_LIMIT {
                tty.drop_queue();
                t.resync = true;
                return;
            }
            tty.push(data);
            self.start_stall_clock(false);
            return;
        }
        let limit = match &self.state {
            State::Watching(_) => WATCH_LIMIT,
            State::Attached(t) if t.resync || matches!(t.link, Link::Awaiting) => return,
            State::Attached(t) if t.read_only => QUEUE_LIMIT,
            State::Attached(_) => {
                self.send(Kind::Output, data);
                self.start_stall_clock(false);
                return;
            }
            _ => return,
        };
        if self.queued + data.len() <= limit {
            return self.send(Kind::Output, data);
        }
        match &mut self.state {
            State::Attached(_) => self.repaint_later(),
            _ => self.fell_behind(),
        }
    }

    /// Pipe mode's standard error to a watcher that asked for it: as
    /// Output to a watcher, in ErrOutput frames (cut off as far behind).
    pub(super) fn send_err_output(&mut self, data: &[u8]) {
        if !matches!(self.state, State::Watching(_)) {
            return;
        }
        if self.queued + data.len() <= WATCH_LIMIT {
            return self.send(Kind::ErrOutput, data);
        }
        self.fell_behind();
    }

    /// A terminal too far behind: its queue dropped, a repaint owed.
    pub(super) fn repaint_later(&mut self) {
        self.cut_loose();
    }

    /// Bytes queued for it (on its own terminal or on the socket).
    pub(super) fn queued(&self) -> usize {
        self.out_queued()
    }

    /// A watcher too far behind: its queue dropped, an error, closed.
    pub(super) fn fell_behind(&mut self) {
        self.drop_queue();
        self.send_json(
            Kind::Error,
            &proto::ErrorMsg::new("this reader fell too far behind the output"),
        );
        self.state = State::Closing { attached: false };
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

    /// Something waits for the socket (a relayed terminal's repaint too).
    pub fn wants_write(&self) -> bool {
        !self.queue.is_empty()
            || matches!(&self.state, State::Attached(t) if t.resync && matches!(t.link, Link::Relay))
    }

    pub(super) fn is_flushed(&self) -> bool {
        self.queue.is_empty()
    }

    /// Write what the socket and its own terminal take now.
    /// Progress, for the stall clock, is what its terminal took.
    pub fn flush(&mut self) {
        let tty = match &mut self.state {
            State::Attached(Terminal {
                link: Link::Direct(tty),
                ..
            }) => Some(tty.flush()),
            _ => None,
        };
        let socket = self.flush_socket();
        let progressed = match tty {
            Some(Ok(p)) => p,
            // Its terminal hung up or failed.
            Some(Err(_)) => return self.die(),
            None => socket,
        };
        self.start_stall_clock(progressed);
    }

    /// Write what the socket takes now; true when something was written.
    fn flush_socket(&mut self) -> bool {
        let mut progressed = false;
        while let Some(front) = self.queue.front() {
            match (&self.stream).write(&front[self.front_pos..]) {
                Ok(0) => {
                    self.die();
                    return progressed;
                }
                Ok(n) => {
                    progressed = true;
                    self.front_pos += n;
                    if self.front_pos == front.len() {
                        self.queued -= front.len();
                        self.queue.pop_front();
                        self.front_pos = 0;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    self.die();
                    return progressed;
                }
            }
        }
        progressed
    }

    /// Write what the socket takes; a terminal that caught up after
    /// falling behind gets a fresh repaint once it reads again; a closing
    /// client that is done is gone.
    pub(super) fn flush_settled(&mut self, screen: &mut Screen) {
        self.flush();
        if self.owes_resync() && self.ready_for_repaint() && self.resync(screen) {
            self.flush();
        }
        self.tell_modes();
        if let State::Closing { attached } = self.state
            && self.is_flushed()
        {
            self.state = State::Dead { attached };
        }
    }

    /// A terminal that is gone (a `detached` event).
    pub(super) fn is_gone_terminal(&self) -> bool {
        matches!(self.state, State::Dead { attached: true })
    }

    /// Blocking write of everything queued, bounded by `timeout` (at exit).
    pub(super) fn flush_blocking(&mut self, timeout: Duration) {
        let _ = self.stream.set_nonblocking(false);
        let _ = self.stream.set_write_timeout(Some(timeout));
        while let Some(front) = self.queue.pop_front() {
            if self.stream.write_all(&front[self.front_pos..]).is_err() {
                return;
            }
            self.front_pos = 0;
        }
    }

    fn owes_resync(&self) -> bool {
        matches!(&self.state, State::Attached(t) if t.resync)
    }

    /// A terminal marked for a resync gets its repaint now.
    pub(super) fn resync(&mut self, screen: &mut Screen) -> bool {
        match &mut self.state {
            State::Attached(t) if t.resync => {
                t.resync = false;
                self.repaint(screen);
                true
            }
            _ => false,
        }
    }

    /// The screen as it is, to its terminal (a new or resynced one).
    pub fn repaint(&mut self, screen: &mut Screen) {
        let paint = screen.repaint();
        match &mut self.state {
            State::Attached(Terminal {
                link: Link::Direct(tty),
                ..
            }) => tty.push(&paint),
            _ => self.send_output_all(&paint),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terminal() -> (Client, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let mut c = Client::new(a, 0, None, 1);
        c.hello(&proto::Hello {
            version: proto::VERSION,
            role: Role::Attach,
            read_only: false,
            size: None,
            ssh_auth_sock: None,
            tty: false,
        });
        (c, b)
    }

    #[test]
    fn a_terminal_holds_the_program_back_until_cut_loose() {
        let (mut c, _peer) = terminal();
        let mut screen = Screen::new(20, 5);
        let stall = Duration::from_secs(1);
        c.send_output(&vec![b'x'; HOLD_AT - 10]);
        assert!(!c.holds_back() && c.stall_at(stall).is_none());
        c.send_output(&vec![b'x'; 64 << 10]);
        assert!(c.holds_back(), "full: the program waits for it");
        let at = c.stall_at(stall).expect("the stall clock runs");
        assert!(at > Instant::now());
        // Nothing is dropped while it holds the program back.
        for _ in 0..48 {
            c.send_output(&vec![b'y'; 64 << 10]);
        }
        assert!(c.holds_back() && c.queued > 3 << 20);
        c.cut_loose();
        assert!(!c.holds_back() && c.is_flushed() && c.wants_write());
        c.send_output(b"more");
        assert!(c.is_flushed(), "nothing queued while a resync is owed");
        c.flush_settled(&mut screen);
        assert!(!c.wants_write() && c.is_attached(), "repainted");
    }

    #[test]
    fn a_viewer_that_falls_behind_is_repainted_once_it_catches_up() {
        let (mut c, _peer) = terminal();
        c.state = State::Attached(Terminal {
            read_only: true,
            size: None,
            resync: false,
            stuck_since: None,
            link: Link::Relay,
        });
        let mut screen = Screen::new(20, 5);
        c.send_output(&vec![b'x'; QUEUE_LIMIT + 1]);
        assert!(!c.holds_back(), "a viewer never holds the program back");
        assert!(
            c.is_flushed() && c.wants_write(),
            "queue dropped, resync owed"
        );
        c.send_output(b"more");
        assert!(c.is_flushed(), "nothing queued while a resync is owed");
        c.flush_settled(&mut screen);
        assert!(!c.wants_write() && c.is_attached());
    }

    #[test]
    fn a_closing_terminal_counts_until_it_is_gone() {
        let (mut c, _peer) = terminal();
        let mut screen = Screen::new(20, 5);
        c.refuse("no");
        assert!(c.is_attached() && !c.is_open() && c.role().is_none());
        c.send_output(b"ignored");
        c.start_watch(Watch::after_input(Duration::from_secs(1)));
        assert!(
            c.watching().is_none(),
            "a closing client does not start watching"
        );
        c.flush_settled(&mut screen);
        assert!(c.is_dead() && c.is_gone_terminal() && !c.is_attached());
    }
}
