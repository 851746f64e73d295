//! The session socket's protocol, in one place.
//!
//! A frame is `u32 little-endian payload length | u8 kind | payload`. The
//! length is checked against [`MAX_FRAME`] before anything is allocated. Data
//! frames ([`Kind::Output`], [`Kind::Input`]) carry raw bytes; control frames
//! carry small JSON objects.
//!
//! Every connection starts with the client's [`Kind::Hello`] carrying
//! [`VERSION`]; the supervisor answers [`Kind::Welcome`] (or
//! [`Kind::Error`] when it cannot speak that version), so a newer CLI meeting
//! an older supervisor says so clearly instead of hanging.
//!
//! A malformed frame closes that connection only.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

use crate::sys;

pub const VERSION: u32 = 1;
/// The most text one `send` carries (1 MiB, inclusive).
pub const MAX_SEND_TEXT: usize = 1 << 20;
/// The largest payload accepted: a whole send's text and room for its
/// request.
pub const MAX_FRAME: usize = MAX_SEND_TEXT + 64 * 1024;
const HEADER: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// client → supervisor, JSON [`Hello`]: first frame of every connection.
    Hello = 1,
    /// supervisor → client, JSON [`Welcome`].
    Welcome = 2,
    /// supervisor → client, JSON [`ErrorMsg`]; the connection closes after it.
    Error = 3,
    /// supervisor → attached client: raw program output.
    Output = 4,
    /// attached client → supervisor: raw keystrokes for the program.
    Input = 5,
    /// client → supervisor, JSON [`Size`]: the client's window size.
    Resize = 6,
    /// client → supervisor, JSON [`StopReq`]: signal the program's group.
    Stop = 7,
    /// either way, empty: detach (client → supervisor: detach every client
    /// of the session; supervisor → client: you are detached).
    Detach = 8,
    /// supervisor → client, JSON [`ExitInfo`]: the program ended.
    Exit = 9,
    /// supervisor → client, empty: the request was carried out (after a
    /// Capture, it ends the Screen frames).
    Ok = 10,
    /// client → supervisor, JSON [`CaptureReq`]: the screen, please.
    Capture = 11,
    /// supervisor → client: a piece of the captured screen.
    Screen = 12,
    /// client → supervisor: `u32 LE length | JSON` [`SendReq`] `| raw
    /// text` ([`encode_send`], [`decode_send`]): input for the program,
    /// delivered as one unit. Answered with Ok carrying JSON [`SendResult`]
    /// (or Error).
    Send = 13,
    /// client → supervisor, JSON [`WatchReq`]: stream me the output from
    /// now on. Answered with [`Kind::Watching`], then Output frames, then
    /// Idle (when asked) or Exit.
    Watch = 14,
    /// supervisor → client, JSON [`WatchInfo`].
    Watching = 15,
    /// supervisor → watcher, empty: the output has been quiet as long as asked.
    Idle = 16,
    /// attached client → supervisor, JSON [`TtyOffer`], sent with the
    /// client's terminal as SCM_RIGHTS (none when passing it failed): read
    /// my keystrokes and write my output there. Only after a Welcome that
    /// says `tty`. Answered with Tty, JSON [`TtyAnswer`].
    Tty = 17,
    /// supervisor → a client whose terminal it writes: raw bytes that undo
    /// the terminal modes the program has set there (alternate screen,
    /// mouse, ...), for the client to write on its way out. Sent again
    /// whenever that changes.
    Modes = 18,
    /// supervisor → watcher that asked for it ([`WatchReq::stderr`]), pipe
    /// mode: raw standard error, as Output carries standard output.
    ErrOutput = 19,
}

impl Kind {
    pub fn from_u8(b: u8) -> Option<Kind> {
        use Kind::*;
        Some(match b {
            1 => Hello,
            2 => Welcome,
            3 => Error,
            4 => Output,
            5 => Input,
            6 => Resize,
            7 => Stop,
            8 => Detach,
            9 => Exit,
            10 => Ok,
            11 => Capture,
            12 => Screen,
            13 => Send,
            14 => Watch,
            15 => Watching,
            16 => Idle,
            17 => Tty,
            18 => Modes,
            19 => ErrOutput,
            _ => return None,
        })
    }

