//! `attach`, `detach`, `capture` and `run` without `--bg`: a real client in a
//! real terminal, its screen read through vt100.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use rustix::termios::{LocalModes, Termios};
use vt100::{Color, MouseProtocolEncoding, MouseProtocolMode};

use crate::support::attach::*;
use crate::support::pty::Term;
use crate::support::*;

/// A full-screen program: raw mode, the alternate screen, bracketed paste,
/// application cursor keys and keypad, mouse reporting, a hidden cursor;
/// colours, bold, wide characters at known places; the cursor left at row
/// 12, column 20 (1-based). It exits with the digit typed to it (0 for any
/// other key), without undoing anything, as a crashing TUI would.
const TUI: &str = r#"
import os, sys, tty
tty.setraw(0)
os.write(1, b"main screen text\r\n")
os.write(1, b"\x1b[?1049h\x1b[?2004h\x1b[?1h\x1b=\x1b[?1000;1006h\x1b[?25l\x1b[H\x1b[2J"
    b"\x1b[3;5H\x1b[38;5;196mRED256\x1b[0m"
    b"\x1b[5;10H\x1b[38;2;10;200;30mTRUECOLOR\x1b[0m"
    b"\x1b[7;1H\x1b[1mBOLD\x1b[0m plain"
    + "\x1b[9;3H\u65e5\u672c\u8a9e \U0001f980 wide".encode()
    + b"\x1b[12;20H")
c = os.read(0, 1)
sys.exit(int(c) if c.isdigit() else 0)
"#;

/// The last bytes TUI prints: once they are in the log, the supervisor's
/// screen model has them too.
const TUI_LAST: &str = "\x1b[12;20H";

/// Prints READY, then `GOT:<line>` for every line; SIGUSR1 prints WHILE-AWAY.
const ECHO: &str = r#"
import os, signal, sys
signal.signal(signal.SIGUSR1, lambda *a: os.write(1, b"WHILE-AWAY\r\n"))
print("READY", flush=True)
while True:
    line = sys.stdin.readline()
    if not line:
        break
    print("GOT:" + line.strip(), flush=True)
"#;

/// Raw mode; prints READY, then `GOT <hex>` for every read.
const RAWHEX: &str = r#"
import os, tty
tty.setraw(0)
os.write(1, b"READY\r\n")
while True:
    b = os.read(0, 64)
    if not b:
        break
    os.write(1, b"GOT " + b.hex().encode() + b"\r\n")
"#;

/// Prints its window size at start and on every SIGWINCH.
const WINCH: &str = r#"
import os, signal
def show(*_):
    c, r = os.get_terminal_size(0)
    os.write(1, f"SIZE={c}x{r}\r\n".encode())
signal.signal(signal.SIGWINCH, show)
show()
while True:
    signal.pause()
"#;

/// Start the TUI fixture in the background and wait until it has drawn.
fn start_tui(s: &Store, name: &str) {
    start_py(s, name, "tui.py", TUI, &[]);
    s.wait_log(name, TUI_LAST);
}

/// The rows of the screen, trailing blanks trimmed.
fn rows(sc: &vt100::Screen) -> Vec<String> {
    let (_, cols) = sc.size();
    sc.rows(0, cols.get())
        .map(|r| r.trim_end().to_string())
        .collect()
}

fn cell(sc: &vt100::Screen, row: u16, col: u16) -> vt100::Cell {
    sc.cell(row, col)
        .unwrap_or_else(|| panic!("no cell at {row},{col}"))
        .clone()
}

/// The exit code of a client, panicking with the screen when it was killed.
fn code(st: std::process::ExitStatus, t: &Term) -> i32 {
    st.code().unwrap_or_else(|| {
        panic!(
            "the client was killed by signal {:?}; the screen shows:\n{}",
            st.signal(),
            t.screen()
        )
    })
}

/// Wait until the client in `t` exits; its exit code.
fn exit_code(t: &mut Term) -> i32 {
    let st = t.wait();
    code(st, t)
}

/// The modes a shell expects once a client has left the terminal.
fn assert_modes_reset(t: &Term) {
    t.with_screen(|sc| {
        assert!(!sc.alternate_screen(), "left the alternate screen");
        assert!(!sc.bracketed_paste(), "bracketed paste off");
        assert!(!sc.application_cursor(), "application cursor keys off");
        assert!(!sc.application_keypad(), "application keypad off");
        assert!(!sc.hide_cursor(), "cursor shown");
        assert_eq!(sc.mouse_protocol_mode(), MouseProtocolMode::None);
        assert_eq!(sc.mouse_protocol_encoding(), MouseProtocolEncoding::Default);
    });
}

/// A cooked terminal, as a shell expects it.
fn assert_cooked(t: &Termios) {
    assert!(
        t.local_modes
            .contains(LocalModes::ICANON | LocalModes::ECHO),
        "line editing and echo back on: {:?}",
        t.local_modes
    );
}

