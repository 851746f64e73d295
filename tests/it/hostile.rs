//! Hostile input and exhausted resources (issue 11): every bound the
//! supervisor keeps, tampered records, output meant to break the plain-text
//! view, floods of events, racing removals. Each test reproduces one way
//! the tool broke and checks that it now holds.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

// --- helpers ---------------------------------------------------------------

/// One frame: `u32 LE length | kind | payload`.
fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_le_bytes().to_vec();
    f.push(kind);
    f.extend_from_slice(payload);
    f
}

const HELLO: u8 = 1;
const WELCOME: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 6;
const WATCH: u8 = 14;
const WATCHING: u8 = 15;

/// Read one frame (kind, payload); None on EOF, a reset or the timeout.
fn read_frame(c: &mut UnixStream) -> Option<(u8, Vec<u8>)> {
    let mut h = [0u8; 5];
    c.read_exact(&mut h).ok()?;
    let len = u32::from_le_bytes(h[..4].try_into().unwrap()) as usize;
    let mut p = vec![0u8; len];
    c.read_exact(&mut p).ok()?;
    Some((h[4], p))
}

/// Connect and say Hello; the first frame back (None: closed without one).
fn hello(sock: &Path, hello: &str) -> (UnixStream, Option<(u8, Vec<u8>)>) {
    let mut c = UnixStream::connect(sock).expect("connecting");
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = c.write_all(&frame(HELLO, hello.as_bytes()));
    let answer = read_frame(&mut c);
    (c, answer)
}

const CONTROL: &str = r#"{"version":1,"role":"control"}"#;

fn supervisor_pid(s: &Store, name: &str) -> i32 {
    s.meta(name)["supervisor_pid"]
        .as_i64()
        .expect("a supervisor pid") as i32
}

/// A line of /proc/PID/status, in KiB (VmRSS, VmHWM).
fn status_kib(pid: i32, key: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
}

/// User plus system CPU time of a process, in clock ticks.
fn cpu_ticks(pid: i32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // The fields after the command's closing parenthesis; utime and stime
    // are the 14th and 15th of the whole line.
    let rest = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn clock_ticks_per_second() -> u64 {
    let out = Command::new("getconf").arg("CLK_TCK").output();
    out.ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100)
}

/// Run a command that must answer within `limit`; its output.
#[track_caller]
fn within(s: &Store, args: &[&str], limit: Duration) -> std::process::Output {
    let start = Instant::now();
    let out = output_with_timeout(&mut s.cmd(args), limit + Duration::from_secs(10));
    let took = start.elapsed();
    assert!(
        took <= limit,
        "{args:?} took {took:?} (at most {limit:?}): {}",
        stderr(&out)
    );
    out
}

// --- 1. the window ---------------------------------------------------------

#[test]
fn a_window_above_the_maximum_is_refused_at_run() {
    let s = Store::new();
    // (Not 65535x65535 here: were it accepted, the supervisor would try to
    // take 64 GiB.)
    for size in ["1001x24", "80x1001", "5000x2"] {
        let out = s.run([
            "run", "--bg", "--size", size, "--name", "w", "--", "sleep", "60",
        ]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "--size {size}: {}",
            stderr(&out)
        );
        let err = stderr(&out);
        assert!(err.contains("1000x1000"), "names the maximum: {err}");
        assert!(!s.dir("w").exists(), "nothing was created for {size}");
    }
    s.ok([
        "run",
        "--bg",
        "--size",
        "1000x1000",
        "--name",
        "w",
        "--",
        "sleep",
        "60",
    ]);
    let m = s.meta("w");
    assert_eq!(
        (m["cols"].as_u64(), m["rows"].as_u64()),
        (Some(1000), Some(1000))
    );
}

