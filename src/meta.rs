//! `meta.json`: the record of one session, rewritten atomically on every state
//! change. Its fields are the `--json` contract of `list` and `inspect`. The
//! supervisor writes it and never reads it back (`supervisor/record.rs`).

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::sys;

pub const SCHEMA: u32 = 1;
pub const FILE: &str = "meta.json";
/// The modes, as meta.json's `mode` spells them.
pub const PTY: &str = "pty";
pub const PIPE: &str = "pipe";
/// A meta.json larger than this is damage, not a record.
pub const MAX_SIZE: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The CLI created the folder; the program has not been started yet.
    Starting,
    Running,
    /// Ended by itself; `exit_code` says how.
    Exited,
    /// Ended by a signal; `signal` says which.
    Killed,
}

/// What a session runs, as `list` shows it in its TYPE column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionType {
    /// A command given to `run` (and records older than this field).
    #[default]
    Cmd,
    /// `run` with no command: the user's shell.
    Shell,
    /// `exec PROMPT`: the agent command.
    Agent,
}

impl SessionType {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionType::Cmd => "cmd",
            SessionType::Shell => "shell",
            SessionType::Agent => "agent",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub schema: u32,
    pub name: String,
    /// Random, unique across reuses of the same name.
    pub id: String,
    /// The argv actually executed (`["sh", "-c", "..."]` for a one-string command).
    pub command: Vec<String>,
    /// The command as the user wrote it, for display.
    pub command_line: String,
    pub cwd: String,
    #[serde(default)]
    pub label: Option<String>,
    /// cmd, shell or agent.
    #[serde(default)]
    pub kind: SessionType,
    /// "pty" (a terminal), or "pipe" (`run --pipe`, `exec`: standard
    /// output and error apart, no terminal).
    pub mode: String,
    /// RFC 3339, UTC.
    pub created: String,
    #[serde(default)]
    pub started: Option<String>,
    #[serde(default)]
    pub ended: Option<String>,
    #[serde(default)]
    pub supervisor_pid: Option<i32>,
    /// The program's pid (also its process group and session id).
    #[serde(default)]
    pub pid: Option<i32>,
    pub status: Status,
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Signal name (`SIGTERM`) when the program was killed by one.
    #[serde(default)]
    pub signal: Option<String>,
    /// Why it ended when something other than the program decided
    /// ("stopped", "timed out (idle)", ...).
    #[serde(default)]
    pub end_reason: Option<String>,
    pub cols: u16,
    pub rows: u16,
    #[serde(default)]
    pub clients: u32,
    /// Bytes the program wrote, in all (including rotated-away logs).
    #[serde(default)]
    pub output_bytes: u64,
    /// Bytes that could not be written to the log (disk full, I/O error).
    #[serde(default)]
    pub dropped_bytes: u64,
    /// The last log write error, if any.
    #[serde(default)]
    pub log_error: Option<String>,
    /// Output bytes before the current output.log (in rotated or removed logs).
    #[serde(default)]
    pub log_base: u64,
    /// Pipe mode: bytes the program wrote to standard error, in all...
    #[serde(default)]
    pub stderr_bytes: u64,
    /// ...and those before the current stderr.log.
    #[serde(default)]
    pub stderr_log_base: u64,
    /// The session's settings, as given at launch (a record: the
    /// supervisor works from the `Settings` it was started with).
    ///
    /// output.log rotates at this size; this many rotated logs are kept.
    #[serde(default = "default_log_max")]
    pub log_max_size: u64,
    #[serde(default = "default_log_keep")]
    pub log_keep: u32,
    /// Stop after this long without output or input (milliseconds).
    #[serde(default)]
    pub idle_timeout_ms: Option<u64>,
    /// Stop this long after starting (milliseconds).
    #[serde(default)]
    pub ttl_ms: Option<u64>,
    /// No output for this long is an `idle` event (milliseconds).
    #[serde(default = "default_2s")]
    pub idle_after_ms: u64,
    /// A person typing holds `send` back until quiet this long (milliseconds).
    #[serde(default = "default_2s")]
    pub draft_quiet_ms: u64,
    /// The restart policy (`run --restart`), and its first delay
    /// (milliseconds) and bound (restarts in a row; none: no bound).
    #[serde(default)]
    pub restart: RestartPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_delay_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_restarts: Option<u32>,
    /// How many times the program was started again.
    #[serde(default)]
    pub restarts: u32,
    /// How the program last ended (a restart followed, or the session
    /// ended with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<LastExit>,
    /// The program ended and starts again at this time (RFC 3339, ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_at: Option<String>,
    /// The program's SSH_AUTH_SOCK is the session's `agent.sock`, pointed
    /// at the agent of the client that attached last.
    #[serde(default)]
    pub agent_follow: bool,
    /// What the program told its terminal (`supervisor/marks.rs`).
    #[serde(flatten, default)]
    pub signs: Signs,
}

