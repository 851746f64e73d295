//! The MCP server's one door into the code it shares with `codex-session`
//! (the modules `main.rs` includes): sessions, their sockets, logs and
//! records. Every other file under `src/mcp/` speaks only to this one, in
//! plain types (names, bytes, durations, [`Fail`]), so a change of the
//! client code's shape touches this file (and that module list) alone.
//!
//! Everything here blocks; the server calls it on tokio's blocking pool with
//! a deadline that each function honours itself (socket read timeouts).
//!
//! Starting a session forks (the supervisor's double fork), which is not
//! safe from a process with several threads (another thread may hold the
//! allocator's lock at the fork): [`Backend::start`] runs `codex-session
//! run --bg` in a child process instead. Nothing else here forks.

use std::io::{self, Read, Seek, SeekFrom};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::client::{Conn, watch};
use crate::error::Error;
use crate::proto::{self, Kind, Role};
use crate::store::{self, Entry, Session, Store};

mod output;
mod types;

use output::{read_output, tail_start};
pub use types::*;

impl Backend {
    pub fn new(o: Options) -> Backend {
        Backend {
            store: Store { root: o.store },
            config_file: o.config_file,
            exe: o.exe,
            max_output: o.max_output,
            max_timeout: o.max_timeout,
            idle_after: o.idle_after,
        }
    }

    fn get(&self, name: &str) -> Result<Session> {
        Ok(self.store.get(name)?)
    }

    pub fn info(&self, name: &str) -> Result<Info> {
        Ok(info_of(&self.get(name)?))
    }

    pub fn list(&self) -> Result<Vec<Info>> {
        let entries = self.store.scan()?;
        Ok(entries
            .iter()
            .map(|e| match e {
                Entry::Ok(s) => info_of(s),
                Entry::Damaged { name, reason } => Info {
                    name: name.clone(),
                    status: "damaged".into(),
                    status_text: "damaged".into(),
                    running: false,
                    pid: None,
                    exit_code: None,
                    signal: None,
                    end_reason: None,
                    command: String::new(),
                    cwd: None,
                    label: None,
                    clients: 0,
                    output_bytes: 0,
                    created: None,
                    ended: None,
                    cols: 0,
                    rows: 0,
                    error: Some(reason.clone()),
                },
            })
            .collect())
    }