/// Like `Store::cmd`, but through `sh` waiting for a line before it execs
/// the client: the terminal can be looked at before the client touches it.
fn attach_on_enter(s: &Store, name: &str, cols: u16, rows: u16) -> Term {
    let base = s.cmd(["attach", name]);
    let mut c = Command::new("/bin/sh");
    c.arg("-c")
        .arg(r#"read x; exec "$0" "$@""#)
        .arg(base.get_program())
        .args(base.get_args());
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    Term::spawn(c, cols, rows)
}

// --- 1. the screen is painted on attach ------------------------------------

#[test]
fn attach_restores_a_full_screen_program() {
    let s = Store::new();
    start_tui(&s, "tui");
    let t = attach(&s, "tui", 80, 24);
    t.wait_screen("the repaint", |sc| {
        sc.contains("TRUECOLOR") && sc.contains("wide")
    });
    t.with_screen(|sc| {
        assert!(sc.alternate_screen(), "on the alternate screen");
        assert!(sc.bracketed_paste(), "bracketed paste");
        assert!(sc.application_cursor(), "application cursor keys");
        assert!(sc.application_keypad(), "application keypad");
        assert!(sc.hide_cursor(), "cursor hidden");
        assert_eq!(sc.mouse_protocol_mode(), MouseProtocolMode::PressRelease);
        assert_eq!(sc.mouse_protocol_encoding(), MouseProtocolEncoding::Sgr);
        assert_eq!(sc.cursor_position(), (11, 19), "cursor at row 12, col 20");

        let r = rows(sc);
        assert_eq!(r[2], "    RED256", "{r:#?}");
        assert_eq!(r[4], "         TRUECOLOR", "{r:#?}");
        assert_eq!(r[6], "BOLD plain", "{r:#?}");
        assert_eq!(r[8], "  日本語 🦀 wide", "{r:#?}");
        assert!(
            !sc.contents().contains("main screen text"),
            "the main screen is not shown: {r:#?}"
        );
        for (i, row) in r.iter().enumerate() {
            if ![2, 4, 6, 8].contains(&i) {
                assert_eq!(row, "", "row {i} is blank: {r:#?}");
            }
        }

        for col in 4..10 {
            assert_eq!(cell(sc, 2, col).fgcolor(), Color::Idx(196), "col {col}");
        }
        assert_eq!(cell(sc, 2, 10).fgcolor(), Color::Default);
        for col in 9..18 {
            assert_eq!(
                cell(sc, 4, col).fgcolor(),
                Color::Rgb(10, 200, 30),
                "col {col}"
            );
        }
        for col in 0..4 {
            assert!(cell(sc, 6, col).bold(), "col {col} bold");
        }
        assert!(!cell(sc, 6, 5).bold(), "'plain' is not bold");
        assert_eq!(cell(sc, 6, 5).fgcolor(), Color::Default);

        for (col, ch) in [(2, "日"), (4, "本"), (6, "語"), (9, "🦀")] {
            let c = cell(sc, 8, col);
            assert_eq!(c.contents(), ch, "col {col}");
            assert!(c.is_wide(), "{ch} is wide");
            assert!(cell(sc, 8, col + 1).is_wide_continuation(), "after {ch}");
        }
        assert_eq!(cell(sc, 8, 12).contents(), "w");
    });
}

#[test]
fn attach_restores_vim() {
    if !require("vim") {
        return;
    }
    let s = Store::new();
    let file = s.tmp.path().join("poem.txt");
    let lines: Vec<String> = (1..=10)
        .map(|i| format!("line {i:02} of the poem"))
        .collect();
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let f = file.to_string_lossy().into_owned();
    s.start("vim", &["vim", "-u", "NONE", "-i", "NONE", "-N", "-n", &f]);
    // Wait (through capture) until vim has drawn the file and its message.
    wait_for("vim to draw", WAIT, || {
        let sc = s.ok(["capture", "vim"]);
        (sc.contains("line 10 of the poem") && sc.contains("10L")).then_some(())
    });

    let mut t = attach(&s, "vim", 80, 24);
    t.wait_screen("vim's screen", |sc| {
        sc.contains("line 10 of the poem") && sc.contains("10L")
    });
    t.with_screen(|sc| {
        let r = rows(sc);
        for (i, l) in lines.iter().enumerate() {
            assert_eq!(&r[i], l, "{r:#?}");
        }
        for (i, row) in r.iter().enumerate().take(23).skip(10) {
            assert_eq!(row, "~", "row {i}: {r:#?}");
        }
        assert!(
            r[23].contains("poem.txt") && r[23].contains("10L"),
            "vim's message on the last row: {r:#?}"
        );
        assert!(sc.alternate_screen(), "vim uses the alternate screen");
        assert_eq!(sc.cursor_position(), (0, 0), "cursor on the first line");
    });
    // The attached client drives vim: quit it; the client ends with it.
    t.write(b":q\r");
    assert_eq!(exit_code(&mut t), 0, "{}", t.screen());
    t.wait_screen("the exit notice", |sc| {
        sc.contains("[vim exited with code 0]")
    });
    assert!(!t.with_screen(|sc| sc.alternate_screen()));
}

#[test]
fn attach_restores_less() {
    if !require("less") {
        return;
    }
    let s = Store::new();
    let file = s.tmp.path().join("list.txt");
    let lines: Vec<String> = (1..=50).map(|i| format!("entry number {i}")).collect();
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let f = file.to_string_lossy().into_owned();
    s.start("less", &["less", &f]);
    wait_for("less to draw", WAIT, || {
        let sc = s.ok(["capture", "less"]);
        sc.contains("entry number 23").then_some(())
    });

    let mut t = attach(&s, "less", 80, 24);
    t.wait_screen("less's screen", |sc| sc.contains("entry number 23"));
    t.with_screen(|sc| {
        let r = rows(sc);
        for (i, l) in lines.iter().take(23).enumerate() {
            assert_eq!(&r[i], l, "{r:#?}");
        }
        assert!(
            r[23].contains("list.txt") || r[23].starts_with(':'),
            "less's prompt on the last row: {r:#?}"
        );
        assert!(!sc.contents().contains("entry number 24"), "{r:#?}");
    });
    // A keystroke reaches less: one page down.
    t.write(b" ");
    t.wait_screen("the next page", |sc| sc.contains("entry number 46"));
    t.write(b"q");
    assert_eq!(exit_code(&mut t), 0, "{}", t.screen());
    t.wait_screen("the exit notice", |sc| {
        sc.contains("[less exited with code 0]")
    });
}

// --- 2. bytes that are not UTF-8 --------------------------------------------

#[test]
fn non_utf8_output_is_shown_as_a_terminal_would() {
    let s = Store::new();
    let body = r#"
import os, sys, time
os.write(1, b"ok \xff\xfe end\n")
os.write(1, b"mixed \xe6\x97X \xc3( \xf0\x9f\xa6 tail \xed\xa0\x80 \xc0\xaf\n")
sys.stdin.buffer.readline()
os.write(1, b"live \xff\xfe \xe6\x97Y end2\n")
os.write(1, "wide \u65e5\U0001f980 ok\n".encode())
time.sleep(300)
"#;
    start_py(&s, "bytes", "bytes.py", body, &[]);
    s.wait_log("bytes", "tail");

    // Attach after the first lines (they come in the repaint), then have the
    // rest printed live.
    let mut t = attach(&s, "bytes", 80, 24);
    t.wait_screen("the repaint", |sc| sc.contains("tail"));
    t.write(b"go\r");
    t.wait_screen("the live lines", |sc| {
        sc.contains("end2") && sc.contains("wide")
    });
    s.wait_log("bytes", "wide");

    // What a terminal shows for the same bytes.
    let log = log_bytes(&s, "bytes");
    let mut reference = vt100::Parser::new(
        std::num::NonZeroU16::new(24).unwrap(),
        std::num::NonZeroU16::new(80).unwrap(),
        0,
    );
    reference.process(&log);
    let want = reference.screen().contents();
    // vt100 0.18 drops invalid bytes (and U+FFFD itself) instead of showing
    // a replacement character: see `capture_shows_invalid_bytes_as_replacement_characters`.
    let first = want.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("ok ") && first.ends_with(" end"),
        "the valid text around the invalid bytes survives: {want}"
    );
    t.wait_screen("the same screen as a terminal fed the log", |sc| sc == want);
    t.with_screen(|sc| {
        assert_eq!(sc.cursor_position(), reference.screen().cursor_position());
    });

    // `logs` keeps the exact bytes.
    let raw = s.run(["logs", "--color", "always", "bytes"]);
    assert!(raw.status.success(), "{}", stderr(&raw));
    assert_eq!(raw.stdout, log, "logs --color always is the log itself");
    for needle in [
        &b"ok \xff\xfe end\r\n"[..],
        b"mixed \xe6\x97X \xc3( \xf0\x9f\xa6 tail \xed\xa0\x80 \xc0\xaf\r\n",
        b"live \xff\xfe \xe6\x97Y end2\r\n",
    ] {
        assert!(
            contains(&raw.stdout, needle),
            "{:?} in {:?}",
            String::from_utf8_lossy(needle),
            String::from_utf8_lossy(&raw.stdout)
        );
    }
    t.write(DETACH);
    assert_eq!(exit_code(&mut t), 0);
}

