//! Starting a supervisor: a fork with a ready pipe (abduco's
//! `create_session` pattern). The launcher blocks on the pipe until the
//! supervisor reports that the lock is held, the socket listens and the
//! program has been exec'd, or why it could not. Then the supervisor's own
//! setup ([`setup`]): daemon hygiene, the signal pipe, the socket, the log,
//! the program.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{SigHandler, Signal, signal};
use nix::unistd::{ForkResult, fork, setsid};
use serde_json::json;

use super::agent::Agent;
use super::pipes::{ErrLog, Pipes};
use super::program::Program;
use super::record;
use super::restart::RestartSettings;
use super::signals::Signals;
use crate::error::{Error, Result};
use crate::events::Events;
use crate::logs::LogWriter;
use crate::meta::{self, Meta, Status};
use crate::pty::{self, Exec};
use crate::slots::Slot;
use crate::store::{ERR_LOG, LOG, SOCK};

/// What the supervisor writes on the ready pipe.
pub enum Ready {
    /// The program runs and the socket listens.
    Running { pid: i32 },
    /// exec failed with this errno.
    ExecFailed(Errno),
    /// Setting up failed before exec.
    Failed(String),
    /// This process is the forked supervisor: return to `main` (dropping
    /// everything the CLI holds), which then runs it ([`forked`]).
    Forked,
}

impl Ready {
    fn encode(&self) -> Vec<u8> {
        match self {
            Ready::Running { pid } => [b"R".as_slice(), &pid.to_le_bytes()].concat(),
            Ready::ExecFailed(e) => [b"X".as_slice(), &(*e as i32).to_le_bytes()].concat(),
            Ready::Failed(msg) => [b"E".as_slice(), msg.as_bytes()].concat(),
            Ready::Forked => Vec::new(),
        }
    }

    /// `b` holds a whole report: "R" and "X" are five bytes; "E" runs to
    /// the end of the pipe (the supervisor exits after it).
    fn complete(b: &[u8]) -> bool {
        matches!(b.first(), Some(b'R' | b'X')) && b.len() >= 5
    }

    fn decode(b: &[u8]) -> Option<Ready> {
        let int = |b: &[u8]| b.try_into().ok().map(i32::from_le_bytes);
        match b.split_first()? {
            (b'R', rest) => Some(Ready::Running { pid: int(rest)? }),
            (b'X', rest) => Some(Ready::ExecFailed(Errno::from_raw(int(rest)?))),
            (b'E', rest) => Some(Ready::Failed(String::from_utf8_lossy(rest).into_owned())),
            _ => None,
        }
    }
}

/// The supervisor's end of the ready pipe.
pub struct ReadyPipe(io::PipeWriter);

impl ReadyPipe {
    /// Report and close. Errors are ignored: the launcher may be gone.
    pub fn report(mut self, r: Ready) {
        let _ = self.0.write_all(&r.encode());
    }

    /// Report that the session runs, keeping the pipe: the launcher holds
    /// its end until it exits, so [`ReadyPipe::wait_launcher`] can tell
    /// when it is gone.
    fn report_running(mut self, pid: i32) -> ReadyPipe {
        let _ = self.0.write_all(&Ready::Running { pid }.encode());
        self
    }

    /// Wait until the launcher has closed its end (it exited, or let go to
    /// wait on the session), at most `limit`.
    #[cfg(target_os = "linux")]
    pub fn wait_launcher(&self, limit: Duration) {
        use rustix::event::{PollFd, PollFlags, poll};
        let mut fds = [PollFd::from_borrowed_fd(
            std::os::fd::AsFd::as_fd(&self.0),
            PollFlags::empty(),
        )];
        let _ = poll(&mut fds, Some(&super::timers::span(limit)));
    }

    fn raw_fd(&self) -> i32 {
        self.0.as_raw_fd()
    }
}

/// Everything the supervisor starts from.
pub struct Init {
    pub dir: PathBuf,
    /// The session's record, as the launcher wrote it (status starting).
    pub meta: Meta,
    /// How the supervisor works; meta.json records the same values.
    pub settings: Settings,
    pub exec: Exec,
    /// The session lock, taken by the launcher and inherited.
    pub lock: File,
    /// Its running-session slot (relative to the session folder), given
    /// back when the session ends.
    pub slot: Option<Slot>,
}