    /// Start a session with `run --bg` in a child process; its name, and
    /// whether it was running already (`if_absent`).
    pub fn start(&self, spec: &StartSpec, deadline: Instant) -> Result<(String, bool)> {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("--store").arg(&self.store.root);
        if let Some(c) = &self.config_file {
            cmd.arg("--config").arg(c);
        }
        cmd.args(["run", "--bg"]);
        if let Some(n) = &spec.name {
            cmd.args(["--name", n]);
        }
        if let Some(c) = &spec.cwd {
            cmd.args(["--cwd", c]);
        }
        for (k, v) in &spec.env {
            cmd.arg("--env").arg(format!("{k}={v}"));
        }
        if let Some(s) = &spec.size {
            cmd.args(["--size", s]);
        }
        if let Some(l) = &spec.label {
            cmd.args(["--label", l]);
        }
        if spec.if_absent {
            cmd.arg("--if-absent");
        }
        cmd.arg("--").args(&spec.command);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| Fail::new(format!("starting {}: {e}", self.exe.display())))?;
        let mut out = child.stdout.take().expect("piped");
        let mut err = child.stderr.take().expect("piped");
        // Both pipes end when `run` exits (the supervisor closes what it
        // inherited); read them on threads so neither can fill up.
        let t_out = std::thread::spawn(move || {
            let mut v = String::new();
            let _ = out.read_to_string(&mut v);
            v
        });
        let t_err = std::thread::spawn(move || {
            let mut v = String::new();
            let _ = err.read_to_string(&mut v);
            v
        });
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break st,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(Fail::new(
                        "starting the session took longer than the timeout",
                    ));
                }
                Err(e) => return Err(Fail::new(format!("waiting for `run`: {e}"))),
            }
        };
        let stdout = t_out.join().unwrap_or_default();
        let stderr = t_err.join().unwrap_or_default();
        if !status.success() {
            // `codex-session: what failed: why` and `hint: ...` lines.
            let msg = stderr
                .lines()
                .map(|l| {
                    l.strip_prefix("codex-session: ")
                        .map(str::to_string)
                        .or_else(|| l.strip_prefix("hint: ").map(|h| format!("(hint: {h})")))
                        .unwrap_or_else(|| l.to_string())
                })
                .collect::<Vec<_>>()
                .join(" ");
            let msg = if msg.trim().is_empty() {
                format!("`run` failed ({status})")
            } else {
                msg
            };
            return Err(Fail::new(msg));
        }
        match stdout
            .lines()
            .next()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            Some(name) => Ok((name.to_string(), false)),
            // --if-absent and it runs: `run` prints nothing.
            None => match &spec.name {
                Some(n) if spec.if_absent => Ok((n.clone(), true)),
                _ => Err(Fail::new("`run` printed no session name")),
            },
        }
    }

    /// Start watching a running session's output; Idle once quiet `idle`.
    pub fn watch(&self, name: &str, idle: Option<Duration>) -> Result<Watching> {
        let s = self.get(name)?;
        if !s.is_running() {
            return Err(not_running(&s));
        }
        let idle_ms = idle.map(|d| d.as_millis() as u64);
        let timed_out = || Error::new(format!("session {}: the supervisor did not answer", s.name));
        let (conn, info) = match watch::open(&s, idle_ms, None, timed_out)? {
            Ok(w) => w,
            Err(over) => return Err(not_running(&over)),
        };
        Ok(Watching {
            stream: Stream { conn, session: s },
            offset: info.offset,
            input_offset: info.input_offset,
            answer: InputAnswer::to_last_input(&info),
        })
    }

    /// Deliver input as one unit. With `follow`, the connection then streams
    /// the output that follows the input, and the answer says where the
    /// program's answer to it begins.
    pub fn send(&self, name: &str, input: &Input) -> Result<(Stream, InputAnswer)> {
        let s = self.get(name)?;
        if !s.is_running() {
            return Err(not_running(&s));
        }
        check_keys(&input.keys)?;
        let req = proto::SendReq {
            keys: input.keys.clone(),
            paste: input.paste,
            submit: input.submit,
            interrupt: input.interrupt,
            eof: input.eof,
            force: false,
            timeout_ms: input.timeout.as_millis() as u64,
            label: Some(input.label.clone()),
            id: None,
            wait_idle_ms: input.follow.map(|d| d.as_millis().max(1) as u64),
            wait_command: false,
        };
        let json = serde_json::to_vec(&req).expect("serializes");
        let mut payload = Vec::with_capacity(4 + json.len() + input.text.len());
        payload.extend_from_slice(&(json.len() as u32).to_le_bytes());
        payload.extend_from_slice(&json);
        payload.extend_from_slice(&input.text);
        if payload.len() > proto::MAX_FRAME {
            return Err(Fail::new(format!(
                "text of {} bytes is more than one send can carry ({} bytes): split it into several sends",
                input.text.len(),
                proto::MAX_FRAME - 4 - json.len()
            )));
        }
        let mut c = Conn::open(&s, Role::Control, None, false)?;
        c.write(Kind::Send, &payload)?;
        // The supervisor answers once delivered, or when it gave up waiting
        // for a typing person to pause.
        c.set_timeout(Some(input.timeout + Duration::from_secs(5)))?;
        loop {
            match c.read()? {
                (Kind::Ok, p) => {
                    let r: proto::SendResult = c.parse(Kind::Ok, &p)?;
                    let answer = InputAnswer::to_send(&r);
                    return Ok((
                        Stream {
                            conn: c,
                            session: s,
                        },
                        answer,
                    ));
                }
                (Kind::Error, p) => return Err(c.remote_error(&p).into()),
                _ => {}
            }
        }
    }

    /// The current screen as text, and whether the session is live (else it
    /// is the last screen it showed).
    pub fn screen(&self, name: &str) -> Result<(String, bool)> {
        let s = self.get(name)?;
        if s.is_running() {
            match capture(&s) {
                Ok(t) => return Ok((t, true)),
                // Ended as we asked: fall through to the saved screen.
                Err(e) if s.settle().is_none() => return Err(e),
                Err(_) => {}
            }
        }
        let path = s.path(store::SCREEN_TXT);
        let b = crate::sys::read_nofollow(&path).map_err(|e| {
            Fail::new(format!(
                "session {} is {} and left no screen ({e}); session_logs shows its output",
                s.name,
                s.status()
            ))
        })?;
        Ok((String::from_utf8_lossy(&b).into_owned(), false))
    }

    /// The screen rebuilt from the repaint a read-only client gets, for the
    /// cursor position: (text, row, col), counted from 0.
    pub fn screen_with_cursor(&self, name: &str) -> Result<(String, u16, u16)> {
        let s = self.get(name)?;
        if !s.is_running() {
            return Err(not_running(&s));
        }
        let mut c = Conn::open(&s, Role::Attach, None, true)?;
        let nz = |v: u16| std::num::NonZeroU16::new(v.max(1)).expect("not zero");
        let mut vt = vt100::Parser::new(nz(s.meta.rows), nz(s.meta.cols), 0);
        // The repaint comes at once after Welcome; live output may follow,
        // which only brings the model up to date. Stop once it pauses.
        let end = Instant::now() + Duration::from_secs(5);
        let mut quiet = Duration::from_millis(200);
        loop {
            c.set_timeout(Some(quiet))?;
            match proto::read_frame(&mut c.stream) {
                Ok((Kind::Output, p)) => {
                    vt.process(&p);
                    quiet = Duration::from_millis(30);
                }
                Ok((Kind::Exit, _)) => break,
                Ok((Kind::Error, p)) => return Err(c.remote_error(&p).into()),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break;
                }
                Err(e) => return Err(c.io_err(e).into()),
            }
            if Instant::now() >= end {
                break;
            }
        }
        // Hanging up is how a client detaches.
        drop(c);
        let screen = vt.screen();
        let (row, col) = screen.cursor_position();
        let mut lines: Vec<String> = screen
            .contents()
            .lines()
            .map(|l| l.trim_end().to_string())
            .collect();
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        let mut text = lines.join("\n");
        text.push('\n');
        Ok((text, row, col))
    }

    /// The window title the program set last, from the session's events.
    pub fn title(&self, name: &str) -> Result<Option<String>> {
        let s = self.get(name)?;
        let path = s.path(store::EVENTS);
        let Ok(mut f) = crate::sys::open_nofollow(&path) else {
            return Ok(None);
        };
        // The last 256 KiB is plenty to find the latest title.
        let len = f.seek(SeekFrom::End(0)).unwrap_or(0);
        let from = len.saturating_sub(256 * 1024);
        let _ = f.seek(SeekFrom::Start(from));
        let mut b = Vec::new();
        let _ = f.read_to_end(&mut b);
        let text = String::from_utf8_lossy(&b);
        Ok(text
            .lines()
            .rev()
            .filter(|l| l.contains("\"title\""))
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["event"] == "title")
            .and_then(|v| v["title"].as_str().map(str::to_string)))
    }

    /// Output bytes `[from, from + max)` of a session's output, counted from
    /// its start; returns where the bytes really begin (later than `from` if
    /// rotation removed that part) and the total so far.
    pub fn read_output(&self, name: &str, from: u64, max: usize) -> Result<(Vec<u8>, u64, u64)> {
        let s = self.get(name)?;
        read_output(&s.dir, from, max)
            .map_err(|e| Fail::new(format!("reading the output of {}: {e}", s.name)))
    }

    /// Where the last `lines` lines of the output begin, and the total.
    pub fn tail_start(&self, name: &str, lines: u64) -> Result<(u64, u64)> {
        let s = self.get(name)?;
        tail_start(&s.dir, lines)
            .map_err(|e| Fail::new(format!("reading the output of {}: {e}", s.name)))
    }

    /// Output bytes so far.
    pub fn output_bytes(&self, name: &str) -> Result<u64> {
        Ok(self.get(name)?.output_bytes())
    }

    /// Stop a running session: `signal` to its program's process group,
    /// SIGKILL after `grace`; returns once it has ended (or at `deadline`).
    pub fn stop(
        &self,
        name: &str,
        signal: &str,
        grace: Duration,
        deadline: Instant,
    ) -> Result<Info> {
        let sig = crate::sys::parse_signal(signal).ok_or_else(|| {
            Fail::new(format!(
                "invalid signal {signal:?}: use a name like TERM, INT, HUP or KILL, or a number"
            ))
        })?;
        let s = self.get(name)?;
        if !s.is_running() {
            return Err(not_running(&s));
        }
        stop(&s, sig as i32, grace, deadline)?;
        self.info(name)
    }

    /// Remove an ended session's folder; a running one only with `force`
    /// (stopped first, TERM then KILL after `grace`).
    pub fn remove(
        &self,
        name: &str,
        force: bool,
        grace: Duration,
        deadline: Instant,
    ) -> Result<()> {
        let s = self.get(name)?;
        if s.is_running() {
            if !force {
                return Err(Fail::new(format!(
                    "session {name} is running: stop it first (session_stop), or pass force: true"
                )));
            }
            stop(
                &s,
                nix::sys::signal::Signal::SIGTERM as i32,
                grace,
                deadline,
            )?;
        }
        std::fs::remove_dir_all(&s.dir)
            .map_err(|e| Fail::new(format!("removing {}: {e}", s.dir.display())))
    }
}

