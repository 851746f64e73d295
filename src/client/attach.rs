//! The interactive client: the local terminal in raw mode, keystrokes to the
//! session, its output to the terminal, the window size on attach and on
//! every SIGWINCH, and the terminal restored on every way out (detach, the
//! program's end, a signal, an error, a panic).
//!
//! Two ways to carry the keystrokes and output. Direct: the client passes
//! its terminal to the supervisor (SCM_RIGHTS, after a Welcome that offers
//! it), which reads and writes it itself; the client only keeps raw mode,
//! its signals, the window size and the exit status, and learns from Modes
//! frames what undoes the modes the program set. Relayed (an older
//! supervisor, a terminal the supervisor cannot open, standard output not
//! the same terminal, or `CODEX_SESSION_RELAY=1`): the client copies
//! keystrokes into Input frames and Output frames onto the terminal, and
//! tracks the modes itself.

use std::io::{self, IoSlice, Write};
use std::mem::MaybeUninit;
use std::os::fd::BorrowedFd;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rustix::event::{PollFd, PollFlags, poll};
use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags, sendmsg};
use rustix::termios::{OptionalActions, Termios, tcgetattr, tcgetwinsize, tcsetattr};
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGWINCH};

use super::Conn;
use crate::error::{Error, Result, describe_io};
use crate::modes::Modes;
use crate::proto::{self, Decoder, Kind, Size};
use crate::store::Session;
use crate::sys;

pub struct Options {
    pub read_only: bool,
    /// None: no detach key.
    pub detach_key: Option<u8>,
}

/// Fail early (before creating anything) when there is no terminal.
pub fn require_terminal() -> Result<()> {
    if sys::isatty(io::stdin()) {
        Ok(())
    } else {
        Err(Error::new("attaching needs a terminal, and standard input is not one").hint(
            "run it from an interactive shell; `codex-session logs -f NAME` follows output without one",
        ))
    }
}

fn window_size() -> Option<Size> {
    let ws = tcgetwinsize(io::stdin()).ok()?;
    (ws.ws_col > 0 && ws.ws_row > 0).then_some(Size {
        cols: ws.ws_col,
        rows: ws.ws_row,
    })
}

/// Whether to offer the terminal to the supervisor: standard input and
/// output are the same terminal, and the relay is not asked for.
fn can_pass_terminal() -> bool {
    if std::env::var_os("CODEX_SESSION_RELAY").is_some_and(|v| !v.is_empty() && v != "0") {
        return false;
    }
    let (i, o) = (rustix::stdio::stdin(), rustix::stdio::stdout());
    if !sys::isatty(o) {
        return false;
    }
    match (rustix::fs::fstat(i), rustix::fs::fstat(o)) {
        (Ok(a), Ok(b)) => a.st_rdev == b.st_rdev,
        _ => false,
    }
}