/// A terminal reporting a huge window gets the largest the supervisor
/// keeps; the supervisor's memory stays under the documented bound.
#[test]
fn a_huge_client_window_is_clamped() {
    let s = Store::new();
    s.start("big", &["sleep", "120"]);
    let pid = supervisor_pid(&s, "big");
    let sock = s.dir("big").join("sock");
    // 4000x4000 unclamped would be 250 MiB of cells: over the bound, but
    // not a danger to the machine were the clamp ever lost.
    let attach = r#"{"version":1,"role":"attach","size":{"cols":4000,"rows":4000}}"#;
    let (mut c, answer) = hello(&sock, attach);
    assert_eq!(answer.map(|a| a.0), Some(WELCOME));
    c.write_all(&frame(RESIZE, br#"{"cols":4000,"rows":4000}"#))
        .unwrap();
    let m = wait_for("the window to be resized", WAIT, || {
        let m = s.meta("big");
        (m["cols"] != 80).then_some(m)
    });
    assert_eq!(
        (m["cols"].as_u64(), m["rows"].as_u64()),
        (Some(1000), Some(1000))
    );
    // Read the repaint the attach got, so its queue is not what is measured.
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    while read_frame(&mut c).is_some() {}
    let rss = status_kib(pid, "VmHWM");
    assert!(rss < 96 * 1024, "peak RSS {rss} KiB at a 1000x1000 window");
    drop(c);
    s.ok(["stop", "big"]);
}

// --- 2. descriptors and connections ----------------------------------------

/// Out of file descriptors, the supervisor refuses new connections at once
/// and sleeps; it serves again once connections close.
#[test]
fn out_of_descriptors_the_supervisor_does_not_spin() {
    let s = Store::new();
    // The supervisor inherits this limit from `run --bg`.
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("ulimit -n 32 && exec \"$@\"")
        .arg("sh")
        .arg(BIN)
        .args(["--store"])
        .arg(&s.root)
        .args(["run", "--bg", "--name", "fd", "--", "sleep", "120"]);
    clean_env(&mut c, s.tmp.path());
    run_ok(&mut c);
    let pid = supervisor_pid(&s, "fd");
    let sock = s.dir("fd").join("sock");

    let mut held = Vec::new();
    let refused = loop {
        assert!(held.len() < 64, "never refused under a limit of 32 fds");
        match hello(&sock, CONTROL) {
            (c, Some((WELCOME, _))) => held.push(c),
            (_, answer) => break answer,
        }
    };
    if let Some((kind, p)) = &refused {
        assert_eq!(*kind, ERROR, "{}", String::from_utf8_lossy(p));
        let msg = String::from_utf8_lossy(p);
        assert!(msg.contains("descriptors"), "{msg}");
    }
    // One more waits in the listen queue while we measure.
    let _pending = UnixStream::connect(&sock).unwrap();
    let before = cpu_ticks(pid);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(1)); // measuring CPU over a second
    let used = cpu_ticks(pid) - before;
    let per_second = used as f64 / t0.elapsed().as_secs_f64() / clock_ticks_per_second() as f64;
    assert!(
        per_second < 0.05,
        "supervisor used {:.0}% CPU at the descriptor limit",
        per_second * 100.0
    );
    drop(held);
    drop(_pending);
    // Service resumes.
    let out = wait_for("the supervisor to serve again", WAIT, || {
        let out = s.run(["capture", "fd"]);
        out.status.success().then_some(out)
    });
    assert!(out.status.success());
    s.ok(["stop", "fd"]);
}

/// Beyond the documented maximum of connections, new ones are refused at
/// once with a reason.
#[test]
fn connections_beyond_the_maximum_are_refused_at_once() {
    let s = Store::new();
    s.start("many", &["sleep", "120"]);
    let sock = s.dir("many").join("sock");
    let mut held = Vec::new();
    for i in 0..256 {
        let (c, answer) = hello(&sock, CONTROL);
        assert_eq!(answer.map(|a| a.0), Some(WELCOME), "connection {i}");
        held.push(c);
    }
    let (_c, answer) = hello(&sock, CONTROL);
    let (kind, p) = answer.expect("an answer, not a hang-up");
    assert_eq!(kind, ERROR);
    let msg = String::from_utf8_lossy(&p);
    assert!(msg.contains("too many connections"), "{msg}");
    drop(held);
    wait_for("the supervisor to serve again", WAIT, || {
        s.run(["capture", "many"]).status.success().then_some(())
    });
}

// --- 3. FIFOs in place of records ------------------------------------------

fn mkfifo(p: &Path) {
    let _ = std::fs::remove_file(p);
    nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
}

const QUICK: Duration = Duration::from_secs(2);

#[test]
fn a_fifo_at_meta_json_blocks_no_verb() {
    let s = Store::new();
    s.start("f", &["true"]);
    s.wait_status("f", "exited");
    mkfifo(&s.dir("f").join("meta.json"));

    let out = within(&s, &["list"], QUICK);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.contains("damaged") && table.contains("FIFO"),
        "{table}"
    );
    let out = within(&s, &["list", "--json"], QUICK);
    let v: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["status"], "damaged");
    for verb in [&["inspect", "f"][..], &["logs", "f"], &["events", "f"]] {
        let err = fails(&within(&s, verb, QUICK));
        assert!(err.contains("FIFO"), "{verb:?}: {err}");
    }
    // Another session starts (retention reads every record).
    within(&s, &["run", "--bg", "--name", "g", "--", "true"], QUICK);
    let err = fails(&within(&s, &["rm", "f"], QUICK));
    assert!(err.contains("FIFO") && err.contains("--force"), "{err}");
    assert!(within(&s, &["rm", "--force", "f"], QUICK).status.success());
    assert!(!s.dir("f").exists());
}

