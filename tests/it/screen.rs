//! The screen model through the real binary: what `capture` and an attaching
//! terminal show is what the program drew, queries are answered with nobody
//! attached, the terminal is in UTF-8 line mode, and resizes reflow.

use crate::support::attach::{DETACH, attach, wait_clients};
use crate::support::{PYTHON, fixture};
use crate::support::{Store, stderr};

fn start_sh(s: &Store, name: &str, size: &str, script: &str) {
    s.ok([
        "run", "--bg", "--name", name, "--size", size, "--", "sh", "-c", script,
    ]);
}

/// Item 1: DEC special graphics.
#[test]
fn capture_draws_dec_special_graphics() {
    let s = Store::new();
    start_sh(
        &s,
        "dec",
        "80x24",
        r"printf '\033(0lqqk\033(B\n\033)0\016x\017x\nend\n'; exec sleep 300",
    );
    s.wait_log("dec", "end");
    assert_eq!(s.ok(["capture", "dec"]), "┌──┐\n│x\nend\n");
}

/// Item 4: one line per row; `--join` joins the rows text wrapped across.
#[test]
fn capture_prints_one_line_per_row() {
    let s = Store::new();
    start_sh(
        &s,
        "rows",
        "100x24",
        r"printf '%0100d\nnext\n%0105d\nend\n' 0 0; exec sleep 300",
    );
    s.wait_log("rows", "end");
    let zeros = "0".repeat(100);
    assert_eq!(
        s.ok(["capture", "rows"]),
        format!("{zeros}\nnext\n{zeros}\n00000\nend\n")
    );
    assert_eq!(
        s.ok(["capture", "--join", "rows"]),
        format!("{zeros}\nnext\n{zeros}00000\nend\n")
    );
    s.ok(["stop", "rows"]);
    s.wait_status("rows", "killed");
    assert_eq!(
        s.ok(["capture", "--join", "rows"]),
        format!("{zeros}\nnext\n{zeros}00000\nend\n"),
        "kept after the end"
    );
}

/// Item 5: sequences the old model ignored.
#[test]
fn capture_follows_tabs_margins_and_editing_sequences() {
    let s = Store::new();
    start_sh(
        &s,
        "seq",
        "40x10",
        concat!(
            r"printf '\033[3g\033[5G\033H\033[12G\033H\rA\tB\tC\033[ZD\r\n';",
            r"printf '\033[?7l0123456789012345678901234567890123456789XYZ\033[?7h\r\n';",
            r"printf 'ab\033Dc\033Ed\033[sXY\033[uZ\r\n';",
            r"printf 'world\r\033[4hhello \033[4l\r\n';",
            r"printf '\033[38:2::1:2:3;4:3;9;53mS\033[0m\377!\r\n';",
            r"printf '\033[7;9r\033[?6h\033[2dorigin\033[?6l\033[r\033[10;1Hend';",
            "exec sleep 300"
        ),
    );
    s.wait_log("seq", "end");
    assert_eq!(
        s.ok(["capture", "seq"]),
        concat!(
            "A   B      D\n",
            "012345678901234567890123456789012345678Z\n",
            "ab\n",
            "  c\n",
            "dZY\n",
            "hello world\n",
            "S\u{fffd}!\n",
            "origin\n",
            "\n",
            "end\n"
        )
    );
    let ansi = s.ok(["capture", "--ansi", "seq"]);
    assert!(
        ansi.contains("\x1b[0;9;53;4:3;38;2;1;2;3mS"),
        "every attribute kept: {ansi:?}"
    );
}

/// Item 6: the terminal is in UTF-8 line mode: Backspace erases a whole
/// character.
#[test]
fn backspace_erases_a_whole_utf8_character() {
    let s = Store::new();
    start_sh(
        &s,
        "utf8",
        "80x24",
        r#"read l; printf '%s' "$l" | od -An -tx1; exec sleep 300"#,
    );
    s.ok(["send", "utf8", "café\x7fe!", "--submit"]);
    s.wait_log("utf8", "63 61 66 65 21");
}

const QUERIES: &str = r#"
import os, sys, termios, tty
fd = sys.stdin.fileno()
tty.setraw(fd)
def ask(q, end):
    os.write(1, q)
    got = b""
    while not got.endswith(end):
        got += os.read(fd, 1)
    return got