/// The session's settings, fixed at launch (config and `run` flags).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    /// output.log rotates at this size...
    pub log_max_size: u64,
    /// ...and this many rotated logs are kept.
    pub log_keep: u32,
    /// events.jsonl rotates at this size...
    pub events_max_size: u64,
    /// ...and this many rotated event files are kept.
    pub events_keep: u32,
    /// Stop the program after this long without output or input.
    pub idle_timeout: Option<Duration>,
    /// Stop the program this long after it started.
    pub ttl: Option<Duration>,
    /// No output for this long is an `idle` event.
    pub idle_after: Duration,
    /// A person typing holds `send` back until quiet this long.
    pub draft_quiet: Duration,
    /// Waiting for input this long after printing needs attention.
    pub attention_after: Duration,
    /// When the program is started again (`restart.rs`).
    pub restart: RestartSettings,
    /// The agent socket `run` was started with, when the program's
    /// SSH_AUTH_SOCK is the session's `agent.sock` (`agent.rs`).
    pub agent: Option<PathBuf>,
    /// An attached terminal may hold the program back this long without
    /// taking any output before it is cut loose (and repainted later).
    pub attach_stall: Duration,
}

/// The launcher's end of the ready pipe, once the supervisor reported.
static LAUNCHER_END: Mutex<Option<io::PipeReader>> = Mutex::new(None);

/// In the launcher: let the supervisor go on to its fresh image now, not
/// at this process's exit (call before waiting on the session).
pub fn let_go() {
    LAUNCHER_END
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
}

/// What the forked supervisor starts from, kept here while its copy of the
/// CLI returns to `main`.
static FORKED: Mutex<Option<(Init, ReadyPipe)>> = Mutex::new(None);

/// In the forked supervisor, once the CLI has returned to `main`: what it
/// starts from. None in any other process.
pub fn forked() -> Option<(Init, ReadyPipe)> {
    FORKED.lock().unwrap_or_else(|p| p.into_inner()).take()
}

/// Fork the supervisor and wait until it reports. In the launcher, how the
/// start went; in the child, [`Ready::Forked`]: the CLI's frames are to be
/// left (so that what they hold is freed, not kept for the session's life)
/// and `main` then calls the supervisor's body.
///
/// One fork, then `setsid` in the child: the supervisor leads a session of
/// its own without a controlling terminal, and keeps it that way because
/// every terminal it opens is opened with O_NOCTTY (openpty's; a client's
/// passed terminal, `clients/tty.rs`). No
/// middle process to fork and reap: the
/// launcher exits soon after, and the supervisor goes to init (or the
/// subreaper) as its orphan.
pub fn start(init: Init) -> Result<Ready> {
    let (mut r, w) = io::pipe().map_err(|e| Error::new(format!("creating a pipe: {e}")))?;
    // Safety: the CLI is single-threaded here (no thread has been spawned),
    // so the child may run arbitrary code; every CString was built before.
    match unsafe { fork() }.map_err(|e| Error::new(format!("fork: {}", e.desc())))? {
        ForkResult::Child => {
            drop(r);
            // A session of its own: no terminal's signals reach it.
            let _ = setsid();
            set_title(&init.meta.name);
            *FORKED.lock().unwrap_or_else(|p| p.into_inner()) = Some((init, ReadyPipe(w)));
            Ok(Ready::Forked)
        }
        ForkResult::Parent { .. } => {
            drop(w);
            drop(init);
            let mut buf = Vec::new();
            let mut chunk = [0u8; 256];
            while !Ready::complete(&buf) {
                match r.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        return Err(Error::new(format!("waiting for the supervisor: {e}")));
                    }
                }
            }
            // Held until this process exits or `let_go` (the supervisor
            // waits for that before its fresh image: `fresh.rs`).
            *LAUNCHER_END.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
            Ok(Ready::decode(&buf).unwrap_or_else(|| {
                Ready::Failed("the supervisor exited before the session was ready".into())
            }))
        }
    }
}

/// What the supervisor's setup leaves it with.
pub struct Started {
    pub meta: Meta,
    pub settings: Settings,
    /// How the program was started, to start it again.
    pub exec: Exec,
    pub agent: Option<Agent>,
    pub program: Program,
    pub listener: UnixListener,
    pub signals: Signals,
    pub log: LogWriter,
    /// Pipe mode: standard error's log.
    pub stderr: Option<ErrLog>,
    pub events: Events,
    pub lock: File,
    pub slot: Option<Slot>,
    /// The ready pipe, after the report (None in a fresh image).
    pub ready: Option<ReadyPipe>,
}

