//! The system side of the benchmark: PTYs for the raw baseline, processes and
//! `/proc`, private temp folders, and Ctrl-C.
//!
//! nix owns `openpty`, `setsid`, `kill`/`killpg` and `sigaction`; the rest is std.

use std::fs;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::libc;
use nix::pty::{Winsize, openpty};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, kill, killpg, sigaction};
use nix::unistd::Pid;

/// Every process the benchmark starts carries this variable (value: the run's
/// tag), so cleanup can find exactly those processes and no others.
pub const TAG_VAR: &str = "CODEX_SESSION_BENCH_TAG";

// ---------------------------------------------------------------------------
// interrupts

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// SIGINT/SIGTERM/SIGHUP set a flag that every wait loop checks, so the run
/// stops at the next poll and cleans up. The handler fires once
/// (SA_RESETHAND): a second Ctrl-C kills the benchmark outright.
pub fn install_interrupt_handler() {
    let act = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESETHAND | SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // Safety: the handler only stores to an atomic.
        let _ = unsafe { sigaction(sig, &act) };
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

pub fn check_interrupt() -> Result<(), String> {
    if interrupted() {
        Err("interrupted".into())
    } else {
        Ok(())
    }
}

/// Poll `done` every `every` until it holds (`Ok(true)`), `timeout` passes
/// (`Ok(false)`) or the run is interrupted (`Err`).
pub fn wait_until(
    timeout: Duration,
    every: Duration,
    mut done: impl FnMut() -> bool,
) -> Result<bool, String> {
    let end = Instant::now() + timeout;
    loop {
        if done() {
            return Ok(true);
        }
        check_interrupt()?;
        if Instant::now() >= end {
            return Ok(false);
        }
        thread::sleep(every);
    }
}

// ---------------------------------------------------------------------------
// temp folders

pub fn random_tag() -> String {
    let mut b = [0u8; 8];
    if fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_err()
    {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        b = (t ^ (u64::from(std::process::id()) << 32)).to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn mkdir_private(p: &Path) -> Result<(), String> {
    fs::DirBuilder::new()
        .mode(0o700)
        .create(p)
        .map_err(|e| format!("creating {}: {e}", p.display()))
}

/// A private (0700) folder under /tmp, removed on drop unless kept. /tmp
/// rather than $TMPDIR keeps socket paths short.
pub struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    pub fn new(prefix: &str, keep: bool) -> Result<TempDir, String> {
        let base = if Path::new("/tmp").is_dir() {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let path = base.join(format!("{prefix}-{}", &random_tag()[..10]));
        mkdir_private(&path)?;
        Ok(TempDir { path, keep })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

// ---------------------------------------------------------------------------
// the raw baseline: a program on a PTY we own

/// A child whose stdio is the slave side of a fresh PTY (80×24, the kernel's
/// default termios: cooked, echo, ONLCR — what the supervisor gives its
/// program), in its own session with the PTY as controlling terminal.
/// Dropping it SIGKILLs its process group and reaps it.
pub struct PtyChild {
    pub child: Child,
    pub master: Option<OwnedFd>,
    /// Taken just before the spawn (after openpty and termios setup).
    pub spawned_at: Instant,
}

/// Start `cmd` on a new PTY. Returns once the program has been exec'd (std's
/// spawn waits for exec on a close-on-exec pipe, as the supervisor's launch
/// waits on its ready pipe).
pub fn spawn_on_pty(cmd: Command) -> io::Result<PtyChild> {
    spawn_on_pty_mode(cmd, false)
}

/// [`spawn_on_pty`], with the terminal put in raw mode first when `raw`
/// (cfmakeraw: no echo, no line editing, no output processing): what a
/// terminal emulator hands an attach client before it starts, so nothing is
/// echoed locally and the client's bytes reach the master unchanged.
pub fn spawn_on_pty_mode(mut cmd: Command, raw: bool) -> io::Result<PtyChild> {
    use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
    let ws = Winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(Some(&ws), None)?;
    for fd in [&pty.master, &pty.slave] {
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    }
    if raw {
        let mut t = tcgetattr(&pty.slave)?;
        cfmakeraw(&mut t);
        tcsetattr(&pty.slave, SetArg::TCSANOW, &t)?;
    }
    cmd.stdin(Stdio::from(pty.slave.try_clone()?))
        .stdout(Stdio::from(pty.slave.try_clone()?))
        .stderr(Stdio::from(pty.slave));
    // Safety: setsid and ioctl are async-signal-safe; std has already dup'ed
    // the slave onto 0, 1 and 2 when pre_exec closures run.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()?;
            if libc::ioctl(0, libc::TIOCSCTTY as _, 0) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let spawned_at = Instant::now();
    let child = cmd.spawn()?;
    // `cmd` holds our copies of the slave: close them, or the master never
    // sees the end of output.
    drop(cmd);
    Ok(PtyChild {
        child,
        master: Some(pty.master),
        spawned_at,
    })
}

impl PtyChild {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// SIGKILL the process group (the program and anything it started) and reap.
    pub fn kill(&mut self) {
        let pid = Pid::from_raw(self.pid());
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = killpg(pid, Signal::SIGKILL);
            let _ = kill(pid, Signal::SIGKILL);
        } else {
            // The leader is gone; its group may still have members.
            let _ = killpg(pid, Signal::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for PtyChild {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Read the master in 64 KiB reads until EIO (every slave closed), handing
/// each chunk to `sink`. The plain read loop of the raw baseline.
pub fn drain(master: OwnedFd, mut sink: impl FnMut(&[u8])) {
    let mut f = fs::File::from(master);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match f.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => sink(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return, // EIO: end of output
        }
    }
}

// ---------------------------------------------------------------------------
// processes

/// Wait for a child at most `timeout`; `None` if it is still running then.
///
/// Blocks in `poll` on a pidfd (Linux ≥ 5.3), so the wait ends the moment
/// the child exits, without a polling loop skewing latencies or taking CPU
/// from what is measured; falls back to polling `try_wait` every 0.2 ms.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::FromRawFd;

    let end = Instant::now() + timeout;
    // Safety: pidfd_open takes a pid and flags and returns a new fd or -1.
    #[cfg(target_os = "linux")]
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) };
    #[cfg(not(target_os = "linux"))]
    let raw: i64 = -1;
    if raw >= 0 {
        // Safety: a fresh fd that nothing else owns.
        let pidfd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                return Some(st);
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() || interrupted() {
                return None;
            }
            let ms = PollTimeout::try_from(left.min(Duration::from_millis(100)))
                .unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(
                std::os::fd::AsFd::as_fd(&pidfd),
                PollFlags::POLLIN,
            )];
            let _ = poll(&mut fds, ms);
        }
    }
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return Some(st),
            Ok(None) if Instant::now() < end => thread::sleep(Duration::from_micros(200)),
            _ => return None,
        }
    }
}

/// Whether `pid`'s environment carries our tag (false if it cannot be read,
/// e.g. a zombie or someone else's process).
pub fn has_tag(pid: i32, tag: &str) -> bool {
    let want = format!("{TAG_VAR}={tag}");
    match fs::read(format!("/proc/{pid}/environ")) {
        Ok(env) => env.split(|&b| b == 0).any(|kv| kv == want.as_bytes()),
        Err(_) => false,
    }
}

pub fn tagged_pids(tag: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&p| p != me && has_tag(p, tag))
        .collect()
}

