//! The pseudo-terminal: open it, start the program on its slave side, resize
//! it; or, in pipe mode, start the program on three pipes ([`spawn_pipes`]).
//! Starting the program (a vfork-like clone on Linux, fork elsewhere) and
//! its exec are this file's `unsafe`; the only other `unsafe` is in
//! `supervisor/launch.rs` and `supervisor/mod.rs` (the double fork, signal
//! dispositions) and `supervisor/trim.rs` (madvise).
//!
//! Crates: nix owns `openpty`, `fork`, `waitpid` and signal dispositions;
//! rustix owns the window-size ioctl and fd flags; the clone and the exec
//! are raw libc calls, on argument arrays built before the child exists.

use std::ffi::{CString, c_char};
use std::io;
#[cfg(not(target_os = "linux"))]
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::ptr;

use nix::errno::Errno;
use nix::libc;
use nix::pty::{Winsize, openpty};
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, signal, sigprocmask};
use nix::sys::stat::Mode;
use nix::sys::termios::Termios;
use nix::unistd::Pid;
#[cfg(not(target_os = "linux"))]
use nix::unistd::{ForkResult, fork};
use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
use rustix::io::{FdFlags, fcntl_setfd};

/// Everything the program's exec needs, built before the fork so the child
/// only makes async-signal-safe calls.
pub struct Exec {
    pub path: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    pub cwd: CString,
    /// The caller's umask, restored for the program.
    pub umask: Mode,
}

pub struct Spawned {
    pub pid: Pid,
    /// Non-blocking, close-on-exec.
    pub master: OwnedFd,
    /// The terminal's program side (close-on-exec), to start the program
    /// again on it ([`respawn`]); holding it keeps the master from EOF.
    pub slave: OwnedFd,
    /// The terminal's settings as the program first got them.
    pub termios: Termios,
}

/// Open a PTY of `cols`×`rows` and start `exec` on it, in its own session with
/// the PTY as its controlling terminal. `Ok(Err(errno))` means the exec
/// itself failed (not found, not executable, ...).
pub fn spawn(exec: &Exec, cols: u16, rows: u16) -> io::Result<Result<Spawned, Errno>> {
    let ws = Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(Some(&ws), None)?;
    let termios = sane_termios(&pty.slave)?;
    fcntl_setfd(&pty.master, FdFlags::CLOEXEC)?;
    fcntl_setfd(&pty.slave, FdFlags::CLOEXEC)?;
    let child = match start_on(exec, &pty.slave)? {
        Ok(pid) => pid,
        Err(errno) => return Ok(Err(errno)),
    };
    let fl = fcntl_getfl(&pty.master)?;
    fcntl_setfl(&pty.master, fl | OFlags::NONBLOCK)?;
    Ok(Ok(Spawned {
        pid: child,
        master: pty.master,
        slave: pty.slave,
        termios,
    }))
}

/// Start `exec` again on a terminal's program side, with its first
/// settings back (the program that ended may have left it raw).
pub fn respawn(exec: &Exec, slave: &OwnedFd, termios: &Termios) -> io::Result<Result<Pid, Errno>> {
    nix::sys::termios::tcsetattr(slave, nix::sys::termios::SetArg::TCSANOW, termios)?;
    start_on(exec, slave)
}

/// Start `exec` with `slave` as its controlling terminal and standard
/// streams; returns once the exec happened or failed.
fn start_on(exec: &Exec, slave: &OwnedFd) -> io::Result<Result<Pid, Errno>> {
    let s = slave.as_raw_fd();
    start(exec, [s, s, s], true)
}

