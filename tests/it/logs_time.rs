//! `logs` by time: `--since`, `--until`, `--timestamps` and `--format
//! asciicast`, over the time index (`output.idx`) the supervisor writes,
//! rotated with the log and read without trusting it.

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::support::skip::missing;
use crate::support::*;

/// `tick.py N MS`: N lines `tick I`, one every MS milliseconds.
const TICK: &str = r#"
import sys, time
n, ms = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    print("tick %d" % i, flush=True)
    time.sleep(ms / 1000)
"#;

/// A line of `logs -t`: its time and its text.
fn stamped(line: &str) -> (SystemTime, &str) {
    let (t, text) = line.split_once(' ').unwrap_or_else(|| panic!("{line:?}"));
    let b = t.as_bytes();
    assert!(
        t.len() == 30 && b[10] == b'T' && b[19] == b'.' && t.ends_with('Z'),
        "RFC 3339 with nine digits in UTC: {line:?}"
    );
    (humantime::parse_rfc3339(t).expect("RFC 3339"), text)
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_nanos(t).to_string()
}

/// Unix seconds with a fraction, as `--since` also takes them.
fn unix(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap();
    format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
}

fn mid(a: SystemTime, b: SystemTime) -> SystemTime {
    a + b.duration_since(a).unwrap() / 2
}