/// Attach to a running session until detach or the program's end.
pub fn attach(s: &Session, opts: &Options) -> Result<ExitCode> {
    require_terminal()?;
    // A pipe session has no terminal to type into: watched read-only, its
    // output and standard error as they come.
    let piped;
    let opts = if s.meta.is_pipe() {
        crate::error::note(format!(
            "read-only: pipe session ({} has no terminal; `codex-session send` writes its input)",
            s.name
        ));
        piped = Options {
            read_only: true,
            detach_key: opts.detach_key,
        };
        &piped
    } else {
        opts
    };
    let (mut conn, offer) =
        Conn::open_terminal(s, window_size(), opts.read_only, can_pass_terminal())?;
    let winch = Arc::new(AtomicBool::new(false));
    let quit = Arc::new(AtomicUsize::new(0));
    let (sig_r, sig_w) = std::os::unix::net::UnixStream::pair()
        .map_err(|e| Error::new(format!("creating a signal pipe: {}", describe_io(&e))))?;
    sig_r
        .set_nonblocking(true)
        .map_err(|e| Error::new(format!("creating a signal pipe: {}", describe_io(&e))))?;
    let mut ids = Vec::new();
    for sig in [SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT] {
        let reg = if sig == SIGWINCH {
            signal_hook::flag::register(sig, winch.clone())
        } else {
            signal_hook::flag::register_usize(sig, quit.clone(), sig as usize)
        }
        .and_then(|a| {
            let w = sig_w.try_clone()?;
            Ok((a, signal_hook::low_level::pipe::register(sig, w)?))
        });
        let (a, b) =
            reg.map_err(|e| Error::new(format!("handling signal {sig}: {}", describe_io(&e))))?;
        ids.push(a);
        ids.push(b);
    }

    let raw = RawMode::enter().map_err(|e| {
        Error::new(format!(
            "putting the terminal in raw mode: {}",
            describe_io(&e)
        ))
    })?;
    let mut modes = Modes::default();
    // Direct: what undoes the modes, as the supervisor last said.
    let mut undo = None;
    let outcome = match offer_terminal(&mut conn, opts, offer) {
        Ok(Offered::Direct) => pump_direct(&mut conn, s, opts, &winch, &quit, &sig_r, &mut undo),
        Ok(Offered::Relay) => pump(&mut conn, s, opts, &winch, &quit, &sig_r, &mut modes),
        Ok(Offered::Ended(end)) => Ok(end),
        Err(e) => Err(e),
    };
    // Restore the terminal before saying anything.
    let mut out = io::stdout().lock();
    let restore = undo.unwrap_or_else(|| modes.restore().into_bytes());
    let _ = out.write_all(&restore);
    let _ = out.flush();
    drop(raw);
    for id in ids {
        signal_hook::low_level::unregister(id);
    }
    let end = outcome?;
    let msg = match &end {
        End::Detached | End::Signal(_) => format!("[detached from {}]", s.name),
        End::Exited(info) => format!("[{} {}]", s.name, info.describe()),
    };
    let _ = writeln!(out, "\n{msg}");
    let _ = out.flush();
    Ok(match end {
        End::Detached => ExitCode::SUCCESS,
        End::Signal(sig) => ExitCode::from(128u8.wrapping_add(sig as u8)),
        End::Exited(info) => ExitCode::from(info.status()),
    })
}

/// What came of offering the terminal.
enum Offered {
    /// The supervisor reads and writes it.
    Direct,
    /// The client relays (nothing was offered, or it was not taken).
    Relay,
    /// The session ended (or detached us) before the answer.
    Ended(End),
}

/// Pass the terminal (standard input) with a Tty frame, when the Welcome
/// offered to take it, and read the answer. A terminal that cannot be sent
/// is said so (a Tty frame without it), and the client relays.
fn offer_terminal(conn: &mut Conn, opts: &Options, offer: bool) -> Result<Offered> {
    if !offer {
        return Ok(Offered::Relay);
    }
    let mut frame = Vec::new();
    let msg = proto::TtyOffer {
        detach_key: opts.detach_key,
    };
    proto::encode_json(Kind::Tty, &msg, &mut frame);
    let fds = [rustix::stdio::stdin()];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    control.push(SendAncillaryMessage::ScmRights(&fds));
    // No SIGPIPE if the supervisor is gone (an error instead). macOS has
    // no MSG_NOSIGNAL; SIGPIPE is ignored there as everywhere (Rust's
    // start-up code ignores it), so the error comes back all the same.
    #[cfg(not(target_vendor = "apple"))]
    let flags = SendFlags::NOSIGNAL;
    #[cfg(target_vendor = "apple")]
    let flags = SendFlags::empty();
    let sent = sendmsg(&conn.stream, &[IoSlice::new(&frame)], &mut control, flags);
    let rest = match sent {
        Ok(n) => &frame[n..],
        // Passing refused here: the frame alone, for the relay.
        Err(_) => &frame[..],
    };
    conn.stream.write_all(rest).map_err(|e| conn.io_err(e))?;
    loop {
        match conn.read()? {
            (Kind::Tty, p) => {
                let a: proto::TtyAnswer = conn.parse(Kind::Tty, &p)?;
                return Ok(if a.direct {
                    Offered::Direct
                } else {
                    Offered::Relay
                });
            }
            (Kind::Exit, p) => return Ok(Offered::Ended(End::Exited(conn.parse(Kind::Exit, &p)?))),
            (Kind::Detach, _) => return Ok(Offered::Ended(End::Detached)),
            (Kind::Error, p) => return Err(conn.remote_error(&p)),
            _ => {}
        }
    }
}

