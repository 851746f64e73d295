//! The plain types the backend speaks in.

use std::path::PathBuf;
use std::time::Duration;

use crate::client::{Conn, watch};
use crate::error::Error;
use crate::store::{Session, Store};

/// The plain-text renderer `logs` uses: escape sequences dropped, carriage
/// returns and erases resolved as a terminal shows each line in the end.
pub type Plain = crate::logs::Plain;

/// The one rule for where a program's answer to an input begins (after the
/// echo of the input), the one `send --since-input` and `wait` use.
pub type InputAnswer = watch::Answer;

/// A failure, as one sentence for the agent: what failed, why, what to do.
#[derive(Debug, Clone)]
pub struct Fail {
    pub message: String,
    /// The input was refused because a person attached is typing a line.
    pub draft: bool,
}

impl Fail {
    pub fn new(message: impl Into<String>) -> Fail {
        Fail {
            message: message.into(),
            draft: false,
        }
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        let mut message = e.message().to_string();
        if let Some(h) = e.hint_text() {
            message.push_str(" (hint: ");
            message.push_str(h);
            message.push(')');
        }
        // The supervisor's refusal while a person types a line: the one
        // request here that waits, so the one that answers `timeout` (124).
        let draft = e.code() == 124;
        Fail { message, draft }
    }
}

pub type Result<T, E = Fail> = std::result::Result<T, E>;

/// What `codex-session mcp` resolved: the store, the configuration file and
/// the settings this server needs from it.
#[derive(Debug)]
pub struct Options {
    pub store: PathBuf,
    /// `codex-session`, for `run --bg`.
    pub exe: PathBuf,
    /// The configuration file to hand to `run`, if one was read.
    pub config_file: Option<PathBuf>,
    /// `mcp.max_output`.
    pub max_output: usize,
    /// `mcp.max_timeout`.
    pub max_timeout: Duration,
    /// `idle_after`: how long quiet output counts as idle.
    pub idle_after: Duration,
}

impl Default for Options {
    /// The configuration's defaults.
    fn default() -> Options {
        Options {
            store: PathBuf::new(),
            exe: PathBuf::new(),
            config_file: None,
            max_output: 16 << 10,
            max_timeout: Duration::from_secs(600),
            idle_after: Duration::from_secs(2),
        }
    }
}

/// The store and the settings, for every call.
pub struct Backend {
    pub(super) store: Store,
    pub(super) config_file: Option<PathBuf>,
    pub(super) exe: PathBuf,
    pub max_output: usize,
    pub max_timeout: Duration,
    /// How long quiet output counts as idle (for resource notifications).
    pub idle_after: Duration,
}

/// One session as `list --json` describes it.
#[derive(Debug, Clone)]
pub struct Info {
    pub name: String,
    /// running, exited, killed, lost, starting or damaged.
    pub status: String,
    /// `running`, `exited 0`, `killed SIGTERM`, ... as `list` shows it.
    pub status_text: String,
    pub running: bool,
    pub pid: Option<i32>,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    pub end_reason: Option<String>,
    pub command: String,
    pub cwd: Option<String>,
    pub label: Option<String>,
    pub clients: u32,
    pub output_bytes: u64,
    pub created: Option<String>,
    pub ended: Option<String>,
    pub cols: u16,
    pub rows: u16,
    /// Why a session is damaged.
    pub error: Option<String>,
}

/// How a program ended.
#[derive(Debug, Clone, Default)]
pub struct Ended {
    pub code: Option<i32>,
    pub signal: Option<String>,
}

/// What a watching connection says next.
pub enum Event {
    Output(Vec<u8>),
    /// Quiet as long as asked.
    Idle,
    Exit(Ended),
    /// The deadline passed.
    Timeout,
}

/// A connection that streams a session's output (a watch, or a send that
/// asked for what follows it).
pub struct Stream {
    pub(super) conn: Conn,
    pub(super) session: Session,
}

/// A watch just opened: the stream and the output offsets at that moment.
pub struct Watching {
    pub stream: Stream,
    /// Output bytes so far; the stream continues from here.
    pub offset: u64,
    /// Output bytes when input was last delivered (0 if never).
    pub input_offset: u64,
    /// The answer to that input, from `input_offset` on.
    pub answer: InputAnswer,
}

/// What to start.
pub struct StartSpec {
    pub name: Option<String>,
    /// As `run -- WORDS`: one word with spaces runs through `sh -c`.
    pub command: Vec<String>,
    pub cwd: Option<String>,
    pub env: Vec<(String, String)>,
    pub size: Option<String>,
    pub label: Option<String>,
    pub if_absent: bool,
}

/// What to send.
pub struct Input {
    pub text: Vec<u8>,
    pub keys: Vec<String>,
    pub submit: bool,
    pub paste: bool,
    pub interrupt: bool,
    pub eof: bool,
    /// Who sends, for the audit record (`mcp:<client>`).
    pub label: String,
    /// Stream the output that follows, with Idle once quiet this long.
    pub follow: Option<Duration>,
    /// How long to wait for a person typing to pause.
    pub timeout: Duration,
}
