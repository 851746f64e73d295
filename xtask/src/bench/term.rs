//! Driving a program on a PTY whose master this process holds: an attach
//! client on a terminal in raw mode (what a terminal emulator gives it), or
//! the raw baseline's program itself. The master is non-blocking; every read
//! tries first and only then waits in `poll`, the same loop for ours and raw.

use std::os::fd::{AsFd, OwnedFd};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::sys::{self, PtyChild};

/// Ctrl-\, the client's default detach key.
pub const DETACH_KEY: u8 = 0x1c;

/// What one read gave.
pub enum Got {
    Data(usize),
    /// Nothing within the timeout.
    Timeout,
    /// Every slave is closed (EIO) or the read failed.
    Eof,
}

pub struct Tty {
    pub pc: PtyChild,
    master: OwnedFd,
}

impl Tty {
    /// `cmd` on a new 80×24 PTY (in raw mode when `raw`), its own session
    /// with the PTY as controlling terminal.
    pub fn spawn(cmd: Command, raw: bool) -> Result<Tty, String> {
        let mut pc =
            sys::spawn_on_pty_mode(cmd, raw).map_err(|e| format!("spawn on a PTY: {e}"))?;
        let master = pc.master.take().expect("fresh PtyChild has its master");
        let fl = fcntl(&master, FcntlArg::F_GETFL).map_err(|e| format!("F_GETFL: {e}"))?;
        fcntl(
            &master,
            FcntlArg::F_SETFL(OFlag::from_bits_truncate(fl) | OFlag::O_NONBLOCK),
        )
        .map_err(|e| format!("F_SETFL: {e}"))?;
        Ok(Tty { pc, master })
    }

    pub fn pid(&self) -> i32 {
        self.pc.pid()
    }

    pub fn spawned_at(&self) -> Instant {
        self.pc.spawned_at
    }

    /// One read of up to `buf.len()` bytes, waiting at most `timeout`.
    pub fn read(&self, buf: &mut [u8], timeout: Duration) -> Got {
        for attempt in 0..2 {
            match nix::unistd::read(&self.master, buf) {
                Ok(0) => return Got::Eof,
                Ok(n) => return Got::Data(n),
                Err(Errno::EAGAIN) => {
                    if attempt == 1 || timeout.is_zero() {
                        return Got::Timeout;
                    }
                    let ms = PollTimeout::try_from(timeout.max(Duration::from_millis(1)))
                        .unwrap_or(PollTimeout::MAX);
                    let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
                    match poll(&mut fds, ms) {
                        Ok(0) => return Got::Timeout,
                        Ok(_) => {}
                        Err(Errno::EINTR) => return Got::Timeout,
                        Err(_) => return Got::Eof,
                    }
                }
                Err(Errno::EINTR) => return Got::Timeout,
                Err(_) => return Got::Eof,
            }
        }
        Got::Timeout
    }