/// What xterm, VTE, kitty and the Linux console show for bytes that are not
/// UTF-8: one U+FFFD per invalid sequence, each one column wide; so do
/// `capture` and the repaint on attach.
#[test]
fn capture_shows_invalid_bytes_as_replacement_characters() {
    let s = Store::new();
    s.start(
        "bad",
        &["sh", "-c", r"printf 'ok \377\376 end\n'; exec sleep 300"],
    );
    s.wait_log("bad", "end");
    assert!(contains(&log_bytes(&s, "bad"), b"ok \xff\xfe end"));
    let text = s.ok(["capture", "bad"]);
    assert_eq!(text, "ok \u{fffd}\u{fffd} end\n", "{text:?}");
}

// --- 3. the window size reaches the program ---------------------------------

#[test]
fn resizing_the_client_resizes_the_program() {
    let s = Store::new();
    start_py(&s, "winch", "winch.py", WINCH, &[]);
    s.wait_log("winch", "SIZE=80x24");

    let mut t = attach(&s, "winch", 100, 30);
    t.wait_screen("the program to see 100x30", |sc| sc.contains("SIZE=100x30"));
    let m = s.meta("winch");
    assert_eq!(
        (m["cols"].as_u64(), m["rows"].as_u64()),
        (Some(100), Some(30))
    );

    // The terminal's size changes: the kernel sends SIGWINCH to the client
    // (the foreground process group of its terminal), which tells the
    // supervisor, which resizes the program's terminal.
    t.resize(120, 40);
    t.wait_screen("the program to see 120x40", |sc| sc.contains("SIZE=120x40"));
    s.wait_log("winch", "SIZE=120x40");
    wait_for("meta.json to say 120x40", WAIT, || {
        let m = s.meta("winch");
        (m["cols"] == 120 && m["rows"] == 40).then_some(())
    });

    t.resize(60, 15);
    t.wait_screen("the program to see 60x15", |sc| sc.contains("SIZE=60x15"));
    t.write(DETACH);
    assert_eq!(exit_code(&mut t), 0);
}