/// Direct: the supervisor has the terminal; the client waits for the end,
/// and carries the window size and the undo string.
fn pump_direct(
    conn: &mut Conn,
    s: &Session,
    opts: &Options,
    winch: &AtomicBool,
    quit: &AtomicUsize,
    sig_r: &std::os::unix::net::UnixStream,
    undo: &mut Option<Vec<u8>>,
) -> Result<End> {
    let mut dec = Decoder::default();
    let mut sockbuf = vec![0u8; 16 * 1024];
    let mut frame = Vec::with_capacity(64);
    loop {
        let (rsock, rsig) = {
            let mut fds = [
                PollFd::new(&conn.stream, PollFlags::IN),
                PollFd::new(sig_r, PollFlags::IN),
            ];
            match poll(&mut fds, None) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    return Err(Error::new(format!(
                        "waiting for the session: {}",
                        describe_io(&e.into())
                    )));
                }
            }
            (fds[0].revents(), fds[1].revents())
        };
        if !rsig.is_empty() {
            let mut b = [0u8; 64];
            while matches!(rustix::io::read(sig_r, &mut b), Ok(n) if n > 0) {}
        }
        let sig = quit.swap(0, Ordering::Relaxed);
        if sig != 0 {
            return Ok(End::Signal(sig as i32));
        }
        if winch.swap(false, Ordering::Relaxed)
            && !opts.read_only
            && let Some(size) = window_size()
        {
            frame.clear();
            proto::encode_json(Kind::Resize, &size, &mut frame);
            conn.stream.write_all(&frame).map_err(|e| conn.io_err(e))?;
        }
        if rsock.is_empty() {
            continue;
        }
        let n = match io::Read::read(&mut conn.stream, &mut sockbuf) {
            Ok(0) => return lost_supervisor(s, &mut io::stdout().lock()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(conn.io_err(e)),
        };
        dec.push(&sockbuf[..n]);
        loop {
            match dec.next_frame() {
                Ok(Some((Kind::Modes, p))) => *undo = Some(p),
                Ok(Some((Kind::Exit, p))) => return Ok(End::Exited(conn.parse(Kind::Exit, &p)?)),
                Ok(Some((Kind::Detach, _))) => return Ok(End::Detached),
                Ok(Some((Kind::Error, p))) => return Err(conn.remote_error(&p)),
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => return Err(conn.bad(e)),
            }
        }
    }
}

/// The connection ended with no exit notice (it could not reach us in
/// time, or the supervisor was killed): the record says how the program
/// ended, if it did.
fn lost_supervisor(s: &Session, out: &mut impl Write) -> Result<End> {
    match s.settle() {
        Some(ended) => {
            paint_last_screen(&ended, out);
            Ok(End::Exited(proto::ExitInfo {
                code: ended.meta.exit_code,
                signal: ended.meta.signal,
            }))
        }
        None => Err(Error::new(format!(
            "session {}: the supervisor closed the connection",
            s.name
        ))),
    }
}

enum End {
    Detached,
    /// The client itself got this signal.
    Signal(i32),
    Exited(proto::ExitInfo),
}