/// The supervisor's ends of a pipe-mode program's standard streams.
pub struct PipeSpawned {
    pub pid: Pid,
    /// Each non-blocking, close-on-exec.
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// Start `exec` without a terminal (pipe mode): its standard input, output
/// and error are pipes to the supervisor; it is still a session and process
/// group leader of its own, so signals reach it as in a PTY session.
pub fn spawn_pipes(exec: &Exec) -> io::Result<Result<PipeSpawned, Errno>> {
    // std's pipes are close-on-exec; dup2 clears that on the child's 0, 1, 2.
    let (in_r, in_w) = io::pipe()?;
    let (out_r, out_w) = io::pipe()?;
    let (err_r, err_w) = io::pipe()?;
    let stdio = [in_r.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()];
    let child = match start(exec, stdio, false)? {
        Ok(pid) => pid,
        Err(errno) => return Ok(Err(errno)),
    };
    drop((in_r, out_w, err_w));
    let (stdin, stdout, stderr) = (
        OwnedFd::from(in_w),
        OwnedFd::from(out_r),
        OwnedFd::from(err_r),
    );
    for fd in [&stdin, &stdout, &stderr] {
        let fl = fcntl_getfl(fd)?;
        fcntl_setfl(fd, fl | OFlags::NONBLOCK)?;
    }
    Ok(Ok(PipeSpawned {
        pid: child,
        stdin,
        stdout,
        stderr,
    }))
}

/// What the child needs to become the program: built before it exists, so
/// that it only makes system calls.
struct Plan<'a> {
    exec: &'a Exec,
    argv: Vec<*const c_char>,
    envp: Vec<*const c_char>,
    stdio: [i32; 3],
    ctty: bool,
}

/// Start the program: a child that becomes a session leader, with `stdio`
/// as its standard streams (`ctty`: `stdio[0]` is a terminal, to be its
/// controlling one) and execs. `Ok(Err(errno))`: the exec failed (the
/// child is reaped).
///
/// On Linux the child shares the supervisor's memory until it execs
/// (`clone` with CLONE_VM | CLONE_VFORK, as posix_spawn does), so starting
/// a program copies no page tables and takes no copy-on-write faults, and
/// the exec's outcome is simply read back from memory. Elsewhere, fork, with
/// a close-on-exec pipe that carries the exec's errno.
fn start(exec: &Exec, stdio: [i32; 3], ctty: bool) -> io::Result<Result<Pid, Errno>> {
    let plan = Plan {
        exec,
        argv: null_terminated(&exec.argv),
        envp: null_terminated(&exec.envp),
        stdio,
        ctty,
    };
    #[cfg(target_os = "linux")]
    return start_vfork(&plan);
    #[cfg(not(target_os = "linux"))]
    return start_fork(&plan);
}

#[cfg(target_os = "linux")]
fn start_vfork(plan: &Plan) -> io::Result<Result<Pid, Errno>> {
    struct Shared<'a, 'b> {
        plan: &'a Plan<'b>,
        /// Set by the child when the exec (or a step before it) failed.
        errno: i32,
    }
    extern "C" fn child(arg: *mut std::ffi::c_void) -> std::ffi::c_int {
        // Safety: `arg` is the `Shared` the parent passed, alive until the
        // child has exec'd or exited (the parent is suspended until then),
        // and nothing else touches it meanwhile.
        let shared = unsafe { &mut *arg.cast::<Shared>() };
        shared.errno = become_program(shared.plan);
        127
    }
    // The child's own stack (it must not run on the suspended parent's):
    // 64 KiB, left uninitialised so that only the pages it uses are touched.
    let mut stack: Vec<u128> = Vec::with_capacity(4096);
    let mut shared = Shared { plan, errno: 0 };
    // No signal handler may run in the child while it shares this memory:
    // all are blocked across the clone, and the child sets the handled ones
    // to their defaults before it unblocks them.
    let mut old = SigSet::empty();
    sigprocmask(
        SigmaskHow::SIG_SETMASK,
        Some(&SigSet::all()),
        Some(&mut old),
    )?;
    // Safety: `child` runs on `stack` (its top, 16-byte aligned: u128
    // elements) and only makes system calls (`become_program`); with
    // CLONE_VFORK the parent resumes only once the child has exec'd or
    // exited, so `shared` and `stack` outlive its use of them.
    let pid = unsafe {
        let top = stack.as_mut_ptr().add(stack.capacity());
        libc::clone(
            child,
            top.cast(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&raw mut shared).cast(),
        )
    };
    let clone_err = Errno::last();
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    if pid == -1 {
        return Err(clone_err.into());
    }
    let pid = Pid::from_raw(pid);
    drop(stack);
    if shared.errno != 0 {
        let _ = nix::sys::wait::waitpid(pid, None);
        return Ok(Err(Errno::from_raw(shared.errno)));
    }
    Ok(Ok(pid))
}

