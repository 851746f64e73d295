//! Pipe mode (`run --pipe`, `exec`): the program without a terminal, its
//! standard output and error kept apart byte for byte, its standard input a
//! pipe that `send` writes and `send --eof` closes; no screen.

use std::io::Write;
use std::process::Output;

use crate::support::attach::*;
use crate::support::*;

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// `run --bg --pipe --name NAME -- CMD...`.
fn start_pipe(s: &Store, name: &str, cmd: &[&str]) {
    let mut args = vec!["run", "--bg", "--pipe", "--name", name, "--"];
    args.extend_from_slice(cmd);
    assert_eq!(s.ok(&args), format!("{name}\n"));
}

fn file(s: &Store, name: &str, f: &str) -> Vec<u8> {
    std::fs::read(s.dir(name).join(f)).unwrap_or_default()
}

/// Lines of every length (binary bytes too, but never a CR: output on a
/// pipe is written as is), to stdout and stderr in turn, each flushed, so
/// the two streams interleave as finely as the program can make them.
const INTERLEAVE: &str = r#"
import os, sys
n = int(sys.argv[1])
for i in range(n):
    body = bytes((i * 7 + k) % 256 for k in range(i % 97)).replace(b"\r", b"R").replace(b"\n", b"N")
    os.write(1, b"out %d " % i + body + b"\n")
    os.write(2, b"err %d " % i + body[::-1] + b"\n")
    if i % 50 == 0:
        os.write(2, b"partial-")
        os.write(1, b"half-")
"#;

fn interleave_expected(n: usize) -> (Vec<u8>, Vec<u8>) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    for i in 0..n {
        let body: Vec<u8> = (0..i % 97)
            .map(|k| ((i * 7 + k) % 256) as u8)
            .map(|b| match b {
                b'\r' => b'R',
                b'\n' => b'N',
                b => b,
            })
            .collect();
        out.extend_from_slice(format!("out {i} ").as_bytes());
        out.extend_from_slice(&body);
        out.push(b'\n');
        err.extend_from_slice(format!("err {i} ").as_bytes());
        err.extend(body.iter().rev());
        err.push(b'\n');
        if i % 50 == 0 {
            err.extend_from_slice(b"partial-");
            out.extend_from_slice(b"half-");
        }
    }
    (out, err)
}

#[test]
fn stdout_and_stderr_stay_apart_byte_for_byte() {
    let s = Store::new();
    let script = fixture(&s, "interleave.py", INTERLEAVE);
    start_pipe(&s, "split", &[PYTHON, &script, "3000"]);
    let e = wait_for("split to end", WAIT, || {
        let e = s.entry("split");
        (e["status"] == "exited").then_some(e)
    });
    let (out, err) = interleave_expected(3000);
    assert!(file(&s, "split", "output.log") == out, "stdout differs");
    assert!(file(&s, "split", "stderr.log") == err, "stderr differs");
    assert_eq!(e["exit_code"], 0);
    assert_eq!(e["mode"], "pipe");
    assert_eq!(e["output_bytes"], out.len() as u64);
    assert_eq!(e["stderr_bytes"], err.len() as u64);
    // `logs` and `logs --stderr` as raw bytes, and the tail of each.
    let raw = s.ok_full(["logs", "--color", "always", "split"]);
    assert!(raw.stdout == out);
    let raw = s.ok_full(["logs", "--color", "always", "--stderr", "split"]);
    assert!(raw.stdout == err);
    let tail = s.ok(["logs", "--stderr", "-n", "1", "split"]);
    assert!(tail.starts_with("err 2999 "), "{tail:?}");
    // No screen was kept.
    assert!(!s.dir("split").join("screen.txt").exists());

    // list: an ERR column; inspect: the mode and stderr.log.
    let table = s.ok(["list"]);
    assert!(table.lines().next().unwrap().contains(" ERR "), "{table}");
    let inspect = s.ok(["inspect", "split"]);
    assert!(
        inspect
            .lines()
            .any(|l| l.starts_with("mode") && l.ends_with(" pipe")),
        "{inspect}"
    );
    assert!(inspect.contains("stderr.log"), "{inspect}");
}

