//! The configuration file, `$CODEX_HOME/sessions.toml` (or `--config FILE`,
//! or `$CODEX_SESSION_CONFIG`), with every default in one place: [`KEYS`].
//!
//! Every key is optional and the tool runs without the file. A malformed
//! file, a value of the wrong type or an unknown key is an error naming the
//! file, the line and the key (with the nearest valid key for a misspelling).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::de::{DeTable, DeValue};

use crate::error::{Error, Result};
use crate::meta::RestartPolicy;
use crate::{fmt, keys, store, sys};

/// A key of the file: its name (`logs.max_size` for `[logs] max_size`) and
/// what it means (the defaults are in [`Config::defaults`]).
pub struct Key {
    pub name: &'static str,
    pub doc: &'static str,
}

pub const KEYS: &[Key] = &[
    Key {
        name: "store",
        doc: "the sessions folder (--store and $CODEX_SESSION_STORE come first)",
    },
    Key {
        name: "max_sessions",
        doc: "how many sessions may run at once",
    },
    Key {
        name: "detach_key",
        doc: "the key that detaches an attached terminal (^X notation, or \"none\")",
    },
    Key {
        name: "term",
        doc: "TERM for programs, unless run --env TERM=... says otherwise",
    },
    Key {
        name: "retain_exited",
        doc: "ended sessions older than this are removed by run and list (\"off\" keeps them)",
    },
    Key {
        name: "idle_timeout",
        doc: "stop a session after this long with no output and no input",
    },
    Key {
        name: "ttl",
        doc: "stop a session this long after it started",
    },
    Key {
        name: "idle_after",
        doc: "no output for this long is an `idle` event (events, wait --idle)",
    },
    Key {
        name: "draft_quiet",
        doc: "send waits until a person typing a line has paused this long",
    },
    Key {
        name: "agent_command",
        doc: "the program `exec PROMPT` runs, the prompt appended",
    },
    Key {
        name: "restart",
        doc: "run's restart policy: \"on-failure\", \"always\" or \"no\" (exec never restarts)",
    },
    Key {
        name: "restart_delay",
        doc: "the wait before a restart, doubled after each quick failure up to 60s",
    },
    Key {
        name: "max_restarts",
        doc: "restarts in a row before the session ends (an integer, or \"off\")",
    },
    Key {
        name: "restart_marker",
        doc: "write a line into the output at each restart",
    },
    Key {
        name: "ssh_agent_follow",
        doc: "a session's SSH_AUTH_SOCK follows the agent of the terminal that attached last",
    },
    Key {
        name: "logs.max_size",
        doc: "rotate output.log when it reaches this size",
    },
    Key {
        name: "logs.keep",
        doc: "how many rotated logs (output.log.1, ...) to keep",
    },
    Key {
        name: "events.max_size",
        doc: "rotate events.jsonl when the next event would take it past this size",
    },
    Key {
        name: "events.keep",
        doc: "how many rotated event files (events.jsonl.1, ...) to keep",
    },
    Key {
        name: "shell_integration",
        doc: "run's shells (bash, zsh, fish) report their commands (false: start them untouched)",
    },
    Key {
        name: "mcp.max_output",
        doc: "the most output one MCP answer carries (head and tail kept, the rest paged)",
    },
    Key {
        name: "mcp.max_timeout",
        doc: "the longest `timeout` an MCP call may ask for",
    },
    Key {
        name: "attach.stall",
        doc: "an attached terminal that takes no output this long stops holding the program back",
    },
    Key {
        name: "attention.after",
        doc: "a program waiting for terminal input this long after printing needs attention",
    },
];