    /// The frame that answers this request: Welcome to Hello, Watching to
    /// Watch, Ok to Send, Capture and Detach (None: not a request that is
    /// answered; a Stop is followed by Exit when the program ends).
    pub fn answer(self) -> Option<Kind> {
        match self {
            Kind::Hello => Some(Kind::Welcome),
            Kind::Watch => Some(Kind::Watching),
            Kind::Tty => Some(Kind::Tty),
            Kind::Send | Kind::Capture | Kind::Detach => Some(Kind::Ok),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Requests (Send, Capture, Watch, Stop, Detach), answered one at a
    /// time; no output unless watching. `send`, `capture`, `wait`, `stop`,
    /// `detach` and `run --wait-idle` connect this way.
    Control,
    /// A terminal client: output streams to it.
    Attach,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Hello {
    pub version: u32,
    pub role: Role,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub size: Option<Size>,
    /// An attaching client's SSH_AUTH_SOCK (absolute), for the session's
    /// agent link to follow (`supervisor/agent.rs`). Older supervisors
    /// ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_auth_sock: Option<String>,
    /// A terminal client that can pass its terminal (Kind::Tty).
    #[serde(default)]
    pub tty: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Welcome {
    pub version: u32,
    pub name: String,
    pub pid: i32,
    /// The supervisor takes a passed terminal: send it (Kind::Tty). An
    /// older supervisor leaves this out; its clients relay.
    #[serde(default)]
    pub tty: bool,
}

/// With a passed terminal: what the supervisor needs to stand in for the
/// client on it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct TtyOffer {
    /// The key that detaches (the supervisor sees the keystrokes now).
    #[serde(default)]
    pub detach_key: Option<u8>,
}

/// Whether the supervisor uses the passed terminal; if not, the client
/// relays as before (Output frames, Input frames).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct TtyAnswer {
    pub direct: bool,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Size {
    pub cols: u16,
    pub rows: u16,
}

impl Size {
    /// The largest window, in either direction: the screen model's memory
    /// grows with cols x rows (about 40 MiB at 1000x1000 with both screens).
    pub const MAX: u16 = 1000;

    /// This size with each side cut to [`Size::MAX`].
    pub fn clamped(self) -> Size {
        Size {
            cols: self.cols.min(Size::MAX),
            rows: self.rows.min(Size::MAX),
        }
    }
}

/// A duration a peer sent in milliseconds, cut to 100 years (a deadline
/// further away would overflow the clock it is added to).
pub fn millis(ms: u64) -> std::time::Duration {
    const MAX_MS: u64 = 100 * 365 * 86400 * 1000;
    std::time::Duration::from_millis(ms.min(MAX_MS))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StopReq {
    pub signal: i32,
    pub grace_ms: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CaptureReq {
    /// Keep colours and attributes as escape sequences.
    #[serde(default)]
    pub ansi: bool,
    /// Join a row the text wrapped from with the next.
    #[serde(default)]
    pub join: bool,
}

/// A `send`: raw text (in the frame after the JSON) plus what to add.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct SendReq {
    /// Named keys (Enter, Up, C-c, ...), encoded by the supervisor for the
    /// program's current modes; words that are not keys are literal text.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Wrap the text in bracketed-paste markers if the program enabled them.
    #[serde(default)]
    pub paste: bool,
    /// Add Enter after everything else.
    #[serde(default)]
    pub submit: bool,
    /// SIGINT to the terminal's foreground process group.
    #[serde(default)]
    pub interrupt: bool,
    /// The terminal's EOF character.
    #[serde(default)]
    pub eof: bool,
    /// Deliver even while a person is typing.
    #[serde(default)]
    pub force: bool,
    /// How long to wait for a typing person to pause.
    #[serde(default)]
    pub timeout_ms: u64,
    /// The sender's own label, recorded in the audit event.
    #[serde(default)]
    pub label: Option<String>,
    /// Delivered at most once per session.
    #[serde(default)]
    pub id: Option<String>,
    /// After delivery, stream the output until it is quiet this long.
    #[serde(default)]
    pub wait_idle_ms: Option<u64>,
    /// After delivery, stream the output (with no quiet clock): the client
    /// waits for the shell's command-end mark (`send --wait-command`).
    #[serde(default)]
    pub wait_command: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SendResult {
    /// The id was delivered before; nothing was written this time.
    pub duplicate: bool,
    pub bytes: usize,
    /// Output bytes when the send was written: with `wait_idle_ms`, the
    /// Output frames that follow continue from here.
    #[serde(default)]
    pub offset: u64,
    /// Line ends in what was written (see [`WatchInfo::input_lines`]).
    #[serde(default)]
    pub input_lines: u32,
    /// See [`WatchInfo::input_text`].
    #[serde(default)]
    pub input_text: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WatchReq {
    /// Send Idle once the output has been quiet this long.
    #[serde(default)]
    pub idle_ms: Option<u64>,
    /// Pipe mode: stream standard error too, as ErrOutput frames.
    #[serde(default)]
    pub stderr: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WatchInfo {
    /// Output bytes so far: Output frames continue from here.
    pub offset: u64,
    /// Output bytes when input (a person's keystrokes or a send) was last
    /// written to the program (0 if never).
    pub input_offset: u64,
    /// Line ends in that input: CR, LF, or CR LF counted once (a send's
    /// Enter counts). The program's answer begins after the first this many
    /// LF bytes it prints from `input_offset` (the echo of the input), or
    /// right at `input_offset` when 0 (`client::watch::Answer`).
    #[serde(default)]
    pub input_lines: u32,
    /// Pipe mode: standard error's bytes so far (ErrOutput frames, when
    /// asked, continue from here).
    #[serde(default)]
    pub stderr_offset: u64,
    /// The input's first line has text before its line end: its echo's
    /// line end comes after some text, so a line end with none before it
    /// ends a line the program had begun before the input came.
    #[serde(default)]
    pub input_text: bool,
}

/// How the program ended: its exit code, or the signal that killed it
/// (`SIGTERM`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExitInfo {
    pub code: Option<i32>,
    pub signal: Option<String>,
}

impl ExitInfo {
    /// The status a shell would report: the code, or 128 + the signal.
    pub fn status(&self) -> u8 {
        match (&self.signal, self.code) {
            (Some(sig), _) => sys::parse_signal(sig).map_or(1, |s| 128u8.wrapping_add(s as u8)),
            (None, Some(c)) => c as u8,
            _ => 1,
        }
    }

    /// "exited with code 3", "killed by SIGTERM", or "ended".
    pub fn describe(&self) -> String {
        match (&self.signal, self.code) {
            (Some(sig), _) => format!("killed by {sig}"),
            (None, Some(c)) => format!("exited with code {c}"),
            _ => "ended".to_string(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorMsg {
    pub message: String,
    /// Why, for a program to act on: [`ErrorMsg::TIMEOUT`] (the request
    /// waited as long as it was allowed to), or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl ErrorMsg {
    /// The request gave up waiting (the client exits 124).
    pub const TIMEOUT: &str = "timeout";

    pub fn new(message: impl Into<String>) -> ErrorMsg {
        ErrorMsg {
            message: message.into(),
            code: None,
        }
    }
}

#[derive(Debug)]
pub enum ProtoError {
    TooLarge(usize),
    UnknownKind(u8),
    BadPayload(Kind, String),
}

impl std::fmt::Display for ProtoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtoError::TooLarge(n) => write!(f, "frame of {n} bytes exceeds {MAX_FRAME}"),
            ProtoError::UnknownKind(k) => write!(f, "unknown frame kind {k}"),
            ProtoError::BadPayload(k, e) => write!(f, "malformed {k:?} frame: {e}"),
        }
    }
}

/// Append one frame to `out`.
pub fn encode(kind: Kind, payload: &[u8], out: &mut Vec<u8>) {
    debug_assert!(payload.len() <= MAX_FRAME);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.push(kind as u8);
    out.extend_from_slice(payload);
}

/// A control frame's JSON payload.
pub fn json<T: Serialize>(msg: &T) -> Vec<u8> {
    serde_json::to_vec(msg).expect("protocol messages serialize")
}

pub fn encode_json<T: Serialize>(kind: Kind, msg: &T, out: &mut Vec<u8>) {
    encode(kind, &json(msg), out);
}

pub fn parse_json<T: for<'a> Deserialize<'a>>(kind: Kind, payload: &[u8]) -> Result<T, ProtoError> {
    serde_json::from_slice(payload).map_err(|e| ProtoError::BadPayload(kind, e.to_string()))
}

/// A Send frame's payload: the JSON request, its length first, then the
/// raw text.
pub fn encode_send(req: &SendReq, text: &[u8]) -> Vec<u8> {
    let json = json(req);
    let mut payload = Vec::with_capacity(4 + json.len() + text.len());
    payload.extend_from_slice(&(json.len() as u32).to_le_bytes());
    payload.extend_from_slice(&json);
    payload.extend_from_slice(text);
    payload
}

/// A Send frame's request and raw text.
pub fn decode_send(payload: &[u8]) -> Result<(SendReq, &[u8]), ProtoError> {
    let bad = |why: &str| ProtoError::BadPayload(Kind::Send, why.to_string());
    let n = payload
        .get(..4)
        .ok_or_else(|| bad("shorter than its length field"))?;
    let n = u32::from_le_bytes(n.try_into().expect("4 bytes")) as usize;
    let rest = &payload[4..];
    let json = rest
        .get(..n)
        .ok_or_else(|| bad("shorter than its request"))?;
    let req = parse_json(Kind::Send, json)?;
    Ok((req, &rest[n..]))
}

/// Incremental decoder for a non-blocking reader: push bytes, pop frames.
#[derive(Default)]
pub struct Decoder {
    buf: Vec<u8>,
    start: usize,
}

impl Decoder {
    pub fn push(&mut self, data: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next whole frame, if one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<(Kind, Vec<u8>)>, ProtoError> {
        let avail = &self.buf[self.start..];
        if avail.len() < HEADER {
            return Ok(None);
        }
        let len = u32::from_le_bytes(avail[..4].try_into().unwrap()) as usize;
        if len > MAX_FRAME {
            return Err(ProtoError::TooLarge(len));
        }
        let kind = Kind::from_u8(avail[4]).ok_or(ProtoError::UnknownKind(avail[4]))?;
        if avail.len() < HEADER + len {
            return Ok(None);
        }
        let payload = avail[HEADER..HEADER + len].to_vec();
        self.start += HEADER + len;
        if self.start > 64 * 1024 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        Ok(Some((kind, payload)))
    }
}

/// Blocking read of one frame (for the CLI side).
pub fn read_frame(r: &mut impl Read) -> io::Result<(Kind, Vec<u8>)> {
    let mut h = [0u8; HEADER];
    r.read_exact(&mut h)?;
    let len = u32::from_le_bytes(h[..4].try_into().unwrap()) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            ProtoError::TooLarge(len).to_string(),
        ));
    }
    let kind = Kind::from_u8(h[4]).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            ProtoError::UnknownKind(h[4]).to_string(),
        )
    })?;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok((kind, payload))
}

/// Blocking write of one frame.
pub fn write_frame(w: &mut impl Write, kind: Kind, payload: &[u8]) -> io::Result<()> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    encode(kind, payload, &mut out);
    w.write_all(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_pieces() {
        let mut wire = Vec::new();
        encode(Kind::Output, b"hello", &mut wire);
        encode_json(
            Kind::Resize,
            &Size {
                cols: 100,
                rows: 40,
            },
            &mut wire,
        );
        let mut d = Decoder::default();
        let mut frames = Vec::new();
        for b in &wire {
            d.push(std::slice::from_ref(b));
            while let Some(f) = d.next_frame().unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames[0], (Kind::Output, b"hello".to_vec()));
        assert_eq!(frames[1].0, Kind::Resize);
        let s: Size = parse_json(Kind::Resize, &frames[1].1).unwrap();
        assert_eq!(
            s,
            Size {
                cols: 100,
                rows: 40
            }
        );
    }

    #[test]
    fn exit_status_as_a_shell_reports_it() {
        let exit = |code, signal: Option<&str>| ExitInfo {
            code,
            signal: signal.map(str::to_string),
        };
        assert_eq!(exit(Some(3), None).status(), 3);
        assert_eq!(exit(Some(3), None).describe(), "exited with code 3");
        assert_eq!(exit(None, Some("SIGTERM")).status(), 143);
        assert_eq!(exit(None, Some("SIGKILL")).describe(), "killed by SIGKILL");
        assert_eq!(exit(None, None).status(), 1);
        assert_eq!(exit(None, None).describe(), "ended");
    }

    #[test]
    fn send_round_trip() {
        let req = SendReq {
            keys: vec!["Enter".into()],
            submit: true,
            id: Some("x1".into()),
            ..SendReq::default()
        };
        let payload = encode_send(&req, b"echo hi\n");
        let (back, text) = decode_send(&payload).unwrap();
        assert_eq!(text, b"echo hi\n");
        assert_eq!(back.keys, ["Enter"]);
        assert!(back.submit && !back.paste);
        assert_eq!(back.id.as_deref(), Some("x1"));
        let payload = encode_send(&req, b"");
        assert!(decode_send(&payload).unwrap().1.is_empty());
    }

    #[test]
    fn send_rejects_malformed() {
        assert!(decode_send(b"").is_err());
        assert!(decode_send(&[9, 0, 0]).is_err());
        // The length points past the end.
        assert!(decode_send(&[200, 0, 0, 0, b'{', b'}']).is_err());
        // Not a request.
        assert!(decode_send(&[3, 0, 0, 0, b'"', b'x', b'"']).is_err());
        // An empty request object is a default one.
        let (req, text) = decode_send(&[2, 0, 0, 0, b'{', b'}', b'x']).unwrap();
        assert!(!req.submit);
        assert_eq!(text, b"x");
    }

    #[test]
    fn rejects_oversized_and_unknown() {
        let mut d = Decoder::default();
        d.push(&(u32::MAX).to_le_bytes());
        d.push(&[4]);
        assert!(matches!(d.next_frame(), Err(ProtoError::TooLarge(_))));
        let mut d = Decoder::default();
        d.push(&[0, 0, 0, 0, 200]);
        assert!(matches!(d.next_frame(), Err(ProtoError::UnknownKind(200))));
    }
}
