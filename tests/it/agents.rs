//! Send and wait as programs and agents depend on them: no race with a
//! program's first output, the answer and never the echo, no text added to
//! a person's unfinished line, one exit-code policy, timeouts that count
//! from the start, lost sessions said to be lost. Real programs (python3
//! -q, sh) driven through the CLI; a person through a real terminal.

use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::attach::*;
use crate::support::*;

fn code(o: &Output) -> i32 {
    o.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {:?}", o.status))
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    )
}

#[track_caller]
fn assert_code(o: &Output, want: i32) {
    assert_eq!(code(o), want, "{}", show(o));
}

fn has_line(text: &str, want: &str) -> bool {
    text.lines().any(|l| l.trim() == want)
}

/// A Python REPL as session `name`, once it shows its prompt.
fn start_repl(s: &Store, name: &str) {
    s.start(name, &[PYTHON, "-q"]);
    let o = s.run(["wait", name, "--output", "^>>>", "--timeout", "15s"]);
    assert_code(&o, 0);
}

/// A `wait` command in the background, once it is blocked reading the
/// session's socket.
fn blocked_wait(s: &Store, args: &[&str]) -> Bg {
    let mut w = spawn(s.cmd(args));
    let wchan = format!("/proc/{}/wchan", w.pid());
    wait_for("wait to be reading the socket", WAIT, || {
        assert!(!w.exited(), "wait returned early");
        let c = std::fs::read_to_string(&wchan).ok()?;
        c.starts_with("unix_stream").then_some(())
    });
    w
}

/// Raw mode; appends every byte it reads to the file named by its argument.
const RECORDER: &str = r#"
import os, sys, tty
tty.setraw(0)
out = open(sys.argv[1], "ab", buffering=0)
os.write(1, b"READY\r\n")
while True:
    b = os.read(0, 4096)
    if not b:
        break
    out.write(b)
"#;

// --- wait --output never races a start ---------------------------------------

/// The README's recipe: start a server in the background, wait for the line
/// that says it listens. The line is printed at once, usually before `wait`
/// connects; it must be found every time.
#[test]
fn wait_output_finds_a_line_printed_before_it_connected_every_time() {
    let s = Store::new();
    let mut misses = Vec::new();
    for i in 0..50 {
        let name = format!("srv{i}");
        s.start(
            &name,
            &["sh", "-c", "echo \"listening on :3000\"; exec sleep 60"],
        );
        let o = s.run(["wait", &name, "--output", "listening on", "--timeout", "2s"]);
        if code(&o) != 0 || stdout(&o).trim() != "listening on :3000" {
            misses.push(format!("{name}: {}", show(&o)));
        }
        s.ok(["stop", &name]);
        s.ok(["rm", &name]);
    }
    assert!(
        misses.is_empty(),
        "{} of 50 missed:\n{}",
        misses.len(),
        misses.join("\n")
    );

    // --from-now is the old behaviour: only what comes after it connected.
    s.start(
        "late",
        &[
            "sh",
            "-c",
            "echo early-line; read x; echo late-line; exec sleep 60",
        ],
    );
    s.wait_log("late", "early-line");
    let o = s.run([
        "wait",
        "late",
        "--output",
        "early",
        "--from-now",
        "--timeout",
        "300ms",
    ]);
    assert_code(&o, 124);
    let w = blocked_wait(
        &s,
        &[
            "wait",
            "late",
            "--output",
            "^late-",
            "--from-now",
            "--timeout",
            "15s",
        ],
    );
    s.ok(["send", "late", "go", "--submit"]);
    let o = w.finish();
    assert_code(&o, 0);
    assert_eq!(stdout(&o).trim(), "late-line");
    // --from-start is accepted, and is the default.
    let o = s.run([
        "wait",
        "late",
        "--output",
        "early",
        "--from-start",
        "--timeout",
        "5s",
    ]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o).trim(), "early-line");
}

// --- the answer, not the echo --------------------------------------------------

#[test]
fn since_input_matches_the_answer_not_the_echo_of_the_typed_line() {
    let s = Store::new();
    start_repl(&s, "repl");
    // The pattern is in the typed line too; the answer comes a second later.
    s.ok([
        "send",
        "repl",
        "import time; time.sleep(1); print('ready-' + 'now')",
        "--submit",
    ]);
    let o = s.run([
        "wait",
        "repl",
        "--output",
        "ready-",
        "--since-input",
        "--timeout",
        "15s",
    ]);
    assert_code(&o, 0);
    assert_eq!(
        stdout(&o).trim(),
        "ready-now",
        "the answer's line: {}",
        show(&o)
    );

    // The same rule for send --wait-idle: the answer without the echo.
    let o = s.run([
        "send",
        "repl",
        "print('forty-' + str(6 * 7))",
        "--submit",
        "--wait-idle",
        "1s",
    ]);
    assert_code(&o, 0);
    let out = stdout(&o);
    assert!(has_line(&out, "forty-42"), "{}", show(&o));
    assert!(
        !out.contains("print("),
        "the echo is not the answer: {out:?}"
    );

    // Asked again later, --since-input still finds the answer to the last
    // input (from the log), and still not its echo.
    let o = s.run([
        "wait",
        "repl",
        "--output",
        "forty",
        "--since-input",
        "--timeout",
        "5s",
    ]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o).trim(), "forty-42");
}

