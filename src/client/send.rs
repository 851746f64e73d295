//! One `send`: the request, delivered by the supervisor as one unit.

use std::time::Duration;

use super::Conn;
use crate::error::{Error, Result};
use crate::proto::{self, Kind, Role};
use crate::store::Session;

/// Deliver one send; the answer, and the connection (which streams the
/// output next when `wait_idle_ms` asked for it).
pub fn send(s: &Session, req: &proto::SendReq, text: &[u8]) -> Result<(proto::SendResult, Conn)> {
    let payload = proto::encode_send(req, text);
    if text.len() > proto::MAX_SEND_TEXT || payload.len() > proto::MAX_FRAME {
        return Err(Error::new(format!(
            "input of {} bytes is more than one send can carry ({} bytes)",
            text.len(),
            proto::MAX_SEND_TEXT
        ))
        .hint("split it into several sends"));
    }
    let mut c = Conn::open(s, Role::Control, None, false)?;
    // The supervisor answers once delivered, or when it gave up waiting for
    // a typing person to pause.
    c.set_timeout(Some(
        Duration::from_millis(req.timeout_ms) + Duration::from_secs(10),
    ))?;
    let answer = c.request(Kind::Send, &payload)?;
    let result = c.parse(Kind::Ok, &answer)?;
    Ok((result, c))
}
