//! A real pseudo-terminal for tests: run a command as a person would in a
//! terminal, read what they would see through a `vt100` screen.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::pty::{Winsize, openpty};
use rustix::event::{PollFd, PollFlags, Timespec, poll};

use super::{WAIT, wait_child};

struct Shared {
    parser: vt100::Parser,
    raw: Vec<u8>,
    eof: bool,
}

/// A terminal with a program running in it.
pub struct Term {
    master: Option<File>,
    shared: Arc<Mutex<Shared>>,
    pub child: Child,
    reader: Option<std::thread::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl Term {
    /// Start `cmd` on a new terminal of `cols`×`rows`, as its controlling tty.
    pub fn spawn(mut cmd: Command, cols: u16, rows: u16) -> Term {
        let ws = Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(Some(&ws), None).expect("openpty");
        // openpty's descriptors are inherited across exec unless marked: a
        // program holding the master keeps the terminal from ever hanging up.
        for fd in [&pty.master, &pty.slave] {
            rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::CLOEXEC).expect("FD_CLOEXEC");
        }
        let slave: OwnedFd = pty.slave;
        let slave_fd = slave.as_raw_fd();
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave.try_clone().unwrap()));
        // Safety: setsid and ioctl are async-signal-safe; the fd stays open
        // in the child until exec.
        unsafe {
            cmd.pre_exec(move || {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                if nix::libc::ioctl(slave_fd, nix::libc::TIOCSCTTY as _, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawning in a terminal");
        drop(slave);
        let master = File::from(pty.master);
        let shared = Arc::new(Mutex::new(Shared {
            parser: vt100::Parser::new(nz(rows), nz(cols), 0),
            raw: Vec::new(),
            eof: false,
        }));
        let mut r = master.try_clone().unwrap();
        let sh = shared.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_r = stop.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 64 * 1024];
            // Poll with a short timeout so that `close` can make this thread
            // let go of its descriptor: a terminal is closed only when every
            // descriptor of its master side is.
            while !stop_r.load(Ordering::Relaxed) {
                let mut fds = [PollFd::new(&r, PollFlags::IN)];
                let ts = Timespec {
                    tv_sec: 0,
                    tv_nsec: 20_000_000,
                };
                match poll(&mut fds, Some(&ts)) {
                    Ok(0) => continue,
                    Ok(_) => {}
                    Err(_) => continue,
                }
                match r.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let mut s = sh.lock().unwrap();
                        s.parser.process(&buf[..n]);
                        s.raw.extend_from_slice(&buf[..n]);
                    }
                }
            }
            sh.lock().unwrap().eof = true;
        });
        Term {
            master: Some(master),
            shared,
            child,
            reader: Some(reader),
            stop,
        }
    }

    pub fn write(&mut self, b: &[u8]) {
        let m = self.master.as_mut().expect("terminal open");
        m.write_all(b).expect("writing to the terminal");
    }

    /// The screen as text, rows joined by newlines, trailing blanks trimmed.
    pub fn screen(&self) -> String {
        self.shared.lock().unwrap().parser.screen().contents()
    }

    /// Run `f` on the vt100 screen.
    pub fn with_screen<T>(&self, f: impl FnOnce(&vt100::Screen) -> T) -> T {
        f(self.shared.lock().unwrap().parser.screen())
    }

    /// Every byte the terminal received so far.
    pub fn raw(&self) -> Vec<u8> {
        self.shared.lock().unwrap().raw.clone()
    }

    /// Wait until the screen satisfies `pred`; panic with the screen if not.
    pub fn wait_screen(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_screen_for(what, WAIT, pred)
    }

    pub fn wait_screen_for(
        &self,
        what: &str,
        deadline: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let end = Instant::now() + deadline;
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if Instant::now() >= end {
                panic!("timed out waiting for {what}; the screen shows:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Wait until the raw byte stream contains `needle`.
    pub fn wait_raw(&self, needle: &[u8]) {
        let end = Instant::now() + WAIT;
        loop {
            if self.raw().windows(needle.len()).any(|w| w == needle) {
                return;
            }
            if Instant::now() >= end {
                panic!(
                    "timed out waiting for {:?}; got {:?}",
                    String::from_utf8_lossy(needle),
                    String::from_utf8_lossy(&self.raw())
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn resize(&mut self, cols: u16, rows: u16) {
        let ws = rustix::termios::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(self.master.as_ref().unwrap(), ws).expect("resize");
        self.shared
            .lock()
            .unwrap()
            .parser
            .set_size(nz(rows), nz(cols));
    }

    /// The termios of the terminal as the program left it.
    pub fn termios(&self) -> rustix::termios::Termios {
        rustix::termios::tcgetattr(self.master.as_ref().unwrap()).expect("tcgetattr")
    }

    /// Close the terminal (the program's session gets SIGHUP).
    pub fn close(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.master = None;
    }

    /// Wait for the program to exit, then for what it wrote last to be
    /// read: the reader sees the terminal hang up once no process holds it.
    pub fn wait(&mut self) -> ExitStatus {
        self.wait_for(WAIT)
    }

    pub fn wait_for(&mut self, d: Duration) -> ExitStatus {
        let st = wait_child(&mut self.child, d);
        let end = Instant::now() + WAIT;
        while !self.shared.lock().unwrap().eof && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(2));
        }
        st
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.close();
    }
}

fn nz(v: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(v).expect("a terminal size is not zero")
}
