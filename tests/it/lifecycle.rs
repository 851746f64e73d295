//! A session's life: it survives whoever started it, its end is recorded,
//! `stop` ends it, `rm` removes it.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::support::pty::Term;
use crate::support::*;

/// Single-quote for sh.
fn q(s: impl AsRef<std::ffi::OsStr>) -> String {
    format!("'{}'", s.as_ref().to_string_lossy().replace('\'', r"'\''"))
}

/// `sh -c SCRIPT` with the same clean environment as `Store::cmd`.
fn sh(s: &Store, script: &str) -> Command {
    let mut c = Command::new("/bin/sh");
    c.arg("-c").arg(script);
    clean_env(&mut c, s.tmp.path());
    c
}

/// The `run --bg` command line for a shell script.
fn run_bg(s: &Store, name: &str, prog: &str) -> String {
    format!(
        "{} --store {} run --bg --name {name} -- {prog}",
        q(BIN),
        q(&s.root)
    )
}

/// The session is running, its program and supervisor are alive, and a
/// `stop` reaches it (so the supervisor really is there) and finds the
/// program still running (so it was not hung up or killed before: stop's
/// own HUP is what ends it).
fn assert_survived(s: &Store, name: &str) {
    let e = s.wait_status(name, "running");
    let pid = e["pid"].as_i64().unwrap() as i32;
    let sup = e["supervisor_pid"].as_i64().unwrap() as i32;
    assert!(alive(pid), "program {pid} alive");
    assert!(alive(sup), "supervisor {sup} alive");
    let out = s.ok(["stop", name]);
    assert!(out.contains(&format!("stopped {name}")), "{out}");
    let e = s.entry(name);
    assert_eq!(e["status"], "killed", "{e}");
    assert_eq!(e["signal"], "SIGHUP", "it was still running: {e}");
}

/// Kills a process group when a test ends, however it ends.
struct KillGroupOnDrop(Pid);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        let _ = killpg(self.0, Signal::SIGKILL);
    }
}

#[test]
fn survives_the_terminal_hanging_up() {
    let s = Store::new();
    let script = format!(
        "{}; echo started; exec sleep 300",
        run_bg(&s, "hup", "sleep 300")
    );
    let mut term = Term::spawn(sh(&s, &script), 80, 24);
    term.wait_screen("the session to start", |sc| sc.contains("started"));
    // Closing the master hangs up the terminal: its session gets SIGHUP.
    term.close();
    let st = term.wait();
    assert!(
        !st.success(),
        "the shell in the terminal was hung up: {st:?}"
    );
    assert_survived(&s, "hup");
}

#[test]
fn survives_its_process_group_being_killed() {
    let s = Store::new();
    let marker = s.tmp.path().join("started");
    let script = format!(
        "{} && touch {} && exec sleep 300",
        run_bg(&s, "pg", "sleep 300"),
        q(&marker)
    );
    let mut c = sh(&s, &script);
    c.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().expect("spawning the shell");
    let pgid = Pid::from_raw(child.id() as i32);
    let _guard = KillGroupOnDrop(pgid);
    wait_file(&marker, WAIT);
    killpg(pgid, Signal::SIGKILL).expect("killpg");
    let st = wait_child(&mut child, WAIT);
    assert!(!st.success(), "{st:?}");
    assert_survived(&s, "pg");
}

#[test]
fn survives_the_starting_shell_exiting() {
    let s = Store::new();
    // The shell is the terminal's controlling process; it exits by itself.
    let script = format!("{} && echo started", run_bg(&s, "gone", "sleep 300"));
    let mut term = Term::spawn(sh(&s, &script), 80, 24);
    let st = term.wait();
    assert!(st.success(), "{st:?}: {}", term.screen());
    term.wait_screen("run --bg to print the name", |sc| {
        sc.lines().any(|l| l.trim() == "gone") && sc.contains("started")
    });
    s.wait_status("gone", "running");
    term.close();
    assert_survived(&s, "gone");
}

#[test]
fn the_exit_code_is_recorded() {
    let s = Store::new();
    s.start("three", &["sh", "-c", "exit 3"]);
    let e = s.wait_status("three", "exited");
    assert_eq!(e["exit_code"], 3, "{e}");
    assert!(e["signal"].is_null(), "{e}");
    assert!(e["ended"].is_string(), "{e}");
    let table = s.ok(["list"]);
    let row = list_row(&table, "three");
    assert!(row.contains("exited 3"), "{row}");

    s.start("zero", &["true"]);
    let e = s.wait_status("zero", "exited");
    assert_eq!(e["exit_code"], 0, "{e}");
}

#[test]
fn a_killing_signal_is_recorded() {
    let s = Store::new();
    s.start("k9", &["sh", "-c", "kill -9 $$"]);
    let e = s.wait_status("k9", "killed");
    assert_eq!(e["signal"], "SIGKILL", "{e}");
    assert!(e["exit_code"].is_null(), "{e}");
    let table = s.ok(["list"]);
    let row = list_row(&table, "k9");
    assert!(row.contains("killed SIGKILL"), "{table}");
}

