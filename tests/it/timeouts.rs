//! Idle timeout and TTL: sessions stopped and saying why, from flags or
//! the file, `off` overrides, escalation to SIGKILL, input as activity.

use std::time::Duration;

use serde_json::Value;

use crate::support::pty::Term;
use crate::support::*;

/// The session ended because of `why` ("idle" or "ttl"), and says so
/// everywhere: list (table and JSON), inspect --json, events.jsonl.
fn assert_timed_out(e: &Env, name: &str, why: &str) {
    let reason = format!("timed out ({why})");
    let end = e.wait_ended(name, WAIT);
    assert_eq!(end["end_reason"], reason.as_str(), "{end}");
    assert_eq!(end["status"], "killed", "{end}");
    // HUP then TERM, as `stop` sends them: the first one ends it.
    assert_eq!(end["signal"], "SIGHUP", "{end}");
    assert_eq!(e.table_status(name), reason);
    let inspect: Value = serde_json::from_str(&e.ok(["inspect", "--json", name])).unwrap();
    assert_eq!(inspect["end_reason"], reason.as_str(), "{inspect}");
    let evs = events(e, name);
    assert!(
        evs.iter().any(|ev| ev.to_string().contains(&reason)),
        "an event says why: {evs:?}"
    );
}

/// Prints a line every 100 ms.
const TICK: &str = "i=0; while :; do i=$((i+1)); echo tick$i; sleep 0.1; done";

/// An idle timeout for a session that stays busy (TICK, or a person typing
/// every 50 ms): 30 of TICK's lines, so that no stall of a loaded machine
/// between two of them comes near it.
const BUSY_IDLE_TIMEOUT: &str = "3s";

#[test]
fn idle_timeout_and_ttl_stop_sessions_and_say_why() {
    let e = Env::new("");
    e.start("quiet", &["--idle-timeout", "1s"], &["sleep", "100"]);
    e.start(
        "ticker",
        &["--idle-timeout", BUSY_IDLE_TIMEOUT],
        &["sh", "-c", TICK],
    );
    e.start("bounded", &["--ttl", "1s"], &["sh", "-c", TICK]);
    assert_timed_out(&e, "quiet", "idle");

    // 50 lines 100 ms apart: over 5 s, yet never idle for 3 s.
    e.wait_log("ticker", "tick50\r\n");
    assert_eq!(
        e.entry("ticker")["status"],
        "running",
        "output keeps it alive"
    );
    assert_timed_out(&e, "bounded", "ttl");
    let log = String::from_utf8_lossy(&std::fs::read(e.dir("bounded").join("output.log")).unwrap())
        .into_owned();
    assert!(log.contains("tick1\r\n"), "it was printing: {log}");
    assert_eq!(e.entry("ticker")["status"], "running");
    assert_eq!(e.entry("ticker")["end_reason"], Value::Null);
}

#[test]
fn timeouts_from_the_config_file_and_off_overrides() {
    let e = Env::new("idle_timeout = \"1s\"\n");
    // Started first: if `off` were ignored it would time out first.
    e.start("exempt", &["--idle-timeout", "off"], &["sleep", "100"]);
    e.start("idle", &[], &["sleep", "100"]);
    assert_timed_out(&e, "idle", "idle");
    assert_eq!(e.entry("exempt")["status"], "running");

    e.config("ttl = \"1s\"\n");
    e.start("ttl-exempt", &["--ttl", "off"], &["sh", "-c", TICK]);
    e.start("ttl", &[], &["sh", "-c", TICK]);
    assert_timed_out(&e, "ttl", "ttl");
    assert_eq!(e.entry("ttl-exempt")["status"], "running");
    assert_eq!(e.entry("exempt")["status"], "running");

    // A flag beats the file's value.
    e.config("ttl = \"1h\"\n");
    e.start("short", &["--ttl", "1s"], &["sleep", "100"]);
    assert_timed_out(&e, "short", "ttl");
}

#[test]
fn a_ttl_ends_an_interactive_shell_without_waiting_for_kill() {
    // bash -i ignores TERM; HUP ends it, so no 10 s wait for KILL.
    let e = Env::new("");
    e.start("shell", &["--ttl", "1s"], &["bash", "--norc", "-i"]);
    let end = e.wait_ended("shell", WAIT);
    assert_eq!(end["signal"], "SIGHUP", "{end}");
    assert_eq!(end["end_reason"], "timed out (ttl)", "{end}");
}

#[test]
fn a_timeout_escalates_to_kill_like_stop() {
    let e = Env::new("");
    // The shell and its sleeps ignore HUP and TERM; no output, so idle.
    e.start(
        "stubborn",
        &["--idle-timeout", "1s"],
        &["sh", "-c", "trap '' HUP TERM; while :; do sleep 0.2; done"],
    );
    let end = e.wait_ended("stubborn", Duration::from_secs(30));
    assert_eq!(end["status"], "killed", "{end}");
    assert_eq!(end["signal"], "SIGKILL", "{end}");
    assert_eq!(end["end_reason"], "timed out (idle)", "{end}");
    assert_eq!(e.table_status("stubborn"), "timed out (idle)");
}

/// Input counts as activity for the idle timeout, as output does.
#[test]
fn input_keeps_an_idle_timeout_away() {
    let e = Env::new("");
    e.start(
        "typed",
        &["--idle-timeout", BUSY_IDLE_TIMEOUT],
        &["sh", "-c", "stty -echo; echo READY; exec sleep 100"],
    );
    e.wait_log("typed", "READY");
    let mut t = Term::spawn(e.cmd(["attach", "typed"]), 80, 24);
    t.wait_screen("the repaint", |sc| sc.contains("READY"));
    // No output at all from here on (no echo): only keystrokes.
    let began = std::time::Instant::now();
    while began.elapsed() < Duration::from_secs(4) {
        t.write(b"x");
        // The pace of a person typing (far under the idle timeout between
        // keys), not a synchronisation.
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        e.entry("typed")["status"],
        "running",
        "4 s of typing without output"
    );
    let before = std::fs::read(e.dir("typed").join("output.log")).unwrap();
    assert_eq!(before, b"READY\r\n", "there was no output");
    // Stop typing: it times out while attached; the client says so.
    assert_timed_out(&e, "typed", "idle");
    let st = t.wait();
    assert!(st.code().is_some_and(|c| c != 0), "{st:?}: {}", t.screen());
}

#[test]
fn bad_timeout_flags_are_usage_errors() {
    let e = Env::new("");
    for flags in [
        ["--ttl", "soon"],
        ["--idle-timeout", "0s"],
        ["--ttl", "0"],
        ["--idle-timeout", "1x"],
    ] {
        let mut args = vec!["run", "--bg", "--name", "x"];
        args.extend_from_slice(&flags);
        args.extend_from_slice(&["--", "sleep", "100"]);
        let out = e.run(&args);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(flags[0]),
            "{flags:?}: {}",
            stderr(&out)
        );
        assert!(!e.dir("x").exists(), "{flags:?}: nothing started");
    }
}
