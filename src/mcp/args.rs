//! The tools' arguments and answers. Their doc comments become the JSON
//! schemas' descriptions, which is all an agent reads before calling: each
//! says what the field does, its default, and how it combines with others.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// A duration: a number of seconds, or text like "500ms", "2s", "1m".
#[derive(Debug, Clone)]
pub struct Dur(pub std::time::Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of seconds or a duration like \"500ms\", \"2s\", \"1m\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                super::text::seconds(v).map(Dur).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                self.visit_f64(v as f64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                self.visit_f64(v as f64)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                super::text::parse_duration(v).map(Dur).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Dur {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["number", "string"],
            "examples": ["500ms", "2s", 30]
        })
    }
}

/// A command: one string for a shell, or the argv.
#[derive(Debug, Clone)]
pub struct Command(pub Vec<String>);

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Command, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Command;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a command line (a string) or its words (an array of strings)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Command, E> {
                if v.trim().is_empty() {
                    return Err(E::custom("the command is empty"));
                }
                Ok(Command(vec![v.to_string()]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Command, A::Error> {
                let mut words = Vec::new();
                while let Some(w) = seq.next_element::<String>()? {
                    words.push(w);
                }
                if words.is_empty() || words[0].is_empty() {
                    return Err(de::Error::custom("the command is empty"));
                }
                Ok(Command(words))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Command {
    fn schema_name() -> Cow<'static, str> {
        "Command".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}, "minItems": 1}
            ],
            "examples": ["npm run dev", ["python3", "-q"]]
        })
    }
}

