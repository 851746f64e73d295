//! Local ingress: `send` delivered through the supervisor as one unit,
//! never interleaved with a person's keystrokes and never appended to a
//! person's unfinished line; each send audited with the sender's uid and
//! pid from the socket; repeated ids acknowledged, not delivered.
//!
//! [`Ingress`] owns the sends held back, the ids delivered, what it knows
//! of people's typing (their drafts, the last keystroke) and whether the
//! program has been seen reading its terminal; the supervisor writes what
//! it hands over.
//!
//! A send is held while
//! - a person attached has an unfinished line (a draft): they typed since
//!   their last Enter, Ctrl-C, Ctrl-U or Ctrl-D. The terminal has one input
//!   line, so a line end typed by anyone (or a forced send's) ends every
//!   draft; a person who detaches leaves theirs in the program's line, so
//!   it keeps holding sends;
//! - someone typed anything within `draft_quiet` (typing right now);
//! - the program has not yet been seen waiting for terminal input, for at
//!   most [`FIRST_READ_BOUND`] after the start (Linux; see
//!   [`Program::reading_input`](super::program::Program::reading_input)).
//!
//! The first two hold until the send's timeout, then refuse it (the Error
//! carries [`proto::ErrorMsg::TIMEOUT`]); `--force` skips them. The third
//! never refuses: at the bound or the timeout the send goes.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use serde_json::json;

use super::clients::{Client, Clients};
use super::screen::Screen;
use super::watchers::Watch;
use crate::events::Events;
use crate::proto::{self, Kind};

/// Input waiting for a program that does not read it, beyond which sends
/// are refused (sends held back for a typing person count too).
pub const INPUT_LIMIT: usize = 8 << 20;
/// Sends held back at once, beyond which more are refused.
pub const PENDING_LIMIT: usize = 16;
/// The longest send id (ids are remembered).
pub const MAX_ID: usize = 256;
/// How many delivered ids are remembered (the oldest forgotten first).
pub const DELIVERED_IDS: usize = 4096;

/// How long after the start a send may be held for the program to be seen
/// reading its terminal.
pub const FIRST_READ_BOUND: Duration = Duration::from_secs(1);
/// How often to look whether it is, while a send is held for it.
pub const FIRST_READ_PROBE: Duration = Duration::from_millis(10);

pub struct Ingress {
    /// Sends held back, oldest first.
    pending: VecDeque<Pending>,
    /// `send` ids already delivered: the last [`DELIVERED_IDS`]...
    delivered: HashSet<String>,
    /// ...in the order they came, to forget the oldest.
    delivered_order: VecDeque<String>,
    /// The unfinished lines, by who typed them (kept after they detach).
    drafts: Vec<Draft>,
    /// When a person last typed (anything but terminal reports).
    last_keystroke: Option<Instant>,
    draft_quiet: Duration,
    first_read: FirstRead,
    /// When the held sends were last looked at.
    checked_at: Option<Instant>,
    /// Pipe mode: Enter is LF, and EOF closes the program's stdin.
    pipe: bool,
}

/// A person's unfinished line: who, never what.
struct Draft {
    client: u64,
    uid: u32,
    pid: Option<i32>,
}

/// Whether the program has been seen waiting for terminal input.
struct FirstRead {
    seen: bool,
    /// Stop looking then (the program's start + [`FIRST_READ_BOUND`]).
    until: Instant,
    /// Look again then, while a send waits for it.
    next_probe: Instant,
}

/// A `send` held back.
struct Pending {
    /// The sender's id.
    client: u64,
    req: proto::SendReq,
    text: Vec<u8>,
    deadline: Instant,
}

/// A send to write to the program now, as one unit.
pub struct Delivery {
    /// The sender's index among the clients (to flush its answer).
    pub client: usize,
    /// SIGINT to the terminal's foreground process group first.
    pub interrupt: bool,
    pub bytes: Vec<u8>,
    /// Pipe mode: close the program's stdin after the bytes.
    pub eof: bool,
}

/// Why a held send may not go yet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Nothing holds it.
    None,
    /// The program has not been seen reading its terminal yet.
    FirstRead,
    /// Someone typed within `draft_quiet`.
    Typing,
    /// A person has an unfinished line.
    Draft,
}

impl Ingress {
    /// `started`: when the program started; `pipe`: it reads a pipe, not a
    /// terminal.
    pub fn new(draft_quiet: Duration, started: Instant, pipe: bool) -> Ingress {
        Ingress {
            pending: VecDeque::new(),
            delivered: HashSet::new(),
            delivered_order: VecDeque::new(),
            drafts: Vec::new(),
            last_keystroke: None,
            draft_quiet,
            first_read: FirstRead {
                seen: false,
                until: started + FIRST_READ_BOUND,
                next_probe: started,
            },
            checked_at: None,
            pipe,
        }
    }