a = ask(b"\x1b[5;10H\x1b[6n", b"R")
b = ask(b"\x1b[c", b"c")
c = ask(b"\x1b[5n", b"n")
d = ask(b"\x1b[?2004$p", b"y")
e = ask(b"\x1b[18t", b"t")
os.write(1, b"\r\n" + repr([a, b, c, d, e]).encode() + b"\r\nasked\r\n")
os.read(fd, 1)
os.write(1, ask(b"\x1b[6n", b"R").replace(b"\x1b", b"ESC") + b" again\r\n")
import time
time.sleep(300)
"#;

/// Item 2: queries are answered with nobody attached, and not passed on to
/// an attached terminal (which would answer a second time).
#[test]
fn queries_are_answered_by_the_supervisor() {
    let s = Store::new();
    let script = fixture(&s, "q.py", QUERIES);
    s.ok([
        "run", "--bg", "--name", "q", "--size", "80x24", "--", PYTHON, &script,
    ]);
    let log = s.wait_log("q", "asked");
    assert!(
        log.contains(
            r"[b'\x1b[5;10R', b'\x1b[?62;22c', b'\x1b[0n', b'\x1b[?2004;2$y', b'\x1b[8;24;80t']"
        ),
        "{log}"
    );
    let mut t = attach(&s, "q", 80, 24);
    t.wait_screen("the repaint", |sc| sc.contains("asked"));
    t.write(b"x");
    t.wait_screen("the second answer", |sc| sc.contains(";1R again"));
    assert!(
        !crate::support::attach::contains(&t.raw(), b"\x1b[6n"),
        "the query does not reach the attached terminal"
    );
    t.write(DETACH);
    t.wait();
}

/// Item 3: a re-attach restores the scroll region and the saved cursor, so
/// the program's next output lands where it would have on a terminal that
/// stayed attached.
#[test]
fn reattach_restores_scroll_region_and_saved_cursor() {
    let s = Store::new();
    start_sh(
        &s,
        "apt",
        "40x8",
        concat!(
            // A progress line reserved at the bottom, the log above it.
            r"printf 'log 1\r\n\033[8;1HProgress: 0%%\033[1;7r\033[2;1H\0337';",
            r"printf '\033[3;1Hready';",
            r"read x;",
            r"printf '\0338log 2\r\nlog 3\r\nlog 4\r\nlog 5\r\nlog 6\r\nlog 7\r\nlog 8';",
            r"printf '\0337\033[8;11H50%%\0338 done';",
            "exec sleep 300"
        ),
    );
    s.wait_log("apt", "ready");
    let mut t = attach(&s, "apt", 40, 8);
    t.wait_screen("the repaint", |sc| sc.contains("ready"));
    t.write(b"\r");
    let want = "log 2\nlog 3\nlog 4\nlog 5\nlog 6\nlog 7\nlog 8 done\nProgress: 50%";
    t.wait_screen("the log to scroll above the progress line", |sc| sc == want);
    assert_eq!(
        s.ok(["capture", "apt"]),
        format!("{want}\n"),
        "the model agrees"
    );
    t.write(DETACH);
    t.wait();
}

/// Item 7: narrowing then widening rewraps; shrinking then growing brings
/// rows back.
#[test]
fn resizing_reflows_and_brings_rows_back() {
    let s = Store::new();
    start_sh(
        &s,
        "flow",
        "60x10",
        r"for i in 1 2 3 4 5 6 7; do echo line $i; done; echo 'the quick brown fox jumps over the lazy dog'; printf '$ '; exec sleep 300",
    );
    s.wait_log("flow", "lazy dog");
    let before = s.ok(["capture", "flow"]);
    assert_eq!(
        before,
        "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nthe quick brown fox jumps over the lazy dog\n$\n"
    );
    for (cols, rows) in [(20, 4), (60, 10)] {
        let mut t = attach(&s, "flow", cols, rows);
        wait_clients(&s, "flow", 1);
        t.write(DETACH);
        let st = t.wait();
        assert!(st.success(), "{}", t.screen());
        wait_clients(&s, "flow", 0);
        if cols == 20 {
            assert_eq!(
                s.ok(["capture", "flow"]),
                "the quick brown fox\njumps over the lazy\ndog\n$\n"
            );
        }
    }
    assert_eq!(s.ok(["capture", "flow"]), before);
    let o = s.run(["capture", "--ansi", "--join", "flow"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