#[test]
fn stop_sends_hup_and_term_by_default() {
    let s = Store::new();
    s.start("t", &["sleep", "300"]);
    let pid = s.wait_status("t", "running")["pid"].as_i64().unwrap() as i32;
    let out = s.ok(["stop", "t"]);
    assert!(out.contains("stopped t"), "{out}");
    // `stop` returns once the program has ended and the end is recorded.
    let e = s.entry("t");
    assert_eq!(e["status"], "killed", "{e}");
    assert_eq!(e["signal"], "SIGHUP", "HUP comes first: {e}");
    assert!(!alive(pid), "program {pid} is gone");

    // A program that ignores HUP (nohup'ed) still gets TERM, at once.
    s.start(
        "nohup",
        &["sh", "-c", "trap '' HUP; echo ready; exec sleep 300"],
    );
    s.wait_log("nohup", "ready");
    let started = std::time::Instant::now();
    s.ok(["stop", "--timeout", "30s", "nohup"]);
    assert_eq!(s.entry("nohup")["signal"], "SIGTERM");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "TERM, not KILL after the grace period"
    );
}

#[test]
fn stop_with_another_signal() {
    let s = Store::new();
    s.start("i", &["sleep", "300"]);
    s.wait_status("i", "running");
    s.ok(["stop", "--signal", "INT", "i"]);
    let e = s.entry("i");
    assert_eq!(e["status"], "killed", "{e}");
    assert_eq!(e["signal"], "SIGINT", "{e}");

    s.start("h", &["sleep", "300"]);
    s.ok(["stop", "-s", "1", "h"]);
    assert_eq!(s.entry("h")["signal"], "SIGHUP");
}

#[test]
fn stop_escalates_to_kill_after_the_timeout() {
    let s = Store::new();
    s.start(
        "stubborn",
        &[
            "sh",
            "-c",
            "trap '' HUP TERM; echo ready; while :; do sleep 1; done",
        ],
    );
    s.wait_log("stubborn", "ready");
    let out = s.ok(["stop", "--timeout", "1s", "stubborn"]);
    assert!(out.contains("stopped stubborn"), "{out}");
    let e = s.entry("stubborn");
    assert_eq!(e["status"], "killed", "{e}");
    assert_eq!(e["signal"], "SIGKILL", "{e}");
}

#[test]
fn stop_all_stops_every_running_session() {
    let s = Store::new();
    s.start("done", &["true"]);
    s.wait_status("done", "exited");
    for n in ["a1", "a2", "a3"] {
        s.start(n, &["sleep", "300"]);
    }
    let out = s.ok(["stop", "--all"]);
    for n in ["a1", "a2", "a3"] {
        assert!(out.contains(&format!("stopped {n}")), "{out}");
        let e = s.entry(n);
        assert_eq!(e["status"], "killed", "{n}: {e}");
        assert_eq!(e["signal"], "SIGHUP", "{n}: {e}");
    }
    assert!(!out.contains("stopped done"), "{out}");
    let e = s.entry("done");
    assert_eq!(
        e["status"], "exited",
        "an ended session is left as it was: {e}"
    );
    assert_eq!(e["exit_code"], 0);
    // Nothing left to stop is not an error.
    s.ok(["stop", "-a"]);
}

#[test]
fn stopping_an_unknown_session_fails() {
    let s = Store::new();
    s.start("real", &["sleep", "300"]);
    let out = s.run(["stop", "ghost"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no session named ghost"),
        "{}",
        stderr(&out)
    );
    // One unknown name among several: the others are still stopped.
    let out = s.run(["stop", "ghost", "real"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("stopped real"), "{}", stdout(&out));
    assert_eq!(s.entry("real")["status"], "killed");
}

#[test]
fn rm_removes_an_ended_session() {
    let s = Store::new();
    s.start("old", &["sh", "-c", "echo bye"]);
    s.wait_status("old", "exited");
    assert!(s.dir("old").is_dir());
    s.ok(["rm", "old"]);
    assert!(!s.dir("old").exists());
    assert!(s.list().is_empty());
    let out = s.run(["rm", "old"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no session named old"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn rm_refuses_a_running_session_unless_forced() {
    let s = Store::new();
    s.start("live", &["sleep", "300"]);
    let e = s.wait_status("live", "running");
    let pid = e["pid"].as_i64().unwrap() as i32;
    let out = s.run(["rm", "live"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("running"), "{}", stderr(&out));
    assert!(s.dir("live").join("meta.json").is_file(), "still there");
    assert!(alive(pid));
    assert_eq!(s.entry("live")["status"], "running");

    s.ok(["rm", "--force", "live"]);
    assert!(!s.dir("live").exists());
    assert!(!alive(pid), "program {pid} was stopped");
}

#[test]
fn delete_is_an_alias_of_rm() {
    let s = Store::new();
    s.start("x1", &["true"]);
    s.start("x2", &["sleep", "300"]);
    s.wait_status("x1", "exited");
    s.ok(["delete", "x1"]);
    assert!(!s.dir("x1").exists());
    s.ok(["delete", "-f", "x2"]);
    assert!(!s.dir("x2").exists());
}

#[test]
fn a_supervisor_that_died_is_shown_as_lost() {
    let s = Store::new();
    s.start("orphan", &["sleep", "300"]);
    let e = s.wait_status("orphan", "running");
    let sup = e["supervisor_pid"].as_i64().unwrap() as i32;
    nix::sys::signal::kill(Pid::from_raw(sup), Signal::SIGKILL).unwrap();
    // Nobody holds the lock any more, but meta.json still says running.
    let e = s.wait_status("orphan", "lost");
    assert!(e["ended"].is_null(), "{e}");
    let table = s.ok(["list"]);
    assert!(list_row(&table, "orphan").contains("lost"), "{table}");
    // Nothing to stop; it can be removed.
    let out = s.run(["stop", "orphan"]);
    assert!(stderr(&out).contains("not running"), "{}", stderr(&out));
    assert!(!s.ok(["ps"]).contains("orphan"));
    s.ok(["rm", "orphan"]);
    assert!(!s.dir("orphan").exists());
}
