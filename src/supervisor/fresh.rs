//! A fresh image for the supervisor (Linux). The supervisor starts as a
//! fork of the CLI, so its heap holds what the CLI allocated and freed:
//! glibc keeps such chunks in the thread's cache (tcache), spread over the
//! heap's pages, where `malloc_trim` cannot give them back, and every page
//! of the binary's data the CLI wrote is a private copy. Once the session
//! is ready (the launcher has its answer and has exited) and has its first
//! work or has waited [`QUIET_WAIT`] for it, the supervisor execs its own
//! binary (`/proc/self/exe`, the running file even if it was replaced
//! since) and goes on in a clean image: same process, same pid, same
//! descriptors, same session.
//!
//! What crosses the exec: the descriptors it holds (their close-on-exec
//! flag cleared for the exec, set again after), and the rest as JSON in a
//! memfd named in the environment ([`VAR`]; the command line is the
//! supervisor's title alone, so `ps` shows that throughout, and the
//! command name is set first thing). SIGCHLD, SIGTERM and SIGINT
//! are blocked across it (a mask and pending signals survive an exec), so
//! a program that ends or a `stop` that comes meanwhile is handled once the
//! new image has installed its handlers. If the exec fails, the forked
//! image goes on as before.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use serde::{Deserialize, Serialize};

use super::agent::Agent;
use super::launch::{Settings, Started};
use super::pipes::ErrLog;
use super::program::{Parts, Program};
use super::signals::Signals;
use crate::events::Events;
use crate::logs::LogWriter;
use crate::meta::Meta;
use crate::pty::Exec;
use crate::slots::Slot;

/// The longest the exec waits for the launcher to exit.
const LAUNCHER_WAIT: Duration = Duration::from_millis(100);

/// After that, the longest it waits for the session's first work (see
/// [`wait_for_work`]).
const QUIET_WAIT: Duration = Duration::from_millis(50);

/// The environment variable that makes a process a fresh image, and names
/// its state's fd.
pub const VAR: &str = "CODEX_SESSION_SUPERVISOR_STATE";

#[derive(Serialize, Deserialize)]
struct State {
    meta: Meta,
    settings: Settings,
    exec: ExecState,
    lock: RawFd,
    slot: Option<PathBuf>,
    listener: RawFd,
    master: Option<RawFd>,
    pipes: Option<[Option<RawFd>; 3]>,
    child: Option<i32>,
    pgid: i32,
    again: Option<(RawFd, TermiosState)>,
    log: RawFd,
    stderr: Option<RawFd>,
    agent: Option<(PathBuf, Option<PathBuf>)>,
    uid: u32,
    /// SIGTERM or SIGINT came before the exec.
    term: bool,
}

#[derive(Serialize, Deserialize)]
struct ExecState {
    path: Vec<u8>,
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    cwd: Vec<u8>,
    umask: u32,
}

#[derive(Serialize, Deserialize)]
struct TermiosState {
    iflag: u32,
    oflag: u32,
    cflag: u32,
    lflag: u32,
    line: u8,
    cc: Vec<u8>,
    ispeed: u32,
    ospeed: u32,
}

impl TermiosState {
    fn of(t: &nix::sys::termios::Termios) -> TermiosState {
        let t: nix::libc::termios = t.clone().into();
        TermiosState {
            iflag: t.c_iflag,
            oflag: t.c_oflag,
            cflag: t.c_cflag,
            lflag: t.c_lflag,
            line: t.c_line,
            cc: t.c_cc.to_vec(),
            ispeed: t.c_ispeed,
            ospeed: t.c_ospeed,
        }
    }

    fn termios(&self) -> Option<nix::sys::termios::Termios> {
        // Safety: libc::termios is plain data; all zeroes is a valid value,
        // and every field is set below.
        let mut t: nix::libc::termios = unsafe { std::mem::zeroed() };
        t.c_iflag = self.iflag;
        t.c_oflag = self.oflag;
        t.c_cflag = self.cflag;
        t.c_lflag = self.lflag;
        t.c_line = self.line;
        if self.cc.len() != t.c_cc.len() {
            return None;
        }
        t.c_cc.copy_from_slice(&self.cc);
        t.c_ispeed = self.ispeed;
        t.c_ospeed = self.ospeed;
        Some(t.into())
    }
}

fn blocked() -> SigSet {
    let mut s = SigSet::empty();
    for sig in [Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT] {
        s.add(sig);
    }
    s
}

