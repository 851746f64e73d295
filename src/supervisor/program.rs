//! The program and its terminal: the PTY master the supervisor reads the
//! output from and writes the input to, and the child it reaps. In pipe
//! mode there is no terminal: three pipes instead (`pipes.rs`).

use std::os::fd::OwnedFd;

use nix::sys::signal::{Signal, killpg};
use nix::sys::termios::Termios;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::pipes::{self, Pipes, Stream};
use crate::pty::{self, Exec};

/// A short read means the terminal had no more just now.
const SHORT_READ: usize = 2048;
/// The terminal hands output over about this much a read.
const PTY_CHUNK: usize = 4096;

pub struct Program {
    /// The PTY master, until EOF (or the drain after the exit is over).
    master: Option<OwnedFd>,
    /// Pipe mode: the program's standard streams (no `master` then).
    pipes: Option<Pipes>,
    /// The program, until it is reaped.
    child: Option<Pid>,
    /// Its process group (and session).
    pgid: Pid,
    /// Input for the program that the PTY has not taken yet.
    input: Vec<u8>,
    /// The terminal's program side and first settings, kept while the
    /// program may be started again (`restart.rs`): held open, the master
    /// sees no EOF between two runs.
    again: Option<(OwnedFd, Termios)>,
}

/// A program's descriptors (`F`: raw numbers, or owned), its process and
/// its saved terminal settings ([`Program::parts`]).
#[cfg(target_os = "linux")]
pub struct Parts<F> {
    pub master: Option<F>,
    /// Pipe mode: stdin, stdout, stderr.
    pub pipes: Option<[Option<F>; 3]>,
    pub child: Option<i32>,
    pub pgid: i32,
    pub again: Option<(F, Termios)>,
}

/// Where input for the program goes: the PTY, or its stdin pipe.
fn input_fd<'a>(master: &'a Option<OwnedFd>, pipes: &'a Option<Pipes>) -> Option<&'a OwnedFd> {
    match pipes {
        Some(p) => p.stdin.as_ref(),
        None => master.as_ref(),
    }
}

/// How the program ended.
pub enum Ended {
    Exited(i32),
    Killed(Signal),
}

/// How the program ended, as the clients and events say it.
pub fn exit_info(how: &Ended) -> crate::proto::ExitInfo {
    match how {
        Ended::Exited(code) => crate::proto::ExitInfo {
            code: Some(*code),
            signal: None,
        },
        Ended::Killed(sig) => crate::proto::ExitInfo {
            code: None,
            signal: Some(sig.as_str().to_string()),
        },
    }
}

/// What [`Program::read`] got.
pub struct Read {
    /// Bytes now in the buffer.
    pub n: usize,
    /// The terminal's end: nobody holds it open any more.
    pub eof: bool,
}

impl Program {
    /// The program `s` started; `keep` keeps its terminal's program side
    /// to start it again.
    pub fn new(s: pty::Spawned, keep: bool) -> Program {
        Program {
            master: Some(s.master),
            pipes: None,
            child: Some(s.pid),
            pgid: s.pid,
            input: Vec::new(),
            again: keep.then_some((s.slave, s.termios)),
        }
    }

    /// A program started in pipe mode.
    pub fn with_pipes(pipes: Pipes, pid: Pid) -> Program {
        Program {
            master: None,
            pipes: Some(pipes),
            child: Some(pid),
            pgid: pid,
            input: Vec::new(),
            again: None,
        }
    }

