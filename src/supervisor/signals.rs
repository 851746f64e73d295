//! Signals as an fd (alacritty's and wezterm's way): SIGCHLD, SIGTERM and
//! SIGINT each write a byte to a pipe that the loop polls; SIGTERM and
//! SIGINT also set a flag, so that the loop can tell a stop request from
//! a child's exit.

use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::Signal;

pub struct Signals {
    pipe: UnixStream,
    /// Set by SIGTERM/SIGINT.
    term: Arc<AtomicBool>,
}

impl Signals {
    /// Route the signals to the pipe. Err: what failed.
    pub fn install() -> Result<Signals, String> {
        let pipe_err = |e: io::Error| format!("creating the signal pipe: {e}");
        let (pipe, w) = UnixStream::pair().map_err(pipe_err)?;
        pipe.set_nonblocking(true).map_err(pipe_err)?;
        let term = Arc::new(AtomicBool::new(false));
        for sig in [Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT] {
            let handling = |e: io::Error| format!("handling {sig}: {e}");
            if sig != Signal::SIGCHLD {
                signal_hook::flag::register(sig as i32, term.clone()).map_err(handling)?;
            }
            let w = w.try_clone().map_err(pipe_err)?;
            signal_hook::low_level::pipe::register(sig as i32, w).map_err(handling)?;
        }
        Ok(Signals { pipe, term })
    }

    /// Empty the pipe. True when SIGTERM or SIGINT came since last time.
    pub fn take(&self) -> bool {
        let mut b = [0u8; 64];
        while matches!((&self.pipe).read(&mut b), Ok(n) if n > 0) {}
        self.term.swap(false, Ordering::Relaxed)
    }
}

impl AsFd for Signals {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.pipe.as_fd()
    }
}