#[test]
fn a_fifo_at_each_record_blocks_no_verb() {
    let s = Store::new();
    s.start("r", &["sh", "-c", "echo READY; sleep 120"]);
    s.wait_log("r", "READY");
    mkfifo(&s.dir("r").join("output.log"));
    for verb in [
        &["logs", "r"][..],
        &["logs", "-f", "r"],
        &[
            "wait",
            "r",
            "--output",
            "READY",
            "--from-start",
            "--timeout",
            "1s",
        ],
    ] {
        let out = within(&s, verb, QUICK);
        assert_eq!(out.status.code(), Some(1), "{verb:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("FIFO"), "{verb:?}: {}", stderr(&out));
    }
    assert!(within(&s, &["ps"], QUICK).status.success());
    mkfifo(&s.dir("r").join("events.jsonl"));
    for verb in [&["events", "r"][..], &["events", "-f", "r"]] {
        let err = fails(&within(&s, verb, QUICK));
        assert!(err.contains("FIFO"), "{verb:?}: {err}");
    }
    mkfifo(&s.dir("r").join("lock"));
    assert!(within(&s, &["list"], QUICK).status.success());
    s.kill_all();

    s.start("e", &["sh", "-c", "echo bye"]);
    s.wait_status("e", "exited");
    mkfifo(&s.dir("e").join("screen.txt"));
    let err = fails(&within(&s, &["capture", "e"], QUICK));
    assert!(err.contains("FIFO"), "{err}");
}

#[test]
fn a_fifo_at_the_socket_is_not_connected_to() {
    let s = Store::new();
    s.start("k", &["sleep", "120"]);
    mkfifo(&s.dir("k").join("sock"));
    let err = fails(&within(&s, &["capture", "k"], QUICK));
    assert!(err.contains("not a socket"), "{err}");
}

// --- 4. interrupted strings in the plain view -------------------------------

#[test]
fn plain_text_ends_strings_as_terminals_do() {
    let s = Store::new();
    let script = concat!(
        "printf '\\033]0;title\\033[31mREADY\\033[0m\\r\\n'; ",
        "printf '\\033Pq#0;2\\030AFTER-CAN\\r\\n'; ",
        "printf '\\033_apc\\032AFTER-SUB\\r\\n'; ",
        "sleep 120"
    );
    s.start("p", &["sh", "-c", script]);
    s.wait_log("p", "AFTER-SUB");
    let text = s.ok(["logs", "p"]);
    for w in ["READY", "AFTER-CAN", "AFTER-SUB"] {
        assert!(text.lines().any(|l| l == w), "{w} in logs: {text:?}");
    }
    let out = s.ok([
        "wait",
        "p",
        "--output",
        "READY",
        "--from-start",
        "--timeout",
        "5s",
    ]);
    assert_eq!(out, "READY\n");
    let ps = s.ok(["ps"]);
    assert!(ps.contains("AFTER-SUB"), "{ps}");
}

// --- 5. events.jsonl ----------------------------------------------------------

/// A program that sets its title as fast as it can for a while.
const TITLES: &str = r#"
import os, sys, time
end = time.time() + 1.5
n = 0
pad = "x" * 300
while time.time() < end:
    n += 1
    os.write(1, ("\x1b]0;title %d %s\x07" % (n, pad)).encode())
os.write(1, ("\x1b]0;last title\x07" + "\r\nDONE %d\r\n" % n).encode())
time.sleep(120)
"#;

fn event_files(dir: &Path) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with("events.jsonl")
                .then(|| (n, e.metadata().unwrap().len()))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn events_stay_within_their_limit_under_a_title_flood() {
    let e = Env::new("[events]\nmax_size = \"8KiB\"\nkeep = 2\n");
    let script = fixture(&e, "titles.py", TITLES);
    e.start("t", &[], &[PYTHON, &script]);
    e.wait_log("t", "DONE");
    let all = wait_for("the last title's event", WAIT, || {
        let out = e.ok(["events", "t", "--json"]);
        out.contains("last title").then_some(out)
    });
    let files = event_files(&e.dir("t"));
    assert!(files.len() <= 3, "{files:?}");
    let total: u64 = files.iter().map(|f| f.1).sum();
    assert!(
        total <= 3 * 8192 + 8192,
        "events take {total} bytes: {files:?}"
    );
    // At most four title events a second, each standing for the ones it
    // replaced.
    let titles: Vec<Value> = all
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["event"] == "title")
        .collect();
    let ts: Vec<SystemTimeMs> = titles.iter().map(|v| ms(&v["ts"])).collect();
    for w in ts.windows(5) {
        // (990: timestamps are cut to the millisecond.)
        assert!(
            w[4] - w[0] >= 990,
            "five title events within a second: {w:?}"
        );
    }
    assert!(
        titles.iter().any(|v| v["count"].as_u64().unwrap_or(1) > 1),
        "coalesced events say how many they stand for"
    );
    e.ok(["stop", "t"]);
}

