//! Pipe mode: the program runs without a terminal. Its standard output is
//! the session's output (output.log, watchers, attached viewers), its
//! standard error is kept apart (stderr.log, its own writer with the same
//! rotation rules), and its standard input is a pipe that `send` writes to
//! and `send --eof` closes. There is no screen model: `capture` is refused
//! and attached terminals are read-only viewers of both streams.
//!
//! [`Pipes`] holds the supervisor's three ends, each non-blocking. Input
//! waiting for the program is the same queue as a PTY's
//! (`Program::write`), bounded by `ingress::INPUT_LIMIT` (8 MiB with the
//! sends held back): a send beyond it is refused ("the program is not
//! reading its input").

use std::os::fd::OwnedFd;

use super::program::Read;
use crate::events::Events;
use crate::logs::LogWriter;

/// The supervisor's ends of the program's standard streams; each is
/// dropped at its end (EOF on an output, `send --eof` or EPIPE on input).
#[derive(Default)]
pub struct Pipes {
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// Close stdin once what is queued for it is written (`send --eof`).
    pub close_when_written: bool,
    /// Whether the last byte shown of stdout, of stderr was a CR ([`crlf`]).
    after_cr: [bool; 2],
}

/// Which output stream.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Pipes {
    pub fn new(stdin: OwnedFd, stdout: OwnedFd, stderr: OwnedFd) -> Pipes {
        Pipes {
            stdin: Some(stdin),
            stdout: Some(stdout),
            stderr: Some(stderr),
            close_when_written: false,
            after_cr: [false; 2],
        }
    }

    /// A batch of `s` as attached terminals are shown it ([`crlf`]).
    pub fn shown(&mut self, s: Stream, data: &[u8]) -> Vec<u8> {
        crlf(data, &mut self.after_cr[s as usize])
    }

    pub fn output(&self, s: Stream) -> Option<&OwnedFd> {
        match s {
            Stream::Stdout => self.stdout.as_ref(),
            Stream::Stderr => self.stderr.as_ref(),
        }
    }

    pub fn close_output(&mut self, s: Stream) {
        match s {
            Stream::Stdout => self.stdout = None,
            Stream::Stderr => self.stderr = None,
        }
    }

    /// Either output may still bring something.
    pub fn output_open(&self) -> bool {
        self.stdout.is_some() || self.stderr.is_some()
    }
}

/// Read what a pipe holds into `buf` (emptied first), until it has no more
/// for now or the buffer's capacity is full.
pub fn read(fd: &OwnedFd, buf: &mut Vec<u8>) -> Read {
    buf.clear();
    let mut r = Read { n: 0, eof: false };
    while buf.len() < buf.capacity() {
        match rustix::io::read(fd, rustix::buffer::spare_capacity(buf)) {
            Ok(0) => {
                r.eof = true;
                break;
            }
            Ok(_) => r.n = buf.len(),
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

/// Output as a terminal in raw mode shows it: a program on a pipe ends its
/// lines with LF alone, which a terminal's output processing (off in an
/// attached client's raw mode) would have turned into CR LF. `after_cr`
/// carries whether the last byte before `data` was a CR.
pub fn crlf(data: &[u8], after_cr: &mut bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 16);
    for &b in data {
        if b == b'\n' && !*after_cr {
            out.push(b'\r');
        }
        out.push(b);
        *after_cr = b == b'\r';
    }
    out
}

/// Standard error's record: its log and its byte count.
pub struct ErrLog {
    pub log: LogWriter,
    pub bytes: u64,
}

impl ErrLog {
    pub fn new(log: LogWriter) -> ErrLog {
        ErrLog { log, bytes: 0 }
    }

    /// Count and log a batch; true when meta.json should be rewritten.
    pub fn write(&mut self, data: &[u8], events: &mut Events) -> bool {
        self.bytes += data.len() as u64;
        self.log.write(data, events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lf_becomes_crlf_once_even_across_batches() {
        let mut cr = false;
        assert_eq!(crlf(b"a\nb\r\nc\r", &mut cr), b"a\r\nb\r\nc\r");
        assert!(cr);
        assert_eq!(crlf(b"\nd\n\n", &mut cr), b"\nd\r\n\r\n");
        assert!(!cr);
    }

    #[test]
    fn a_pipe_is_read_until_empty_then_to_its_end() {
        let (r, w) = std::io::pipe().unwrap();
        let r = OwnedFd::from(r);
        rustix::fs::fcntl_setfl(&r, rustix::fs::OFlags::NONBLOCK).unwrap();
        let mut w = w;
        std::io::Write::write_all(&mut w, &[7u8; 10000]).unwrap();
        let mut buf = Vec::with_capacity(4096);
        let first = read(&r, &mut buf);
        assert_eq!((first.n, first.eof), (4096, false), "a full buffer");
        let mut big = Vec::with_capacity(65536);
        let rest = read(&r, &mut big);
        assert_eq!(
            (rest.n, rest.eof),
            (10000 - 4096, false),
            "then all the rest"
        );
        drop(w);
        let end = read(&r, &mut big);
        assert_eq!((end.n, end.eof), (0, true));
    }
}