    /// Its descriptors, process and saved terminal settings, for a fresh
    /// image of the supervisor (`fresh.rs`), which rebuilds it with
    /// [`Program::from_parts`]. Only right after the start: no input is
    /// queued and no output was shown.
    #[cfg(target_os = "linux")]
    pub fn parts(&self) -> Parts<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        let raw = |f: &Option<OwnedFd>| f.as_ref().map(|f| f.as_raw_fd());
        Parts {
            master: raw(&self.master),
            pipes: self
                .pipes
                .as_ref()
                .map(|p| [raw(&p.stdin), raw(&p.stdout), raw(&p.stderr)]),
            child: self.child.map(Pid::as_raw),
            pgid: self.pgid.as_raw(),
            again: (self.again.as_ref()).map(|(f, t)| (f.as_raw_fd(), t.clone())),
        }
    }

    /// The program [`Program::parts`] described.
    #[cfg(target_os = "linux")]
    pub fn from_parts(p: Parts<OwnedFd>) -> Program {
        Program {
            master: p.master,
            pipes: p.pipes.map(|[stdin, stdout, stderr]| {
                let mut pipes = Pipes::default();
                (pipes.stdin, pipes.stdout, pipes.stderr) = (stdin, stdout, stderr);
                pipes
            }),
            child: p.child.map(Pid::from_raw),
            pgid: Pid::from_raw(p.pgid),
            input: Vec::new(),
            again: p.again,
        }
    }

    /// Pipe mode's streams.
    pub fn pipes(&self) -> Option<&Pipes> {
        self.pipes.as_ref()
    }

    pub fn pipes_mut(&mut self) -> Option<&mut Pipes> {
        self.pipes.as_mut()
    }

    /// Output may still come: the terminal, or either output pipe, is open.
    pub fn output_open(&self) -> bool {
        self.master.is_some() || self.pipes.as_ref().is_some_and(Pipes::output_open)
    }

    /// Read an output pipe (pipe mode), as [`Program::read`] reads the PTY.
    pub fn read_pipe(&self, s: Stream, buf: &mut Vec<u8>) -> Read {
        match self.pipes.as_ref().and_then(|p| p.output(s)) {
            Some(fd) => pipes::read(fd, buf),
            None => Read { n: 0, eof: true },
        }
    }

    /// Where input for the program goes: the PTY, or its stdin pipe.
    fn input_fd(&self) -> Option<&OwnedFd> {
        input_fd(&self.master, &self.pipes)
    }

    /// Pipe mode: close the program's standard input once what is queued
    /// for it has been written (`send --eof`).
    pub fn close_input_when_written(&mut self) {
        if let Some(p) = &mut self.pipes {
            p.close_when_written = true;
            if self.input.is_empty() {
                p.stdin = None;
            }
        }
    }

    /// Whether a send may still be written: not once the program ended,
    /// nor (pipe mode) once its standard input is closed or will be once
    /// the input queued is written (`send --eof`, or the program closed its
    /// end).
    pub fn takes_input(&self) -> Result<(), &'static str> {
        let closed = |p: &Pipes| p.stdin.is_none() || p.close_when_written;
        if !self.running() {
            Err("the program has ended")
        } else if self.pipes.as_ref().is_some_and(closed) {
            Err("the program's standard input is closed")
        } else {
            Ok(())
        }
    }

    /// Start the program again on the same terminal (after it was reaped).
    pub fn restart(&mut self, exec: &Exec) -> Result<Pid, String> {
        let (slave, termios) = (self.again.as_ref()).ok_or("the terminal was let go")?;
        if self.master.is_none() {
            return Err("the terminal was closed".into());
        }
        match pty::respawn(exec, slave, termios) {
            Ok(Ok(pid)) => {
                self.child = Some(pid);
                self.pgid = pid;
                Ok(pid)
            }
            Ok(Err(errno)) => Err(errno.desc().to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The program will not be started again: let go of the terminal's
    /// program side, so the master sees EOF once the last user closes it.
    pub fn let_go(&mut self) {
        self.again = None;
    }

    /// The PTY master while output may still come.
    pub fn pty(&self) -> Option<&OwnedFd> {
        self.master.as_ref()
    }

    /// Not reaped yet.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    pub fn pgid(&self) -> Pid {
        self.pgid
    }

    /// Input is waiting for the PTY (or the stdin pipe) to take it.
    pub fn wants_write(&self) -> bool {
        !self.input.is_empty() && self.input_fd().is_some()
    }

    /// Bytes of input waiting.
    pub fn waiting(&self) -> usize {
        self.input.len()
    }

    /// Read what the program wrote into `buf` (emptied first). The terminal
    /// hands output over about 4 KiB a read; with `batch`, keep reading
    /// until it has no more (or the buffer is full), for the caller to
    /// handle the batch once; without, one read. Reads go into the spare
    /// capacity, so a fresh buffer's pages are touched only as far as
    /// output fills them.
    pub fn read(&self, buf: &mut Vec<u8>, batch: bool) -> Read {
        buf.clear();
        let mut r = Read { n: 0, eof: false };
        let Some(m) = &self.master else { return r };
        while buf.len() + PTY_CHUNK <= buf.capacity() {
            match rustix::io::read(m, rustix::buffer::spare_capacity(buf)) {
                Ok(0) | Err(rustix::io::Errno::IO) => {
                    // EIO: nobody holds the terminal open any more; end of output.
                    r.eof = true;
                    break;
                }
                Ok(k) => {
                    r.n = buf.len();
                    // A short read means the terminal had no more just now
                    // (a keystroke's echo, say): skip the read that would
                    // only say so; poll reports what comes next.
                    if k < SHORT_READ || !batch {
                        break;
                    }
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => break,
                Err(_) => {
                    r.eof = true;
                    break;
                }
            }
        }
        r
    }

    /// Stop reading the terminal (at its EOF, or when the drain is over;
    /// in pipe mode, both output pipes).
    pub fn close_pty(&mut self) {
        self.master = None;
        if let Some(p) = &mut self.pipes {
            p.stdout = None;
            p.stderr = None;
        }
    }

    /// Queue input and write what the PTY takes now. True when nothing is
    /// left waiting.
    pub fn write(&mut self, data: &[u8]) -> bool {
        self.input.extend_from_slice(data);
        let Some(m) = input_fd(&self.master, &self.pipes) else {
            self.input.clear();
            return false;
        };
        let mut broken = false;
        while !self.input.is_empty() {
            match rustix::io::write(m, &self.input) {
                Ok(n) => {
                    self.input.drain(..n);
                }
                Err(rustix::io::Errno::INTR) => {}
                // The program closed its standard input (pipe mode).
                Err(rustix::io::Errno::PIPE) => {
                    broken = true;
                    break;
                }
                Err(_) => break,
            }
        }
        if let Some(p) = &mut self.pipes
            && (broken || (p.close_when_written && self.input.is_empty()))
        {
            p.stdin = None;
            self.input.clear();
        }
        self.input.is_empty()
    }

    /// Free the input queue's room if nothing waits in it (a large send
    /// leaves megabytes of capacity behind).
    pub fn shrink(&mut self) {
        if self.input.is_empty() {
            self.input = Vec::new();
        }
    }

    /// Reap the program if it ended (SIGCHLD came).
    pub fn reap(&mut self) -> Option<Ended> {
        let pid = self.child?;
        let mut ended = None;
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(p, code)) if p == pid => {
                    ended = Some(Ended::Exited(code));
                }
                Ok(WaitStatus::Signaled(p, sig, _)) if p == pid => {
                    ended = Some(Ended::Killed(sig));
                }
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => {}
            }
        }
        if ended.is_some() {
            self.child = None;
        }
        ended
    }

    /// Signal the program's process group, while it runs.
    pub fn signal(&self, sig: Signal) {
        if self.child.is_some() {
            let _ = killpg(self.pgid, sig);
        }
    }

    /// SIGINT to the terminal's foreground process group (the program's
    /// own when that cannot be told).
    pub fn interrupt(&self) {
        let pgrp = self
            .master
            .as_ref()
            .and_then(|m| rustix::termios::tcgetpgrp(m).ok())
            .map_or(self.pgid, |p| Pid::from_raw(p.as_raw_nonzero().get()));
        let _ = killpg(pgrp, Signal::SIGINT);
    }

    /// Whether the program waits for terminal input now: the terminal's
    /// foreground process group leader sleeps in a read of the terminal or
    /// a poll (Linux: its state and `/proc/PID/wchan`). None where the
    /// platform cannot tell.
    #[cfg(target_os = "linux")]
    pub fn reading_input(&self) -> Option<bool> {
        const WAITS: [&str; 7] = [
            "n_tty_read",
            "wait_woken",
            "poll_schedule_timeout",
            "do_select",
            "do_sys_poll",
            "core_sys_select",
            "ep_poll",
        ];
        let pgrp = rustix::termios::tcgetpgrp(self.master.as_ref()?).ok()?;
        let proc = format!("/proc/{}", pgrp.as_raw_nonzero());
        let stat = std::fs::read_to_string(format!("{proc}/stat")).ok()?;
        // pid (comm) state ...: the comm may hold spaces and parentheses.
        let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
        if state != "S" {
            return Some(false);
        }
        let wchan = std::fs::read_to_string(format!("{proc}/wchan")).ok()?;
        Some(WAITS.iter().any(|w| wchan.starts_with(w)))
    }

    #[cfg(not(target_os = "linux"))]
    pub fn reading_input(&self) -> Option<bool> {
        None
    }

    /// The terminal's EOF character (Ctrl-D unless the program changed it).
    pub fn veof(&self) -> u8 {
        self.master
            .as_ref()
            .and_then(|m| rustix::termios::tcgetattr(m).ok())
            .map_or(4, |t| {
                t.special_codes[rustix::termios::SpecialCodeIndex::VEOF]
            })
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        if let Some(m) = &self.master {
            let _ = pty::resize(m, cols, rows);
        }
    }
}