impl Stream {
    pub fn name(&self) -> &str {
        &self.session.name
    }

    /// The next event, or Timeout at `deadline`.
    pub fn next(&mut self, deadline: Instant) -> Result<Event> {
        Ok(match watch::next(&mut self.conn, Some(deadline))? {
            watch::Event::Output(p) => Event::Output(p),
            watch::Event::Idle => Event::Idle,
            watch::Event::Exit(i) => Event::Exit(Ended {
                code: i.code,
                signal: i.signal,
            }),
            watch::Event::Timeout => Event::Timeout,
            // The session may have ended as we connected: its record says.
            watch::Event::Lost => match self.session.settle() {
                Some(s) => Event::Exit(Ended {
                    code: s.meta.exit_code,
                    signal: s.meta.signal.clone(),
                }),
                None => {
                    return Err(Fail::new(format!(
                        "session {}: the supervisor closed the connection",
                        self.session.name
                    )));
                }
            },
        })
    }
}

/// Every key name must be one `send` knows (the CLI would type an unknown
/// word as text; an agent's typo should fail instead).
pub fn check_keys(keys: &[String]) -> Result<()> {
    match keys
        .iter()
        .find(|k| crate::keys::encode(k, false).is_none())
    {
        None => Ok(()),
        Some(k) => Err(Fail::new(format!(
            "unknown key {k:?} in keys: use Enter, Tab, BTab, Escape, BSpace, Space, Up, Down, \
             Left, Right, Home, End, PageUp, PageDown, Insert, Delete, F1-F12, C-x (Ctrl), \
             M-x (Alt); put literal text in `text`"
        ))),
    }
}