    /// A Send frame from `c`: held for [`Ingress::take_due`] (true), or
    /// answered here (a repeated id) or refused. `running`: the program has
    /// not ended (in pipe mode, with its stdin open: `Err` with why not);
    /// `waiting`: input bytes the PTY has not taken yet.
    pub fn offer(
        &mut self,
        c: &mut Client,
        payload: &[u8],
        events: &mut Events,
        running: Result<(), &str>,
        waiting: usize,
    ) -> bool {
        match self.hold(c, payload, events, running, waiting) {
            Ok(held) => held,
            Err(why) => {
                c.refuse(&why);
                false
            }
        }
    }

    fn hold(
        &mut self,
        c: &mut Client,
        payload: &[u8],
        events: &mut Events,
        running: Result<(), &str>,
        waiting: usize,
    ) -> Result<bool, String> {
        let Ok((req, text)) = proto::decode_send(payload) else {
            return Err("malformed Send frame".into());
        };
        if let Some(id) = req.id.as_ref().filter(|id| self.delivered.contains(*id)) {
            events.emit(
                "input",
                json!({"uid": c.uid, "pid": c.pid, "as": req.label, "id": id, "duplicate": true, "delivered": false}),
            );
            c.send_json(
                Kind::Ok,
                &proto::SendResult {
                    duplicate: true,
                    ..Default::default()
                },
            );
            return Ok(false);
        }
        if req.id.as_ref().is_some_and(|id| id.len() > MAX_ID) {
            return Err(format!("not delivered: an id is at most {MAX_ID} bytes"));
        }
        running?;
        let held: usize = self.pending.iter().map(|p| p.text.len()).sum();
        if self.pending.len() >= PENDING_LIMIT {
            return Err(format!(
                "not delivered: {PENDING_LIMIT} sends are already waiting"
            ));
        }
        if waiting + held + text.len() > INPUT_LIMIT {
            return Err(format!(
                "not delivered: the program is not reading its input ({} already waiting)",
                crate::fmt::size((waiting + held) as u64)
            ));
        }
        let deadline = Instant::now() + proto::millis(req.timeout_ms);
        self.pending.push_back(Pending {
            client: c.id,
            req,
            text: text.to_vec(),
            deadline,
        });
        Ok(true)
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// A person's keystrokes, from the terminal client `c`: open or end
    /// drafts (a `draft` event at each change, naming who, never what).
    /// True when they are input for the program rather than only terminal
    /// reports (focus, mouse, answers to queries), which change nothing.
    pub fn keystrokes(&mut self, c: &Client, data: &[u8], events: &mut Events) -> bool {
        let keys = Keys::scan(data);
        if !keys.typed {
            return false;
        }
        self.last_keystroke = Some(Instant::now());
        if keys.line_end {
            self.clear_drafts(events);
        }
        if keys.open_after && !self.drafts.iter().any(|d| d.client == c.id) {
            events.emit(
                "draft",
                json!({"state": "open", "client": c.id, "uid": c.uid, "pid": c.pid}),
            );
            self.drafts.push(Draft {
                client: c.id,
                uid: c.uid,
                pid: c.pid,
            });
        }
        true
    }

    /// The program's input line was ended or dropped: no drafts.
    fn clear_drafts(&mut self, events: &mut Events) {
        for d in self.drafts.drain(..) {
            events.emit(
                "draft",
                json!({"state": "cleared", "client": d.client, "uid": d.uid, "pid": d.pid}),
            );
        }
    }

    /// Whether the program may have a send now, as far as its start goes:
    /// it was seen waiting for terminal input (`probe`, asked only while
    /// unknown; None: the platform cannot tell), or the bound is over.
    fn first_read(&mut self, now: Instant, probe: impl FnOnce() -> Option<bool>) -> bool {
        let f = &mut self.first_read;
        if f.seen {
            return true;
        }
        if now >= f.until || probe().unwrap_or(true) {
            f.seen = true;
            return true;
        }
        f.next_probe = now + FIRST_READ_PROBE;
        false
    }

    /// The `FirstRead` timer: look again whether the program reads its
    /// terminal, while a send waits for that.
    pub fn first_read_at(&self) -> Option<Instant> {
        let f = &self.first_read;
        (!f.seen && !self.pending.is_empty()).then(|| f.next_probe.min(f.until))
    }

    /// What holds a send now (`force`: only the program's start does).
    fn hold_now(&self, now: Instant, force: bool, read: bool) -> Hold {
        if !force && !self.drafts.is_empty() {
            Hold::Draft
        } else if !force && self.typing(now) {
            Hold::Typing
        } else if !read {
            Hold::FirstRead
        } else {
            Hold::None
        }
    }

    fn typing(&self, now: Instant) -> bool {
        self.last_keystroke
            .is_some_and(|t| now < t + self.draft_quiet)
    }

    /// The `HeldSend` timer: the nearest of a sender's timeout and a typing
    /// person's pause, if that may let a send go (no draft holds them all)
    /// and has not been looked at yet.
    pub fn deadline(&self) -> Option<Instant> {
        let quiet_at = (self.last_keystroke)
            .map(|t| t + self.draft_quiet)
            .filter(|&q| self.drafts.is_empty() && self.checked_at.is_none_or(|c| q > c));
        self.pending
            .iter()
            .map(|p| quiet_at.map_or(p.deadline, |q| q.min(p.deadline)))
            .min()
    }

    /// The sends that may go now, in the order they came, for the
    /// supervisor to write: each is answered (Ok, and the output stream if
    /// it asked to watch), remembered and audited here; the sends that
    /// waited as long as they were allowed to are refused here, unless only
    /// the program's start held them (then they go). `offset`: output
    /// bytes so far; `reading`: whether the program waits for terminal
    /// input (asked only while that matters); `veof`: the terminal's EOF
    /// character, asked only if needed.
    #[allow(clippy::too_many_arguments)]
    pub fn take_due(
        &mut self,
        now: Instant,
        clients: &mut Clients,
        screen: &mut Screen,
        events: &mut Events,
        session: &str,
        offset: u64,
        reading: impl FnOnce() -> Option<bool>,
        veof: impl Fn() -> u8,
    ) -> Vec<Delivery> {
        if self.pending.is_empty() {
            return Vec::new();
        }
        self.checked_at = Some(now);
        let read = self.first_read(now, reading);
        let mut out = Vec::new();
        for p in std::mem::take(&mut self.pending) {
            let hold = self.hold_now(now, p.req.force, read);
            let expired = now >= p.deadline;
            if hold != Hold::None && !expired {
                self.pending.push_back(p);
                continue;
            }
            // A sender that is gone gets nothing, and nothing is written.
            let Some(i) = clients.live(p.client) else {
                continue;
            };
            if matches!(hold, Hold::None | Hold::FirstRead) {
                let bytes = p.bytes(screen, &veof, self.pipe);
                let keys = Keys::scan(&bytes);
                if keys.line_end || p.req.interrupt {
                    // A forced send ended or dropped the line being typed.
                    self.clear_drafts(events);
                }
                let (interrupt, eof) = (p.req.interrupt, self.pipe && p.req.eof);
                let c = &mut clients[i];
                self.delivered(p.req, &bytes, offset, c, events);
                out.push(Delivery {
                    client: i,
                    interrupt,
                    bytes,
                    eof,
                });
                continue;
            }
            let (why, msg) = self.refusal(hold, session, clients);
            let c = &mut clients[i];
            events.emit(
                "input",
                json!({"uid": c.uid, "pid": c.pid, "as": p.req.label, "id": p.req.id, "delivered": false, "reason": why}),
            );
            c.send_json(
                Kind::Error,
                &proto::ErrorMsg {
                    message: msg,
                    code: Some(proto::ErrorMsg::TIMEOUT.into()),
                },
            );
            c.close();
            clients.flush(i, screen);
        }
        out
    }

    /// Why a send that waited its whole timeout was not delivered: the
    /// audit's reason and the sender's message.
    fn refusal(&self, hold: Hold, session: &str, clients: &Clients) -> (&'static str, String) {
        if hold == Hold::Typing {
            return (
                "a person was typing",
                format!(
                    "someone attached to {session} is typing (no pause of {}); not sent (use --force to send anyway)",
                    humantime::format_duration(self.draft_quiet)
                ),
            );
        }
        let mut msg = format!(
            "a person attached to {session} has an unfinished line; not sent (use --force to send anyway)"
        );
        let left: Vec<String> = (self.drafts.iter())
            .filter(|d| clients.live(d.client).is_none())
            .map(|d| format!("client {}", d.client))
            .collect();
        if !left.is_empty() {
            msg.push_str(&format!(
                "; {} detached leaving it in the program's input line",
                left.join(", ")
            ));
        }
        ("a person has an unfinished line", msg)
    }

    /// A send goes to the program as `bytes` at output offset `offset`:
    /// answer its sender (who may now watch the output), remember its id,
    /// audit it.
    fn delivered(
        &mut self,
        req: proto::SendReq,
        bytes: &[u8],
        offset: u64,
        c: &mut Client,
        events: &mut Events,
    ) {
        if let Some(w) = req.wait_idle_ms {
            c.start_watch(Watch::after_input(proto::millis(w)));
        } else if req.wait_command {
            c.start_watch(Watch::new(None, Instant::now()));
        }
        c.send_json(
            Kind::Ok,
            &proto::SendResult {
                duplicate: false,
                bytes: bytes.len(),
                offset,
                input_lines: line_ends(bytes),
                input_text: first_line_has_text(bytes),
            },
        );
        events.emit(
            "input",
            json!({"uid": c.uid, "pid": c.pid, "as": req.label, "bytes": bytes.len(), "id": req.id,
                   "keys": req.keys.len(), "submit": req.submit, "paste": req.paste,
                   "interrupt": req.interrupt, "eof": req.eof, "forced": req.force}),
        );
        if let Some(id) = req.id
            && self.delivered.insert(id.clone())
        {
            self.delivered_order.push_back(id);
            if self.delivered_order.len() > DELIVERED_IDS
                && let Some(old) = self.delivered_order.pop_front()
            {
                self.delivered.remove(&old);
            }
        }
    }
}

impl Pending {
    /// The bytes for the program: the text (in bracketed-paste markers if
    /// asked and the program enabled them), the keys for its cursor mode,
    /// Enter, then its EOF character (`veof`, asked only if needed). On a
    /// pipe (`pipe`), Enter is LF and EOF is no byte: the pipe is closed.
    fn bytes(&self, screen: &Screen, veof: impl Fn() -> u8, pipe: bool) -> Vec<u8> {
        let req = &self.req;
        let mut bytes = Vec::new();
        if req.paste && screen.bracketed_paste() {
            bytes.extend_from_slice(b"\x1b[200~");
            bytes.extend_from_slice(&self.text);
            bytes.extend_from_slice(b"\x1b[201~");
        } else {
            bytes.extend_from_slice(&self.text);
        }
        bytes.extend(crate::keys::encode_all(
            &req.keys,
            screen.application_cursor(),
        ));
        if req.submit {
            bytes.push(if pipe { b'\n' } else { b'\r' });
        }
        if req.eof && !pipe {
            bytes.push(veof());
        }
        bytes
    }
}

/// Line ends in input for the program: CR, LF, or CR LF counted once. The
/// echo of such input ends with as many LFs (`client::watch::Answer`).
pub fn line_ends(input: &[u8]) -> u32 {
    let mut n = 0;
    let mut after_cr = false;
    for &b in input {
        if b == b'\r' || (b == b'\n' && !after_cr) {
            n += 1;
        }
        after_cr = b == b'\r';
    }
    n
}

/// Whether the input's first line has something before its line end (see
/// [`proto::WatchInfo::input_text`]).
pub fn first_line_has_text(input: &[u8]) -> bool {
    input
        .iter()
        .take_while(|&&b| b != b'\r' && b != b'\n')
        .next()
        .is_some()
}

/// What a batch of keystrokes does to the line being typed.
#[derive(Debug, Default, PartialEq, Eq)]
struct Keys {
    /// A key other than a terminal report (focus, mouse, answers to
    /// queries, bracketed-paste markers).
    typed: bool,
    /// An Enter, Ctrl-C, Ctrl-U or Ctrl-D (outside a bracketed paste).
    line_end: bool,
    /// Something was typed after the last line end: a draft.
    open_after: bool,
}

impl Keys {
    fn scan(data: &[u8]) -> Keys {
        fn text(k: &mut Keys) {
            k.typed = true;
            k.open_after = true;
        }
        let mut k = Keys::default();
        let mut paste = false;
        let mut i = 0;
        while i < data.len() {
            let b = data[i];
            if b != 0x1b {
                i += 1;
                if !paste && matches!(b, b'\r' | b'\n' | 0x03 | 0x04 | 0x15) {
                    k.typed = true;
                    k.line_end = true;
                    k.open_after = false;
                } else {
                    text(&mut k);
                }
                continue;
            }
            match data.get(i + 1) {
                Some(b'[') => {
                    // CSI: parameters and intermediates, then a final byte.
                    let mut j = i + 2;
                    while j < data.len() && (0x20..=0x3f).contains(&data[j]) {
                        j += 1;
                    }
                    let Some(&fin) = data.get(j) else {
                        text(&mut k);
                        break;
                    };
                    let params = &data[i + 2..j];
                    let mut end = j + 1;
                    match (params, fin) {
                        (b"200", b'~') => paste = true,
                        (b"201", b'~') => paste = false,
                        // Focus in and out.
                        (b"", b'I' | b'O') => {}
                        // X10 mouse: three bytes follow.
                        (b"", b'M') => end = (j + 4).min(data.len()),
                        // SGR mouse; cursor position and device attribute
                        // reports.
                        (p, b'M' | b'm') if p.starts_with(b"<") => {}
                        (_, b'R') => {}
                        (p, b'c') if p.starts_with(b"?") || p.starts_with(b">") => {}
                        _ => text(&mut k),
                    }
                    i = end;
                }
                Some(b']' | b'P') => {
                    // OSC and DCS reports (colours, versions): until BEL or ST.
                    let mut j = i + 2;
                    while j < data.len() && data[j] != 0x07 && data[j..].get(..2) != Some(b"\x1b\\")
                    {
                        j += 1;
                    }
                    i = if data.get(j) == Some(&0x07) {
                        j + 1
                    } else {
                        j + 2
                    };
                }
                // Escape alone, Alt-x, SS3 keys (F1, application cursor).
                Some(b'O') => {
                    text(&mut k);
                    i += 3;
                }
                Some(_) => {
                    text(&mut k);
                    i += 2;
                }
                None => {
                    text(&mut k);
                    i += 1;
                }
            }
        }
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(typed: bool, line_end: bool, open_after: bool) -> Keys {
        Keys {
            typed,
            line_end,
            open_after,
        }
    }

    #[test]
    fn keystrokes_open_and_end_the_line_being_typed() {
        assert_eq!(Keys::scan(b"print('human"), keys(true, false, true));
        assert_eq!(Keys::scan(b"ls\r"), keys(true, true, false));
        assert_eq!(Keys::scan(b"\x15"), keys(true, true, false), "Ctrl-U");
        assert_eq!(Keys::scan(b"\x03"), keys(true, true, false), "Ctrl-C");
        assert_eq!(Keys::scan(b"\x04"), keys(true, true, false), "Ctrl-D");
        assert_eq!(Keys::scan(b"a\rb"), keys(true, true, true));
        assert_eq!(Keys::scan(b"\x1b[A"), keys(true, false, true), "Up");
        assert_eq!(Keys::scan(b"\x1bOA"), keys(true, false, true), "Up (app)");
        assert_eq!(Keys::scan(b"\x1b"), keys(true, false, true), "Escape");
        // A paste's line breaks do not submit it.
        assert_eq!(
            Keys::scan(b"\x1b[200~a\nb\n\x1b[201~"),
            keys(true, false, true)
        );
    }

    #[test]
    fn terminal_reports_are_not_typing() {
        for report in [
            &b"\x1b[I"[..],
            b"\x1b[O",
            b"\x1b[M !!",
            b"\x1b[<0;10;5M\x1b[<0;10;5m",
            b"\x1b[12;40R",
            b"\x1b[?62;22c",
            b"\x1b[>84;0;0c",
            b"\x1b]11;rgb:0000/0000/0000\x07",
            b"\x1b]10;rgb:ffff/ffff/ffff\x1b\\",
            b"\x1bP>|xterm(390)\x1b\\",
        ] {
            assert_eq!(Keys::scan(report), Keys::default(), "{report:?}");
        }
        assert_eq!(Keys::scan(b"\x1b[Ix"), keys(true, false, true));
    }

    #[test]
    fn on_a_pipe_enter_is_lf_and_eof_is_no_byte() {
        let p = Pending {
            client: 1,
            req: proto::SendReq {
                submit: true,
                eof: true,
                keys: vec!["Tab".into()],
                ..Default::default()
            },
            text: b"hi".to_vec(),
            deadline: Instant::now(),
        };
        let screen = Screen::new(80, 24);
        assert_eq!(p.bytes(&screen, || 4, false), b"hi\t\r\x04");
        assert_eq!(
            p.bytes(&screen, || panic!("no terminal to ask"), true),
            b"hi\t\n"
        );
    }

    #[test]
    fn line_ends_count_crlf_once() {
        assert_eq!(line_ends(b"x = 1"), 0);
        assert_eq!(line_ends(b"x = 1\r"), 1);
        assert_eq!(line_ends(b"a\r\nb\nc\r"), 3);
        assert_eq!(line_ends(b"\n\n"), 2);
        assert_eq!(line_ends(b"\r\r"), 2);
    }
}
