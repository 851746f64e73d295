//! The CLI's side of a session socket: connect, say Hello, check the answer.

use std::io;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::error::{Error, Result, describe_io};
use crate::proto::{self, Kind, Role};
use crate::store::{SOCK, Session};
use crate::sys;

pub struct Conn {
    pub stream: UnixStream,
}

impl Conn {
    /// Connect to a running session and complete the handshake.
    pub fn open(
        s: &Session,
        role: Role,
        size: Option<proto::Size>,
        read_only: bool,
    ) -> Result<Conn> {
        let path = s.path(SOCK);
        let mut stream = sys::connect_in(&s.dir, SOCK).map_err(|e| {
            let e = Error::io(&format!("connecting to session {}:", s.name), &path, e);
            if !s.is_running() {
                e.hint(format!("session {} is {}", s.name, s.status()))
            } else {
                e
            }
        })?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| io_err(s, e))?;
        let hello = proto::Hello {
            version: proto::VERSION,
            role,
            read_only,
            size,
        };
        proto::write_json(&mut stream, Kind::Hello, &hello).map_err(|e| io_err(s, e))?;
        let (kind, payload) = proto::read_frame(&mut stream).map_err(|e| io_err(s, e))?;
        let _welcome: proto::Welcome = match kind {
            Kind::Welcome => proto::parse_json(kind, &payload)
                .map_err(|e| Error::new(format!("session {}: {e}", s.name)))?,
            Kind::Error => return Err(remote_error(s, &payload)),
            Kind::Exit => return Err(Error::new(format!("session {} has ended", s.name))),
            other => {
                return Err(Error::new(format!(
                    "session {}: the supervisor answered {other:?} to Hello",
                    s.name
                )));
            }
        };
        stream.set_read_timeout(None).map_err(|e| io_err(s, e))?;
        Ok(Conn { stream })
    }
}

pub fn remote_error(s: &Session, payload: &[u8]) -> Error {
    let msg = proto::parse_json::<proto::ErrorMsg>(Kind::Error, payload)
        .map(|m| m.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(payload).into_owned());
    Error::new(format!("session {}: {msg}", s.name))
}

pub fn io_err(s: &Session, e: io::Error) -> Error {
    let why = if matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
    ) {
        "the supervisor closed the connection".to_string()
    } else if matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ) {
        "the supervisor did not answer in time".to_string()
    } else {
        describe_io(&e)
    };
    Error::new(format!("talking to session {}: {why}", s.name))
}
