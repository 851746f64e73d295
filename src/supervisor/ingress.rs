//! Local ingress: `send` delivered through the supervisor as one unit,
//! never interleaved with a person's keystrokes and held back while someone
//! attached is typing a line (until they pause for `draft_quiet`, or the
//! sender's timeout, unless forced); each send audited with the sender's
//! uid and pid from the socket; repeated ids acknowledged, not delivered.
//!
//! [`Ingress`] owns the sends held back, the ids delivered and what it
//! knows of a person's typing; the supervisor writes what it hands over.

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

pub struct Ingress {
    /// Sends waiting for a typing person to pause, oldest first.
    pending: VecDeque<Pending>,
    /// `send` ids already delivered: the last [`DELIVERED_IDS`], and the
    /// order they came in (to forget the oldest).
    delivered: HashSet<String>,
    delivered_order: VecDeque<String>,
    /// A person has typed since their last Enter...
    draft: bool,
    /// ...and this is when they last typed.
    last_keystroke: Option<Instant>,
    draft_quiet: Duration,
}

/// A `send` held back while a person types.
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
}

impl Ingress {
    pub fn new(draft_quiet: Duration) -> Ingress {
        Ingress {
            pending: VecDeque::new(),
            delivered: HashSet::new(),
            delivered_order: VecDeque::new(),
            draft: false,
            last_keystroke: None,
            draft_quiet,
        }
    }

    /// A Send frame from `c`: held for [`Ingress::take_due`] (true), or
    /// answered here (a repeated id) or refused. `running`: the program has
    /// not ended; `waiting`: input bytes the PTY has not taken yet.
    pub fn offer(
        &mut self,
        c: &mut Client,
        payload: &[u8],
        events: &mut Events,
        running: bool,
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
        running: bool,
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
                    bytes: 0,
                },
            );
            return Ok(false);
        }
        if req.id.as_ref().is_some_and(|id| id.len() > MAX_ID) {
            return Err(format!("not delivered: an id is at most {MAX_ID} bytes"));
        }
        if !running {
            return Err("the program has ended".into());
        }
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

    /// A person's keystrokes: note whether a line is being typed.
    pub fn keystrokes(&mut self, data: &[u8]) {
        self.last_keystroke = Some(Instant::now());
        for &b in data {
            // Enter, Ctrl-C, Ctrl-D, Ctrl-U end or drop the line being typed.
            self.draft = !matches!(b, b'\r' | b'\n' | 0x03 | 0x04 | 0x15);
        }
    }

    /// The held-back sends' timer: the nearest of the typing person's pause
    /// and a sender's timeout.
    pub fn deadline(&self) -> Option<Instant> {
        let quiet_at = self.last_keystroke.map(|t| t + self.draft_quiet);
        self.pending
            .iter()
            .map(|p| quiet_at.map_or(p.deadline, |q| q.min(p.deadline)))
            .min()
    }

    /// The sends that may go now, in the order they came, for the
    /// supervisor to write: each is answered (Ok, and the output stream if
    /// it asked to watch), remembered and audited here; the sends that
    /// waited too long for a typing person to pause are refused here.
    /// `veof`: the terminal's EOF character, asked only if needed.
    pub fn take_due(
        &mut self,
        now: Instant,
        clients: &mut Clients,
        screen: &mut Screen,
        events: &mut Events,
        session: &str,
        veof: impl Fn() -> u8,
    ) -> Vec<Delivery> {
        let typing = self.draft
            && self
                .last_keystroke
                .is_some_and(|t| now < t + self.draft_quiet);
        let mut out = Vec::new();
        for p in std::mem::take(&mut self.pending) {
            let go = !typing || p.req.force;
            if !go && now < p.deadline {
                self.pending.push_back(p);
                continue;
            }
            // A sender that is gone gets nothing, and nothing is written.
            let Some(i) = clients.live(p.client) else {
                continue;
            };
            let c = &mut clients[i];
            if go {
                let bytes = p.bytes(screen, &veof);
                let interrupt = p.req.interrupt;
                self.delivered(p.req, bytes.len(), c, events);
                out.push(Delivery {
                    client: i,
                    interrupt,
                    bytes,
                });
            } else {
                events.emit(
                    "input",
                    json!({"uid": c.uid, "pid": c.pid, "as": p.req.label, "id": p.req.id, "delivered": false, "reason": "a person was typing"}),
                );
                c.refuse(&format!(
                    "not delivered: someone attached to {} is typing a line (no pause of {} in {}); use --force to send anyway",
                    session,
                    humantime::format_duration(self.draft_quiet),
                    humantime::format_duration(Duration::from_millis(p.req.timeout_ms))
                ));
                clients.flush(i, screen);
            }
        }
        out
    }

    /// A send goes to the program as `bytes`: answer its sender (who may
    /// now watch the output), remember its id, audit it.
    fn delivered(
        &mut self,
        req: proto::SendReq,
        bytes: usize,
        c: &mut Client,
        events: &mut Events,
    ) {
        if let Some(w) = req.wait_idle_ms {
            c.start_watch(Watch::after_input(proto::millis(w)));
        }
        c.send_json(
            Kind::Ok,
            &proto::SendResult {
                duplicate: false,
                bytes,
            },
        );
        events.emit(
            "input",
            json!({"uid": c.uid, "pid": c.pid, "as": req.label, "bytes": bytes, "id": req.id,
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
    /// Enter, then its EOF character (`veof`, asked only if needed).
    fn bytes(&self, screen: &Screen, veof: impl Fn() -> u8) -> Vec<u8> {
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
            bytes.push(b'\r');
        }
        if req.eof {
            bytes.push(veof());
        }
        bytes
    }
}