#[test]
fn a_window_is_exactly_the_lines_in_it() {
    let s = Store::new();
    start_py(&s, "tick", "tick.py", TICK, &["12", "200"]);
    s.wait_status("tick", "exited");
    let out = s.ok(["logs", "-t", "tick"]);
    let lines: Vec<_> = out.lines().map(stamped).collect();
    let texts: Vec<_> = lines.iter().map(|l| l.1).collect();
    let want: Vec<_> = (0..12).map(|i| format!("tick {i}")).collect();
    assert_eq!(texts, want, "every line, each after its time:\n{out}");
    // Real times, in order (a line each 200 ms: about one entry each, but
    // a supervisor held up on a loaded machine may read two at once).
    assert!(lines.windows(2).all(|w| w[0].0 <= w[1].0), "{out}");
    let span = lines[11].0.duration_since(lines[0].0).unwrap();
    assert!(span >= Duration::from_millis(1500), "{out}");
    let started = humantime::parse_rfc3339(s.meta("tick")["started"].as_str().unwrap()).unwrap();
    let first = lines[0].0.duration_since(started).expect("after the start");
    assert!(first < Duration::from_secs(5), "real times: {out}");

    // The lines whose time is in [a, b], the last `tail` of them.
    let pick = |a: Option<SystemTime>, b: Option<SystemTime>, tail: usize| -> String {
        let v: Vec<_> = lines
            .iter()
            .filter(|l| a.is_none_or(|a| l.0 >= a) && b.is_none_or(|b| l.0 <= b))
            .map(|l| format!("{}\n", l.1))
            .collect();
        v[v.len().saturating_sub(tail)..].concat()
    };
    let window = |args: &[&str]| {
        let mut v = vec!["logs", "tick"];
        v.extend_from_slice(args);
        s.ok(&v)
    };
    // Between lines 3 and 4, and 8 and 9: lines 4 to 8 (when each line
    // has its own time, as it has unless the machine is very busy).
    let (a, b) = (mid(lines[3].0, lines[4].0), mid(lines[8].0, lines[9].0));
    let (sa, sb) = (rfc3339(a), rfc3339(b));
    let want = pick(Some(a), Some(b), usize::MAX);
    assert!(
        want.contains("tick 4\n") && want.contains("tick 8\n"),
        "{want}"
    );
    assert!(
        !want.contains("tick 0\n") && !want.contains("tick 11\n"),
        "{want}"
    );
    assert_eq!(window(&["--since", &sa, "--until", &sb]), want);
    assert_eq!(window(&["--since", &sa]), pick(Some(a), None, usize::MAX));
    assert_eq!(window(&["--until", &sb]), pick(None, Some(b), usize::MAX));
    // Unix seconds and a numeric offset say the same times.
    assert_eq!(window(&["--since", &unix(a), "--until", &unix(b)]), want);
    let plus_one = humantime::format_rfc3339_nanos(b + Duration::from_secs(3600)).to_string();
    let plus_one = plus_one.replace('Z', "+01:00");
    assert_eq!(
        window(&["--until", &plus_one]),
        pick(None, Some(b), usize::MAX)
    );
    // Both ends are included: a line's own time selects it.
    let t4 = lines[4].0;
    let at4 = rfc3339(t4);
    let only4 = window(&["--since", &at4, "--until", &at4]);
    assert!(only4.contains("tick 4\n"));
    assert_eq!(only4, pick(Some(t4), Some(t4), usize::MAX));
    // --tail counts lines of the window; -t prints their times.
    let tail2 = window(&["--since", &sa, "--until", &sb, "-n", "2"]);
    assert_eq!(tail2, pick(Some(a), Some(b), 2));
    let t = window(&["-t", "--since", &sa, "-n", "1"]);
    assert_eq!(t, format!("{} tick 11\n", rfc3339(lines[11].0)));
    // Relative: the last hour is all of it, the last 0s nothing.
    assert_eq!(window(&["--since", "1h"]), pick(None, None, usize::MAX));
    assert_eq!(window(&["--since", "0s"]), "");
    // Raw bytes are timed as well, each line's first byte.
    let raw = window(&["-t", "--color", "always", "-n", "2"]);
    let want = format!(
        "{} tick 10\r\n{} tick 11\r\n",
        rfc3339(lines[10].0),
        rfc3339(lines[11].0)
    );
    assert_eq!(raw, want);

    let bad = s.run(["logs", "tick", "--since", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("--since: invalid time"),
        "{}",
        stderr(&bad)
    );
    let bad = s.run(["logs", "tick", "--until", "2026-12-02T10:00:00"]);
    assert_eq!(bad.status.code(), Some(2), "no zone: {}", stderr(&bad));
}

#[test]
fn follow_stops_once_until_has_passed() {
    let s = Store::new();
    start_py(&s, "slow", "tick.py", TICK, &["600", "100"]);
    s.wait_log("slow", "tick 2");
    let until = rfc3339(SystemTime::now() + Duration::from_millis(700));
    let out = output_with_timeout(
        &mut s.cmd(["logs", "-f", "--until", &until, "slow"]),
        Duration::from_secs(20),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("tick 0\ntick 1\n"), "{text}");
    assert!(text.lines().count() < 100, "it stopped: {text}");
    s.ok(["stop", "slow"]);
}

#[test]
fn the_index_rotates_with_the_log() {
    let e = Env::new("[logs]\nmax_size = \"4KiB\"\nkeep = 2\n");
    // 100-byte lines (CR LF in the log), 10 ms apart: about 12 KiB.
    let body = r#"
import time
for i in range(120):
    print("%03d " % i + "x" * 94, flush=True)
    time.sleep(0.01)
"#;
    start_py(&e, "rot", "rot.py", body, &[]);
    e.wait_status("rot", "exited");
    let d = e.dir("rot");
    for k in ["", ".1", ".2"] {
        let log = std::fs::metadata(d.join(format!("output.log{k}"))).unwrap();
        let idx = std::fs::read(d.join(format!("output.idx{k}"))).unwrap();
        assert_eq!(&idx[..8], b"CSTIDX01");
        assert_eq!(
            idx[8..16],
            log.ino().to_le_bytes(),
            "output.idx{k} names its log"
        );
        assert_eq!(idx.len() % 16, 0);
        assert_eq!(
            &idx[24..32],
            &[0; 8],
            "output.idx{k} starts at its log's start"
        );
    }
    assert!(!d.join("output.idx.3").exists(), "as many as the logs");
    let plain = e.ok(["logs", "rot"]);
    let out = e.ok_full(["logs", "-t", "rot"]);
    assert_eq!(stderr(&out), "", "every log has times");
    let timed = stdout(&out);
    let stamps: Vec<_> = timed.lines().map(|l| stamped(l).0).collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{timed}");
    let texts: String = timed
        .lines()
        .map(|l| format!("{}\n", stamped(l).1))
        .collect();
    assert_eq!(texts, plain);
    // A window across the logs: from the 5th line kept on.
    let since = rfc3339(stamps[4]);
    let from = e.ok(["logs", "--since", &since, "rot"]);
    assert!(plain.ends_with(&from) && from.lines().count() >= plain.lines().count() - 4);
}

#[test]
fn a_damaged_index_gives_no_times_and_says_so() {
    let s = Store::new();
    start_py(&s, "d", "tick.py", TICK, &["3", "50"]);
    s.wait_status("d", "exited");
    let idx = s.dir("d").join("output.idx");
    let good = std::fs::read(&idx).unwrap();
    let all = "tick 0\ntick 1\ntick 2\n";
    // Two more entries, the second's offset below the first's (the good
    // index may hold one entry, at offset 0, which a third would replace).
    let mut backwards = good.clone();
    let t = good[good.len() - 16..good.len() - 8].to_vec();
    for offset in [1000u64, 5] {
        backwards.extend_from_slice(&t);
        backwards.extend_from_slice(&offset.to_le_bytes());
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("no time index", b"garbage".to_vec()),
        ("no time index", Vec::new()),
        ("cut short", good[..16].to_vec()),
        ("cut short", good[..20].to_vec()),
        ("damaged", backwards),
    ];
    for (why, bytes) in cases {
        std::fs::write(&idx, &bytes).unwrap();
        let out = s.ok_full(["logs", "--since", "1h", "d"]);
        assert_eq!(stdout(&out), "", "{why}: left out");
        let err = stderr(&out);
        assert!(
            err.starts_with("codex-session: output.log has no times: ") && err.contains(why),
            "{why}: {err}"
        );
        assert!(err.contains("left out of the window"), "{err}");
        let out = s.ok_full(["logs", "-t", "d"]);
        assert_eq!(stdout(&out), all, "{why}: no timestamps");
        assert!(
            stderr(&out).contains("have no timestamp"),
            "{}",
            stderr(&out)
        );
        assert_eq!(s.ok(["logs", "d"]), all, "plain logs do not read it");
    }
    // Not a regular file: refused, never read (a FIFO would block).
    std::fs::remove_file(&idx).unwrap();
    nix::unistd::mkfifo(&idx, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let out = s.ok_full(["logs", "-t", "d"]);
    assert_eq!(stdout(&out), all);
    assert!(stderr(&out).contains("FIFO"), "{}", stderr(&out));
    std::fs::remove_file(&idx).unwrap();
    std::os::unix::fs::symlink(s.dir("d").join("output.log"), &idx).unwrap();
    let out = s.ok_full(["logs", "--since", "1h", "d"]);
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
}

/// A Python with the asciinema package: $CODEX_SESSION_TEST_PYTHON,
/// target/mcp-venv (where .ci/run installs it), then the system's.
fn python_with_asciinema() -> Option<String> {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let mut candidates: Vec<String> = Vec::new();
    if let Some(p) = std::env::var_os("CODEX_SESSION_TEST_PYTHON") {
        candidates.push(p.to_string_lossy().into_owned());
    }
    candidates.push(format!("{manifest}/target/mcp-venv/bin/python3"));
    candidates.push(PYTHON.to_string());
    candidates.into_iter().find(|py| {
        Command::new(py)
            .args(["-c", "import asciinema"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

#[test]
fn asciicast_is_v2_with_monotonic_times() {
    let s = Store::new();
    let body = r#"
import os, time
for i in range(6):
    os.write(1, b"\x1b[1mline %d\x1b[0m \xc3" % i)
    time.sleep(0.15)
    os.write(1, b"\xa9 \xff\n")
"#;
    let script = fixture(&s, "cast.py", body);
    s.ok([
        "run", "--bg", "--size", "100x30", "--name", "c", "--", PYTHON, &script,
    ]);
    s.wait_status("c", "exited");
    let cast = s.ok(["logs", "--format", "asciicast", "c"]);
    let mut lines = cast.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["version"], 2);
    assert_eq!(
        (header["width"].as_u64(), header["height"].as_u64()),
        (Some(100), Some(30))
    );
    let started = humantime::parse_rfc3339(s.meta("c")["started"].as_str().unwrap()).unwrap();
    let ts = header["timestamp"].as_u64().unwrap();
    let start = started
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(ts >= start && ts < start + 5, "{ts} vs {start}");
    let mut last = 0.0;
    let mut text = String::new();
    let mut events = 0;
    for l in lines {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}"));
        let t = v[0].as_f64().unwrap();
        assert!(t >= last, "monotonic: {cast}");
        last = t;
        assert_eq!(v[1], "o");
        text.push_str(v[2].as_str().unwrap());
        events += 1;
    }
    assert!(events >= 6 && last > 0.6, "{cast}");
    let log = std::fs::read(s.dir("c").join("output.log")).unwrap();
    assert_eq!(
        text,
        String::from_utf8_lossy(&log),
        "é joined again, \\xff as U+FFFD"
    );

    // A window of it: the header's time is its first event's.
    let timed = s.ok(["logs", "-t", "c"]);
    let since = rfc3339(stamped(timed.lines().nth(3).unwrap()).0);
    let part = s.ok(["logs", "--format", "asciicast", "--since", &since, "c"]);
    let h: Value = serde_json::from_str(part.lines().next().unwrap()).unwrap();
    assert!(h["timestamp"].as_u64().unwrap() >= ts);
    assert!(
        part.lines().count() < cast.lines().count(),
        "{since}\n{part}"
    );
    assert!(part.lines().nth(1).unwrap().starts_with("[0.000000, \"o\""));

    let conflict = s.run(["logs", "--format", "asciicast", "-t", "c"]);
    assert_eq!(conflict.status.code(), Some(2));

    // asciinema itself reads it back.
    let Some(py) = python_with_asciinema() else {
        return missing("asciinema", "the asciinema Python package is not installed");
    };
    let file = fixture(&s, "c.cast", &cast);
    let out = output_with_timeout(
        Command::new(&py).args(["-m", "asciinema", "cat", &file]),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "asciinema cat: {}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), text);
}

#[test]
fn asciicast_has_the_resizes_between_its_output() {
    let s = Store::new();
    let go = s.tmp.path().join("go");
    let body = r#"
import os, sys, time
print("before", flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.01)
print("after", flush=True)
"#;
    start_py(&s, "r", "r.py", body, &[go.to_str().unwrap()]);
    s.wait_log("r", "before");
    {
        let _t = crate::support::attach::attach(&s, "r", 100, 30);
        wait_for("a resized event", WAIT, || {
            events(&s, "r")
                .iter()
                .any(|e| e["event"] == "resized" && e["cols"] == 100)
                .then_some(())
        });
    }
    // Not synchronisation: output within 100 ms of the last entry shares
    // its time (the index's resolution), and this test wants "after" later
    // than the resize.
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(&go, "").unwrap();
    s.wait_status("r", "exited");
    let cast = s.ok(["logs", "--format", "asciicast", "r"]);
    let v: Vec<Value> = cast
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        (v[0]["width"].as_u64(), v[0]["height"].as_u64()),
        (Some(80), Some(24)),
        "{cast}"
    );
    let kinds: Vec<_> = v[1..]
        .iter()
        .map(|e| (e[1].as_str().unwrap(), e[2].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [("o", "before\r\n"), ("r", "100x30"), ("o", "after\r\n")],
        "{cast}"
    );
    assert!(v[1][0].as_f64() <= v[2][0].as_f64() && v[2][0].as_f64() <= v[3][0].as_f64());
}