fn pump(
    conn: &mut Conn,
    s: &Session,
    opts: &Options,
    winch: &AtomicBool,
    quit: &AtomicUsize,
    sig_r: &std::os::unix::net::UnixStream,
    modes: &mut Modes,
) -> Result<End> {
    let stdin = io::stdin();
    let mut out = io::stdout().lock();
    let mut dec = Decoder::default();
    let mut inbuf = vec![0u8; 4096];
    let mut sockbuf = vec![0u8; 256 * 1024];
    let mut pending_out = Vec::with_capacity(256 * 1024);
    let mut frame = Vec::with_capacity(4096 + 5);
    let mut stdin_open = true;
    loop {
        let (rin, rsock, rsig) = {
            let mut fds = vec![
                PollFd::new(&conn.stream, PollFlags::IN),
                PollFd::new(sig_r, PollFlags::IN),
            ];
            if stdin_open {
                fds.push(PollFd::new(&stdin, PollFlags::IN));
            }
            match poll(&mut fds, None) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    return Err(Error::new(format!(
                        "waiting for input: {}",
                        describe_io(&e.into())
                    )));
                }
            }
            (
                fds.get(2)
                    .map(|f| f.revents())
                    .unwrap_or(PollFlags::empty()),
                fds[0].revents(),
                fds[1].revents(),
            )
        };
        if !rsig.is_empty() {
            let mut b = [0u8; 64];
            while matches!(rustix::io::read(sig_r, &mut b), Ok(n) if n > 0) {}
        }
        let sig = quit.swap(0, Ordering::Relaxed);
        if sig != 0 {
            return Ok(End::Signal(sig as i32));
        }
        if winch.swap(false, Ordering::Relaxed)
            && !opts.read_only
            && let Some(size) = window_size()
        {
            frame.clear();
            proto::encode_json(Kind::Resize, &size, &mut frame);
            conn.stream.write_all(&frame).map_err(|e| conn.io_err(e))?;
        }
        if !rin.is_empty() {
            match rustix::io::read(&stdin, &mut inbuf) {
                Ok(0) => stdin_open = false,
                Ok(n) => {
                    let data = &inbuf[..n];
                    let (keys, detach) = match opts
                        .detach_key
                        .and_then(|k| data.iter().position(|&b| b == k))
                    {
                        Some(p) => (&data[..p], true),
                        None => (data, false),
                    };
                    if !keys.is_empty() && !opts.read_only {
                        frame.clear();
                        proto::encode(Kind::Input, keys, &mut frame);
                        conn.stream.write_all(&frame).map_err(|e| conn.io_err(e))?;
                    }
                    if detach {
                        return Ok(End::Detached);
                    }
                }
                Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
                Err(_) => stdin_open = false,
            }
        }
        if !rsock.is_empty() {
            let n = match io::Read::read(&mut conn.stream, &mut sockbuf) {
                Ok(0) => return lost_supervisor(s, &mut out),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(conn.io_err(e)),
            };
            dec.push(&sockbuf[..n]);
            pending_out.clear();
            let mut end = None;
            loop {
                match dec.next_frame() {
                    Ok(Some((Kind::Output, p))) => pending_out.extend_from_slice(&p),
                    Ok(Some((Kind::Exit, p))) => {
                        end = Some(End::Exited(conn.parse(Kind::Exit, &p)?));
                        break;
                    }
                    Ok(Some((Kind::Detach, _))) => {
                        end = Some(End::Detached);
                        break;
                    }
                    Ok(Some((Kind::Error, p))) => return Err(conn.remote_error(&p)),
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => return Err(conn.bad(e)),
                }
            }
            if !pending_out.is_empty() {
                modes.feed(&pending_out);
                out.write_all(&pending_out)
                    .and_then(|()| out.flush())
                    .map_err(|e| {
                        Error::new(format!("writing to the terminal: {}", describe_io(&e)))
                    })?;
            }
            if let Some(end) = end {
                return Ok(end);
            }
        }
    }
}

/// Paint the screen the program left (saved by its supervisor), for a
/// client that missed the end of the stream.
fn paint_last_screen(s: &Session, out: &mut impl Write) {
    let Ok(saved) = sys::read_nofollow(&s.path(crate::store::SCREEN_ANSI)) else {
        return;
    };
    let mut paint = b"\x18\x1b[0m\x1b[H\x1b[2J".to_vec();
    for (i, line) in saved.split(|&b| b == b'\n').enumerate() {
        if i > 0 && !line.is_empty() {
            paint.extend_from_slice(b"\r\n");
        }
        paint.extend_from_slice(line);
    }
    let _ = out.write_all(&paint);
    let _ = out.flush();
}

/// The terminal's settings before raw mode, for the panic hook.
static SAVED: Mutex<Option<Termios>> = Mutex::new(None);

/// Raw mode on standard input, undone on drop (and by a panic hook).
struct RawMode;

impl RawMode {
    fn enter() -> io::Result<RawMode> {
        let fd = stdin_fd();
        let saved = tcgetattr(fd)?;
        let mut raw = saved.clone();
        raw.make_raw();
        *SAVED.lock().unwrap_or_else(|p| p.into_inner()) = Some(saved);
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_saved();
            prev(info);
        }));
        tcsetattr(fd, OptionalActions::Now, &raw)?;
        Ok(RawMode)
    }
}

fn stdin_fd() -> BorrowedFd<'static> {
    rustix::stdio::stdin()
}

fn restore_saved() {
    if let Some(t) = SAVED.lock().unwrap_or_else(|p| p.into_inner()).take() {
        let _ = tcsetattr(stdin_fd(), OptionalActions::Now, &t);
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        restore_saved();
    }
}
