//! One `send`: the request, delivered by the supervisor as one unit.

use std::time::{Duration, Instant};

use super::Conn;
use super::watch::{self, Reach};
use crate::error::{Error, Result};
use crate::fmt;
use crate::proto::{self, Kind};
use crate::store::Session;

/// How long after the send's deadline the supervisor's answer (a refusal)
/// may take to arrive.
const ANSWER_GRACE: Duration = Duration::from_secs(2);

/// Deliver one send within `deadline` (counted from the command's start:
/// reaching the supervisor, then its holding the send for a person or the
/// program, all count); the answer, and the connection (which streams the
/// output next when `wait_idle_ms` asked for it). Giving up is the error of
/// `timed_out` (exit 124), as is the supervisor's refusal at the deadline.
pub fn send(
    s: &Session,
    req: &proto::SendReq,
    text: &[u8],
    deadline: Instant,
    timed_out: impl Fn() -> Error,
) -> Result<(proto::SendResult, Conn)> {
    let payload = proto::encode_send(req, text);
    if payload.len() > proto::MAX_FRAME {
        return Err(Error::new(format!(
            "input of {} bytes is more than one send can carry ({})",
            text.len(),
            fmt::size(proto::MAX_FRAME as u64)
        ))
        .hint("split it into several sends"));
    }
    let mut c = match watch::reach(s, Some(deadline), &timed_out)? {
        Reach::Conn(c) => c,
        Reach::Over(over) => {
            return Err(watch::lost(&over).unwrap_or_else(|| {
                Error::new(format!(
                    "session {} is not running ({})",
                    over.name,
                    over.status()
                ))
            }));
        }
    };
    // The supervisor holds the send for what is left of the time, then
    // answers: delivered, or refused.
    let left = deadline.saturating_duration_since(Instant::now());
    let req = proto::SendReq {
        timeout_ms: left.as_millis() as u64,
        ..req.clone()
    };
    let payload = proto::encode_send(&req, text);
    c.set_timeout(Some(left + ANSWER_GRACE))?;
    let answer = c.request(Kind::Send, &payload).map_err(|e| {
        if Instant::now() >= deadline + ANSWER_GRACE {
            let t = timed_out();
            Error::new(format!("{} ({})", t.message(), e.message())).with_code(t.code())
        } else {
            e
        }
    })?;
    let result = c.parse(Kind::Ok, &answer)?;
    Ok((result, c))
}