/// When the program is started again after it ends (`run --restart`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Never: the session ends with its program.
    #[default]
    No,
    /// When it exits with a code other than 0 or is killed by a signal.
    OnFailure,
    /// Whenever it ends.
    Always,
}

impl RestartPolicy {
    /// The policy as written on the command line and in the configuration.
    pub fn parse(s: &str) -> Option<RestartPolicy> {
        match s {
            "no" | "never" | "off" => Some(RestartPolicy::No),
            "on-failure" => Some(RestartPolicy::OnFailure),
            "always" => Some(RestartPolicy::Always),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::OnFailure => "on-failure",
            RestartPolicy::Always => "always",
        }
    }
}

/// How the program last ended, kept while a restart policy starts it again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastExit {
    pub code: Option<i32>,
    /// Signal name (`SIGSEGV`) when a signal ended it.
    pub signal: Option<String>,
    /// RFC 3339, UTC.
    pub at: String,
}

/// What the program told its terminal, as the supervisor last saw it: the
/// shell's command marks (OSC 133), the title, progress (OSC 9;4), and
/// whether the session needs a person (`attention`). Each string is cut
/// to [`Signs::MAX_TEXT`] bytes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Signs {
    /// The shell given codex-session's integration (`bash`, `zsh`, `fish`),
    /// set by `run`; null when none was injected.
    #[serde(default)]
    pub shell_integration: Option<String>,
    /// The last title set (OSC 0/2).
    #[serde(default)]
    pub title: Option<String>,
    /// OSC 9;4 progress, while shown.
    #[serde(default)]
    pub progress: Option<Progress>,
    /// When the shell last printed its prompt (OSC 133;A), RFC 3339.
    #[serde(default)]
    pub last_prompt: Option<String>,
    /// The last command the shell ran (OSC 133;C, then D).
    #[serde(default)]
    pub last_command: Option<CommandMark>,
    /// Set while the session needs a person.
    #[serde(default)]
    pub attention: Option<Attention>,
}

impl Signs {
    pub const MAX_TEXT: usize = 1024;

    /// `s` cut to [`Signs::MAX_TEXT`] bytes at a character boundary.
    pub fn cut(s: &str) -> String {
        let mut end = s.len().min(Self::MAX_TEXT);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s[..end].to_string()
    }