// --- arguments ---------------------------------------------------------------

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartArgs {
    /// The program. A string with spaces runs through `sh -c` ("npm run dev",
    /// "make test 2>&1"); an array is the argv, run directly (["python3", "-q"]).
    /// Default: the user's shell.
    pub command: Option<Command>,
    /// The session's name, used by every other tool: a letter, then letters,
    /// digits, '.', '_' or '-' (at most 64). Default: a generated one like
    /// brisk-otter-4821 (returned).
    pub name: Option<String>,
    /// The working directory. Default: the MCP server's.
    pub cwd: Option<String>,
    /// Environment variables to add or override, e.g. {"PORT": "4000"}.
    pub env: Option<BTreeMap<String, String>>,
    /// The terminal size as COLSxROWS. Default: 80x24.
    pub size: Option<String>,
    /// A free-text description, shown by session_list and `codex-session list`.
    pub label: Option<String>,
    /// Return the program's first output once it has printed nothing for this
    /// long. Default: 1s. 0 returns as soon as the program has started.
    pub wait_idle: Option<Dur>,
    /// If a session of this name is already running, leave it alone and
    /// answer with it (already_running: true) instead of failing. Needs name.
    pub if_absent: Option<bool>,
    /// Give up waiting after this long. Default: 30s.
    pub timeout: Option<Dur>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendArgs {
    /// The session.
    pub name: String,
    /// Text to type, as is (use submit to press Enter after it). Several lines
    /// are typed as several lines.
    pub text: Option<String>,
    /// Press Enter after the text (and keys): what runs a command line.
    /// Default: false.
    pub submit: Option<bool>,
    /// Named keys to press after the text: Enter Tab BTab Escape BSpace Space
    /// Up Down Left Right Home End PageUp PageDown Insert Delete F1-F12, C-x
    /// for Ctrl-x (C-c, C-d, C-r), M-x for Alt-x. Order: text, keys, then
    /// Enter if submit. E.g. keys ["Escape"] then, in a second send, text
    /// ":wq" with submit, to leave vim.
    pub keys: Option<Vec<String>>,
    /// Wrap the text in bracketed-paste markers if the program asked for them
    /// (editors and shells then take it as pasted, not typed).
    pub paste: Option<bool>,
    /// Send SIGINT to the program in the foreground (like Ctrl-C), first.
    pub interrupt: Option<bool>,
    /// Send end-of-file (Ctrl-D) after everything else.
    pub eof: Option<bool>,
    /// Return once the program has printed nothing for this long after the
    /// input. Default: 1s (unless wait_output is given). 0 returns as soon as
    /// the input is delivered, with no answer.
    pub wait_idle: Option<Dur>,
    /// Return once a line of the answer matches this regex (Rust syntax, one
    /// line at a time, e.g. "^\\$ $" or "(PASS|FAIL)"). With wait_idle too,
    /// whichever comes first.
    pub wait_output: Option<String>,
    /// Give up after this long (the answer so far is returned, outcome
    /// "timeout"). Also how long to wait while a person attached is typing.
    /// Default: 30s.
    pub timeout: Option<Dur>,
}

/// Where session_wait looks for `output`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum From {
    /// All the output since the session started.
    Start,
    /// The output since the last input was delivered (by anyone), after
    /// its echo (as `send` answers); from the start if there was no input.
    Input,
    /// Only output printed from now on.
    Now,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitArgs {
    /// The session.
    pub name: String,
    /// Wait until the program ends; the answer has its exit code.
    pub exit: Option<bool>,
    /// Wait until the program has printed nothing for this long.
    pub idle: Option<Dur>,
    /// Wait until a line of output (as plain text) matches this regex; the
    /// answer has the line. Anchor it (^...$) if the command you typed
    /// contains the same words, since its echo is output too.
    pub output: Option<String>,
    /// With output: where to look. Default: "start" (as `codex-session wait
    /// --output`: nothing printed already is missed).
    pub from: Option<From>,
    /// Give up after this long (outcome "timeout"). Default: 30s.
    pub timeout: Option<Dur>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenArgs {
    /// The session.
    pub name: String,
    /// Also give the cursor position (row and column, from 0).
    pub cursor: Option<bool>,
    /// Also give the window title the program set, if any.
    pub title: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsArgs {
    /// The session.
    pub name: String,
    /// The last N lines. Default (without offset): 100.
    pub tail: Option<u64>,
    /// Read from this output byte offset (counted from the session's start;
    /// 0 is the beginning) instead of the tail. Page with the answer's
    /// next_offset until it equals total.
    pub offset: Option<u64>,
    /// With offset: how many output bytes to read. Default and maximum: the
    /// server's max_output (16 KiB unless configured).
    pub limit: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StopArgs {
    /// The session.
    pub name: String,
    /// The first signal for the program's process group: TERM (default),
    /// INT, HUP, KILL, or a number.
    pub signal: Option<String>,
    /// How long to wait before SIGKILL. Default: 10s.
    pub grace: Option<Dur>,
    /// Give up waiting for the end after this long. Default: 30s.
    pub timeout: Option<Dur>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveArgs {
    /// The session.
    pub name: String,
    /// Stop it first if it is running (TERM, then KILL after 10s). Without
    /// it, a running session is not removed.
    pub force: Option<bool>,
    /// Give up after this long. Default: 30s.
    pub timeout: Option<Dur>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {}

// --- answers -----------------------------------------------------------------

/// How a wait ended.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The output was quiet as long as asked.
    Idle,
    /// A line matched the pattern.
    Matched,
    /// The program ended.
    Exited,
    /// The timeout passed first.
    Timeout,
    /// Nothing was waited for.
    Sent,
}

/// Output left out of an answer, and where to read it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Omitted {
    /// Plain-text bytes left out.
    pub bytes: u64,
    pub lines: u64,
    /// session_logs offset and limit that read what was left out.
    pub offset: u64,
    pub limit: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SessionInfo {
    pub name: String,
    /// running, exited, killed, lost (its supervisor vanished) or damaged.
    pub status: String,
    /// As `codex-session list` shows it: "running", "exited 1", "killed SIGTERM".
    pub status_text: String,
    pub running: bool,
    /// The program's pid (and process group).
    pub pid: Option<i32>,
    pub exit_code: Option<i32>,
    /// e.g. "SIGTERM", if a signal ended it.
    pub signal: Option<String>,
    /// Why it was ended, when not on its own (a stop, a timeout).
    pub end_reason: Option<String>,
    pub command: String,
    pub cwd: Option<String>,
    pub label: Option<String>,
    /// People (and programs) attached to its terminal now.
    pub clients: u32,
    /// Output bytes so far (session_logs offsets go up to this).
    pub output_bytes: u64,
    pub created: Option<String>,
    pub ended: Option<String>,
    /// Terminal size.
    pub cols: u16,
    pub rows: u16,
    /// Why the session is damaged, or the last log error.
    pub error: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StartResult {
    pub name: String,
    pub pid: Option<i32>,
    pub status: String,
    /// A session of that name was running already (if_absent): nothing started.
    pub already_running: bool,
    /// The first output, as plain text (empty without wait_idle).
    pub output: String,
    pub outcome: Outcome,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    pub omitted: Option<Omitted>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SendResult {
    pub name: String,
    /// The program's answer as plain text: the output after the echo of the
    /// input (as many lines skipped as the input had).
    pub answer: String,
    pub outcome: Outcome,
    /// The line that matched wait_output.
    pub matched: Option<String>,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    /// The output offset where the answer begins (for session_logs).
    pub offset: u64,
    pub omitted: Option<Omitted>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WaitResult {
    pub name: String,
    pub outcome: Outcome,
    /// The line that matched output.
    pub matched: Option<String>,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    pub status: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Cursor {
    pub row: u16,
    pub col: u16,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ScreenResult {
    pub name: String,
    /// The screen as text, trailing blanks trimmed.
    pub screen: String,
    /// false: the program has ended and this is the last screen it showed.
    pub live: bool,
    pub cursor: Option<Cursor>,
    pub title: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LogsResult {
    pub name: String,
    /// Plain text: escape sequences removed, progress bars resolved.
    pub text: String,
    /// The output offset this text starts at.
    pub offset: u64,
    /// Where the next page starts (pass it as offset).
    pub next_offset: u64,
    /// Output bytes so far.
    pub total: u64,
    /// Bytes before offset that rotation already removed from the logs.
    pub skipped: u64,
    pub omitted: Option<Omitted>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListResult {
    pub sessions: Vec<SessionInfo>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StopResult {
    pub name: String,
    pub status: String,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RemoveResult {
    pub name: String,
    pub removed: bool,
}