type SystemTimeMs = i64;

/// An event's timestamp, in milliseconds.
fn ms(ts: &Value) -> SystemTimeMs {
    let t = humantime_parse(ts.as_str().unwrap());
    t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn humantime_parse(s: &str) -> std::time::SystemTime {
    // 2026-11-21T08:29:39.147Z
    let out = Command::new("date")
        .args(["-u", "-d", s, "+%s%3N"])
        .output()
        .expect("date");
    let ms: u64 = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::time::UNIX_EPOCH + Duration::from_millis(ms)
}

/// `events -f` follows events.jsonl across its rotations and sees every
/// event exactly once, in order.
#[test]
fn events_follow_across_rotations_sees_each_event_once() {
    let e = Env::new("[events]\nmax_size = \"4KiB\"\nkeep = 3\n");
    e.start("ev", &[], &["cat"]);
    let follow = spawn(e.cmd(["events", "-f", "--json", "ev"]));
    for i in 0..120 {
        let id = format!("id-{i:04}");
        e.ok(["send", "ev", "--id", &id, "x"]);
    }
    e.ok(["stop", "ev"]);
    let out = follow.finish();
    assert!(out.status.success(), "{}", stderr(&out));
    let ids: Vec<String> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["event"] == "input")
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    let want: Vec<String> = (0..120).map(|i| format!("id-{i:04}")).collect();
    assert_eq!(ids, want);
    assert!(
        e.dir("ev").join("events.jsonl.1").exists(),
        "the events were rotated"
    );
}

// --- 6. watchers ---------------------------------------------------------------

/// Six watchers (as `wait --output` is) that stopped reading: the
/// supervisor cuts the furthest behind off first and stays under its total.
#[test]
fn stopped_watchers_stay_under_the_total_backlog() {
    let e = Env::new("[logs]\nmax_size = \"1MiB\"\nkeep = 0\n");
    let flood = fixture(
        &e,
        "flood.py",
        "import os, sys\nline = (b'y' * 1023 + b'\\n') * 64\nsys.stdin.readline()\nwhile True:\n    os.write(1, line)\n",
    );
    e.start("w", &[], &[PYTHON, &flood]);
    let pid = supervisor_pid(&e, "w");
    let sock = e.dir("w").join("sock");
    // Six watchers that never read: the supervisor queues for them.
    let mut watchers: Vec<UnixStream> = (0..6)
        .map(|_| {
            let (mut c, answer) = hello(&sock, CONTROL);
            assert_eq!(answer.map(|a| a.0), Some(WELCOME));
            c.write_all(&frame(WATCH, b"{}")).unwrap();
            assert_eq!(read_frame(&mut c).map(|f| f.0), Some(WATCHING));
            c
        })
        .collect();
    e.ok(["send", "w", "--submit", "go"]);
    // Enough for all six to be cut off (64 MiB shared by six, then five...).
    wait_for("200 MiB of output", Duration::from_secs(120), || {
        (e.entry("w")["output_bytes"].as_u64().unwrap() > 200 << 20).then_some(())
    });
    let peak = status_kib(pid, "VmHWM");
    assert!(
        peak < (64 + 48) * 1024,
        "supervisor peak RSS {peak} KiB with six stopped watchers"
    );
    // Each was cut off, with the reason, after the output it was sent.
    for c in &mut watchers {
        let last = std::iter::from_fn(|| read_frame(c)).last();
        let (kind, p) = last.expect("frames, then an error");
        assert_eq!(kind, ERROR);
        assert!(String::from_utf8_lossy(&p).contains("fell too far behind"));
    }
    e.ok(["stop", "w"]);
}

