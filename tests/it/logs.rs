//! `logs`: output so far and after the end, `-n` like tail(1), plain text to
//! pipes and raw bytes to terminals, and `-f` until the session ends.

use std::process::Command;

use crate::support::pty::Term;
use crate::support::*;

/// Red text and a progress bar that rewrites itself with `\r`.
const FANCY: &str = r"\033[31mred\033[0m\n10%%\r50%%\r100%%\n";

#[test]
fn logs_while_running_and_after_the_end() {
    let s = Store::new();
    s.start("chatty", &["sh", "-c", "echo early; read x; echo late-$x"]);
    s.wait_log("chatty", "early");
    let out = s.ok(["logs", "chatty"]);
    assert_eq!(out, "early\n", "output so far, then it returns");

    // The program ends (stopped while waiting for input).
    s.ok(["stop", "chatty"]);
    let out = s.ok(["logs", "chatty"]);
    assert_eq!(out, "early\n", "still there after the end");

    s.start("short", &["sh", "-c", "echo one; echo two"]);
    s.wait_status("short", "exited");
    assert_eq!(s.ok(["logs", "short"]), "one\ntwo\n");

    // A program that printed nothing.
    s.start("silent", &["true"]);
    s.wait_status("silent", "exited");
    assert_eq!(s.ok(["logs", "silent"]), "");

    let out = s.run(["logs", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no session named nosuch"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn tail_counts_lines_like_tail() {
    let s = Store::new();
    s.start(
        "ten",
        &[
            "sh",
            "-c",
            "for i in 1 2 3 4 5 6 7 8 9 10; do echo n$i; done",
        ],
    );
    s.wait_status("ten", "exited");
    assert_eq!(s.ok(["logs", "-n", "3", "ten"]), "n8\nn9\nn10\n");
    assert_eq!(s.ok(["logs", "--tail", "1", "ten"]), "n10\n");
    assert_eq!(s.ok(["logs", "-n", "0", "ten"]), "");
    let all: String = (1..=10).map(|i| format!("n{i}\n")).collect();
    assert_eq!(s.ok(["logs", "-n", "100", "ten"]), all);
    assert_eq!(s.ok(["logs", "ten"]), all);

    // A last line without a newline counts as a line.
    s.start("nonl", &["printf", "a\\nb\\nc"]);
    s.wait_status("nonl", "exited");
    assert_eq!(s.ok(["logs", "-n", "2", "nonl"]), "b\nc\n");
    let raw = s.ok(["logs", "-n", "2", "--color", "always", "nonl"]);
    assert_eq!(raw, "b\r\nc", "raw bytes, as the terminal wrote them");
}

#[test]
fn piped_output_is_plain_text() {
    let s = Store::new();
    s.start("fancy", &["printf", FANCY]);
    s.wait_status("fancy", "exited");
    let raw = std::fs::read(s.dir("fancy").join("output.log")).unwrap();
    assert!(
        raw.windows(5).any(|w| w == b"\x1b[31m"),
        "the log keeps the raw bytes: {raw:?}"
    );

    // Piped (the default is auto): escapes removed, `\r` rewrites resolved.
    let plain = s.ok(["logs", "fancy"]);
    assert_eq!(plain, "red\n100%\n");
    assert_eq!(s.ok(["logs", "--color", "never", "fancy"]), plain);
    assert_eq!(s.ok(["logs", "--color", "auto", "fancy"]), plain);

    // always: the raw bytes, escapes and all.
    let out = s.run(["logs", "--color", "always", "fancy"]);
    assert!(out.status.success());
    assert_eq!(out.stdout, raw);
    assert!(stdout(&out).contains("\x1b[31mred"));
}

/// Run `logs` on a terminal and return every byte the terminal received.
fn logs_on_a_terminal(s: &Store, name: &str, color: &str, no_color: bool) -> Vec<u8> {
    let mut c = Command::new(BIN);
    c.arg("--store")
        .arg(&s.root)
        .args(["logs", name, "--color", color])
        .env_remove("CODEX_SESSION_STORE")
        .env_remove("CODEX_HOME")
        .env_remove("NO_COLOR")
        .env("HOME", s.tmp.path());
    if no_color {
        c.env("NO_COLOR", "1");
    }
    let mut term = Term::spawn(c, 80, 24);
    let st = term.wait();
    assert!(st.success(), "{st:?}: {}", term.screen());
    term.wait_raw(b"100%");
    term.wait_screen("the output", |sc| sc.contains("red") && sc.contains("100%"));
    term.raw()
}

#[test]
fn a_terminal_gets_colours_unless_no_color() {
    let s = Store::new();
    s.start("fancy", &["printf", FANCY]);
    s.wait_status("fancy", "exited");
    let has_esc = |b: &[u8]| b.windows(5).any(|w| w == b"\x1b[31m");

    let raw = logs_on_a_terminal(&s, "fancy", "auto", false);
    assert!(
        has_esc(&raw),
        "auto on a terminal writes the raw bytes: {raw:?}"
    );
    assert!(raw.windows(4).any(|w| w == b"10%\r"), "{raw:?}");

    let raw = logs_on_a_terminal(&s, "fancy", "auto", true);
    assert!(!has_esc(&raw), "NO_COLOR: plain text: {raw:?}");
    assert!(!raw.windows(3).any(|w| w == b"10%"), "plain text: {raw:?}");

    let raw = logs_on_a_terminal(&s, "fancy", "never", false);
    assert!(!has_esc(&raw), "{raw:?}");

    // An explicit `always` wins over NO_COLOR.
    let raw = logs_on_a_terminal(&s, "fancy", "always", true);
    assert!(has_esc(&raw), "{raw:?}");
}

#[test]
fn follow_streams_until_the_session_ends() {
    let s = Store::new();
    let go = s.tmp.path().join("go");
    let script = format!(
        "echo first; echo second; while [ ! -e '{}' ]; do sleep 0.05; done; printf 'last\\n'",
        go.display()
    );
    s.start("slow", &["sh", "-c", &script]);
    s.wait_log("slow", "second");

    let mut child = spawn(s.cmd(["logs", "-f", "slow"]));
    wait_for("logs -f to print what is there", WAIT, || {
        child.text().contains("second\n").then_some(())
    });
    // It is still following: the session has not ended.
    assert!(child.try_wait().unwrap().is_none(), "logs -f exited early");

    std::fs::write(&go, "").unwrap();
    let out = child.finish_within(WAIT);
    let (st, err) = (out.status, stderr(&out));
    let text = || stdout(&out);
    assert!(st.success(), "{st:?}: {err}");
    assert_eq!(text(), "first\nsecond\nlast\n");
    assert_eq!(s.entry("slow")["status"], "exited");

    // On an ended session `-f` prints everything and returns.
    assert_eq!(s.ok(["logs", "-f", "slow"]), "first\nsecond\nlast\n");
}

#[test]
fn follow_ends_when_the_session_is_stopped() {
    let s = Store::new();
    s.start("srv", &["sh", "-c", "echo up; exec sleep 300"]);
    s.wait_log("srv", "up");
    let follow = spawn(s.cmd(["logs", "-f", "-n", "1", "srv"]));
    s.ok(["stop", "srv"]);
    let out = follow.finish_within(WAIT);
    let st = out.status;
    assert!(st.success(), "{st:?}");
    let out = stdout(&out);
    assert_eq!(out, "up\n");
}
