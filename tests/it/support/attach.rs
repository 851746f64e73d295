//! Helpers for attach tests: a client in a real terminal, and ways to know
//! where it stands without sleeping (raw mode on its terminal, the client
//! count in meta.json).

use std::time::{Duration, Instant};

use rustix::termios::LocalModes;

use super::pty::Term;
use super::{Store, WAIT, wait_for};

/// Ctrl-\, the default detach key.
pub const DETACH: &[u8] = b"\x1c";

/// `attach NAME` in a terminal of `cols`×`rows`; returns once the client has
/// been welcomed by the supervisor and put its terminal in raw mode.
pub fn attach(s: &Store, name: &str, cols: u16, rows: u16) -> Term {
    attach_with(s, name, &[], cols, rows)
}

/// `attach EXTRA... NAME` in a terminal; returns once it is in raw mode.
pub fn attach_with(s: &Store, name: &str, extra: &[&str], cols: u16, rows: u16) -> Term {
    let mut args = vec!["attach"];
    args.extend_from_slice(extra);
    args.push(name);
    let mut t = Term::spawn(s.cmd(&args), cols, rows);
    wait_raw_mode(&mut t);
    t
}

/// Whether the terminal is in raw mode (no line editing).
pub fn is_raw(t: &Term) -> bool {
    !t.termios().local_modes.contains(LocalModes::ICANON)
}

/// Wait until the program in `t` has put its terminal in raw mode. The
/// client does that only after the supervisor's Welcome, so from then on
/// the supervisor counts it as attached and has queued its repaint.
pub fn wait_raw_mode(t: &mut Term) {
    let end = Instant::now() + WAIT;
    loop {
        if is_raw(t) {
            return;
        }
        if let Some(st) = t.child.try_wait().expect("try_wait") {
            panic!(
                "the client exited ({st:?}) before entering raw mode; the screen shows:\n{}",
                t.screen()
            );
        }
        if Instant::now() >= end {
            panic!(
                "the client did not enter raw mode within {WAIT:?}; the screen shows:\n{}",
                t.screen()
            );
        }
        // Polling interval of a deadline wait.
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Wait until meta.json counts `n` attached clients.
pub fn wait_clients(s: &Store, name: &str, n: u64) {
    wait_for(
        &format!("{name} to have {n} attached clients"),
        WAIT,
        || (s.meta(name)["clients"].as_u64() == Some(n)).then_some(()),
    );
}

/// The session's raw output.log.
pub fn log_bytes(s: &Store, name: &str) -> Vec<u8> {
    std::fs::read(s.dir(name).join("output.log")).unwrap_or_default()
}

/// Whether `hay` contains `needle`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