fn set_cloexec(fds: &[RawFd], on: bool) {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    let flag = if on {
        FdFlag::FD_CLOEXEC
    } else {
        FdFlag::empty()
    };
    for &fd in fds {
        // Safety: the caller holds each fd open for the call.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        let _ = fcntl(fd, FcntlArg::F_SETFD(flag));
    }
}

/// Exec a fresh image that goes on with `s`; never returns if that works.
/// On failure, `s` back, untouched, to go on with here.
pub fn exec(mut s: Started) -> Started {
    // Not while the launcher is still finishing, on the same CPUs, nor
    // while the program starts and the launcher's caller goes on.
    if let Some(ready) = s.ready.take() {
        ready.wait_launcher(LAUNCHER_WAIT);
        drop(ready);
        wait_for_work(&s, QUIET_WAIT);
    }
    let Ok(memfd) =
        rustix::fs::memfd_create("codex-session-state", rustix::fs::MemfdFlags::empty())
    else {
        return s;
    };
    let mut file = File::from(memfd);
    // From here the signals wait for the new image's handlers; what this
    // image's handlers took already is passed on (a SIGCHLD is always
    // looked into there).
    let old = SigSet::thread_get_mask().unwrap_or_else(|_| SigSet::empty());
    let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&blocked()), None);
    let term = s.signals.take();
    let state = state_of(&s, term);
    let fds = state.fds();
    let written = serde_json::to_vec(&state)
        .is_ok_and(|b| file.write_all(&b).is_ok() && file.rewind().is_ok());
    let title = std::ffi::CString::new(format!("codex-session: supervisor {}", s.meta.name));
    // The environment is the one the CLI was started with, and the state's fd.
    let env: Vec<std::ffi::CString> = std::env::vars_os()
        .filter(|(k, _)| k != VAR)
        .map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat())
        .chain([format!("{VAR}={}", file.as_raw_fd()).into_bytes()])
        .filter_map(|kv| std::ffi::CString::new(kv).ok())
        .collect();
    if let (true, Ok(title)) = (written, title) {
        set_cloexec(&fds, false);
        let _ = nix::unistd::execve(c"/proc/self/exe", &[title], &env);
        set_cloexec(&fds, true);
    }
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    // Taken above: handled by this image's loop after all.
    let _ = nix::sys::signal::raise(Signal::SIGCHLD);
    if term {
        let _ = nix::sys::signal::raise(Signal::SIGTERM);
    }
    s
}

/// Wait until the session has something to do, at most `limit`: a client
/// connecting, the program's first output (it may wait on an answer to a
/// terminal query), a signal (the program ended, a stop). The exec costs
/// about a millisecond of CPU; on a small machine, made at once it
/// competes with the exit of `run` (its caller waits for that) and with
/// the program's own start, so it is made once either has work for the
/// supervisor or both have had their moment.
fn wait_for_work(s: &Started, limit: Duration) {
    use rustix::event::{PollFd, PollFlags, poll};
    use std::os::fd::AsFd;
    let mut fds = vec![
        PollFd::new(&s.listener, PollFlags::IN),
        PollFd::new(&s.signals, PollFlags::IN),
    ];
    if let Some(m) = s.program.pty() {
        fds.push(PollFd::new(m, PollFlags::IN));
    }
    if let Some(p) = s.program.pipes() {
        for o in [p.stdout.as_ref(), p.stderr.as_ref()].into_iter().flatten() {
            fds.push(PollFd::from_borrowed_fd(o.as_fd(), PollFlags::IN));
        }
    }
    let _ = poll(&mut fds, Some(&super::timers::span(limit)));
    // Whoever woke this process (a client's connect, say) goes on first.
    // Safety: sched_yield takes no arguments and touches no memory.
    unsafe { nix::libc::sched_yield() };
}

impl State {
    /// Every descriptor the state names.
    fn fds(&self) -> Vec<RawFd> {
        let mut fds = vec![self.lock, self.listener, self.log];
        fds.extend(self.stderr);
        fds.extend(self.master);
        fds.extend(self.pipes.into_iter().flatten().flatten());
        fds.extend(self.again.as_ref().map(|(f, _)| *f));
        fds
    }
}