/// The window follows the client that attached or typed last.
#[test]
fn the_window_follows_the_client_that_typed_last() {
    let s = Store::new();
    start_py(&s, "follow", "winch.py", WINCH, &[]);
    s.wait_log("follow", "SIZE=80x24");

    let mut a = attach(&s, "follow", 100, 30);
    s.wait_log("follow", "SIZE=100x30");
    let mut b = attach(&s, "follow", 90, 20);
    s.wait_log("follow", "SIZE=90x20");
    let m = s.meta("follow");
    assert_eq!(
        (m["cols"].as_u64(), m["rows"].as_u64()),
        (Some(90), Some(20))
    );

    // A types: the window takes A's size again.
    a.write(b"x");
    wait_for("the window to follow A", WAIT, || {
        let log = String::from_utf8_lossy(&log_bytes(&s, "follow")).into_owned();
        (log.matches("SIZE=100x30").count() == 2).then_some(())
    });
    let m = s.meta("follow");
    assert_eq!(
        (m["cols"].as_u64(), m["rows"].as_u64()),
        (Some(100), Some(30))
    );
    // B's terminal changes size while A is the active one: nothing moves.
    b.resize(70, 15);
    a.resize(110, 35);
    s.wait_log("follow", "SIZE=110x35");
    let log = String::from_utf8_lossy(&log_bytes(&s, "follow")).into_owned();
    assert!(!log.contains("SIZE=70x15"), "{log}");
    for t in [&mut a, &mut b] {
        t.write(DETACH);
        assert_eq!(exit_code(t), 0);
    }
}

// --- 4. two clients -----------------------------------------------------------

#[test]
fn two_clients_see_the_same_output() {
    let s = Store::new();
    start_py(&s, "shared", "echo.py", ECHO, &[]);
    s.wait_log("shared", "READY");
    let mut a = attach(&s, "shared", 80, 24);
    let mut b = attach(&s, "shared", 80, 24);
    wait_clients(&s, "shared", 2);
    for t in [&a, &b] {
        t.wait_screen("the repaint", |sc| sc.contains("READY"));
    }

    a.write(b"typed-in-a\r");
    for t in [&a, &b] {
        t.wait_screen("A's line on both", |sc| sc.contains("GOT:typed-in-a"));
    }
    b.write(b"typed-in-b\r");
    for t in [&a, &b] {
        t.wait_screen("B's line on both", |sc| sc.contains("GOT:typed-in-b"));
    }
    // Both show the very same screen.
    a.wait_screen("the same screen as B", |sc| sc == b.screen());

    a.write(DETACH);
    assert_eq!(exit_code(&mut a), 0);
    wait_clients(&s, "shared", 1);
    b.write(b"after-a-left\r");
    b.wait_screen("B still works", |sc| sc.contains("GOT:after-a-left"));
    b.write(DETACH);
    assert_eq!(exit_code(&mut b), 0);
}

// --- 5. read-only clients -----------------------------------------------------

#[test]
fn a_read_only_client_neither_types_nor_resizes() {
    let s = Store::new();
    start_py(&s, "ro", "echo.py", ECHO, &[]);
    s.wait_log("ro", "READY");

    // Alone, with another size: the window stays as it was.
    let mut ro = attach_with(&s, "ro", &["--read-only"], 100, 30);
    ro.wait_screen("the repaint", |sc| sc.contains("READY"));
    let m = s.meta("ro");
    assert_eq!(m["clients"], 1);
    assert_eq!(
        (m["cols"].as_u64(), m["rows"].as_u64()),
        (Some(80), Some(24)),
        "a read-only client does not resize: {m}"
    );

    let mut rw = attach(&s, "ro", 80, 24);
    wait_clients(&s, "ro", 2);
    rw.write(b"visible\r");
    for t in [&ro, &rw] {
        t.wait_screen("output on both", |sc| sc.contains("GOT:visible"));
    }

    // The read-only client's terminal changes size, it types, then detaches.
    ro.resize(120, 40);
    ro.write(b"secret\r");
    ro.write(DETACH);
    assert_eq!(exit_code(&mut ro), 0, "{}", ro.screen());
    ro.wait_screen("the detach notice", |sc| sc.contains("[detached from ro]"));
    // Once the supervisor has seen it leave, it has read all it ever sent.
    wait_clients(&s, "ro", 1);
    let m = s.meta("ro");
    assert_eq!(
        (m["cols"].as_u64(), m["rows"].as_u64()),
        (Some(80), Some(24)),
        "{m}"
    );

    // The program reads its input in order: `after` comes after anything
    // the read-only client could have sent.
    rw.write(b"after\r");
    rw.wait_screen("the next line", |sc| sc.contains("GOT:after"));
    s.wait_log("ro", "GOT:after");
    let log = String::from_utf8_lossy(&log_bytes(&s, "ro")).into_owned();
    assert!(
        !log.contains("secret"),
        "the keystrokes never arrived: {log}"
    );
    assert!(!rw.screen().contains("secret"), "{}", rw.screen());
    let events = std::fs::read_to_string(s.dir("ro").join("events.jsonl")).unwrap();
    assert!(
        !events.contains("\"resized\""),
        "the window was never resized: {events}"
    );
    rw.write(DETACH);
    assert_eq!(exit_code(&mut rw), 0);
}

// --- 6. a client killed -------------------------------------------------------