/// The configuration file is small; a bigger one is a mistake.
const MAX_FILE: u64 = 1 << 20;
/// The most sessions `max_sessions` may allow: far above what one account
/// runs (each session is a process), and above the 100,000 that
/// ../shared/bench/peers.py writes to lift the limit for its memory run.
const MAX_SESSIONS: i64 = 1_000_000;
/// The largest log or events file size.
const MAX_LOG_SIZE: u64 = 1 << 40;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf, usize),
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The file read, or the one that would be read.
    pub path: PathBuf,
    pub found: bool,
    pub store: Option<PathBuf>,
    pub max_sessions: usize,
    pub detach_key: String,
    pub term: String,
    pub retain_exited: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub ttl: Option<Duration>,
    pub log_max_size: u64,
    pub log_keep: u32,
    pub events_max_size: u64,
    pub events_keep: u32,
    pub idle_after: Duration,
    pub draft_quiet: Duration,
    pub attach_stall: Duration,
    pub agent_command: Vec<String>,
    pub restart: RestartPolicy,
    pub restart_delay: Duration,
    pub max_restarts: Option<u32>,
    pub restart_marker: bool,
    pub ssh_agent_follow: bool,
    pub mcp_max_output: u64,
    pub mcp_max_timeout: Duration,
    pub shell_integration: bool,
    pub attention_after: Duration,
    /// Per key name: where its value came from.
    pub sources: Vec<(&'static str, Source)>,
}

impl Config {
    fn defaults(path: PathBuf) -> Config {
        Config {
            path,
            found: false,
            store: None,
            max_sessions: 64,
            detach_key: "^\\".into(),
            term: "xterm-256color".into(),
            retain_exited: Some(Duration::from_secs(7 * 86400)),
            idle_timeout: None,
            ttl: None,
            log_max_size: 64 << 20,
            log_keep: 3,
            events_max_size: 1 << 20,
            events_keep: 2,
            idle_after: Duration::from_secs(2),
            draft_quiet: Duration::from_secs(2),
            attach_stall: Duration::from_secs(1),
            agent_command: vec!["codex".into(), "exec".into()],
            restart: RestartPolicy::No,
            restart_delay: Duration::from_secs(1),
            max_restarts: None,
            restart_marker: false,
            ssh_agent_follow: true,
            mcp_max_output: 16 << 10,
            mcp_max_timeout: Duration::from_secs(600),
            shell_integration: true,
            attention_after: Duration::from_secs(5),
            sources: KEYS.iter().map(|k| (k.name, Source::Default)).collect(),
        }
    }