    /// Whether the shell's command marks can be waited for: seen, or an
    /// integration injected that will print them.
    pub fn has_marks(&self) -> bool {
        self.shell_integration.is_some() || self.last_prompt.is_some()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Progress {
    /// normal, error, indeterminate or paused.
    pub state: String,
    pub percent: Option<u8>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CommandMark {
    /// The command line, when the shell reported it.
    pub command: Option<String>,
    pub started: String,
    pub ended: Option<String>,
    pub exit_code: Option<i32>,
    pub duration_ms: Option<u64>,
    /// Its output: bytes [start, end) of the session's output.
    pub output_start: u64,
    pub output_end: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attention {
    /// notification, bell or input (waiting for terminal input).
    pub reason: String,
    /// RFC 3339.
    pub since: String,
    /// The notification's text, for reason notification.
    #[serde(default)]
    pub text: Option<String>,
}

fn default_2s() -> u64 {
    2000
}

fn default_log_max() -> u64 {
    64 << 20
}

fn default_log_keep() -> u32 {
    3
}

/// Write `body` over the start of an existing file, padding with spaces to
/// its old length (JSON allows trailing whitespace), without a new block.
fn overwrite_in_place(path: &Path, body: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{FileExt, OpenOptionsExt};
    let f = fs::OpenOptions::new()
        .write(true)
        .custom_flags((nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK).bits())
        .open(path)?;
    let md = f.metadata()?;
    if !md.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let old = md.len() as usize;
    let mut padded = body.to_vec();
    if padded.len() < old {
        padded.resize(old, b' ');
    }
    f.write_all_at(&padded, 0)
}

/// The status word `list` shows: `running`, `exited N`, `killed SIG`, or
/// why a timeout ended it.
pub fn describe_end(
    status: Status,
    exit_code: Option<i32>,
    signal: Option<&str>,
    end_reason: Option<&str>,
) -> String {
    let ended = matches!(status, Status::Exited | Status::Killed);
    if let Some(r) = end_reason.filter(|r| ended && r.starts_with("timed out")) {
        return r.to_string();
    }
    match (status, exit_code, signal) {
        (Status::Killed, _, Some(sig)) => format!("killed {sig}"),
        (_, Some(code), _) => format!("exited {code}"),
        (Status::Starting, ..) => "starting".into(),
        (Status::Running, ..) => "running".into(),
        _ => "exited".into(),
    }
}

pub fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

impl Meta {
    pub fn read(dir: &Path) -> Result<Meta> {
        let path = dir.join(FILE);
        let bytes = sys::open_nofollow(&path)
            .and_then(|f| sys::read_small(f, MAX_SIZE))
            .ctx("reading", &path)?;
        Meta::parse(&bytes).map_err(|e| Error::new(format!("reading {}: {e}", path.display())))
    }

    /// A record's bytes (untrusted: anything may be in the file).
    pub fn parse(bytes: &[u8]) -> serde_json::Result<Meta> {
        serde_json::from_slice(bytes)
    }

    /// Replace meta.json atomically: write a temp file, then rename it. On a
    /// full disk, overwrite the existing file in place instead (its block is
    /// already allocated), padded with spaces to its old length: a record of
    /// how the session ended must not be lost to a disk its output filled.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let tmp = dir.join(format!(".meta.json.{}.tmp", std::process::id()));
        let path = dir.join(FILE);
        let mut body = serde_json::to_vec_pretty(self).expect("meta serializes");
        body.push(b'\n');
        let _ = fs::remove_file(&tmp);
        let replaced = sys::create_nofollow(&tmp)
            .and_then(|mut f| f.write_all(&body))
            .and_then(|()| fs::rename(&tmp, &path));
        match replaced {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                overwrite_in_place(&path, &body).map_err(|_| Error::io("writing", &path, e))
            }
        }
    }

    /// How the session ended, as `list` shows it ("exited 0", "killed SIGTERM").
    pub fn ended_status(&self) -> String {
        describe_end(
            self.status,
            self.exit_code,
            self.signal.as_deref(),
            self.end_reason.as_deref(),
        )
    }

    /// Started in pipe mode (no terminal, standard error apart).
    pub fn is_pipe(&self) -> bool {
        self.mode == PIPE
    }

    pub fn is_ended(&self) -> bool {
        matches!(self.status, Status::Exited | Status::Killed)
    }

    /// The command, or the label when there is one.
    pub fn display_command(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.command_line)
    }
}