#[test]
fn a_killed_client_leaves_the_session_running() {
    let s = Store::new();
    start_py(&s, "k9", "echo.py", ECHO, &[]);
    s.wait_log("k9", "READY");
    let mut a = attach(&s, "k9", 80, 24);
    a.write(b"one\r");
    a.wait_screen("the echo", |sc| sc.contains("GOT:one"));

    let client = Pid::from_raw(a.child.id() as i32);
    kill(client, Signal::SIGKILL).expect("kill -9 the client");
    let st = a.wait();
    assert_eq!(st.signal(), Some(Signal::SIGKILL as i32));
    wait_clients(&s, "k9", 0);
    let e = s.entry("k9");
    assert_eq!(e["status"], "running", "{e}");

    // Output while nobody is attached still reaches the screen model.
    let pid = s.meta("k9")["pid"].as_i64().expect("pid") as i32;
    kill(Pid::from_raw(pid), Signal::SIGUSR1).expect("SIGUSR1 the program");
    s.wait_log("k9", "WHILE-AWAY");

    let mut b = attach(&s, "k9", 80, 24);
    b.wait_screen("the screen as it was", |sc| {
        sc.contains("READY") && sc.contains("GOT:one") && sc.contains("WHILE-AWAY")
    });
    b.write(b"two\r");
    b.wait_screen("the new client types", |sc| sc.contains("GOT:two"));
    b.write(DETACH);
    assert_eq!(exit_code(&mut b), 0);
    assert_eq!(s.entry("k9")["status"], "running");
}

// --- 7. a client that stops reading -------------------------------------------

#[test]
fn a_stopped_client_never_stalls_the_program() {
    const BYTES: &str = "200000000";
    let s = Store::new();
    let done = s.tmp.path().join("done");
    let body = r#"
import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
print("WAITING", flush=True)
signal.sigwait({signal.SIGUSR1})
total = int(sys.argv[1])
chunk = (b"0123456789" * 9 + b"abcdefgh.\n") * 640
out = sys.stdout.buffer
n = 0
while n < total:
    out.write(chunk)
    n += len(chunk)
out.write(b"second to last line\nDONE-MARKER\n")
out.flush()
open(sys.argv[2], "w").close()
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
signal.sigwait({signal.SIGUSR2})
"#;
    let done_s = done.to_string_lossy().into_owned();
    start_py(&s, "flood", "flood.py", body, &[BYTES, &done_s]);
    s.wait_log("flood", "WAITING");
    // Relayed: a terminal passed to the supervisor is read by this test's
    // own terminal whatever the client does (its stall is in perf.rs).
    let mut cmd = s.cmd(["attach", "flood"]);
    cmd.env("CODEX_SESSION_RELAY", "1");
    let mut t = Term::spawn(cmd, 80, 24);
    wait_raw_mode(&mut t);
    t.wait_screen("the repaint", |sc| sc.contains("WAITING"));

    let client = Pid::from_raw(t.child.id() as i32);
    kill(client, Signal::SIGSTOP).expect("SIGSTOP the client");
    match waitpid(client, Some(WaitPidFlag::WUNTRACED)).expect("waitpid") {
        WaitStatus::Stopped(..) => {}
        other => panic!("the client did not stop: {other:?}"),
    }

    let pid = s.meta("flood")["pid"].as_i64().expect("pid") as i32;
    kill(Pid::from_raw(pid), Signal::SIGUSR1).expect("starting the flood");
    // The proof: the program gets through all its output while the client
    // has not read a byte.
    wait_file(&done, Duration::from_secs(45));
    assert_eq!(
        proc_state(client),
        Some('T'),
        "the client was still stopped when the program finished"
    );
    s.wait_log("flood", "DONE-MARKER");
    let m = s.meta("flood");
    assert_eq!(m["status"], "running", "{m}");

    // Woken up, the client catches up on the screen as it is now.
    kill(client, Signal::SIGCONT).expect("SIGCONT the client");
    t.wait_screen_for("the final screen", Duration::from_secs(30), |sc| {
        let lines: Vec<&str> = sc
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .collect();
        lines.ends_with(&["second to last line", "DONE-MARKER"])
    });
    t.write(DETACH);
    assert_eq!(exit_code(&mut t), 0, "{}", t.screen());
}

/// The state letter of /proc/PID/stat (R, S, T, Z...).
fn proc_state(pid: Pid) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ...": the comm may hold spaces and parentheses.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

// --- 8. the program's end reaches the client ----------------------------------

#[test]
fn the_exit_code_reaches_the_client() {
    let s = Store::new();
    s.start("seven", &["sh", "-c", "echo ready; read x; exit 7"]);
    s.wait_log("seven", "ready");
    let mut t = attach(&s, "seven", 80, 24);
    t.wait_screen("the repaint", |sc| sc.contains("ready"));
    t.write(b"bye\r");
    assert_eq!(exit_code(&mut t), 7, "{}", t.screen());
    t.wait_screen("the exit notice", |sc| {
        sc.contains("[seven exited with code 7]")
    });
    assert_cooked(&t.termios());
    let e = s.wait_status("seven", "exited");
    assert_eq!(e["exit_code"], 7);
}

#[test]
fn a_signal_death_reaches_the_client() {
    let s = Store::new();
    s.start("term", &["sh", "-c", "echo ready; exec sleep 300"]);
    s.wait_log("term", "ready");
    let mut t = attach(&s, "term", 80, 24);
    t.wait_screen("the repaint", |sc| sc.contains("ready"));
    s.ok(["stop", "term"]);
    // stop sends HUP (then TERM): 128 + 1.
    assert_eq!(exit_code(&mut t), 129, "{}", t.screen());
    t.wait_screen("the exit notice", |sc| {
        sc.contains("[term killed by SIGHUP]")
    });
    assert_cooked(&t.termios());
}

