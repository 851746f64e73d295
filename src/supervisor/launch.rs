//! Starting a supervisor: double fork with a ready pipe (abduco's
//! `create_session` pattern). The launcher blocks on the pipe until the
//! supervisor reports that the lock is held, the socket listens and the
//! program has been exec'd, or why it could not.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;

use nix::errno::Errno;
use nix::unistd::{ForkResult, fork, setsid};

use crate::error::{Error, Result};
use crate::meta::Meta;
use crate::pty::Exec;

/// What the supervisor writes on the ready pipe.
pub enum Ready {
    /// The program runs and the socket listens.
    Running { pid: i32 },
    /// exec failed with this errno.
    ExecFailed(Errno),
    /// Setting up failed before exec.
    Failed(String),
}

impl Ready {
    fn encode(&self) -> Vec<u8> {
        match self {
            Ready::Running { pid } => [b"R".as_slice(), &pid.to_le_bytes()].concat(),
            Ready::ExecFailed(e) => [b"X".as_slice(), &(*e as i32).to_le_bytes()].concat(),
            Ready::Failed(msg) => [b"E".as_slice(), msg.as_bytes()].concat(),
        }
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

    pub fn raw_fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.0.as_raw_fd()
    }
}

/// Everything the supervisor starts from.
pub struct Init {
    pub dir: PathBuf,
    pub meta: Meta,
    pub exec: Exec,
    /// The session lock, taken by the launcher and inherited.
    pub lock: File,
}

/// Fork the supervisor and wait until it reports. Returns in the launcher
/// only; the supervisor never returns from here.
pub fn start(init: Init) -> Result<Ready> {
    let (mut r, w) = io::pipe().map_err(|e| Error::new(format!("creating a pipe: {e}")))?;
    // Safety: the CLI is single-threaded here (no thread has been spawned),
    // so the child may run arbitrary code; every CString was built before.
    match unsafe { fork() }.map_err(|e| Error::new(format!("fork: {}", e.desc())))? {
        ForkResult::Child => {
            drop(r);
            // The intermediate child: a new session, then fork again so the
            // supervisor is not a session leader and can never acquire a
            // controlling terminal.
            let _ = setsid();
            // Safety: still single-threaded.
            match unsafe { fork() } {
                Ok(ForkResult::Child) => {
                    set_title(&init.meta.name);
                    super::run(init, ReadyPipe(w))
                }
                // Safety: _exit skips atexit handlers and destructors that
                // belong to the launcher, which is exactly what we want here.
                Ok(ForkResult::Parent { .. }) | Err(_) => unsafe { nix::libc::_exit(0) },
            }
        }
        ForkResult::Parent { child } => {
            drop(w);
            drop(init);
            let _ = nix::sys::wait::waitpid(child, None);
            let mut buf = Vec::new();
            r.read_to_end(&mut buf)
                .map_err(|e| Error::new(format!("waiting for the supervisor: {e}")))?;
            Ok(Ready::decode(&buf).unwrap_or_else(|| {
                Ready::Failed("the supervisor exited before the session was ready".into())
            }))
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
    if let Ok(comm) = std::ffi::CString::new(format!("cs:{name}")) {
        let _ = nix::sys::prctl::set_name(&comm);
    }
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

/// The argument area's bounds, from /proc/self/stat (fields 48 and 49,
/// `arg_start` and `arg_end`); None if unreadable or too small to hold
/// anything.
#[cfg(target_os = "linux")]
fn arg_area() -> Option<(usize, usize)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // "pid (comm) state ...": the comm may hold spaces and parentheses.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let start: usize = fields.get(48 - 3)?.parse().ok()?;
    let end: usize = fields.get(49 - 3)?.parse().ok()?;
    (start != 0 && end > start + 2).then_some((start, end))
}