/// Daemon hygiene, the socket, the log, then the program. Reports on the
/// ready pipe; `None` when the session could not start.
pub fn setup(init: Init, ready: ReadyPipe) -> Option<Started> {
    macro_rules! try_or_report {
        ($e:expr, $what:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => {
                    ready.report(Ready::Failed(format!("{}: {}", $what, e)));
                    return None;
                }
            }
        };
    }
    let Init {
        dir,
        mut meta,
        settings,
        exec,
        lock,
        slot,
    } = init;
    try_or_report!(
        std::env::set_current_dir(&dir),
        format!("entering {}", dir.display())
    );
    try_or_report!(detach_stdio(), "redirecting standard streams to /dev/null");
    close_stray_fds(&[lock.as_raw_fd(), ready.raw_fd()]);
    // Safety: SIG_IGN installs no handler.
    unsafe {
        let _ = signal(Signal::SIGHUP, SigHandler::SigIgn);
        let _ = signal(Signal::SIGPIPE, SigHandler::SigIgn);
    }
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));

    let signals = match Signals::install() {
        Ok(s) => s,
        Err(why) => {
            ready.report(Ready::Failed(why));
            return None;
        }
    };

    // Bound relative to the session folder, so any store path length works.
    let listener = try_or_report!(
        UnixListener::bind(SOCK),
        format!("binding {}", dir.join(SOCK).display())
    );
    try_or_report!(
        std::fs::set_permissions(SOCK, std::fs::Permissions::from_mode(0o600)),
        "securing the socket"
    );
    try_or_report!(listener.set_nonblocking(true), "configuring the socket");
    let here = Path::new(".");
    let log = try_or_report!(
        LogWriter::open(here, settings.log_max_size, settings.log_keep),
        format!("opening {}", dir.join(LOG).display())
    );
    let stderr = match meta.is_pipe() {
        true => Some(ErrLog::new(try_or_report!(
            LogWriter::open_named(here, ERR_LOG, settings.log_max_size, settings.log_keep),
            format!("opening {}", dir.join(ERR_LOG).display())
        ))),
        false => None,
    };
    let mut events = Events::open_with(here, settings.events_max_size, settings.events_keep);
    // The link exists before the program looks for it.
    let uid = nix::unistd::geteuid().as_raw();
    let agent = (settings.agent.clone()).map(|start| Agent::new(start, uid, &mut events));

    // Kept to start the program again on: its terminal (pipe mode: none,
    // and no restart policy).
    let keep = settings.restart.policy != meta::RestartPolicy::No;
    let spawned = if meta.is_pipe() {
        pty::spawn_pipes(&exec).map(|r| {
            r.map(|p| {
                (
                    p.pid,
                    Program::with_pipes(Pipes::new(p.stdin, p.stdout, p.stderr), p.pid),
                )
            })
        })
    } else {
        pty::spawn(&exec, meta.cols, meta.rows).map(|r| r.map(|s| (s.pid, Program::new(s, keep))))
    };
    let (pid, program) = match spawned {
        Ok(Ok(s)) => s,
        Ok(Err(errno)) => {
            ready.report(Ready::ExecFailed(errno));
            return None;
        }
        Err(e) => {
            ready.report(Ready::Failed(format!("starting the program: {e}")));
            return None;
        }
    };
    meta.status = Status::Running;
    meta.started = Some(meta::now());
    meta.pid = Some(pid.as_raw());
    meta.supervisor_pid = Some(std::process::id() as i32);
    try_or_report!(meta.write(here), "writing meta.json");
    let ready = ready.report_running(pid.as_raw());
    events.emit(
        "started",
        json!({"pid": pid.as_raw(), "supervisor_pid": std::process::id(), "command": meta.command,
            "mode": meta.mode, "cols": meta.cols, "rows": meta.rows}),
    );
    record::reserve_space();
    Some(Started {
        meta,
        settings,
        exec,
        agent,
        program,
        listener,
        signals,
        log,
        stderr,
        events,
        lock,
        slot,
        ready: Some(ready),
    })
}