    /// Find and read the file: `--config`, then `$CODEX_SESSION_CONFIG`,
    /// then `$CODEX_HOME/sessions.toml` (which may be absent).
    pub fn load(flag: Option<&Path>) -> Result<Config> {
        let (path, required) = match flag {
            Some(p) => (p.to_path_buf(), true),
            None => match std::env::var_os("CODEX_SESSION_CONFIG").filter(|v| !v.is_empty()) {
                Some(p) => (PathBuf::from(p), true),
                None => (store::codex_home()?.join("sessions.toml"), false),
            },
        };
        // A regular file (a FIFO there would block every verb), small.
        let bytes = match sys::open_config(&path).and_then(|f| sys::read_small(f, MAX_FILE)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(Config::defaults(path));
            }
            Err(e) => return Err(Error::io("reading the configuration", &path, e)),
        };
        let text = String::from_utf8(bytes).map_err(|_| {
            Error::new(format!(
                "reading the configuration {}: it is not UTF-8 text",
                path.display()
            ))
        })?;
        Config::from_toml(path, &text)
    }

    /// The configuration in `text`, read from `path` (untrusted: every
    /// value is checked here, each error naming the file, line and key).
    pub fn from_toml(path: PathBuf, text: &str) -> Result<Config> {
        let mut c = Config::defaults(path);
        c.found = true;
        c.parse(text)?;
        Ok(c)
    }

    fn parse(&mut self, text: &str) -> Result<()> {
        let path = self.path.clone();
        let line_of = |offset: usize| {
            let upto = &text.as_bytes()[..offset.min(text.len())];
            upto.iter().filter(|&&b| b == b'\n').count() + 1
        };
        let doc = DeTable::parse(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(s.start));
            Error::new(format!(
                "{}:{line}: malformed TOML: {}",
                path.display(),
                e.message().trim()
            ))
        })?;
        let mut flat = Vec::new();
        for (k, v) in doc.get_ref() {
            let name = k.get_ref().as_ref().to_string();
            match v.get_ref() {
                DeValue::Table(t)
                    if matches!(
                        name.as_str(),
                        "logs" | "events" | "mcp" | "attach" | "attention"
                    ) =>
                {
                    for (k2, v2) in t {
                        flat.push((
                            format!("{name}.{}", k2.get_ref().as_ref()),
                            k2.span().start,
                            v2,
                        ));
                    }
                }
                _ => flat.push((name, k.span().start, v)),
            }
        }
        for (name, at, v) in flat {
            let line = line_of(at);
            let here = |msg: String| Error::new(format!("{}:{line}: {msg}", path.display()));
            let Some(key) = KEYS.iter().find(|k| k.name == name) else {
                let mut msg = format!("unknown key `{name}`");
                if let Some(near) = nearest(&name) {
                    let _ = write!(msg, " (did you mean `{near}`?)");
                }
                return Err(here(msg).hint(format!(
                    "the keys are: {}",
                    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
                )));
            };
            let v = v.get_ref();
            let wrong = |want: &str| here(format!("`{name}` must be {want}, not {}", describe(v)));
            match key.name {
                "store" => {
                    let s = v.as_str().ok_or_else(|| wrong("a path (a string)"))?;
                    if s.trim().is_empty() || s.contains('\0') {
                        return Err(wrong("a path (a non-empty string without NUL)"));
                    }
                    self.store = Some(expand_home(s));
                }
                "max_sessions" => {
                    let n = integer(v)
                        .filter(|&n| (1..=MAX_SESSIONS).contains(&n))
                        .ok_or_else(|| wrong(&format!("an integer from 1 to {MAX_SESSIONS}")))?;
                    self.max_sessions = n as usize;
                }
                "detach_key" => {
                    let s = v
                        .as_str()
                        .ok_or_else(|| wrong("a key like \"^\\\\\" (a string)"))?;
                    keys::parse_detach_key(s).map_err(|e| here(format!("`{name}`: {e}")))?;
                    self.detach_key = s.to_string();
                }
                "term" => {
                    let s = v
                        .as_str()
                        .filter(|s| !s.is_empty() && s.len() <= 256 && !has_control(s))
                        .ok_or_else(|| {
                            wrong("a terminal name (a string without control characters)")
                        })?;
                    self.term = s.to_string();
                }
                "retain_exited" | "idle_timeout" | "ttl" => {
                    let d = match v.as_str() {
                        Some("off" | "never" | "none") => None,
                        Some(s) => Some(
                            fmt::parse_duration(s).map_err(|e| here(format!("`{name}`: {e}")))?,
                        ),
                        None => return Err(wrong("a duration like \"90s\" or \"7d\", or \"off\"")),
                    };
                    // As for --idle-timeout and --ttl: 0 would stop every
                    // session at once ("off" is how to say never).
                    if key.name != "retain_exited" && d.is_some_and(|d| d.is_zero()) {
                        return Err(here(format!("`{name}` must be longer than 0 (or \"off\")")));
                    }
                    match key.name {
                        "retain_exited" => self.retain_exited = d,
                        "idle_timeout" => self.idle_timeout = d,
                        _ => self.ttl = d,
                    }
                }
                "idle_after" | "draft_quiet" => {
                    let s = v.as_str().ok_or_else(|| wrong("a duration like \"2s\""))?;
                    let d = fmt::parse_duration(s).map_err(|e| here(format!("`{name}`: {e}")))?;
                    if key.name == "idle_after" {
                        if d.is_zero() {
                            return Err(here(format!("`{name}` must be longer than 0")));
                        }
                        self.idle_after = d;
                    } else {
                        self.draft_quiet = d;
                    }
                }
                "agent_command" => {
                    let words: Option<Vec<String>> = match v {
                        DeValue::Array(a) => a
                            .iter()
                            .map(|w| w.get_ref().as_str().map(str::to_string))
                            .collect(),
                        _ => None,
                    };
                    let words = words
                        .filter(|w| !w.is_empty() && !w[0].is_empty())
                        .ok_or_else(|| {
                            wrong("a non-empty array of strings, like [\"codex\", \"exec\"]")
                        })?;
                    if words.iter().any(|w| has_control(w)) {
                        return Err(wrong("an array of strings without control characters"));
                    }
                    self.agent_command = words;
                }
                "restart" => {
                    self.restart = v
                        .as_str()
                        .and_then(RestartPolicy::parse)
                        .ok_or_else(|| wrong("\"on-failure\", \"always\" or \"no\""))?;
                }
                "restart_delay" => {
                    let s = v.as_str().ok_or_else(|| wrong("a duration like \"1s\""))?;
                    let d = fmt::parse_duration(s).map_err(|e| here(format!("`{name}`: {e}")))?;
                    if d.is_zero() {
                        return Err(here(format!("`{name}` must be longer than 0")));
                    }
                    self.restart_delay = d;
                }
                "max_restarts" => {
                    self.max_restarts = match (v.as_str(), integer(v)) {
                        (Some("off" | "none" | "never"), _) => None,
                        (None, Some(n)) if (0..=i64::from(u32::MAX)).contains(&n) => Some(n as u32),
                        _ => return Err(wrong("an integer from 0, or \"off\"")),
                    };
                }
                "restart_marker" | "ssh_agent_follow" => {
                    let b = match v {
                        DeValue::Boolean(b) => *b,
                        _ => return Err(wrong("true or false")),
                    };
                    if key.name == "restart_marker" {
                        self.restart_marker = b;
                    } else {
                        self.ssh_agent_follow = b;
                    }
                }
                "logs.max_size" | "events.max_size" => {
                    let n = match (v.as_str(), integer(v)) {
                        (Some(s), _) => {
                            fmt::parse_size(s).map_err(|e| here(format!("`{name}`: {e}")))?
                        }
                        (None, Some(n)) if n > 0 => n as u64,
                        _ => return Err(wrong("a size like \"64MiB\"")),
                    };
                    if !(4096..=MAX_LOG_SIZE).contains(&n) {
                        return Err(here(format!("`{name}` must be from 4KiB to 1TiB")));
                    }
                    if key.name == "logs.max_size" {
                        self.log_max_size = n;
                    } else {
                        self.events_max_size = n;
                    }
                }
                "attach.stall" => {
                    let s = v.as_str().ok_or_else(|| wrong("a duration like \"1s\""))?;
                    let d = fmt::parse_duration(s).map_err(|e| here(format!("`{name}`: {e}")))?;
                    if d.is_zero() {
                        return Err(here(format!("`{name}` must be longer than 0")));
                    }
                    self.attach_stall = d;
                }
                "logs.keep" | "events.keep" => {
                    let n = integer(v)
                        .filter(|&n| (0..=1000).contains(&n))
                        .ok_or_else(|| wrong("an integer from 0 to 1000"))?;
                    if key.name == "logs.keep" {
                        self.log_keep = n as u32;
                    } else {
                        self.events_keep = n as u32;
                    }
                }
                "mcp.max_output" => {
                    let n = match (v.as_str(), integer(v)) {
                        (Some(s), _) => {
                            fmt::parse_size(s).map_err(|e| here(format!("`{name}`: {e}")))?
                        }
                        (None, Some(n)) if n > 0 => n as u64,
                        _ => return Err(wrong("a size like \"16KiB\"")),
                    };
                    // Beyond 1 MiB an answer stops being readable in one turn.
                    if !(1024..=1 << 20).contains(&n) {
                        return Err(here(format!("`{name}` must be from 1KiB to 1MiB")));
                    }
                    self.mcp_max_output = n;
                }
                "shell_integration" => {
                    self.shell_integration = v.as_bool().ok_or_else(|| wrong("true or false"))?;
                }
                "attention.after" => {
                    let s = v.as_str().ok_or_else(|| wrong("a duration like \"5s\""))?;
                    let d = fmt::parse_duration(s).map_err(|e| here(format!("`{name}`: {e}")))?;
                    if d.is_zero() {
                        return Err(here(format!("`{name}` must be longer than 0")));
                    }
                    self.attention_after = d;
                }
                "mcp.max_timeout" => {
                    let s = v.as_str().ok_or_else(|| wrong("a duration like \"10m\""))?;
                    let d = crate::fmt::parse_duration(s)
                        .map_err(|e| here(format!("`{name}`: {e}")))?;
                    if d < Duration::from_secs(1) {
                        return Err(here(format!("`{name}` must be at least 1s")));
                    }
                    self.mcp_max_timeout = d;
                }
                _ => unreachable!("every key in KEYS is handled"),
            }
            if let Some(s) = self.sources.iter_mut().find(|(k, _)| *k == key.name) {
                s.1 = Source::File(path.clone(), line);
            }
        }
        Ok(())
    }

    /// The value of a key as it would be written in the file.
    pub fn value(&self, name: &str) -> String {
        let dur = |d: Option<Duration>| match d {
            None => "\"off\"".to_string(),
            Some(d) => format!("\"{}\"", humantime::format_duration(d)),
        };
        match name {
            "store" => self.store.as_ref().map_or_else(
                || "(not set)".into(),
                |p| format!("{:?}", p.display().to_string()),
            ),
            "max_sessions" => self.max_sessions.to_string(),
            "detach_key" => format!("{:?}", self.detach_key),
            "term" => format!("{:?}", self.term),
            "retain_exited" => dur(self.retain_exited),
            "idle_timeout" => dur(self.idle_timeout),
            "ttl" => dur(self.ttl),
            "idle_after" => format!("\"{}\"", humantime::format_duration(self.idle_after)),
            "draft_quiet" => format!("\"{}\"", humantime::format_duration(self.draft_quiet)),
            "agent_command" => format!("{:?}", self.agent_command),
            "restart" => format!("\"{}\"", self.restart.as_str()),
            "restart_delay" => format!("\"{}\"", humantime::format_duration(self.restart_delay)),
            "max_restarts" => self
                .max_restarts
                .map_or_else(|| "\"off\"".into(), |n| n.to_string()),
            "restart_marker" => self.restart_marker.to_string(),
            "ssh_agent_follow" => self.ssh_agent_follow.to_string(),
            "logs.max_size" => format!("\"{}\"", fmt::size_exact(self.log_max_size)),
            "logs.keep" => self.log_keep.to_string(),
            "events.max_size" => format!("\"{}\"", fmt::size_exact(self.events_max_size)),
            "events.keep" => self.events_keep.to_string(),
            "mcp.max_output" => format!("\"{}\"", fmt::size_exact(self.mcp_max_output)),
            "shell_integration" => self.shell_integration.to_string(),
            "attention.after" => {
                format!("\"{}\"", humantime::format_duration(self.attention_after))
            }
            "mcp.max_timeout" => {
                format!("\"{}\"", humantime::format_duration(self.mcp_max_timeout))
            }
            "attach.stall" => format!("\"{}\"", humantime::format_duration(self.attach_stall)),
            _ => String::new(),
        }
    }

    pub fn source(&self, name: &str) -> Source {
        self.sources
            .iter()
            .find(|(k, _)| *k == name)
            .map_or(Source::Default, |(_, s)| s.clone())
    }
}