#[test]
fn stderr_rotates_by_the_same_rules() {
    let s = Env::new("[logs]\nmax_size = \"4KiB\"\nkeep = 1\n");
    let script = fixture(&s, "interleave.py", INTERLEAVE);
    let mut args = vec!["run", "--bg", "--pipe", "--name", "rot", "--"];
    args.extend_from_slice(&[PYTHON, &script, "400"]);
    s.ok(&args);
    let e = s.wait_ended("rot", WAIT);
    let (out, err) = interleave_expected(400);
    assert_eq!(e["stderr_bytes"], err.len() as u64);
    let kept = [
        file(&s, "rot", "stderr.log.1"),
        file(&s, "rot", "stderr.log"),
    ]
    .concat();
    assert!(err.ends_with(&kept), "the newest stderr, in order");
    assert_eq!(file(&s, "rot", "stderr.log.1").len(), 4096);
    assert!(!s.dir("rot").join("stderr.log.2").exists(), "one kept");
    let kept = [
        file(&s, "rot", "output.log.1"),
        file(&s, "rot", "output.log"),
    ]
    .concat();
    assert!(out.ends_with(&kept));
    let m = s.meta("rot");
    assert_eq!(
        m["stderr_log_base"].as_u64().unwrap() + file(&s, "rot", "stderr.log").len() as u64,
        err.len() as u64
    );
}

/// Reads its standard input to EOF, then prints its length and checksum.
const CHECKSUM: &str = r#"
import hashlib, sys
sys.stderr.write("reading\n"); sys.stderr.flush()
data = sys.stdin.buffer.read()
print(len(data), hashlib.sha256(data).hexdigest())
"#;

