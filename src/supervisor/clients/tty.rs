//! An attached client's own terminal, passed to the supervisor over the
//! session socket (SCM_RIGHTS), as tmux and screen do: the supervisor reads
//! the keystrokes from it and writes the output to it directly, so the
//! client process is off the data path. The client keeps raw mode, its
//! signals and its exit status.
//!
//! The passed descriptor shares its open file description (and so its
//! flags) with the client's standard input: setting O_NONBLOCK on it would
//! change them for the client and whoever runs after it. So the device is
//! opened again (by its name: `ttyname`, else `/proc/self/fd/N`) for a
//! descriptor of the supervisor's own, O_NONBLOCK and O_NOCTTY (the
//! supervisor leads a session and must not acquire a controlling
//! terminal), and kept only if it is the same device (`st_rdev`). The
//! passed descriptor is closed at once; termios is never touched.

use std::collections::VecDeque;
use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags, fstat, open};
use rustix::io::Errno;

use crate::modes::Modes;

/// What reading the terminal gave.
pub enum Keys {
    /// Keystrokes (before the detach key, if it came).
    Typed { keys: Vec<u8>, detach: bool },
    /// Nothing just now.
    Nothing,
    /// The terminal hung up (or failed): the client is to be dropped.
    HungUp,
}

pub struct Tty {
    fd: OwnedFd,
    queue: VecDeque<Vec<u8>>,
    /// How much of the front chunk has been written.
    front_pos: usize,
    queued: usize,
    detach_key: Option<u8>,
    /// The modes the program set on this terminal, to tell the client
    /// what undoes them.
    modes: Modes,
    /// The undo string the client last heard of.
    told: String,
}

impl Tty {
    /// Open the device `passed` is, for the supervisor's own use. Err: why
    /// not (the client relays instead).
    pub fn take(passed: OwnedFd, detach_key: Option<u8>) -> Result<Tty, String> {
        if !rustix::termios::isatty(&passed) {
            return Err("not a terminal".into());
        }
        let want = fstat(&passed).map_err(|e| format!("fstat: {e}"))?;
        let names = [
            rustix::termios::ttyname(&passed, Vec::new()).ok(),
            proc_fd_path(&passed),
        ];
        let flags = OFlags::RDWR | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let mut why = "its name is unknown".to_string();
        for name in names.into_iter().flatten() {
            match open(name.as_c_str(), flags, Mode::empty()) {
                Ok(fd) => match fstat(&fd) {
                    Ok(st) if st.st_rdev == want.st_rdev && is_char_device(st.st_mode) => {
                        return Ok(Tty {
                            fd,
                            queue: VecDeque::new(),
                            front_pos: 0,
                            queued: 0,
                            detach_key,
                            modes: Modes::default(),
                            told: String::new(),
                        });
                    }
                    _ => why = format!("{} is another device", name.to_string_lossy()),
                },
                Err(e) => why = format!("opening {}: {e}", name.to_string_lossy()),
            }
        }
        Err(why)
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Output waiting for the terminal.
    pub fn queued(&self) -> usize {
        self.queued
    }

    pub fn wants_write(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Output for the terminal: written at once as far as it takes it when
    /// nothing waits before it (no copy), the rest queued (written by
    /// [`Tty::flush`], which also finds out whether the terminal is gone).
    pub fn push(&mut self, mut data: &[u8]) {
        if data.is_empty() {
            return;
        }
        self.modes.feed(data);
        if self.queue.is_empty() {
            if let Ok(n) = rustix::io::write(&self.fd, data) {
                // (Short: full for now, as in `flush`.)
                data = &data[n..];
            }
            if data.is_empty() {
                return;
            }
        }
        self.queued += data.len();
        self.queue.push_back(data.to_vec());
    }

    /// Forget what is queued (a terminal cut loose: a repaint follows,
    /// which begins by cancelling any sequence cut here).
    pub fn drop_queue(&mut self) {
        self.queue.clear();
        self.front_pos = 0;
        self.queued = 0;
    }

    /// Write what the terminal takes now. Ok(true) when something was
    /// written; Err when the terminal is gone.
    pub fn flush(&mut self) -> Result<bool, Errno> {
        let mut progressed = false;
        while let Some(front) = self.queue.front() {
            match rustix::io::write(&self.fd, &front[self.front_pos..]) {
                Ok(0) => return Err(Errno::IO),
                Ok(n) => {
                    progressed = true;
                    self.front_pos += n;
                    if self.front_pos < front.len() {
                        // Full for now: poll says when it has room (trying
                        // again at once takes the CPU from its reader).
                        break;
                    }
                    self.queued -= front.len();
                    self.queue.pop_front();
                    self.front_pos = 0;
                }
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(progressed)
    }

    /// Write everything queued, waiting at most until `deadline` (at the
    /// program's end).
    pub fn flush_until(&mut self, deadline: std::time::Instant) {
        while self.wants_write() {
            if self.flush().is_err() {
                return;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return;
            }
            let mut fds = [rustix::event::PollFd::new(
                &self.fd,
                rustix::event::PollFlags::OUT,
            )];
            let ts = crate::supervisor::timers::span(left);
            if rustix::event::poll(&mut fds, Some(&ts)).is_err() {
                return;
            }
        }
    }

    /// The terminal can take output now (poll says so).
    pub fn writable(&self) -> bool {
        let mut fds = [rustix::event::PollFd::new(
            &self.fd,
            rustix::event::PollFlags::OUT,
        )];
        let now = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        matches!(rustix::event::poll(&mut fds, Some(&now)), Ok(1))
            && fds[0].revents().contains(rustix::event::PollFlags::OUT)
    }

    /// Read what the person typed.
    pub fn read(&mut self) -> Keys {
        let mut b = [0u8; 4096];
        match rustix::io::read(&self.fd, &mut b) {
            Ok(0) => Keys::HungUp,
            Ok(n) => {
                let data = &b[..n];
                match self
                    .detach_key
                    .and_then(|k| data.iter().position(|&c| c == k))
                {
                    Some(p) => Keys::Typed {
                        keys: data[..p].to_vec(),
                        detach: true,
                    },
                    None => Keys::Typed {
                        keys: data.to_vec(),
                        detach: false,
                    },
                }
            }
            Err(Errno::AGAIN | Errno::INTR) => Keys::Nothing,
            Err(_) => Keys::HungUp,
        }
    }

    /// What undoes the modes the program set, when that changed since the
    /// client was last told.
    pub fn undo_news(&mut self) -> Option<String> {
        let now = self.modes.restore();
        (now != self.told).then(|| {
            self.told = now.clone();
            now
        })
    }
}

fn is_char_device(mode: rustix::fs::RawMode) -> bool {
    rustix::fs::FileType::from_raw_mode(mode) == rustix::fs::FileType::CharacterDevice
}

/// The path `/proc/self/fd/N` names (Linux), as a fallback to ttyname.
fn proc_fd_path(fd: &OwnedFd) -> Option<CString> {
    use std::os::fd::AsRawFd;
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
    CString::new(std::os::unix::ffi::OsStrExt::as_bytes(link.as_os_str())).ok()
}