// --- 9. the terminal after a detach ------------------------------------------

#[test]
fn detaching_restores_the_terminal() {
    let s = Store::new();
    start_tui(&s, "tui");
    let mut t = attach_on_enter(&s, "tui", 80, 24);
    // `sh` waits in `read`: the terminal is as the client will find it.
    let before = t.termios();
    assert_cooked(&before);
    t.write(b"\n");
    wait_raw_mode(&mut t);
    t.wait_screen("the repaint", |sc| sc.contains("TRUECOLOR"));
    assert!(t.with_screen(|sc| sc.alternate_screen() && sc.bracketed_paste()));

    t.write(DETACH);
    assert_eq!(exit_code(&mut t), 0, "{}", t.screen());
    t.wait_screen("the detach notice", |sc| sc.contains("[detached from tui]"));
    let after = t.termios();
    assert_cooked(&after);
    assert_eq!(after.local_modes, before.local_modes);
    assert_eq!(after.input_modes, before.input_modes);
    assert_eq!(after.output_modes, before.output_modes);
    assert_eq!(after.control_modes, before.control_modes);
    assert_modes_reset(&t);
    assert!(
        !t.screen().contains("TRUECOLOR"),
        "back on the main screen: {}",
        t.screen()
    );
    // The program itself goes on.
    assert_eq!(s.entry("tui")["status"], "running");
    wait_clients(&s, "tui", 0);
}

#[test]
fn another_detach_key() {
    let s = Store::new();
    start_py(&s, "keys", "rawhex.py", RAWHEX, &[]);
    s.wait_log("keys", "READY");
    let mut t = attach_with(&s, "keys", &["--detach-key", "^Q"], 80, 24);
    t.wait_screen("the repaint", |sc| sc.contains("READY"));

    // Ctrl-\ is just a key now: the program gets it.
    t.write(b"a\x1cb");
    t.wait_screen("the bytes to reach the program", |sc| {
        got_hex(sc) == "611c62"
    });
    t.write(b"\x11");
    assert_eq!(exit_code(&mut t), 0, "{}", t.screen());
    t.wait_screen("the detach notice", |sc| {
        sc.contains("[detached from keys]")
    });

    // The program never saw the ^Q: the next client's key comes right after.
    let mut t2 = attach(&s, "keys", 80, 24);
    t2.wait_screen("the repaint", |sc| got_hex(sc) == "611c62");
    t2.write(b"z");
    t2.wait_screen("the next key", |sc| got_hex(sc) == "611c627a");
    t2.write(DETACH);
    assert_eq!(exit_code(&mut t2), 0);
}

#[test]
fn keys_typed_before_the_detach_key_are_delivered() {
    let s = Store::new();
    start_py(&s, "draft", "echo.py", ECHO, &[]);
    s.wait_log("draft", "READY");
    let mut t = attach(&s, "draft", 80, 24);
    t.write(b"partial\x1cignored");
    assert_eq!(exit_code(&mut t), 0, "{}", t.screen());
    let mut t2 = attach(&s, "draft", 80, 24);
    t2.write(b"-line\r");
    t2.wait_screen("the whole line", |sc| sc.contains("GOT:partial-line"));
    t2.write(DETACH);
    assert_eq!(exit_code(&mut t2), 0);
    let log = String::from_utf8_lossy(&log_bytes(&s, "draft")).into_owned();
    assert!(!log.contains("ignored"), "{log}");
}

/// A client ended by a signal still gives the terminal back as it found it.
#[test]
fn a_signalled_client_restores_the_terminal() {
    let s = Store::new();
    start_tui(&s, "sig");
    let mut t = attach_on_enter(&s, "sig", 80, 24);
    let before = t.termios();
    t.write(b"\n");
    wait_raw_mode(&mut t);
    t.wait_screen("the repaint", |sc| sc.contains("TRUECOLOR"));
    kill(Pid::from_raw(t.child.id() as i32), Signal::SIGTERM).expect("SIGTERM the client");
    let st = t.wait();
    assert_ne!(code(st, &t), 0, "{}", t.screen());
    t.wait_screen("the detach notice", |sc| sc.contains("[detached from sig]"));
    let after = t.termios();
    assert_eq!(after.local_modes, before.local_modes);
    assert_eq!(after.input_modes, before.input_modes);
    assert_eq!(after.output_modes, before.output_modes);
    assert_modes_reset(&t);
    wait_clients(&s, "sig", 0);
    assert_eq!(s.entry("sig")["status"], "running");
}

/// Every `GOT <hex>` line on the screen, joined.
fn got_hex(sc: &str) -> String {
    sc.lines()
        .filter_map(|l| l.trim_end().strip_prefix("GOT "))
        .collect()
}

// --- 10. `detach` from another shell ------------------------------------------

#[test]
fn detach_command_detaches_every_client() {
    let s = Store::new();
    start_py(&s, "both", "echo.py", ECHO, &[]);
    s.wait_log("both", "READY");
    let mut a = attach(&s, "both", 80, 24);
    let mut b = attach_with(&s, "both", &["--read-only"], 80, 24);
    wait_clients(&s, "both", 2);

    s.ok(["detach", "both"]);
    for t in [&mut a, &mut b] {
        assert_eq!(exit_code(t), 0, "{}", t.screen());
        t.wait_screen("the detach notice", |sc| {
            sc.contains("[detached from both]")
        });
        assert_cooked(&t.termios());
    }
    wait_clients(&s, "both", 0);
    assert_eq!(s.entry("both")["status"], "running");
    // With nobody attached, it is a no-op that succeeds.
    s.ok(["detach", "both"]);
}