fn not_running(s: &Session) -> Fail {
    Fail::new(format!(
        "session {} is not running ({}); session_logs and session_screen still show what it printed",
        s.name,
        s.status()
    ))
}

fn info_of(s: &Session) -> Info {
    let m = &s.meta;
    let status = if !m.is_ended() && !s.live {
        "lost".to_string()
    } else {
        serde_json::to_value(m.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    Info {
        name: s.name.clone(),
        status,
        status_text: s.status(),
        running: s.is_running(),
        pid: m.pid,
        exit_code: m.exit_code,
        signal: m.signal.clone(),
        end_reason: m.end_reason.clone(),
        command: m.display_command().to_string(),
        cwd: Some(m.cwd.clone()),
        label: m.label.clone(),
        clients: if s.live { m.clients } else { 0 },
        output_bytes: s.output_bytes(),
        created: Some(m.created.clone()),
        ended: m.ended.clone(),
        cols: m.cols,
        rows: m.rows,
        error: m.log_error.clone(),
    }
}

fn capture(s: &Session) -> Result<String> {
    let mut c = Conn::open(s, Role::Control, None, false)?;
    c.write(
        Kind::Capture,
        &proto::json(&proto::CaptureReq {
            ansi: false,
            join: false,
        }),
    )?;
    c.set_timeout(Some(Duration::from_secs(10)))?;
    let mut screen = Vec::new();
    loop {
        match c.read()? {
            (Kind::Screen, p) => screen.extend_from_slice(&p),
            (Kind::Ok, _) => return Ok(String::from_utf8_lossy(&screen).into_owned()),
            (Kind::Error, p) => return Err(c.remote_error(&p).into()),
            _ => {}
        }
    }
}

/// `stop` as the CLI does it: the request, then the exit, then the lock.
fn stop(s: &Session, signal: i32, grace: Duration, deadline: Instant) -> Result<()> {
    let mut c = Conn::open(s, Role::Control, None, false)?;
    let req = proto::StopReq {
        signal,
        grace_ms: grace.as_millis() as u64,
    };
    c.write(Kind::Stop, &proto::json(&req))?;
    let late = || {
        Fail::new(format!(
            "session {} did not end before the timeout; it gets SIGKILL {} after the signal",
            s.name,
            humantime::format_duration(grace)
        ))
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(late());
        }
        c.set_timeout(Some(left))?;
        match proto::read_frame(&mut c.stream) {
            Ok((Kind::Exit, _)) => break,
            Ok((Kind::Error, p)) => return Err(c.remote_error(&p).into()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset
                ) =>
            {
                break;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(late());
            }
            Err(e) => return Err(c.io_err(e).into()),
        }
    }
    drop(c);
    if store::wait_unlocked(&s.dir, deadline) {
        Ok(())
    } else {
        Err(late())
    }
}
