//! Local ingress: `send` delivered through the supervisor as one unit,
//! never interleaved with a person's keystrokes and held back while someone
//! attached is typing a line (until they pause for `draft_quiet`, or the
//! sender's timeout, unless forced); each send audited with the sender's
//! uid and pid from the socket; repeated ids acknowledged, not delivered.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::json;

use super::{INPUT_LIMIT, Supervisor, clients};
use crate::proto::{self, Kind};

/// A `send` held back while a person types.
pub(super) struct Pending {
    client: u64,
    req: proto::SendReq,
    text: Vec<u8>,
    pub(super) deadline: Instant,
}

impl Supervisor {
    pub(super) fn on_send(&mut self, i: usize, payload: &[u8]) {
        let Some((req, text)) = split_send(payload) else {
            return self.refuse(i, "malformed Send frame");
        };
        let c = &self.clients[i];
        if let Some(id) = req.id.as_ref().filter(|id| self.delivered.contains(*id)) {
            let (uid, pid) = (c.uid, c.pid);
            self.events.emit(
                "input",
                json!({"uid": uid, "pid": pid, "as": req.label, "id": id, "duplicate": true, "delivered": false}),
            );
            self.clients[i].send_json(
                Kind::Ok,
                &proto::SendResult {
                    duplicate: true,
                    bytes: 0,
                },
            );
            return;
        }
        if self.child.is_none() {
            return self.refuse(i, "the program has ended");
        }
        if self.pty_in.len() + text.len() > INPUT_LIMIT {
            return self.refuse(
                i,
                &format!(
                    "not delivered: the program is not reading its input ({} already waiting)",
                    crate::fmt::size(self.pty_in.len() as u64)
                ),
            );
        }
        let deadline = Instant::now() + Duration::from_millis(req.timeout_ms);
        self.pending.push_back(Pending {
            client: c.id,
            req,
            text: text.to_vec(),
            deadline,
        });
        self.try_sends();
    }

    /// A person's keystrokes: note whether a line is being typed.
    pub(super) fn keystrokes(&mut self, data: &[u8]) {
        self.last_keystroke = Some(Instant::now());
        for &b in data {
            // Enter, Ctrl-C, Ctrl-D, Ctrl-U end or drop the line being typed.
            self.draft = !matches!(b, b'\r' | b'\n' | 0x03 | 0x04 | 0x15);
        }
    }

    /// Deliver the sends that may go now; fail those that waited too long.
    pub(super) fn try_sends(&mut self) {
        let now = Instant::now();
        let typing = self.draft
            && self
                .last_keystroke
                .is_some_and(|t| now < t + self.draft_quiet);
        let mut keep = VecDeque::new();
        while let Some(p) = self.pending.pop_front() {
            let Some(i) = self
                .clients
                .iter()
                .position(|c| c.id == p.client && !c.dead)
            else {
                continue;
            };
            if !typing || p.req.force {
                self.deliver(i, p.req, &p.text);
            } else if now >= p.deadline {
                let (uid, pid) = (self.clients[i].uid, self.clients[i].pid);
                self.events.emit(
                    "input",
                    json!({"uid": uid, "pid": pid, "as": p.req.label, "id": p.req.id, "delivered": false, "reason": "a person was typing"}),
                );
                self.refuse(
                    i,
                    &format!(
                        "not delivered: someone attached to {} is typing a line (no pause of {} in {}); use --force to send anyway",
                        self.meta.name,
                        humantime::format_duration(self.draft_quiet),
                        humantime::format_duration(Duration::from_millis(p.req.timeout_ms))
                    ),
                );
                self.flush_client(i);
            } else {
                keep.push_back(p);
            }
        }
        self.pending = keep;
    }

    /// Write one send to the program as one unit, and record it.
    fn deliver(&mut self, i: usize, req: proto::SendReq, text: &[u8]) {
        let mut bytes = Vec::new();
        if req.interrupt {
            let pgrp = self
                .master
                .as_ref()
                .and_then(|m| rustix::termios::tcgetpgrp(m).ok())
                .map_or(self.pgid, |p| Pid::from_raw(p.as_raw_nonzero().get()));
            let _ = killpg(pgrp, Signal::SIGINT);
        }
        if req.paste && self.screen.bracketed_paste() {
            bytes.extend_from_slice(b"\x1b[200~");
            bytes.extend_from_slice(text);
            bytes.extend_from_slice(b"\x1b[201~");
        } else {
            bytes.extend_from_slice(text);
        }
        bytes.extend(crate::keys::encode_all(
            &req.keys,
            self.screen.application_cursor(),
        ));
        if req.submit {
            bytes.push(b'\r');
        }
        if req.eof {
            let eof = self
                .master
                .as_ref()
                .and_then(|m| rustix::termios::tcgetattr(m).ok())
                .map_or(4, |t| {
                    t.special_codes[rustix::termios::SpecialCodeIndex::VEOF]
                });
            bytes.push(eof);
        }
        let c = &mut self.clients[i];
        if let Some(w) = req.wait_idle_ms {
            c.watch = Some(clients::Watch {
                idle: Some(Duration::from_millis(w)),
                armed_at: None,
            });
        }
        let (uid, pid) = (c.uid, c.pid);
        c.send_json(
            Kind::Ok,
            &proto::SendResult {
                duplicate: false,
                bytes: bytes.len(),
            },
        );
        self.input_offset = self.meta.output_bytes;
        self.write_pty(&bytes);
        if let Some(id) = &req.id {
            self.delivered.insert(id.clone());
        }
        self.events.emit(
            "input",
            json!({"uid": uid, "pid": pid, "as": req.label, "bytes": bytes.len(), "id": req.id,
                   "keys": req.keys.len(), "submit": req.submit, "paste": req.paste,
                   "interrupt": req.interrupt, "eof": req.eof, "forced": req.force}),
        );
        self.flush_client(i);
    }
}

/// A Send frame's JSON header and raw text.
fn split_send(payload: &[u8]) -> Option<(proto::SendReq, &[u8])> {
    let n = u32::from_le_bytes(payload.get(..4)?.try_into().ok()?) as usize;
    let json = payload.get(4..4 + n)?;
    let req = serde_json::from_slice(json).ok()?;
    Some((req, &payload[4 + n..]))
}