#[cfg(not(target_os = "linux"))]
fn start_fork(plan: &Plan) -> io::Result<Result<Pid, Errno>> {
    let (mut err_r, err_w) = io::pipe()?;
    // Safety: the supervisor is single-threaded when it forks, and the child
    // only makes system calls (`become_program`) before exec or _exit.
    match unsafe { fork() }? {
        ForkResult::Child => {
            let b = become_program(plan).to_ne_bytes();
            // Safety: write and _exit are async-signal-safe; `b` outlives the call.
            unsafe {
                libc::write(err_w.as_raw_fd(), b.as_ptr().cast(), 4);
                libc::_exit(127)
            }
        }
        ForkResult::Parent { child } => {
            drop(err_w);
            if let Some(errno) = exec_error(&mut err_r, child)? {
                return Ok(Err(errno));
            }
            Ok(Ok(child))
        }
    }
}

#[cfg(not(target_os = "linux"))]
/// The exec pipe: EOF means the program was exec'd; 4 bytes are the errno
/// of the exec that failed (the child is reaped then).
fn exec_error(r: &mut io::PipeReader, child: Pid) -> io::Result<Option<Errno>> {
    let mut buf = [0u8; 4];
    let mut got = 0;
    loop {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => {
                got += n;
                if got == 4 {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if got == 4 {
        let _ = nix::sys::wait::waitpid(child, None);
        return Ok(Some(Errno::from_raw(i32::from_ne_bytes(buf))));
    }
    Ok(None)
}

/// What `stty sane` gives in a UTF-8 locale: the kernel's defaults plus
/// BRKINT, IMAXBEL and IUTF8 (so that erasing a character in line mode
/// erases all its bytes).
fn sane_termios(slave: &OwnedFd) -> io::Result<Termios> {
    use nix::sys::termios::{InputFlags, SetArg, tcgetattr, tcsetattr};
    let mut t = tcgetattr(slave)?;
    t.input_flags |= InputFlags::BRKINT | InputFlags::IMAXBEL;
    t.input_flags &=
        !(InputFlags::IXANY | InputFlags::IXOFF | InputFlags::INLCR | InputFlags::IGNCR);
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios"
    ))]
    {
        t.input_flags |= InputFlags::IUTF8;
    }
    tcsetattr(slave, SetArg::TCSANOW, &t)?;
    Ok(t)
}

fn null_terminated(v: &[CString]) -> Vec<*const c_char> {
    v.iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(ptr::null()))
        .collect()
}

/// In the child: become a session leader with the plan's standard streams
/// (and controlling terminal), and exec. Returns only if that failed: the
/// errno. Only system calls, no allocation: the child may share the
/// supervisor's memory ([`start`]).
fn become_program(plan: &Plan) -> i32 {
    // Signals the supervisor ignores or handles must reach the program with
    // their default meaning; ignored dispositions survive exec otherwise.
    for sig in [
        Signal::SIGPIPE,
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGTERM,
        Signal::SIGCHLD,
        Signal::SIGTSTP,
        Signal::SIGTTIN,
        Signal::SIGTTOU,
    ] {
        // Safety: setting SIG_DFL installs no handler; sigaction is async-signal-safe.
        let _ = unsafe { signal(sig, SigHandler::SigDfl) };
    }
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    if let Err(e) = nix::unistd::setsid() {
        return e as i32;
    }
    let (exec, stdio) = (plan.exec, plan.stdio);
    // Safety: plain ioctl/dup2/chdir/umask/execve on fds and C strings that
    // stay alive until exec; all async-signal-safe.
    unsafe {
        if plan.ctty && libc::ioctl(stdio[0], libc::TIOCSCTTY as _, 0) == -1 {
            return Errno::last_raw();
        }
        for (fd, src) in (0..).zip(stdio) {
            if libc::dup2(src, fd) == -1 {
                return Errno::last_raw();
            }
        }
        if libc::chdir(exec.cwd.as_ptr()) == -1 {
            return Errno::last_raw();
        }
        libc::umask(exec.umask.bits() as _);
        libc::execve(exec.path.as_ptr(), plan.argv.as_ptr(), plan.envp.as_ptr());
    }
    Errno::last_raw()
}

/// Tell the program its window changed (it gets SIGWINCH).
pub fn resize(master: impl AsFd, cols: u16, rows: u16) -> io::Result<()> {
    let ws = rustix::termios::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rustix::termios::tcsetwinsize(master, ws)?;
    Ok(())
}
