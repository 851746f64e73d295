//! The CLI's side of a session socket: connect, say Hello, check the answer;
//! then one request and its answer ([`Conn::request`]), or a stream of
//! frames read one at a time.

use std::io;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result, describe_io};
use crate::proto::{self, Kind, Role};
use crate::store::{SOCK, Session};
use crate::sys;

/// How long the supervisor may take to welcome a client.
const HANDSHAKE: Duration = Duration::from_secs(10);

pub struct Conn {
    /// The socket: the client modules read frames from it directly.
    pub(crate) stream: UnixStream,
    /// The session's name, which every error names.
    name: String,
}

/// This client's SSH agent socket, absolute, for a session's agent link
/// to follow when attaching.
fn ssh_auth_sock() -> Option<String> {
    let v = std::env::var_os("SSH_AUTH_SOCK").filter(|v| !v.is_empty())?;
    let p = std::path::absolute(v).ok()?;
    p.into_os_string().into_string().ok()
}

impl Conn {
    /// Connect to a running session and complete the handshake.
    pub fn open(
        s: &Session,
        role: Role,
        size: Option<proto::Size>,
        read_only: bool,
    ) -> Result<Conn> {
        Conn::open_within(s, role, size, read_only, HANDSHAKE)
    }

    /// The same, the supervisor's Welcome awaited for `limit` at most.
    pub fn open_within(
        s: &Session,
        role: Role,
        size: Option<proto::Size>,
        read_only: bool,
        limit: Duration,
    ) -> Result<Conn> {
        let hello = proto::Hello {
            version: proto::VERSION,
            role,
            read_only,
            size,
            tty: false,
            ssh_auth_sock: (role == Role::Attach).then(ssh_auth_sock).flatten(),
        };
        Ok(Conn::open_with(s, &hello, limit)?.0)
    }

    /// As a terminal client, offering to pass the terminal (`tty`). True
    /// with the connection when the supervisor takes it (Kind::Tty).
    pub fn open_terminal(
        s: &Session,
        size: Option<proto::Size>,
        read_only: bool,
        tty: bool,
    ) -> Result<(Conn, bool)> {
        let hello = proto::Hello {
            version: proto::VERSION,
            role: Role::Attach,
            read_only,
            size,
            tty,
            ssh_auth_sock: ssh_auth_sock(),
        };
        let (c, welcome) = Conn::open_with(s, &hello, HANDSHAKE)?;
        Ok((c, tty && welcome.tty))
    }

    fn open_with(
        s: &Session,
        hello: &proto::Hello,
        limit: Duration,
    ) -> Result<(Conn, proto::Welcome)> {
        let path = s.path(SOCK);
        let stream = sys::connect_in(&s.dir, SOCK).map_err(|e| {
            let e = Error::io(&format!("connecting to session {}:", s.name), &path, e);
            if !s.is_running() {
                e.hint(format!("session {} is {}", s.name, s.status()))
            } else {
                e
            }
        })?;
        let mut c = Conn {
            stream,
            name: s.name.clone(),
        };
        c.set_timeout(Some(limit.max(Duration::from_millis(1))))?;
        let welcome = c.request(Kind::Hello, &proto::json(hello))?;
        let welcome: proto::Welcome = c.parse(Kind::Welcome, &welcome)?;
        c.set_timeout(None)?;
        Ok((c, welcome))
    }

    /// Send one request and read until its answer ([`Kind::answer`]): the
    /// answer's payload, after the payloads of any Screen frames before it
    /// (a capture's screen comes in pieces, then an empty Ok). An Error
    /// frame is the supervisor's refusal; Exit means the session ended.
    pub fn request(&mut self, kind: Kind, msg: &[u8]) -> Result<Vec<u8>> {
        let answer = kind.answer().expect("a request kind");
        self.write(kind, msg)?;
        let mut got = Vec::new();
        loop {
            match self.read()? {
                (k, p) if k == answer => {
                    got.extend_from_slice(&p);
                    return Ok(got);
                }
                (Kind::Screen, p) => got.extend_from_slice(&p),
                (Kind::Error, p) => return Err(self.remote_error(&p)),
                (Kind::Exit, _) => {
                    return Err(Error::new(format!("session {} has ended", self.name)));
                }
                _ => {}
            }
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Write one frame.
    pub fn write(&mut self, kind: Kind, payload: &[u8]) -> Result<()> {
        proto::write_frame(&mut self.stream, kind, payload).map_err(|e| self.io_err(e))
    }

    /// Read one frame (blocking, up to the read timeout).
    pub fn read(&mut self) -> Result<(Kind, Vec<u8>)> {
        proto::read_frame(&mut self.stream).map_err(|e| self.io_err(e))
    }

    /// How long a read may wait (None: for ever).
    pub fn set_timeout(&self, t: Option<Duration>) -> Result<()> {
        self.stream.set_read_timeout(t).map_err(|e| self.io_err(e))
    }

    /// A JSON payload, or an error naming the session.
    pub fn parse<T: for<'a> Deserialize<'a>>(&self, kind: Kind, payload: &[u8]) -> Result<T> {
        proto::parse_json(kind, payload).map_err(|e| self.bad(e))
    }

    /// A protocol error (a malformed frame), naming the session.
    pub fn bad(&self, e: impl std::fmt::Display) -> Error {
        Error::new(format!("session {}: {e}", self.name))
    }

    /// The supervisor's Error frame, as an error naming the session (exit
    /// 124 when the request gave up waiting).
    pub fn remote_error(&self, payload: &[u8]) -> Error {
        match proto::parse_json::<proto::ErrorMsg>(Kind::Error, payload) {
            Ok(m) if m.code.as_deref() == Some(proto::ErrorMsg::TIMEOUT) => {
                Error::new(m.message).with_code(124)
            }
            Ok(m) => self.bad(m.message),
            Err(_) => self.bad(String::from_utf8_lossy(payload)),
        }
    }

    /// A failure on the socket, naming the session. A hang-up (EOF, EPIPE,
    /// a reset) is the supervisor closing the connection: an error, never
    /// the quiet end a closed standard output is.
    pub fn io_err(&self, e: io::Error) -> Error {
        let why = match e.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset => "the supervisor closed the connection".to_string(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                "the supervisor did not answer in time".to_string()
            }
            _ => describe_io(&e),
        };
        Error::new(format!("talking to session {}: {why}", self.name))
    }
}