// --- 11. run without --bg -----------------------------------------------------

#[test]
fn run_in_the_foreground_attaches_at_once() {
    let s = Store::new();
    let script = fixture(&s, "echo.py", ECHO);
    let mut t = Term::spawn(
        s.cmd(["run", "--name", "fg", "--", PYTHON, &script]),
        80,
        24,
    );
    wait_raw_mode(&mut t);
    t.wait_screen("the program", |sc| sc.contains("READY"));
    assert_eq!(s.meta("fg")["clients"], 1);
    t.write(b"hello\r");
    t.wait_screen("the echo", |sc| sc.contains("GOT:hello"));
    t.write(DETACH);
    assert_eq!(exit_code(&mut t), 0, "{}", t.screen());
    t.wait_screen("the detach notice", |sc| sc.contains("[detached from fg]"));
    assert_eq!(s.entry("fg")["status"], "running");
    wait_clients(&s, "fg", 0);
    // And it is still there to come back to.
    let mut again = attach(&s, "fg", 80, 24);
    again.wait_screen("the screen as left", |sc| sc.contains("GOT:hello"));
    again.write(DETACH);
    assert_eq!(exit_code(&mut again), 0);
}

// --- 12. refusals ---------------------------------------------------------------

#[test]
fn attach_needs_a_terminal() {
    let s = Store::new();
    s.start("bg", &["sleep", "300"]);
    s.wait_status("bg", "running");
    let out = s.run(["attach", "bg"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("needs a terminal"),
        "{}",
        stderr(&out)
    );
    assert_eq!(s.meta("bg")["clients"], 0);
    let events = std::fs::read_to_string(s.dir("bg").join("events.jsonl")).unwrap();
    assert!(!events.contains("\"attached\""), "{events}");
}

#[test]
fn attach_refuses_an_ended_or_unknown_session() {
    let s = Store::new();
    s.start("gone", &["sh", "-c", "exit 3"]);
    s.wait_status("gone", "exited");
    let mut t = Term::spawn(s.cmd(["attach", "gone"]), 80, 24);
    assert_eq!(exit_code(&mut t), 1, "{}", t.screen());
    t.wait_screen("the refusal", |sc| {
        sc.contains("not running") && sc.contains("exited 3")
    });
    assert_cooked(&t.termios());

    let mut t = Term::spawn(s.cmd(["attach", "nosuch"]), 80, 24);
    assert_eq!(exit_code(&mut t), 1, "{}", t.screen());
    t.wait_screen("the refusal", |sc| sc.contains("no session named nosuch"));

    // Without a terminal, an unknown name is still named as such.
    let out = s.run(["attach", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no session named nosuch"),
        "{}",
        stderr(&out)
    );
}

// --- 13. capture -------------------------------------------------------------------

#[test]
fn capture_prints_the_screen_live_and_after_the_end() {
    let s = Store::new();
    s.start(
        "cap",
        &[
            "sh",
            "-c",
            r"printf '\033[31mRED\033[0m plain   \n\033[1;32mGREEN bold\033[0m\n'; exec sleep 300",
        ],
    );
    s.wait_log("cap", "GREEN bold");
    let text = s.ok(["capture", "cap"]);
    assert_eq!(text, "RED plain\nGREEN bold\n", "{text:?}");
    let ansi = s.ok(["capture", "--ansi", "cap"]);
    assert!(ansi.contains("\x1b["), "{ansi:?}");
    assert!(
        ansi.contains("RED") && ansi.contains("GREEN bold"),
        "{ansi:?}"
    );
    assert!(
        ansi.contains("31m") || ansi.contains(";31"),
        "red kept: {ansi:?}"
    );

    s.ok(["stop", "cap"]);
    s.wait_status("cap", "killed");
    assert_eq!(s.ok(["capture", "cap"]), text, "the last screen is kept");
    let ansi_after = s.ok(["capture", "--ansi", "cap"]);
    assert!(ansi_after.contains("\x1b[") && ansi_after.contains("GREEN bold"));
}

#[test]
fn capture_follows_a_full_screen_program() {
    let s = Store::new();
    start_tui(&s, "tui");
    let text = s.ok(["capture", "tui"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 9, "{text:?}");
    assert_eq!(lines[2], "    RED256");
    assert_eq!(lines[8], "  日本語 🦀 wide");
    assert!(!text.contains("main screen text"), "{text:?}");
    assert!(text.lines().all(|l| l == l.trim_end()), "{text:?}");
    let ansi = s.ok(["capture", "--ansi", "tui"]);
    assert!(ansi.contains("38;5;196"), "{ansi:?}");
    assert!(ansi.contains("38;2;10;200;30"), "{ansi:?}");
}

// --- 14. the program ends while attached ----------------------------------------

#[test]
fn a_full_screen_program_ending_restores_the_terminal() {
    let s = Store::new();
    start_tui(&s, "crash");
    let mut t = attach_on_enter(&s, "crash", 80, 24);
    let before = t.termios();
    t.write(b"\n");
    wait_raw_mode(&mut t);
    t.wait_screen("the repaint", |sc| sc.contains("TRUECOLOR"));
    // The program exits with 5 and leaves every mode on.
    t.write(b"5");
    assert_eq!(exit_code(&mut t), 5, "{}", t.screen());
    t.wait_screen("the exit notice", |sc| {
        sc.contains("[crash exited with code 5]")
    });
    assert_modes_reset(&t);
    let after = t.termios();
    assert_eq!(after.local_modes, before.local_modes);
    assert_eq!(after.input_modes, before.input_modes);
    assert_eq!(after.output_modes, before.output_modes);
    let e = s.wait_status("crash", "exited");
    assert_eq!(e["exit_code"], 5);
    // And the last screen is kept for capture.
    let text = s.ok(["capture", "crash"]);
    assert!(text.contains("TRUECOLOR"), "{text:?}");
}

// --- known bugs (ignored until fixed) -----------------------------------------

/// The program floods and exits while its client is stopped (a frozen SSH
/// link, a suspended terminal): once woken up, the client shows the final
/// screen and the program's exit status, and exits with its code.
#[test]
fn a_stopped_client_learns_how_the_program_ended() {
    let s = Store::new();
    let body = r#"
import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
print("WAITING", flush=True)
signal.sigwait({signal.SIGUSR1})
chunk = (b"0123456789" * 9 + b"abcdefgh.\n") * 640
out = sys.stdout.buffer
for _ in range(int(sys.argv[1]) // len(chunk)):
    out.write(chunk)
out.write(b"DONE-MARKER\n")
out.flush()
sys.exit(3)
"#;
    start_py(&s, "flood2", "flood2.py", body, &["20000000"]);
    s.wait_log("flood2", "WAITING");
    let mut t = attach(&s, "flood2", 80, 24);
    t.wait_screen("the repaint", |sc| sc.contains("WAITING"));
    let client = Pid::from_raw(t.child.id() as i32);
    kill(client, Signal::SIGSTOP).expect("SIGSTOP the client");
    match waitpid(client, Some(WaitPidFlag::WUNTRACED)).expect("waitpid") {
        WaitStatus::Stopped(..) => {}
        other => panic!("the client did not stop: {other:?}"),
    }
    let pid = s.meta("flood2")["pid"].as_i64().expect("pid") as i32;
    kill(Pid::from_raw(pid), Signal::SIGUSR1).expect("starting the flood");
    s.wait_status("flood2", "exited");
    // The supervisor is gone too.
    let sup = s.meta("flood2")["supervisor_pid"].as_i64().unwrap() as i32;
    wait_for("the supervisor to exit", WAIT, || {
        (!alive(sup)).then_some(())
    });
    kill(client, Signal::SIGCONT).expect("SIGCONT the client");
    let st = t.wait();
    t.wait_screen("the exit notice", |sc| {
        sc.contains("[flood2 exited with code 3]")
    });
    assert_eq!(code(st, &t), 3, "{}", t.screen());
    t.wait_screen("the final screen", |sc| sc.contains("DONE-MARKER"));
}

/// A client attaching while the program is in the middle of an escape
/// sequence must not see the sequence's second half as text.
#[test]
fn attaching_in_the_middle_of_an_escape_sequence() {
    let s = Store::new();
    let body = r#"
import os, signal
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
os.write(1, b"before\r\n\x1b[3")
signal.sigwait({signal.SIGUSR1})
os.write(1, b"1mRED\x1b[0m after\r\n")
signal.pause()
"#;
    start_py(&s, "cut", "cut.py", body, &[]);
    s.wait_log("cut", "\x1b[3");
    let t = attach(&s, "cut", 80, 24);
    t.wait_screen("the repaint", |sc| sc.contains("before"));
    let pid = s.meta("cut")["pid"].as_i64().expect("pid") as i32;
    kill(Pid::from_raw(pid), Signal::SIGUSR1).expect("SIGUSR1");
    t.wait_screen("the rest", |sc| sc.contains("after"));
    let text = s.ok(["capture", "cut"]);
    assert_eq!(text, "before\nRED after\n", "the model is right");
    let sc = t.screen();
    assert!(sc.contains("RED after") && !sc.contains("1mRED"), "{sc}");
    t.with_screen(|sc| assert_eq!(cell(sc, 1, 0).fgcolor(), Color::Idx(1)));
}

/// The same with a character cut in two.
#[test]
fn attaching_in_the_middle_of_a_character() {
    let s = Store::new();
    let body = r#"
import os, signal
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
os.write(1, b"before\r\n\xe6\x97")
signal.sigwait({signal.SIGUSR1})
os.write(1, b"\xa5 after\r\n")
signal.pause()
"#;
    start_py(&s, "cutc", "cutc.py", body, &[]);
    s.wait_log("cutc", "before");
    wait_for("the cut character in the log", WAIT, || {
        contains(&log_bytes(&s, "cutc"), b"\xe6\x97").then_some(())
    });
    let t = attach(&s, "cutc", 80, 24);
    t.wait_screen("the repaint", |sc| sc.contains("before"));
    let pid = s.meta("cutc")["pid"].as_i64().expect("pid") as i32;
    kill(Pid::from_raw(pid), Signal::SIGUSR1).expect("SIGUSR1");
    t.wait_screen("the rest", |sc| sc.contains("after"));
    let text = s.ok(["capture", "cutc"]);
    assert_eq!(text, "before\n日 after\n", "the model is right");
    let sc = t.screen();
    assert!(sc.contains("日 after"), "{sc}");
}