// --- 7. racing removals -----------------------------------------------------------

#[test]
fn racing_rm_has_exactly_one_winner() {
    let s = Store::new();
    for round in 0..20 {
        s.start("gone", &["true"]);
        s.wait_status("gone", "exited");
        let outs: Vec<std::process::Output> = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..20)
                .map(|_| sc.spawn(|| s.run(["rm", "gone"])))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let wins = outs.iter().filter(|o| o.status.success()).count();
        assert_eq!(wins, 1, "round {round}");
        for o in outs.iter().filter(|o| !o.status.success()) {
            assert_eq!(o.status.code(), Some(1));
            assert!(
                stderr(o).contains("no session named gone"),
                "round {round}: {}",
                stderr(o)
            );
        }
        assert!(!s.dir("gone").exists());
    }
}

#[test]
fn run_if_absent_racing_rm_never_fails_on_a_file() {
    let s = Store::new();
    for round in 0..15 {
        s.start("x", &["true"]);
        s.wait_status("x", "exited");
        let (rm, run) = std::thread::scope(|sc| {
            let rm = sc.spawn(|| s.run(["rm", "x"]));
            let run = sc.spawn(|| {
                s.run([
                    "run",
                    "--bg",
                    "--if-absent",
                    "--name",
                    "x",
                    "--",
                    "sleep",
                    "60",
                ])
            });
            (rm.join().unwrap(), run.join().unwrap())
        });
        assert!(run.status.success(), "round {round}: {}", stderr(&run));
        if !rm.status.success() {
            let err = stderr(&rm);
            assert!(
                err.contains("no session named x") || err.contains("is running"),
                "round {round}: {err}"
            );
        }
        s.kill_all();
        wait_for("x to end", WAIT, || {
            let e = s.list();
            e.iter().all(|e| e["status"] != "running").then_some(())
        });
        let _ = s.run(["rm", "x"]);
    }
}

// --- 9. smaller ----------------------------------------------------------------

#[test]
fn config_values_are_checked_where_they_are_read() {
    let e = Env::new("store = \"\"\n");
    let err = fails(&e.run(["list"]));
    assert!(
        err.contains("sessions.toml:1") && err.contains("`store`"),
        "{err}"
    );
    for (toml, key) in [
        ("term = \"\\u0000\"\n", "`term`"),
        ("term = \"xterm\\n\"\n", "`term`"),
        ("agent_command = [\"codex\\u0000\"]\n", "`agent_command`"),
        ("max_sessions = 100000000\n", "`max_sessions`"),
        ("ttl = \"1e30\"\n", "`ttl`"),
        ("idle_timeout = \"100000 years\"\n", "`idle_timeout`"),
        ("[logs]\nmax_size = \"100000GiB\"\n", "`logs.max_size`"),
        ("[events]\nmax_size = \"0\"\n", "`events.max_size`"),
    ] {
        e.config(toml);
        let out = e.run(["config"]);
        let err = fails(&out);
        assert!(
            err.contains("sessions.toml:") && err.contains(key),
            "{toml:?}: {err}"
        );
    }
}

#[test]
fn invalid_names_are_usage_errors_for_every_verb() {
    let s = Store::new();
    for verb in ["rm", "stop", "logs", "inspect", "capture", "events"] {
        let out = s.run([verb, "no such/name"]);
        assert_eq!(out.status.code(), Some(2), "{verb}: {}", stderr(&out));
    }
}

#[test]
fn a_send_of_exactly_the_limit_fits() {
    let s = Store::new();
    s.start("c", &["sh", "-c", "cat > /dev/null"]);
    let text = vec![b'a'; 1 << 20];
    let out = spawn_with_stdin(s.cmd(["send", "c", "--stdin"]), Some(&text)).finish();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut more = text.clone();
    more.push(b'a');
    let out = spawn_with_stdin(s.cmd(["send", "c", "--stdin"]), Some(&more)).finish();
    let err = fails(&out);
    assert!(err.contains("1048577"), "{err}");
}