/// NUL, newlines, escapes: nothing a terminal name or a command word has.
fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn integer(v: &DeValue<'_>) -> Option<i64> {
    let i = v.as_integer()?;
    i64::from_str_radix(i.as_str(), i.radix()).ok()
}

fn describe(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => format!("the string {:?}", s.as_ref() as &str),
        DeValue::Integer(i) => format!("the integer {i}"),
        other => format!("a {}", other.type_str()),
    }
}

fn expand_home(s: &str) -> PathBuf {
    match (s.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(s),
    }
}

/// The valid key closest to a misspelt one, if any is close.
fn nearest(name: &str) -> Option<&'static str> {
    let best = KEYS
        .iter()
        .map(|k| {
            (
                edit_distance(name, k.name).min(edit_distance(
                    name,
                    k.name.split_once('.').map_or(k.name, |p| p.1),
                )),
                k.name,
            )
        })
        .min()?;
    (best.0 <= 3.max(name.len() / 3)).then_some(best.1)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        let mut c = Config::defaults(PathBuf::from("/x/sessions.toml"));
        c.parse(text).map(|()| c)
    }

    #[test]
    fn every_key_parses() {
        let c = parse(
            "store = \"/tmp/s\"\nmax_sessions = 5\ndetach_key = \"^Q\"\nterm = \"screen\"\n\
             retain_exited = \"off\"\nidle_timeout = \"10m\"\nttl = \"1h\"\n[logs]\nmax_size = \"1MiB\"\nkeep = 2\n\
             [mcp]\nmax_output = \"32KiB\"\nmax_timeout = \"2m\"\n",
        )
        .unwrap();
        assert_eq!(c.mcp_max_output, 32 << 10);
        assert_eq!(c.mcp_max_timeout, Duration::from_secs(120));
        assert!(parse("[mcp]\nmax_output = \"10B\"\n").is_err());
        assert_eq!(c.max_sessions, 5);
        assert_eq!(c.retain_exited, None);
        assert_eq!(c.idle_timeout, Some(Duration::from_secs(600)));
        assert_eq!(c.log_max_size, 1 << 20);
        assert_eq!(
            c.source("logs.keep"),
            Source::File("/x/sessions.toml".into(), 10)
        );
        assert_eq!(c.source("term"), Source::File("/x/sessions.toml".into(), 4));
    }

    #[test]
    fn restart_and_agent_keys() {
        let c = parse(
            "restart = \"on-failure\"\nrestart_delay = \"250ms\"\nmax_restarts = 5\n\
             restart_marker = true\nssh_agent_follow = false\n",
        )
        .unwrap();
        assert_eq!(c.restart, RestartPolicy::OnFailure);
        assert_eq!(c.restart_delay, Duration::from_millis(250));
        assert_eq!(
            (c.max_restarts, c.restart_marker, c.ssh_agent_follow),
            (Some(5), true, false)
        );
        assert_eq!(c.value("max_restarts"), "5");
        assert!(parse("restart = \"sometimes\"\n").is_err());
        assert!(parse("restart_delay = \"0s\"\n").is_err());
        assert!(parse("max_restarts = -1\n").is_err());
        assert!(parse("ssh_agent_follow = \"yes\"\n").is_err());
        let d = parse("").unwrap();
        assert_eq!(d.value("max_restarts"), "\"off\"");
        assert!(d.ssh_agent_follow);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = parse("term = \"x\"\nmax_session = 3\n").unwrap_err();
        assert_eq!(
            e.message(),
            "/x/sessions.toml:2: unknown key `max_session` (did you mean `max_sessions`?)"
        );
        let e = parse("\n\nmax_sessions = \"many\"\n").unwrap_err();
        assert_eq!(
            e.message(),
            "/x/sessions.toml:3: `max_sessions` must be an integer from 1 to 1000000, not the string \"many\""
        );
        let e = parse("[logs]\nmax_sise = \"1MiB\"\n").unwrap_err();
        assert!(
            e.message()
                .contains(":2: unknown key `logs.max_sise` (did you mean `logs.max_size`?)"),
            "{}",
            e.message()
        );
        let e = parse("a = = 1\n").unwrap_err();
        assert!(
            e.message()
                .starts_with("/x/sessions.toml:1: malformed TOML"),
            "{}",
            e.message()
        );
        let e = parse("ttl = \"soon\"\n").unwrap_err();
        assert!(
            e.message()
                .starts_with("/x/sessions.toml:1: `ttl`: invalid duration"),
            "{}",
            e.message()
        );
    }
}
