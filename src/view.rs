//! Sessions as the verbs show them: the `--json` record that `list`, `ps`
//! and `inspect` share.

use serde::Serialize;

use crate::meta::LastExit;
use crate::store::{Entry, Session};

/// One session in `list --json` and `inspect --json`. Stable: fields are
/// only ever added.
#[derive(Serialize)]
pub struct SessionJson {
    /// The row number `list` shows in its # column (creation order, 0 the
    /// oldest), which verbs take in place of the name.
    pub index: usize,
    pub name: String,
    /// cmd, shell (run with no command) or agent (exec); null when damaged.
    #[serde(rename = "type")]
    pub kind: Option<&'static str>,
    /// starting, running, exited, killed, lost or damaged.
    pub status: String,
    /// The program's pid (its process group too).
    pub pid: Option<i32>,
    pub supervisor_pid: Option<i32>,
    pub exit_code: Option<i32>,
    /// e.g. "SIGTERM".
    pub signal: Option<String>,
    pub end_reason: Option<String>,
    pub created: Option<String>,
    pub started: Option<String>,
    pub ended: Option<String>,
    /// The argv executed.
    pub command: Vec<String>,
    pub command_line: Option<String>,
    pub cwd: Option<String>,
    pub label: Option<String>,
    pub clients: u32,
    /// "pty" (a terminal) or "pipe" (standard error apart, no screen); null
    /// when damaged.
    pub mode: Option<String>,
    pub output_bytes: u64,
    /// Pipe mode: what the program wrote to standard error; null for a
    /// terminal session (both streams are its output).
    pub stderr_bytes: Option<u64>,
    pub dropped_bytes: u64,
    pub cols: Option<u16>,
    pub rows: Option<u16>,
    pub id: Option<String>,
    /// Why the session is `damaged`, or the last log error.
    pub error: Option<String>,
    /// The restart policy: no, on-failure or always.
    pub restart: &'static str,
    /// How many times the program was started again.
    pub restarts: u32,
    /// How the program last ended (before a restart, or at the end).
    pub last_exit: Option<LastExit>,
    /// The program ended and starts again at this time.
    pub restart_at: Option<String>,
    /// SSH_AUTH_SOCK is the session's agent.sock, following the person.
    pub agent_follow: bool,
    /// Title, progress, the last prompt and command, attention.
    #[serde(flatten)]
    pub signs: crate::meta::Signs,
}

impl SessionJson {
    pub fn from_entry(index: usize, e: &Entry) -> Self {
        match e {
            Entry::Ok(s) => SessionJson::from_session(index, s),
            Entry::Damaged { name, reason } => SessionJson::damaged(index, name, reason),
        }
    }

    pub fn from_session(index: usize, s: &Session) -> Self {
        let m = &s.meta;
        let status = if !m.is_ended() && !s.live {
            "lost".to_string()
        } else {
            serde_json::to_value(m.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        SessionJson {
            index,
            name: s.name.clone(),
            kind: Some(m.kind.as_str()),
            status,
            pid: m.pid,
            supervisor_pid: m.supervisor_pid,
            exit_code: m.exit_code,
            signal: m.signal.clone(),
            end_reason: m.end_reason.clone(),
            created: Some(m.created.clone()),
            started: m.started.clone(),
            ended: m.ended.clone(),
            command: m.command.clone(),
            command_line: Some(m.command_line.clone()),
            cwd: Some(m.cwd.clone()),
            label: m.label.clone(),
            clients: if s.live { m.clients } else { 0 },
            mode: Some(m.mode.clone()),
            output_bytes: s.output_bytes(),
            stderr_bytes: s.stderr_bytes(),
            dropped_bytes: m.dropped_bytes,
            cols: Some(m.cols),
            rows: Some(m.rows),
            id: Some(m.id.clone()),
            error: m.log_error.clone(),
            restart: m.restart.as_str(),
            restarts: m.restarts,
            last_exit: m.last_exit.clone(),
            restart_at: m.restart_at.clone().filter(|_| s.is_running()),
            agent_follow: m.agent_follow,
            signs: m.signs.clone(),
        }
    }

    pub fn damaged(index: usize, name: &str, reason: &str) -> Self {
        SessionJson {
            index,
            name: name.to_string(),
            kind: None,
            status: "damaged".into(),
            pid: None,
            supervisor_pid: None,
            exit_code: None,
            signal: None,
            end_reason: None,
            created: None,
            started: None,
            ended: None,
            command: Vec::new(),
            command_line: None,
            cwd: None,
            label: None,
            clients: 0,
            mode: None,
            output_bytes: 0,
            stderr_bytes: None,
            dropped_bytes: 0,
            cols: None,
            rows: None,
            id: None,
            error: Some(reason.to_string()),
            restart: "no",
            restarts: 0,
            last_exit: None,
            restart_at: None,
            agent_follow: false,
            signs: Default::default(),
        }
    }
}