fn detach_stdio() -> io::Result<()> {
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    rustix::stdio::dup2_stdin(&null)?;
    rustix::stdio::dup2_stdout(&null)?;
    rustix::stdio::dup2_stderr(&null)?;
    Ok(())
}

/// Close descriptors inherited from whoever ran `run --bg` (a pipe a caller
/// waits on for EOF must not be held open by a daemon).
fn close_stray_fds(keep: &[i32]) {
    // Linux with glibc: a few close_range calls around the kept fds, no
    // directory read (an older kernel says ENOSYS: the scan below).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut keep = keep.to_vec();
        keep.sort_unstable();
        let mut from = 3u32;
        let mut ok = true;
        for k in keep.iter().map(|&k| k as u32).chain([u32::MAX]) {
            if k > from {
                let last = if k == u32::MAX { u32::MAX } else { k - 1 };
                // Safety: closes only fd numbers this process holds no
                // reference to (every one it keeps is in `keep`).
                ok &= unsafe { nix::libc::close_range(from, last, 0) } == 0;
            }
            from = from.max(k.saturating_add(1));
        }
        if ok {
            return;
        }
    }
    let Ok(rd) = std::fs::read_dir("/dev/fd") else {
        return;
    };
    let fds: Vec<i32> = rd
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in fds {
        if fd > 2 && !keep.contains(&fd) {
            // The read_dir handle is gone by now; closing an fd number that
            // is no longer open just fails with EBADF.
            let _ = nix::unistd::close(fd);
        }
    }
}

/// Name the supervisor where `ps` and `top` look: `codex-session:
/// supervisor NAME`. On Linux, the command name (15 bytes: `cs:NAME`) and
/// the command line, written over the launcher's own argument strings (the
/// area is not grown, so a long title is cut; a launch line is longer than
/// the title in practice). Elsewhere (macOS, the BSDs) `ps` keeps showing
/// the `run` command line that started it: finding the argument area there
/// takes a private libc symbol.
#[cfg(target_os = "linux")]
fn set_title(name: &str) {
    set_comm(name);
    let Some((start, end)) = arg_area() else {
        return;
    };
    let mut title = format!("codex-session: supervisor {name}").into_bytes();
    let len = end - start;
    // The title, NULs, and a last byte that is not NUL: the kernel then
    // reads the area as setproctitle(3) leaves it, up to the first NUL, so
    // /proc/PID/cmdline is exactly the title.
    title.truncate(len - 2);
    title.resize(len - 1, 0);
    title.push(b' ');
    // Safety: [start, end) is this process's argument area as the kernel
    // reports it (the strings argv points to, on the initial stack, mapped
    // and writable for the process's life). Nothing reads them after
    // argument parsing, which is over: std reads argv only when
    // `std::env::args` is called, and the supervisor never calls it.
    unsafe { std::ptr::copy_nonoverlapping(title.as_ptr(), start as *mut u8, len) };
}

#[cfg(not(target_os = "linux"))]
fn set_title(_name: &str) {}

/// The command name alone (`cs:NAME`, Linux): what a fresh image sets
/// first, its command line being the title already (`fresh.rs`).
#[cfg(target_os = "linux")]
pub(super) fn set_comm(name: &str) {
    if let Ok(comm) = std::ffi::CString::new(format!("cs:{name}")) {
        let _ = nix::sys::prctl::set_name(&comm);
    }
}

/// The argument area's bounds, from /proc/self/stat (fields 48 and 49,
/// `arg_start` and `arg_end`); None if unreadable or too small to hold
/// anything.
#[cfg(target_os = "linux")]
fn arg_area() -> Option<(usize, usize)> {
    use rustix::fs::{Mode, OFlags, open};
    // One read (the file is some 300 bytes; 52 fields of at most 20 digits
    // and a 16-byte comm fit in the buffer).
    let fd = open(
        c"/proc/self/stat",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let mut buf = [0u8; 1536];
    let n = rustix::io::read(&fd, &mut buf).ok()?;
    let stat = std::str::from_utf8(&buf[..n]).ok()?;
    // "pid (comm) state ...": the comm may hold spaces and parentheses.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let start: usize = fields.nth(48 - 3)?.parse().ok()?;
    let end: usize = fields.next()?.parse().ok()?;
    (start != 0 && end > start + 2).then_some((start, end))
}