fn state_of(s: &Started, term: bool) -> State {
    let p: Parts<RawFd> = s.program.parts();
    let bytes = |c: &std::ffi::CString| c.as_bytes().to_vec();
    State {
        meta: s.meta.clone(),
        settings: s.settings.clone(),
        exec: ExecState {
            path: bytes(&s.exec.path),
            argv: s.exec.argv.iter().map(bytes).collect(),
            envp: s.exec.envp.iter().map(bytes).collect(),
            cwd: bytes(&s.exec.cwd),
            umask: s.exec.umask.bits(),
        },
        lock: s.lock.as_raw_fd(),
        slot: s.slot.as_ref().map(|s| s.path().to_path_buf()),
        listener: s.listener.as_raw_fd(),
        master: p.master,
        pipes: p.pipes,
        child: p.child,
        pgid: p.pgid,
        again: p.again.map(|(f, t)| (f, TermiosState::of(&t))),
        log: s.log.file().as_raw_fd(),
        stderr: s.stderr.as_ref().map(|e| e.log.file().as_raw_fd()),
        agent: s.agent.as_ref().map(Agent::parts),
        uid: nix::unistd::geteuid().as_raw(),
        term,
    }
}

/// In a fresh image (`main` saw [`VAR`]): the supervisor's state, from the
/// memfd whose number is `var` (the variable's value), with its
/// descriptors. Err: why it cannot go on.
pub fn resume(var: std::ffi::OsString) -> Result<Started, String> {
    let fd: RawFd = (var.to_str())
        .and_then(|v| v.parse().ok())
        .filter(|fd| is_open(*fd))
        .ok_or("no state descriptor")?;
    // Safety: the fd is open (checked above) and nothing else in this new
    // image refers to it: the old image made it for this read alone.
    let mut file = unsafe { File::from_raw_fd(fd) };
    let mut buf = Vec::new();
    file.read_to_end(&mut buf)
        .map_err(|e| format!("reading the state: {e}"))?;
    drop(file);
    let st: State = serde_json::from_slice(&buf).map_err(|e| format!("reading the state: {e}"))?;
    drop(buf);

    let fds = st.fds();
    let mut seen = fds.clone();
    seen.sort_unstable();
    seen.dedup();
    if seen.len() != fds.len() || fds.iter().any(|&fd| fd <= 2 || !is_open(fd)) {
        return Err("the state names descriptors that are not open".into());
    }
    set_cloexec(&fds, true);
    // Safety: each fd is open (checked above), named once (no two owners),
    // and was the old image's, which is gone: this image owns them all.
    let own = |fd: RawFd| unsafe { OwnedFd::from_raw_fd(fd) };

    let cstr =
        |b: Vec<u8>| std::ffi::CString::new(b).map_err(|_| "a NUL in the command".to_string());
    let e = st.exec;
    let exec = Exec {
        path: cstr(e.path)?,
        argv: e.argv.into_iter().map(cstr).collect::<Result<_, _>>()?,
        envp: e.envp.into_iter().map(cstr).collect::<Result<_, _>>()?,
        cwd: cstr(e.cwd)?,
        umask: nix::sys::stat::Mode::from_bits_truncate(e.umask),
    };
    let again = match st.again {
        Some((fd, t)) => Some((own(fd), t.termios().ok_or("bad terminal settings")?)),
        None => None,
    };
    let program = Program::from_parts(Parts {
        master: st.master.map(own),
        pipes: st.pipes.map(|p| p.map(|f| f.map(own))),
        child: st.child,
        pgid: st.pgid,
        again,
    });
    let here = std::path::Path::new(".");
    let set = &st.settings;
    let log = LogWriter::with_file(
        here,
        crate::store::LOG,
        File::from(own(st.log)),
        set.log_max_size,
        set.log_keep,
    );
    let stderr = st.stderr.map(|fd| {
        ErrLog::new(LogWriter::with_file(
            here,
            crate::store::ERR_LOG,
            File::from(own(fd)),
            set.log_max_size,
            set.log_keep,
        ))
    });
    let events = Events::open_with(here, set.events_max_size, set.events_keep);
    let signals = Signals::install()?;
    // What came while they were blocked across the exec is handled now,
    // with what the old image took: the program may have ended before.
    let _ = nix::sys::signal::raise(Signal::SIGCHLD);
    if st.term {
        let _ = nix::sys::signal::raise(Signal::SIGTERM);
    }
    let _ = sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&blocked()), None);
    Ok(Started {
        agent: st
            .agent
            .map(|(start, now)| Agent::from_parts(start, now, st.uid)),
        meta: st.meta,
        exec,
        program,
        listener: UnixListener::from(own(st.listener)),
        signals,
        log,
        stderr,
        events,
        lock: File::from(own(st.lock)),
        slot: st.slot.map(Slot::from_path),
        settings: st.settings,
        ready: None,
    })
}

fn is_open(fd: RawFd) -> bool {
    fd >= 0
        && nix::fcntl::fcntl(
            // Safety: only asks whether the number is open.
            unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
            nix::fcntl::FcntlArg::F_GETFD,
        )
        .is_ok()
}