/// SIGKILL `pid` (and its process group when `group`) if it still carries
/// our tag. Returns whether it was alive and ours.
pub fn kill_if_tagged(pid: i32, tag: &str, group: bool) -> bool {
    if pid <= 1 || !has_tag(pid, tag) {
        return false;
    }
    if group {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    true
}

/// SIGKILL, by pid, every process still carrying our tag, until none is
/// left. Returns how many there were.
pub fn kill_tagged(tag: &str) -> usize {
    let mut killed = std::collections::HashSet::new();
    for _ in 0..100 {
        let pids = tagged_pids(tag);
        if pids.is_empty() {
            break;
        }
        for p in pids {
            let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
            killed.insert(p);
        }
        thread::sleep(Duration::from_millis(20));
    }
    killed.len()
}

fn kb_field(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// (RssAnon, RssFile + RssShmem) of one process in kB: heap and stacks vs
/// mapped files (the binary, libc); `None` if it is gone.
pub fn rss_split_kb(pid: i32) -> Option<(u64, u64)> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let anon = kb_field(&status, "RssAnon:")?;
    let file = kb_field(&status, "RssFile:")? + kb_field(&status, "RssShmem:").unwrap_or(0);
    Some((anon, file))
}

/// (VmRSS, Pss) of one process in kB; `None` if it is gone.
pub fn mem_kb(pid: i32) -> Option<(u64, u64)> {
    let field = kb_field;
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rollup = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    Some((field(&status, "VmRSS:")?, field(&rollup, "Pss:")?))
}

pub fn connectable(path: &Path) -> bool {
    UnixStream::connect(path).is_ok()
}

/// User and system CPU seconds of a process or thread, from a `stat` file
/// (`/proc/PID/stat`, `/proc/thread-self/stat`).
pub fn cpu_secs(stat_path: &str) -> Option<(f64, f64)> {
    let text = fs::read_to_string(stat_path).ok()?;
    // Fields after the command name (which may hold spaces and parens).
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    let tck = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    Some((utime / tck, stime / tck))
}

/// CPU time a process has used so far, in ns, summed over its threads
/// (`/proc/PID/task/*/schedstat`: nanosecond resolution, where `stat` counts
/// 10 ms ticks); `None` if it is gone.
pub fn cpu_ns(pid: i32) -> Option<u64> {
    let tasks = fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0;
    for t in tasks.filter_map(|e| e.ok()) {
        let mut p = t.path();
        p.push("schedstat");
        if let Ok(s) = fs::read_to_string(&p) {
            total += s.split_whitespace().next()?.parse::<u64>().ok()?;
        }
    }
    Some(total)
}