/// The first send right after `run --bg` reaches a program that is still
/// setting up its terminal; held until the program reads it, its line is
/// echoed once.
#[test]
fn the_first_send_after_run_bg_is_echoed_once() {
    let s = Store::new();
    s.start("py", &[PYTHON, "-q"]);
    let o = s.run(["send", "py", "print(6*7)", "--submit", "--wait-idle", "1s"]);
    assert_code(&o, 0);
    assert!(has_line(&stdout(&o), "42"), "{}", show(&o));
    let screen = s.ok(["capture", "py"]);
    assert_eq!(
        screen.matches("print(6*7)").count(),
        1,
        "the line shows once: {screen}"
    );
}

// --- a person's unfinished line ----------------------------------------------

#[test]
fn a_half_typed_line_holds_send_until_the_person_clears_it() {
    let s = Env::new("draft_quiet = \"300ms\"\n");
    start_repl(&s, "repl");
    let mut t = attach(&s, "repl", 80, 24);
    t.write(b"print('human");
    t.wait_screen("the person's unfinished line", |sc| {
        sc.contains(">>> print('human")
    });

    // Not delivered, however long the person pauses: 124 at the timeout.
    let started = Instant::now();
    let o = s.run([
        "send",
        "repl",
        "print('agent')",
        "--submit",
        "--timeout",
        "1s",
    ]);
    assert_code(&o, 124);
    assert!(started.elapsed() >= Duration::from_secs(1));
    let err = stderr(&o);
    assert!(
        err.contains(
            "a person attached to repl has an unfinished line; not sent (use --force to send anyway)"
        ),
        "{err}"
    );
    assert!(err.starts_with("codex-session: "), "{err}");
    assert!(
        !contains(&log_bytes(&s, "repl"), b"agent"),
        "nothing was written"
    );

    // Ctrl-U clears the line; then a send goes through, alone.
    t.write(b"\x15");
    wait_for("the draft to be cleared", WAIT, || {
        events(&s, "repl")
            .iter()
            .any(|e| e["event"] == "draft" && e["state"] == "cleared")
            .then_some(())
    });
    let o = s.run([
        "send",
        "repl",
        "print('agent')",
        "--submit",
        "--wait-idle",
        "1s",
        "--timeout",
        "15s",
    ]);
    assert_code(&o, 0);
    assert!(has_line(&stdout(&o), "agent"), "{}", show(&o));
    let log = String::from_utf8_lossy(&log_bytes(&s, "repl")).into_owned();
    assert!(
        !log.contains("humanprint"),
        "merged with the draft: {log:?}"
    );
    assert!(
        !log.contains("Error"),
        "the program got only the agent's line: {log:?}"
    );
    t.wait_screen("the answer on the person's screen", |sc| {
        has_line(sc, "agent")
    });

    // The draft's events say who, never what.
    let drafts: Vec<_> = events(&s, "repl")
        .into_iter()
        .filter(|e| e["event"] == "draft")
        .collect();
    assert_eq!(drafts.len(), 2, "{drafts:?}");
    assert_eq!(drafts[0]["state"], "open");
    assert_eq!(drafts[1]["state"], "cleared");
    let euid = nix::unistd::geteuid().as_raw();
    for d in &drafts {
        assert_eq!(d["uid"], euid, "{d}");
        assert_eq!(d["pid"], t.child.id(), "the attached client's pid: {d}");
        assert!(d["client"].as_u64().is_some(), "{d}");
    }
    let raw = std::fs::read(s.dir("repl").join("events.jsonl")).unwrap();
    assert!(!contains(&raw, b"human"), "no draft text in events");
}

#[test]
fn a_person_who_detaches_mid_line_leaves_it_holding_sends() {
    let s = Env::new("draft_quiet = \"200ms\"\n");
    let script = fixture(&s, "recorder.py", RECORDER);
    let rec = s.tmp.path().join("received");
    s.start("rec", &[], &[PYTHON, &script, &rec.to_string_lossy()]);
    s.wait_log("rec", "READY");
    let mut t = attach(&s, "rec", 80, 24);
    t.write(b"half a li");
    wait_for("the keys to arrive", WAIT, || {
        std::fs::read(&rec).ok().filter(|r| r == b"half a li")
    });
    t.write(DETACH);
    assert_eq!(t.wait().code(), Some(0));
    wait_clients(&s, "rec", 0);

    let o = s.run(["send", "rec", "agent", "--timeout", "500ms"]);
    assert_code(&o, 124);
    let err = stderr(&o);
    assert!(err.contains("unfinished line"), "{err}");
    assert!(err.contains("detached"), "says the person left: {err}");
    // --force sends anyway.
    s.ok(["send", "rec", "AGENT", "--force", "--timeout", "5s"]);
    wait_for("the forced send", WAIT, || {
        std::fs::read(&rec).ok().filter(|r| r == b"half a liAGENT")
    });
}

