//! Local ingress and events: `send` (text, keys, paste, interrupt, EOF,
//! draft safety, audit, de-duplication, `--wait-idle`), `wait`, `events` and
//! `exec`, each against real programs (a Python REPL, sqlite3, sh) driven
//! only through the CLI.

use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::support::attach::*;
use crate::support::pty::Term;
use crate::support::*;

// --- helpers ---------------------------------------------------------------

/// Run with `input` on standard input, to completion.
fn run_stdin(s: &Store, args: &[&str], input: &str) -> Output {
    spawn_with_stdin(s.cmd(args), Some(input.as_bytes())).finish()
}

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

/// Assert the exit code; the output on failure.
fn assert_code(o: &Output, want: i32) {
    assert_eq!(code(o), want, "{}", show(o));
}

/// Whether some line of `text`, trimmed, is exactly `want`.
fn has_line(text: &str, want: &str) -> bool {
    text.lines().any(|l| l.trim() == want)
}

/// `events --json NAME`, parsed.
fn events_json(s: &Store, name: &str) -> Vec<Value> {
    s.ok(["events", "--json", name])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

fn kinds(evs: &[Value]) -> Vec<String> {
    evs.iter()
        .map(|e| e["event"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// The `input` events.
fn inputs(s: &Store, name: &str) -> Vec<Value> {
    events(s, name)
        .into_iter()
        .filter(|e| e["event"] == "input")
        .collect()
}

/// Wait until events.jsonl holds `n` events of this kind.
fn wait_events(s: &Store, name: &str, kind: &str, n: usize) -> Vec<Value> {
    wait_for(&format!("{n} {kind:?} events in {name}"), WAIT, || {
        let evs = events(s, name);
        (evs.iter().filter(|e| e["event"] == kind).count() >= n).then_some(evs)
    })
}

/// `wait NAME --exit` in the background, once it is blocked reading the
/// session's socket (it has connected and said Hello). Starting it before
/// the program is made to end keeps clear of the race described at
/// [`wait_exit_racing_the_end_of_the_program`].
fn exit_waiter(s: &Store, name: &str) -> Bg {
    blocked_wait(s, &["wait", name, "--exit", "--timeout", "20s"])
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

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// Prints READY, then `GOT:<line>` for every line; ends at end of input.
const ECHO: &str = r#"
import sys
print("READY", flush=True)
while True:
    line = sys.stdin.readline()
    if not line:
        break
    print("GOT:" + line.strip(), flush=True)
"#;

// --- 1. a Python REPL --------------------------------------------------------

#[test]
fn a_python_repl_driven_only_by_send_wait_and_capture() {
    let s = Store::new();
    // `run --bg --wait-idle`: the name first, then the program's first output.
    let out = s.ok([
        "run",
        "--bg",
        "--name",
        "py",
        "--wait-idle",
        "2s",
        "--",
        PYTHON,
        "-q",
    ]);
    assert_eq!(out.lines().next(), Some("py"), "{out}");
    assert!(out.contains(">>>"), "the prompt after the name: {out:?}");

    // A variable, then a computation with it; the answer in send's output.
    // The next prompt is the answer to the assignment: once it shows, the
    // REPL reads again (a line sent while it is busy is typeahead, which
    // the terminal and then readline would both echo).
    s.ok(["send", "py", "x = 6 * 7", "--submit"]);
    s.ok([
        "wait",
        "py",
        "--output",
        "^>>>",
        "--since-input",
        "--timeout",
        "15s",
    ]);
    let out = s.ok(["send", "py", "x + 1", "--submit", "--wait-idle", "1500ms"]);
    assert!(has_line(&out, "43"), "the result in the output: {out:?}");
    assert!(!out.contains("x + 1"), "the answer, not the echo: {out:?}");
    assert!(
        !out.contains('\x1b'),
        "the output is plain text, without escape sequences: {out:?}"
    );
    // ... and on the screen.
    let screen = s.ok(["capture", "py"]);
    assert!(has_line(&screen, ">>> x + 1"), "{screen}");
    assert!(has_line(&screen, "43"), "{screen}");

    // A multi-line definition from standard input, then a call.
    let o = run_stdin(
        &s,
        &["send", "py", "--stdin"],
        "def triple(n):\n    return n * 3\n\n",
    );
    assert_code(&o, 0);
    let out = s.ok([
        "send",
        "py",
        "triple(111)",
        "--submit",
        "--wait-idle",
        "1500ms",
    ]);
    assert!(has_line(&out, "333"), "the function's result: {out:?}");
    let screen = s.ok(["capture", "py"]);
    assert!(screen.contains(">>> def triple(n):"), "{screen}");
    assert!(screen.contains("...     return n * 3"), "{screen}");

    // An exception's traceback.
    let out = s.ok(["send", "py", "1/0", "--submit", "--wait-idle", "1500ms"]);
    assert!(
        out.contains("Traceback (most recent call last):"),
        "the traceback: {out:?}"
    );
    assert!(
        has_line(&out, "ZeroDivisionError: division by zero"),
        "{out:?}"
    );
    let screen = s.ok(["capture", "py"]);
    assert!(
        has_line(&screen, "ZeroDivisionError: division by zero"),
        "{screen}"
    );

    // End of input at the prompt ends the REPL with status 0.
    let waiter = exit_waiter(&s, "py");
    s.ok(["send", "py", "--eof"]);
    assert_code(&waiter.finish(), 0);
    assert_eq!(s.entry("py")["status"], "exited");
}

// --- 2. sqlite3 --------------------------------------------------------------

#[test]
fn sqlite3_driven_only_by_send_wait_and_capture() {
    if !require("sqlite3") {
        return;
    }
    let s = Store::new();
    s.start("db", &["sqlite3"]);
    let o = s.run([
        "wait",
        "db",
        "--output",
        "^sqlite>",
        "--from-start",
        "--timeout",
        "15s",
    ]);
    assert_code(&o, 0);

    s.ok([
        "send",
        "db",
        "CREATE TABLE t(a INTEGER, b TEXT);",
        "--submit",
    ]);
    s.ok([
        "send",
        "db",
        "INSERT INTO t VALUES (1, 'one'), (2, 'two');",
        "--submit",
    ]);
    let out = s.ok([
        "send",
        "db",
        "SELECT a * 100 + 7, b FROM t WHERE b = 'two';",
        "--submit",
        "--wait-idle",
        "1500ms",
    ]);
    assert!(has_line(&out, "207|two"), "the row in the output: {out:?}");
    assert!(!out.contains("Error"), "{out:?}");
    let screen = s.ok(["capture", "db"]);
    assert!(has_line(&screen, "207|two"), "{screen}");

    let waiter = exit_waiter(&s, "db");
    s.ok(["send", "db", ".quit", "--submit"]);
    assert_code(&waiter.finish(), 0);
}

// --- 3. draft safety -----------------------------------------------------------

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

/// The pause after which a person counts as no longer typing, in the draft
/// tests: 60 keys at [`KEY_PACE`], so that no stall of a loaded machine
/// between two of the typist's keys comes near it.
const DRAFT_QUIET: Duration = Duration::from_secs(3);

/// The pace of the typist in the draft tests.
const KEY_PACE: Duration = Duration::from_millis(50);

/// Run `f` while a person types `alphabet` in `t` over and over, one key at
/// a time at a person's pace; what `f` returned, and what was typed (the
/// typing stops when `f` returns).
fn while_typing<R>(t: &mut Term, alphabet: &[u8], f: impl FnOnce() -> R) -> (R, Vec<u8>) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|sc| {
        let typist = sc.spawn(|| {
            let mut typed = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let c = alphabet[typed.len() % alphabet.len()];
                t.write(&[c]);
                typed.push(c);
                // The pace of a person typing (far under draft_quiet between
                // keys), not a synchronisation.
                std::thread::sleep(KEY_PACE);
            }
            typed
        });
        let r = f();
        stop.store(true, Ordering::SeqCst);
        (r, typist.join().unwrap())
    })
}

#[test]
fn send_waits_for_a_typing_person_and_never_interleaves() {
    let s = Env::new(&format!(
        "draft_quiet = \"{}ms\"\n",
        DRAFT_QUIET.as_millis()
    ));
    let script = fixture(&s, "recorder.py", RECORDER);
    let rec = s.tmp.path().join("received");
    let rec_s = rec.to_string_lossy().into_owned();
    s.start("rec", &[], &[PYTHON, &script, &rec_s]);
    s.wait_log("rec", "READY");
    let received = || std::fs::read(&rec).unwrap_or_default();
    let wait_received = |what: &str, f: &dyn Fn(&[u8]) -> bool| {
        wait_for(what, WAIT, || {
            let r = received();
            f(&r).then_some(r)
        })
    };
    let mut t = attach(&s, "rec", 80, 24);

    // A. The person keeps typing a line: a send with a short timeout gives up
    // (124, as every timeout), says why, and its text never reaches the
    // program.
    let (o, typed_a) = while_typing(&mut t, b"abcdefgh", || {
        wait_received("the person's first key", &|r| contains(r, b"a"));
        s.run(["send", "rec", "--timeout", "1s", "SENDA"])
    });
    assert_code(&o, 124);
    let err = stderr(&o);
    assert!(
        err.contains("a person attached to rec has an unfinished line"),
        "says a line is being typed: {err}"
    );
    assert!(err.contains("--force"), "suggests --force: {err}");
    let r = wait_received("all the person typed", &|r| contains(r, &typed_a));
    assert!(!contains(&r, b"SENDA"), "{:?}", String::from_utf8_lossy(&r));

    // B. A send started while the person types is held while they type and
    // while their line is unfinished; once they submit it and pause, it is
    // delivered whole, after everything they typed. (Before issue 9 a pause
    // alone let it go, appended to the unfinished line.)
    let (send, typed_b) = while_typing(&mut t, b"ijklmnop", || {
        wait_received("the person typing again", &|r| contains(r, b"i"));
        let mut send = spawn(s.cmd(["send", "rec", "--timeout", "15s", "SENDB"]));
        let typed_so_far = |r: &[u8]| r.iter().filter(|b| b"ijklmnop".contains(b)).count();
        let at_spawn = typed_so_far(&received());
        // Typing goes on for well over draft_quiet after the send started.
        let more = (DRAFT_QUIET.as_millis() * 3 / 2 / KEY_PACE.as_millis()) as usize;
        let r = wait_received(&format!("{more} more keys from the person"), &|r| {
            typed_so_far(r) >= at_spawn + more
        });
        assert!(
            !contains(&r, b"SENDB"),
            "delivered while the person was typing: {:?}",
            String::from_utf8_lossy(&r)
        );
        assert!(!send.exited(), "send returned while the person was typing");
        send
    });
    t.write(b"\r");
    assert_code(&send.finish(), 0);
    let mut want = typed_b.clone();
    want.extend_from_slice(b"\rSENDB");
    wait_received("the person's keys, then the send's text", &|r| {
        contains(r, &want)
    });

    // C. --force delivers at once, while the person is still typing, as one
    // unit between two of their keys.
    let (o, typed_c) = while_typing(&mut t, b"qrstuvwx", || {
        wait_received("the person typing again", &|r| contains(r, b"q"));
        let o = s.run(["send", "rec", "--force", "--timeout", "1s", "FORCED"]);
        // The person goes on typing after the send was delivered.
        wait_received("keys after the forced send", &|r| {
            r.iter()
                .skip_while(|&&b| b != b'F')
                .filter(|b| b"qrstuvwx".contains(b))
                .count()
                >= 2
        });
        o
    });
    assert_code(&o, 0);
    let r = wait_received("all the person typed", &|r| {
        r.iter().filter(|b| b"qrstuvwx".contains(b)).count() >= typed_c.len()
    });
    let split = (1..typed_c.len()).any(|k| {
        let mut want = typed_c[..k].to_vec();
        want.extend_from_slice(b"FORCED");
        want.extend_from_slice(&typed_c[k..]);
        contains(&r, &want)
    });
    assert!(
        split,
        "FORCED whole, between the person's keys {:?}: {:?}",
        String::from_utf8_lossy(&typed_c),
        String::from_utf8_lossy(&r)
    );

    // D. Once the person pressed Enter there is no draft: a send goes through
    // as soon as they pause.
    t.write(b"done\r");
    wait_received("the person's Enter", &|r| contains(r, b"done\r"));
    let o = s.run(["send", "rec", "--timeout", "15s", "AFTERENTER"]);
    assert_code(&o, 0);
    let r = wait_received("the send after Enter", &|r| {
        contains(r, b"done\rAFTERENTER")
    });
    assert!(!contains(&r, b"SENDA"), "the refused send never arrives");

    // The audit trail: the refused send is recorded as not delivered, the
    // forced one as forced.
    let ev = inputs(&s, "rec");
    let refused: Vec<_> = ev.iter().filter(|e| e["delivered"] == false).collect();
    assert_eq!(refused.len(), 1, "{ev:?}");
    assert!(
        refused[0]["reason"]
            .as_str()
            .unwrap()
            .contains("unfinished line")
    );
    let forced: Vec<_> = ev.iter().filter(|e| e["forced"] == true).collect();
    assert_eq!(forced.len(), 1, "{ev:?}");
    assert_eq!(forced[0]["bytes"], 6);
}

// --- 4. --id de-duplication ---------------------------------------------------

#[test]
fn a_repeated_id_is_acknowledged_and_not_delivered_again() {
    let s = Store::new();
    start_py(&s, "dup", "echo.py", ECHO, &[]);
    s.wait_log("dup", "READY");

    let first = s.run(["send", "dup", "hello-once", "--submit", "--id", "msg-1"]);
    assert_code(&first, 0);
    assert!(!stderr(&first).contains("duplicate"), "{}", show(&first));
    s.wait_log("dup", "GOT:hello-once");

    let again = s.run(["send", "dup", "hello-once", "--submit", "--id", "msg-1"]);
    assert_code(&again, 0);
    assert!(
        stderr(&again).contains("duplicate, not delivered"),
        "{}",
        show(&again)
    );

    // Another id goes through; once its answer is in, the duplicate would
    // have been too.
    s.ok(["send", "dup", "marker", "--submit", "--id", "msg-2"]);
    let log = s.wait_log("dup", "GOT:marker");
    assert_eq!(count(log.as_bytes(), b"GOT:hello-once"), 1, "{log}");
    assert_eq!(
        count(log.as_bytes(), b"hello-once"),
        2,
        "echo + answer: {log}"
    );

    let ev: Vec<_> = inputs(&s, "dup")
        .into_iter()
        .filter(|e| e["id"] == "msg-1")
        .collect();
    assert_eq!(ev.len(), 2, "{ev:?}");
    let delivered: Vec<_> = ev.iter().filter(|e| e["duplicate"] != true).collect();
    let dups: Vec<_> = ev.iter().filter(|e| e["duplicate"] == true).collect();
    assert_eq!(delivered.len(), 1, "{ev:?}");
    assert_eq!(delivered[0]["bytes"], "hello-once\r".len());
    assert_eq!(dups.len(), 1, "{ev:?}");
    assert_eq!(dups[0]["delivered"], false, "{ev:?}");
}

// --- 5. the audit record --------------------------------------------------------

#[test]
fn each_send_is_audited_with_the_senders_real_identity_and_keystrokes_are_not() {
    let s = Store::new();
    start_py(&s, "au", "echo.py", ECHO, &[]);
    s.wait_log("au", "READY");
    let euid = nix::unistd::geteuid().as_raw();

    let send = spawn(s.cmd(["send", "au", "hello", "--submit", "--as", "agent-7"]));
    let pid = send.pid();
    assert_code(&send.finish(), 0);
    s.wait_log("au", "GOT:hello");

    let ev = inputs(&s, "au");
    assert_eq!(ev.len(), 1, "{ev:?}");
    let e = &ev[0];
    assert_eq!(e["pid"], pid, "the sender's pid: {e}");
    assert_eq!(e["uid"], euid, "the sender's uid: {e}");
    assert_eq!(e["as"], "agent-7", "{e}");
    assert_eq!(e["bytes"], 6, "hello + Enter: {e}");
    assert!(e["ts"].as_str().is_some_and(|t| t.ends_with('Z')), "{e}");

    // From standard input, with an id; multi-byte text counted in bytes.
    let send = spawn_with_stdin(
        s.cmd(["send", "au", "--stdin", "--submit", "--id", "req-42"]),
        Some("naïve text".as_bytes()),
    );
    let pid2 = send.pid();
    assert_code(&send.finish(), 0);
    s.wait_log("au", "GOT:naïve text");
    let ev = inputs(&s, "au");
    assert_eq!(ev.len(), 2, "{ev:?}");
    let e = &ev[1];
    assert_eq!(e["pid"], pid2, "{e}");
    assert_eq!(e["uid"], euid, "{e}");
    assert_eq!(e["id"], "req-42", "{e}");
    assert_eq!(e["bytes"], "naïve text\r".len(), "{e}");
    assert!(e["as"].is_null(), "no label given: {e}");

    // What a person types is not recorded.
    let mut t = attach(&s, "au", 80, 24);
    t.write(b"typed-by-a-person\r");
    s.wait_log("au", "GOT:typed-by-a-person");
    t.write(DETACH);
    assert_eq!(t.wait().code(), Some(0));
    wait_events(&s, "au", "detached", 1);
    assert_eq!(inputs(&s, "au").len(), 2, "{:?}", inputs(&s, "au"));
    let raw = std::fs::read(s.dir("au").join("events.jsonl")).unwrap();
    assert!(
        !contains(&raw, b"typed-by-a-person") && !contains(&raw, b"hello"),
        "events hold no typed or sent text: {}",
        String::from_utf8_lossy(&raw)
    );
}

// --- 6. wait ------------------------------------------------------------------

#[test]
fn wait_exit_returns_the_programs_code_or_124() {
    let s = Store::new();
    s.start("five", &["sh", "-c", "read x; exit 5"]);
    let o = s.run(["wait", "five", "--exit", "--timeout", "500ms"]);
    assert_code(&o, 124);
    assert!(stderr(&o).contains("timed out"), "{}", show(&o));

    let waiter = exit_waiter(&s, "five");
    s.ok(["send", "five", "--submit"]);
    assert_code(&waiter.finish(), 5);
    // Once ended, the answer comes from the record.
    s.wait_status("five", "exited");
    assert_code(&s.run(["wait", "five", "--exit"]), 5);
}

/// `wait --exit` started as the program ends must still answer with the
/// program's exit code: waiters started one after another while the program
/// is being made to end, until it has, each say 5. Here several of them
/// fail each run.
#[test]
fn wait_exit_racing_the_end_of_the_program() {
    let s = Store::new();
    let mut wrong = Vec::new();
    let mut all = 0;
    for i in 0..5 {
        let name = format!("race{i}");
        s.start(&name, &["sh", "-c", "read x; exit 5"]);
        let send = spawn(s.cmd(["send", &name, "--submit"]));
        let mut waiters = Vec::new();
        while s.meta(&name)["status"] == "running" && waiters.len() < 200 {
            waiters.push(spawn(s.cmd(["wait", &name, "--exit", "--timeout", "20s"])));
        }
        assert_code(&send.finish(), 0);
        for w in waiters {
            all += 1;
            let o = w.finish();
            if o.status.code() != Some(5) {
                wrong.push(show(&o));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {all} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Prints `tick N` 20 times, a few milliseconds apart, then `done-ticking`,
/// then nothing; with an argument, ticks forever.
const TICKER: &str = r#"
import sys, time
n = 0
while len(sys.argv) > 1 or n < 20:
    print("tick", n, flush=True)
    n += 1
    time.sleep(0.01)
print("done-ticking", flush=True)
time.sleep(1000)
"#;

/// A quiet period for the ticker: 200 of its ticks, so that no stall of a
/// loaded machine between two ticks comes near it.
const TICKER_QUIET: &str = "2s";

/// A deadline for waiting on the endless ticker to go quiet: longer than
/// [`TICKER_QUIET`], so that only its ticking keeps the wait from ending.
const TICKER_TIMEOUT: &str = "3s";

#[test]
fn wait_idle_returns_once_output_stops_or_124() {
    let s = Store::new();
    start_py(&s, "tick", "ticker.py", TICKER, &[]);
    let o = s.run(["wait", "tick", "--idle", TICKER_QUIET, "--timeout", "20s"]);
    assert_code(&o, 0);
    assert!(
        String::from_utf8_lossy(&log_bytes(&s, "tick")).contains("done-ticking"),
        "idle only once the ticking stopped"
    );

    start_py(&s, "forever", "ticker.py", TICKER, &["forever"]);
    s.wait_log("forever", "tick 1");
    let o = s.run([
        "wait",
        "forever",
        "--idle",
        TICKER_QUIET,
        "--timeout",
        TICKER_TIMEOUT,
    ]);
    assert_code(&o, 124);
}

/// `wait --output` searches everything the session printed first (issue 9
/// made that the default; before, only output after wait connected counted,
/// which is now `--from-now`).
#[test]
fn wait_output_searches_from_the_start_unless_from_now_or_since_input() {
    let s = Store::new();
    start_py(&s, "w", "echo.py", ECHO, &[]);
    s.wait_log("w", "READY");
    s.ok(["send", "w", "first", "--submit"]);
    s.wait_log("w", "GOT:first");

    // Output printed before wait started counts...
    let o = s.run(["wait", "w", "--output", "^GOT:", "--timeout", "5s"]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o).trim(), "GOT:first");
    // ... as with --from-start, which is the default.
    let o = s.run([
        "wait",
        "w",
        "--output",
        "GOT:f.rst",
        "--from-start",
        "--timeout",
        "5s",
    ]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o).trim(), "GOT:first");

    // --from-now: only output after wait connected...
    let mut waiter = spawn(s.cmd([
        "wait",
        "w",
        "--output",
        "^GOT:",
        "--from-now",
        "--timeout",
        "20s",
    ]));
    // ...so give it new output until it has seen some (it may not be
    // watching yet when the first of these is printed).
    let mut n = 0;
    wait_for("wait --output to match new output", WAIT, || {
        if waiter.exited() {
            return Some(());
        }
        n += 1;
        let word = format!("n{n}");
        s.ok(["send", "w", &word, "--submit"]);
        s.wait_log("w", &format!("GOT:{word}"));
        None
    });
    let o = waiter.finish();
    assert_code(&o, 0);
    let line = stdout(&o);
    let line = line.trim();
    assert!(
        line.starts_with("GOT:n") && line[5..].parse::<u32>().is_ok(),
        "the first matching line after wait started: {line:?}"
    );

    // --since-input: the answer to the last input, not what came before.
    s.ok(["send", "w", "latest", "--submit"]);
    s.wait_log("w", "GOT:latest");
    let o = s.run([
        "wait",
        "w",
        "--output",
        "GOT:l.test",
        "--since-input",
        "--timeout",
        "5s",
    ]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o).trim(), "GOT:latest");
    let o = s.run([
        "wait",
        "w",
        "--output",
        "GOT:f.rst",
        "--since-input",
        "--timeout",
        "500ms",
    ]);
    assert_code(&o, 124);
    // The echo of the input is not its answer.
    let o = s.run([
        "wait",
        "w",
        "--output",
        "^latest",
        "--since-input",
        "--timeout",
        "500ms",
    ]);
    assert_code(&o, 124);

    // No match in time: 124.
    let o = s.run([
        "wait",
        "w",
        "--output",
        "never-printed",
        "--timeout",
        "500ms",
    ]);
    assert_code(&o, 124);
    assert!(stderr(&o).contains("timed out"), "{}", show(&o));

    // The session ends first: 1.
    let waiter = blocked_wait(
        &s,
        &["wait", "w", "--output", "never-printed", "--timeout", "20s"],
    );
    s.ok(["send", "w", "--eof"]);
    let o = waiter.finish();
    assert_code(&o, 1);
    assert!(stderr(&o).contains("ended"), "{}", show(&o));
    s.wait_status("w", "exited");
    let o = s.run(["wait", "w", "--output", "never-printed"]);
    assert_code(&o, 1);
    // An ended session's kept output is searched.
    let o = s.run(["wait", "w", "--output", "GOT:latest"]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o).trim(), "GOT:latest");
}

// --- 7. events ----------------------------------------------------------------

/// Waits for a line; then a bell, a title, an answer; exits at the next line.
const LIFE: &str = r#"
import sys
print("READY", flush=True)
sys.stdin.readline()
sys.stdout.write("\a\x1b]0;my title\x07answered\n")
sys.stdout.flush()
sys.stdin.readline()
"#;

/// Whether `want` appears in `have` in this order (others may come between).
fn in_order(have: &[String], want: &[&str]) -> bool {
    let mut it = have.iter();
    want.iter().all(|w| it.any(|h| h == w))
}

#[test]
fn events_record_a_sessions_whole_life() {
    let s = Env::new("idle_after = \"300ms\"\n");
    let script = fixture(&s, "life.py", LIFE);
    s.start("life", &[], &[PYTHON, &script]);
    s.wait_log("life", "READY");
    let follower = spawn(s.cmd(["events", "-f", "life"]));
    let follower_json = spawn(s.cmd(["events", "-f", "--json", "life"]));

    // Quiet after READY.
    wait_events(&s, "life", "idle", 1);
    let mut t = attach(&s, "life", 100, 30);
    wait_events(&s, "life", "attached", 1);
    s.ok(["send", "life", "go", "--submit", "--as", "tester"]);
    s.wait_log("life", "answered");
    // Quiet again after the answer.
    wait_for("idle after the answer", WAIT, || {
        let k = kinds(&events(&s, "life"));
        in_order(&k, &["input", "busy", "idle"]).then_some(())
    });
    t.write(DETACH);
    assert_eq!(t.wait().code(), Some(0));
    wait_events(&s, "life", "detached", 1);
    let waiter = exit_waiter(&s, "life");
    s.ok(["send", "life", "--submit"]);
    assert_code(&waiter.finish(), 0);

    let evs = events_json(&s, "life");
    let k = kinds(&evs);
    assert!(
        in_order(
            &k,
            &[
                "started", "idle", "attached", "input", "busy", "bell", "title", "idle",
                "detached", "input", "exited"
            ]
        ),
        "{k:?}"
    );
    assert_eq!(k.first().map(String::as_str), Some("started"), "{k:?}");
    assert_eq!(k.last().map(String::as_str), Some("exited"), "{k:?}");
    let pos = |kind: &str| k.iter().position(|x| x == kind).unwrap();
    let resized = &evs[pos("resized")];
    assert_eq!(
        (&resized["cols"], &resized["rows"]),
        (&100.into(), &30.into())
    );
    assert!(pos("resized") < pos("input"), "{k:?}");
    let title = &evs[pos("title")];
    assert_eq!(title["title"], "my title");
    assert_eq!(evs[pos("input")]["as"], "tester");
    let exited = &evs[k.iter().rposition(|x| x == "exited").unwrap()];
    assert_eq!(exited["code"], 0);
    for kind in ["started", "attached", "detached", "bell", "title", "exited"] {
        assert_eq!(
            k.iter().filter(|x| *x == kind).count(),
            1,
            "one {kind}: {k:?}"
        );
    }
    for e in &evs {
        assert!(e["ts"].as_str().is_some(), "a time on every event: {e}");
    }

    // Readable: one line per event, each naming it.
    let readable = s.ok(["events", "life"]);
    let lines: Vec<_> = readable.lines().collect();
    assert_eq!(lines.len(), evs.len(), "{readable}");
    for (line, kind) in lines.iter().zip(&k) {
        assert!(
            line.split_whitespace().nth(1) == Some(kind.as_str()),
            "{line:?} names {kind}"
        );
    }
    assert!(readable.contains("title=\"my title\""), "{readable}");

    // -f followed until the end, then exited 0 with everything.
    let o = follower.finish();
    assert_code(&o, 0);
    assert_eq!(stdout(&o), readable);
    let o = follower_json.finish();
    assert_code(&o, 0);
    assert_eq!(stdout(&o).lines().count(), evs.len(), "{}", show(&o));
}

// --- 8. exec ------------------------------------------------------------------

#[test]
fn exec_runs_the_configured_agent_with_the_prompt() {
    let s = Env::new(
        r#"agent_command = ["/bin/sh", "-c", "echo \"agent got: $0\"; read reply; echo \"reply: $reply\""]"#,
    );
    let prompt = "fix the \"flaky\" tests & $HOME";
    let out = s.ok(["exec", "--name", "agent", prompt]);
    assert_eq!(out.trim(), "agent");
    s.wait_log("agent", &format!("agent got: {prompt}"));

    let e = s.entry("agent");
    assert_eq!(e["label"], prompt, "{e}");
    let table = s.ok(["list"]);
    let row = list_row(&table, "agent");
    assert!(
        row.ends_with(prompt),
        "the prompt shown for the session: {table}"
    );
    let m = s.meta("agent");
    let argv: Vec<_> = m["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(argv[..2], ["/bin/sh", "-c"], "{argv:?}");
    assert_eq!(
        argv.last(),
        Some(&prompt),
        "the prompt as the last argument"
    );

    let waiter = exit_waiter(&s, "agent");
    s.ok(["send", "agent", "ok", "--submit"]);
    assert_code(&waiter.finish(), 0);
    s.wait_log("agent", "reply: ok");
}

// --- 9. keys, paste, interrupt, Enter --------------------------------------

/// Raw mode; `GOT <hex>` for every read. `APPON` turns on application cursor
/// keys, `PASTEON` bracketed paste; each says so after doing it.
const RAWHEX: &str = r#"
import os, tty
tty.setraw(0)
os.write(1, b"READY\r\n")
while True:
    b = os.read(0, 1024)
    if not b:
        break
    if b == b"APPON":
        os.write(1, b"\x1b[?1hAPP-ON\r\n")
    elif b == b"PASTEON":
        os.write(1, b"\x1b[?2004hPASTE-ON\r\n")
    else:
        os.write(1, b"GOT " + b.hex().encode() + b"\r\n")
"#;

#[test]
fn keys_follow_the_cursor_mode_and_paste_needs_bracketed_paste() {
    let s = Store::new();
    start_py(&s, "k", "rawhex.py", RAWHEX, &[]);
    s.wait_log("k", "READY");
    let got = |args: &[&str], want: &[u8]| {
        let mut a = vec!["send", "k"];
        a.extend_from_slice(args);
        s.ok(&a);
        s.wait_log("k", &format!("GOT {}\r\n", hex(want)));
    };

    got(&["--keys", "Up"], b"\x1b[A");
    got(&["--keys", "Down", "Left", "Right"], b"\x1b[B\x1b[D\x1b[C");
    got(
        &[
            "--keys", "Tab", "Escape", "BSpace", "C-a", "M-x", "F1", "F5", "F12", "PageUp", "Home",
        ],
        b"\t\x1b\x7f\x01\x1bx\x1bOP\x1b[15~\x1b[24~\x1b[5~\x1b[H",
    );
    // A word that is not a key name is text.
    got(&["--keys", "hello", "Enter"], b"hello\r");
    // Text, then keys.
    got(&["ab", "--keys", "C-c"], b"ab\x03");
    // --submit alone: just Enter.
    got(&["--submit"], b"\r");
    // Without bracketed paste on, --paste sends the text as is.
    got(&["--paste", "pasted"], b"pasted");

    s.ok(["send", "k", "APPON"]);
    s.wait_log("k", "APP-ON");
    got(&["--keys", "Up"], b"\x1bOA");
    got(&["--keys", "Home", "End"], b"\x1bOH\x1bOF");

    s.ok(["send", "k", "PASTEON"]);
    s.wait_log("k", "PASTE-ON");
    got(&["--paste", "pasted"], b"\x1b[200~pasted\x1b[201~");
    // Without --paste, no markers even so.
    got(&["plain"], b"plain");

    // Nothing to send is a usage error.
    let o = s.run(["send", "k"]);
    assert_ne!(code(&o), 0, "{}", show(&o));
    assert!(stderr(&o).contains("--submit"), "{}", show(&o));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// The pids of the processes whose parent is `ppid` and whose name is `comm`.
fn children_named(ppid: i32, comm: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        let ppid_here = stat[close + 1..].split_whitespace().nth(1);
        if name == comm && ppid_here.and_then(|p| p.parse().ok()) == Some(ppid) {
            found.push(pid);
        }
    }
    found
}

#[test]
fn interrupt_stops_the_foreground_command_of_a_shell() {
    let s = Store::new();
    s.start("sh", &["/bin/sh", "-i"]);
    let shell = s.meta("sh")["pid"].as_i64().unwrap() as i32;
    s.ok(["send", "sh", "sleep 100; echo after-$((20+3))", "--submit"]);
    let sleeper = wait_for("sleep to run under the shell", WAIT, || {
        children_named(shell, "sleep").first().copied()
    });
    s.ok(["send", "sh", "--interrupt"]);
    wait_for("sleep to be interrupted", WAIT, || {
        (!alive(sleeper) || children_named(shell, "sleep").is_empty()).then_some(())
    });
    // The shell is back at its prompt and takes the next command.
    s.ok(["send", "sh", "echo back-$((2+3))", "--submit"]);
    s.wait_log("sh", "back-5");
    assert_eq!(s.entry("sh")["status"], "running");
    let ev = inputs(&s, "sh");
    assert!(ev.iter().any(|e| e["interrupt"] == true), "{ev:?}");
}

#[test]
fn send_wait_idle_times_out_on_endless_output() {
    let s = Store::new();
    start_py(&s, "endless", "ticker.py", TICKER, &["forever"]);
    s.wait_log("endless", "tick 1");
    let o = s.run([
        "send",
        "endless",
        "x",
        "--wait-idle",
        TICKER_QUIET,
        "--timeout",
        TICKER_TIMEOUT,
    ]);
    assert_code(&o, 124);
    assert!(
        stdout(&o).contains("tick"),
        "what came so far: {}",
        show(&o)
    );
}