#[test]
fn send_and_send_eof_reach_the_programs_standard_input() {
    let s = Store::new();
    let script = fixture(&s, "sum.py", CHECKSUM);
    start_pipe(&s, "sum", &[PYTHON, &script]);
    // Text, Enter (a newline on a pipe), more than a pipe holds, then EOF.
    s.ok(["send", "sum", "first line", "--submit"]);
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let mut c = s.cmd(["send", "sum", "--stdin"]);
    let o = output_with_stdin(&mut c, &big);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    s.ok(["send", "sum", "--eof"]);
    let o = s.run(["wait", "sum", "--exit", "--timeout", "15s"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    let mut want = b"first line\n".to_vec();
    want.extend_from_slice(&big);
    let digest = sha256_hex(&want);
    let out = String::from_utf8(file(&s, "sum", "output.log")).unwrap();
    assert_eq!(out, format!("{} {digest}\n", want.len()));
    assert_eq!(file(&s, "sum", "stderr.log"), b"reading\n");
}

#[test]
fn a_send_after_eof_is_refused() {
    let s = Store::new();
    start_pipe(
        &s,
        "closed",
        &["sh", "-c", "cat; echo cat-done; exec sleep 300"],
    );
    s.ok(["send", "closed", "abc", "--eof"]);
    s.wait_log("closed", "abccat-done");
    let o = s.run(["send", "closed", "more"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("standard input is closed"),
        "{}",
        stderr(&o)
    );
    s.ok(["stop", "closed"]);
}

#[test]
fn input_for_a_program_that_does_not_read_is_bounded() {
    let s = Store::new();
    start_pipe(&s, "deaf", &["sleep", "300"]);
    // 1 MiB a send (the most one carries); 8 MiB may wait, with what the
    // pipe itself holds beyond that.
    let mib = vec![b'x'; 1 << 20];
    for k in 0..8 {
        let o = output_with_stdin(&mut s.cmd(["send", "deaf", "--stdin"]), &mib);
        assert_eq!(code(&o), 0, "send {k}: {}", stderr(&o));
    }
    let o = output_with_stdin(&mut s.cmd(["send", "deaf", "--stdin"]), &mib);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("not delivered: the program is not reading its input"),
        "{}",
        stderr(&o)
    );
    s.ok(["stop", "deaf"]);
}

#[test]
fn a_pipe_session_runs_once() {
    let s = Env::new("restart = \"always\"\n");
    let o = s.run(["run", "--bg", "--pipe", "--restart", "always", "--", "true"]);
    assert_eq!(
        code(&o),
        2,
        "the restart flags need a terminal: {}",
        stderr(&o)
    );
    // The configured policy is for terminal sessions.
    s.start("once", &["--pipe"], &["sh", "-c", "echo ran; exit 1"]);
    let e = s.wait_ended("once", WAIT);
    assert_eq!(e["exit_code"], 1);
    assert_eq!(s.meta("once")["restart"], "no");
    assert_eq!(s.ok(["logs", "once"]), "ran\n");
}

#[test]
fn capture_says_a_pipe_session_has_no_screen() {
    let s = Store::new();
    start_pipe(&s, "noscreen", &["sh", "-c", "echo hi; exec sleep 300"]);
    s.wait_log("noscreen", "hi");
    // Running, then ended.
    for running in [true, false] {
        let o = s.run(["capture", "noscreen"]);
        assert_eq!(code(&o), 1);
        let e = stderr(&o);
        assert!(
            e.starts_with("codex-session: noscreen has no screen: it runs in pipe mode"),
            "{e}"
        );
        assert!(e.contains("codex-session logs noscreen"), "{e}");
        if running {
            s.ok(["stop", "noscreen"]);
        }
    }
    // logs --stderr of a terminal session says why not.
    s.start("tty", &["true"]);
    let o = s.run(["logs", "--stderr", "tty"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("no standard error apart"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn wait_and_send_wait_idle_follow_standard_output() {
    let s = Store::new();
    start_pipe(
        &s,
        "srv",
        &[
            "sh",
            "-c",
            "echo booting >&2; echo 'listening on :80'; while read l; do echo \"re: $l\"; printf 'warn: %s' \"$l\" >&2; done",
        ],
    );
    let o = s.run([
        "wait",
        "srv",
        "--output",
        "listening on",
        "--timeout",
        "15s",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "listening on :80\n");
    // Standard error is searched too: what was written before wait began,
    // and what comes (a line still being written counts).
    let o = s.run(["wait", "srv", "--output", "^boot", "--timeout", "15s"]);
    assert_eq!(
        (code(&o), stdout(&o).as_str()),
        (0, "booting\n"),
        "{}",
        stderr(&o)
    );
    let waiter = blocked_wait(
        &s,
        &[
            "wait",
            "srv",
            "--from-now",
            "--output",
            "warn: .*z$",
            "--timeout",
            "15s",
        ],
    );
    s.ok(["send", "srv", "xyz", "--submit"]);
    let o = waiter.finish();
    assert_eq!(
        (code(&o), stdout(&o).as_str()),
        (0, "warn: xyz\n"),
        "{}",
        stderr(&o)
    );
    // No echo on a pipe: the answer is everything after the input.
    let o = s.run(["send", "srv", "ping", "--submit", "--wait-idle", "300ms"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    s.wait_log("srv", "re: ping");
    s.ok(["send", "srv", "--eof"]);
    let o = s.run(["wait", "srv", "--exit", "--timeout", "15s"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn attach_to_a_pipe_session_watches_read_only() {
    let s = Store::new();
    start_pipe(
        &s,
        "watched",
        &[
            "sh",
            "-c",
            "read a; echo \"got:$a\"; echo \"err:$a\" >&2; read b; echo \"got:$b\"; exec sleep 300",
        ],
    );
    let mut t = attach(&s, "watched", 80, 24);
    t.wait_screen("the read-only notice", |sc| {
        sc.contains("read-only: pipe session")
    });
    wait_clients(&s, "watched", 1);
    // Typing goes nowhere; send does.
    t.write(b"secret\r");
    s.ok(["send", "watched", "one", "--submit"]);
    let sc = t.wait_screen("both streams", |sc| {
        sc.contains("got:one") && sc.contains("err:one")
    });
    // Each line starts at the left edge (LF shown as CR LF).
    for want in ["got:one", "err:one"] {
        assert!(
            sc.lines().any(|l| l == want),
            "{want} on its own line:\n{sc}"
        );
    }
    s.ok(["send", "watched", "two", "--submit"]);
    t.wait_screen("the second line", |sc| sc.contains("got:two"));
    let log = String::from_utf8(file(&s, "watched", "output.log")).unwrap();
    assert_eq!(log, "got:one\ngot:two\n", "the keystrokes never arrived");
    // The window was never resized to the viewer's.
    assert!(
        !events(&s, "watched")
            .iter()
            .any(|e| e["event"] == "resized")
    );
    t.write(DETACH);
    let st = t.wait();
    assert_eq!(st.code(), Some(0), "{}", t.screen());
    s.ok(["stop", "watched"]);
}

#[test]
fn exec_runs_the_agent_on_pipes_and_tty_on_a_terminal() {
    let s = Env::new(
        r#"agent_command = ["/bin/sh", "-c", "echo \"thinking about: $0\" >&2; echo \"answer: 42\"; [ -t 0 ] && echo on-a-tty; exit 3"]"#,
    );
    assert_eq!(s.ok(["exec", "--name", "ag", "the question"]), "ag\n");
    let o = s.run(["wait", "ag", "--exit", "--timeout", "15s"]);
    assert_eq!(code(&o), 3, "the agent's exit code: {}", stderr(&o));
    assert_eq!(s.ok(["logs", "ag"]), "answer: 42\n");
    assert_eq!(
        s.ok(["logs", "--stderr", "ag"]),
        "thinking about: the question\n"
    );
    let e = s.entry("ag");
    assert_eq!(
        (e["type"].as_str(), e["mode"].as_str()),
        (Some("agent"), Some("pipe"))
    );
    let table = s.ok(["list"]);
    let header = table.lines().next().unwrap();
    let row = list_row(&table, "ag");
    // OUT and ERR, side by side.
    let at = header.find("OUT").unwrap();
    assert!(row[at..].starts_with("11 B  29 B"), "{table}");

    assert_eq!(s.ok(["exec", "--tty", "--name", "tt", "q"]), "tt\n");
    let o = s.run(["wait", "tt", "--exit", "--timeout", "15s"]);
    assert_eq!(code(&o), 3);
    let both = s.ok(["logs", "tt"]);
    assert_eq!(both, "thinking about: q\nanswer: 42\non-a-tty\n");
    assert_eq!(s.entry("tt")["mode"], "pty");
    assert!(s.ok(["capture", "tt"]).contains("answer: 42"));
}

/// A `wait` command in the background, once it is blocked reading the
/// session's socket (as in agents.rs).
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

fn output_with_stdin(c: &mut std::process::Command, input: &[u8]) -> Output {
    use std::process::Stdio;
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let st = wait_child(&mut child, CMD_TIMEOUT);
    writer.join().unwrap();
    let mut out = Vec::new();
    let mut err = Vec::new();
    use std::io::Read;
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_end(&mut err).unwrap();
    Output {
        status: st,
        stdout: out,
        stderr: err,
    }
}

/// sha256 by python (no hashing crate in the tests).
fn sha256_hex(data: &[u8]) -> String {
    let mut c = std::process::Command::new(PYTHON);
    c.args([
        "-c",
        "import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())",
    ]);
    let o = output_with_stdin(&mut c, data);
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}