    pub fn write_all(&self, mut data: &[u8]) -> Result<(), String> {
        let end = Instant::now() + Duration::from_secs(5);
        while !data.is_empty() {
            match nix::unistd::write(&self.master, data) {
                Ok(n) => data = &data[n..],
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => {
                    if Instant::now() > end {
                        return Err("writing to the PTY: stuck for 5 s".into());
                    }
                    let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLOUT)];
                    let _ = poll(&mut fds, PollTimeout::from(100u16));
                }
                Err(e) => return Err(format!("writing to the PTY: {e}")),
            }
        }
        Ok(())
    }

    /// Read until `done(everything read so far)` holds; false after `timeout`.
    pub fn expect(&self, timeout: Duration, mut done: impl FnMut(&[u8]) -> bool) -> bool {
        let end = Instant::now() + timeout;
        let mut acc = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() || sys::interrupted() {
                return false;
            }
            match self.read(&mut buf, left.min(Duration::from_millis(200))) {
                Got::Data(n) => {
                    acc.extend_from_slice(&buf[..n]);
                    if done(&acc) {
                        return true;
                    }
                }
                Got::Timeout => {}
                Got::Eof => return done(&acc),
            }
        }
    }

    /// Read until the output, escape sequences stripped, shows `text`.
    pub fn expect_text(&self, text: &[u8], timeout: Duration) -> bool {
        self.expect(timeout, |acc| {
            contains(acc, text) && contains(&strip_esc(acc), text)
        })
    }

    /// Read and discard until nothing comes for `quiet` (or `limit` passes);
    /// the bytes read.
    pub fn drain_quiet(&self, quiet: Duration, limit: Duration) -> usize {
        let end = Instant::now() + limit;
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        while Instant::now() < end && !sys::interrupted() {
            match self.read(&mut buf, quiet) {
                Got::Data(n) => total += n,
                Got::Timeout | Got::Eof => break,
            }
        }
        total
    }

    /// Type a fresh probe until it is echoed back (seen in the stripped
    /// output); the time it took, or `None` after `timeout`.
    pub fn probe_until_echo(&self, seed: &mut u64, timeout: Duration) -> Option<Duration> {
        let t0 = Instant::now();
        while t0.elapsed() < timeout && !sys::interrupted() {
            let probe = letters(seed, 6);
            self.write_all(&probe).ok()?;
            let left = timeout.saturating_sub(t0.elapsed());
            if self.expect_text(&probe, left.min(Duration::from_secs(1))) {
                return Some(t0.elapsed());
            }
        }
        None
    }

    /// Drain the master until a marker appears in the raw byte stream, as
    /// fast as possible (no stripping; the marker may straddle two reads).
    /// (found, bytes read, when it ended).
    pub fn read_until_marker(&self, marker: &[u8], deadline: Instant) -> (bool, u64, Instant) {
        let mut buf = vec![0u8; 64 * 1024];
        let k = marker.len().saturating_sub(1);
        let mut tail: Vec<u8> = Vec::with_capacity(2 * k);
        let mut n: u64 = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || sys::interrupted() {
                return (false, n, Instant::now());
            }
            match self.read(&mut buf, left.min(Duration::from_millis(500))) {
                Got::Data(got) => {
                    let chunk = &buf[..got];
                    n += got as u64;
                    let found = contains(chunk, marker) || {
                        tail.extend_from_slice(&chunk[..k.min(got)]);
                        contains(&tail, marker)
                    };
                    if found {
                        return (true, n, Instant::now());
                    }
                    tail.clear();
                    tail.extend_from_slice(&chunk[got.saturating_sub(k)..]);
                }
                Got::Timeout => {}
                Got::Eof => return (false, n, Instant::now()),
            }
        }
    }

    /// Wait for the program to exit, reading (and discarding) its output
    /// meanwhile so it never blocks on a full terminal.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + timeout;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if let Ok(Some(st)) = self.pc.child.try_wait() {
                return Some(st);
            }
            if Instant::now() >= end || sys::interrupted() {
                return None;
            }
            if let Got::Eof = self.read(&mut buf, Duration::from_millis(5)) {
                // The slave is closed: the client is on its way out.
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }

    /// Detach with Ctrl-\ and wait (bounded) for the client to exit: the
    /// time that took and whether it exited 0.
    pub fn detach(&mut self, timeout: Duration) -> Result<(Duration, bool), String> {
        let t0 = Instant::now();
        self.write_all(&[DETACH_KEY])?;
        match self.wait_exit(timeout) {
            Some(st) => Ok((t0.elapsed(), st.success())),
            None => Err(format!(
                "the attach client did not exit within {timeout:?} of Ctrl-\\"
            )),
        }
    }

    /// CPU ns the program used so far.
    pub fn cpu_ns(&self) -> Option<u64> {
        sys::cpu_ns(self.pid())
    }
}

/// Whether `needle` occurs in `hay`: libc's `memmem`, so that the search is
/// fast even though xtask itself is built without optimisation (the attached
/// throughput loop searches every chunk it reads).
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    // Safety: both pointers and lengths come from live slices.
    let p = unsafe {
        nix::libc::memmem(
            hay.as_ptr().cast(),
            hay.len(),
            needle.as_ptr().cast(),
            needle.len(),
        )
    };
    !p.is_null()
}

/// Output with escape sequences and C0 controls removed (as peers.py's
/// `strip_esc`): CSI, OSC, DCS/PM/APC, charset designations, other ESC
/// sequences; an unfinished sequence at the end is dropped.
pub fn strip_esc(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c != 0x1b {
            if c >= 0x20 && c != 0x7f {
                out.push(c);
            }
            i += 1;
            continue;
        }
        let Some(&k) = b.get(i + 1) else { break };
        i += 2;
        match k {
            b'[' => {
                while i < b.len() && !(0x40..=0x7e).contains(&b[i]) {
                    i += 1;
                }
                i += 1;
            }
            b']' => {
                while i < b.len() && b[i] != 0x07 && b[i] != 0x1b {
                    i += 1;
                }
                if b.get(i) == Some(&0x1b) {
                    i += 1; // ESC \
                }
                i += 1;
            }
            b'P' | b'^' | b'_' => {
                while i < b.len() && b[i] != 0x1b {
                    i += 1;
                }
                i += 2;
            }
            b'(' | b')' | b'*' | b'+' => i += 1,
            0x20..=0x2f => {
                while i < b.len() && (0x20..=0x2f).contains(&b[i]) {
                    i += 1;
                }
                i += 1;
            }
            _ => {}
        }
    }
    out
}

/// `n` pseudo-random letters (xorshift; the detach key is never among them).
pub fn letters(seed: &mut u64, n: usize) -> Vec<u8> {
    const SET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    (0..n)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            SET[(*seed % SET.len() as u64) as usize]
        })
        .collect()
}

/// A seed from the run's tag.
pub fn seed(tag: &str) -> u64 {
    u64::from_str_radix(tag.get(..16).unwrap_or(tag), 16).unwrap_or(0x9e37_79b9_7f4a_7c15) | 1
}
