//! What a client may ask, by its role: a Hello first (the protocol version
//! checked), then Input, Resize and Tty from a terminal, Detach, Send and Watch
//! from a control connection, Stop and Capture from either. A frame that
//! breaks these rules, or whose JSON is malformed, is refused here (an
//! Error frame, then the connection closes); the supervisor gets the rest
//! as a [`Request`].

use std::time::Duration;

use nix::sys::signal::Signal;
use serde::de::DeserializeOwned;

use super::clients::Client;
use crate::proto::{self, Kind, ProtoError, Role, Size};

pub enum Request {
    Hello(proto::Hello),
    /// A terminal passes itself (the descriptor came with the frame).
    Tty(proto::TtyOffer),
    /// A terminal's keystrokes (a read-only terminal's never get here).
    Input(Vec<u8>),
    Resize(Size),
    Stop {
        signal: Signal,
        grace: Duration,
    },
    Detach,
    /// A Send frame's payload, for `Ingress::offer`.
    Send(Vec<u8>),
    Watch {
        idle: Option<Duration>,
        /// Standard error too (pipe mode).
        stderr: bool,
    },
    Capture {
        ansi: bool,
        join: bool,
    },
}

/// The next request `c` has sent. `Ok(None)`: nothing more for now, or `c`
/// is closing. `Err`: the frame stream itself is broken (`c` is dead then).
pub fn next(c: &mut Client) -> Result<Option<Request>, ProtoError> {
    while c.is_open() {
        let Some((kind, payload)) = c.next_frame()? else {
            break;
        };
        if let Some(r) = request(c, kind, payload) {
            return Ok(Some(r));
        }
    }
    Ok(None)
}

fn request(c: &mut Client, kind: Kind, payload: Vec<u8>) -> Option<Request> {
    let Some(role) = c.role() else {
        if kind != Kind::Hello {
            c.refuse("expected a Hello frame first");
            return None;
        }
        return hello(c, &payload).map(Request::Hello);
    };
    Some(match (kind, role) {
        (Kind::Input, Role::Attach) => {
            if c.terminal().is_none_or(|t| t.read_only) {
                return None;
            }
            Request::Input(payload)
        }
        (Kind::Resize, Role::Attach) => Request::Resize(parse(c, kind, &payload)?),
        (Kind::Tty, Role::Attach) => Request::Tty(parse(c, kind, &payload)?),
        (Kind::Stop, _) => {
            let req: proto::StopReq = parse(c, kind, &payload)?;
            Request::Stop {
                signal: Signal::try_from(req.signal).unwrap_or(Signal::SIGTERM),
                grace: proto::millis(req.grace_ms),
            }
        }
        (Kind::Detach, Role::Control) => Request::Detach,
        (Kind::Send, Role::Control) => Request::Send(payload),
        (Kind::Watch, Role::Control) => {
            let req: proto::WatchReq = parse(c, kind, &payload)?;
            Request::Watch {
                idle: req.idle_ms.map(proto::millis),
                stderr: req.stderr,
            }
        }
        (Kind::Capture, _) => {
            let req: proto::CaptureReq = parse(c, kind, &payload)?;
            Request::Capture {
                ansi: req.ansi,
                join: req.join,
            }
        }
        _ => {
            c.refuse(&format!("unexpected {kind:?} frame"));
            return None;
        }
    })
}

/// A Hello frame's payload, if it speaks our protocol version.
pub fn hello(c: &mut Client, payload: &[u8]) -> Option<proto::Hello> {
    let hello: proto::Hello = parse(c, Kind::Hello, payload)?;
    if hello.version != proto::VERSION {
        c.refuse(&format!(
            "this session's supervisor speaks protocol {}, the client {}; use the codex-session that started it",
            proto::VERSION,
            hello.version
        ));
        return None;
    }
    Some(hello)
}

/// A request's JSON; a client that sent a malformed one is refused.
fn parse<T: DeserializeOwned>(c: &mut Client, kind: Kind, payload: &[u8]) -> Option<T> {
    proto::parse_json(kind, payload)
        .map_err(|e| c.refuse(&e.to_string()))
        .ok()
}