// --- exit codes ----------------------------------------------------------------

#[test]
fn every_exit_code_is_the_one_the_policy_names() {
    let s = Store::new();

    // run --bg --wait-idle: the program ended before going quiet: its code,
    // after what it printed.
    let o = s.run([
        "run",
        "--bg",
        "--name",
        "five",
        "--wait-idle",
        "1s",
        "--",
        "sh",
        "-c",
        "echo bye-now; exit 5",
    ]);
    assert_code(&o, 5);
    let out = stdout(&o);
    assert_eq!(out.lines().next(), Some("five"), "{out}");
    assert!(has_line(&out, "bye-now"), "{}", show(&o));

    // send --wait-idle: the program ended: its code, after its answer.
    s.start("seven", &["sh", "-c", "read x; echo \"got $x\"; exit 7"]);
    let o = s.run(["send", "seven", "hi", "--submit", "--wait-idle", "2s"]);
    assert_code(&o, 7);
    assert!(has_line(&stdout(&o), "got hi"), "{}", show(&o));
    assert!(!has_line(&stdout(&o), "hi"), "not the echo: {}", show(&o));
    // ... or 128+N for signal N.
    s.start("term", &["sh", "-c", "read x; kill -TERM $$"]);
    let o = s.run(["send", "term", "x", "--submit", "--wait-idle", "2s"]);
    assert_code(&o, 143);

    // wait --timeout: 124.
    s.start("quiet", &["sleep", "60"]);
    let o = s.run(["wait", "quiet", "--output", "never", "--timeout", "300ms"]);
    assert_code(&o, 124);
    assert!(stderr(&o).contains("timed out"), "{}", show(&o));

    // send --stdin --submit after echo: exactly one Enter.
    let script = fixture(&s, "recorder.py", RECORDER);
    let rec = s.tmp.path().join("received");
    s.start("rec", &[PYTHON, &script, &rec.to_string_lossy()]);
    s.wait_log("rec", "READY");
    for input in ["hello\n", "crlf\r\n", "bare"] {
        let o = spawn_with_stdin(
            s.cmd(["send", "rec", "--stdin", "--submit"]),
            Some(input.as_bytes()),
        )
        .finish();
        assert_code(&o, 0);
    }
    s.ok(["send", "rec", "END"]);
    let got = wait_for("the sends to arrive", WAIT, || {
        std::fs::read(&rec).ok().filter(|r| r.ends_with(b"END"))
    });
    assert_eq!(String::from_utf8_lossy(&got), "hello\rcrlf\rbare\rEND");
}

// --- timeouts count from the start; lost is lost --------------------------------

#[test]
fn a_timeout_counts_from_the_start_even_when_the_supervisor_cannot_be_reached() {
    let s = Store::new();
    s.start("gone", &["sleep", "60"]);
    // The session runs (its supervisor holds the lock), but its socket now
    // leads nowhere.
    let sock = s.dir("gone").join("sock");
    std::fs::remove_file(&sock).unwrap();
    std::os::unix::fs::symlink(s.tmp.path().join("no-such-socket"), &sock).unwrap();
    for args in [
        &["wait", "gone", "--exit", "--timeout", "1s"][..],
        &["wait", "gone", "--output", "x", "--timeout", "1s"],
        &["wait", "gone", "--idle", "100ms", "--timeout", "1s"],
        &["send", "gone", "hi", "--timeout", "1s"],
    ] {
        let started = Instant::now();
        let o = s.run(args);
        let took = started.elapsed();
        assert_code(&o, 124);
        assert!(took < Duration::from_millis(1500), "{args:?} took {took:?}");
        assert!(stderr(&o).contains("timed out after 1s"), "{}", show(&o));
    }
}

#[test]
fn wait_on_a_lost_session_says_it_was_lost() {
    let s = Store::new();
    s.start("lost", &["sleep", "600"]);
    let waiter = blocked_wait(&s, &["wait", "lost", "--exit", "--timeout", "20s"]);
    let sup = s.meta("lost")["supervisor_pid"].as_i64().unwrap() as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sup),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let want = "codex-session: lost was lost: its supervisor died without recording an exit";
    let o = waiter.finish();
    assert_code(&o, 1);
    assert!(stderr(&o).contains(want), "{}", show(&o));

    s.wait_status("lost", "lost");
    for args in [
        &["wait", "lost", "--exit"][..],
        &["wait", "lost", "--idle", "1s"],
        &["wait", "lost", "--output", "never"],
        &["send", "lost", "hi"],
    ] {
        let o = s.run(args);
        assert_code(&o, 1);
        assert!(stderr(&o).contains(want), "{args:?}: {}", show(&o));
    }
}
