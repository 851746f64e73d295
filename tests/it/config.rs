//! Configuration and lifecycle policy: `sessions.toml` (where it is found,
//! its errors, `config`), the running-session limit, idle timeout and TTL,
//! retention and `prune`, log rotation as `logs`/`logs -f`/`ps` see it, and
//! `run --if-absent`/`--replace` from cron's environment.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::support::pty::Term;
use crate::support::*;

const MIB: usize = 1 << 20;
/// Every generated line is nine digits, then CR LF in the log (the PTY
/// turns the program's `\n` into `\r\n`).
const LINE: usize = 11;
const PYTHON: &str = "/usr/bin/python3";

/// Writes numbered lines (`%09d\n`) in big writes, in phases: `gen.py GODIR
/// N1 N2 ...` writes N1 lines, then waits for GODIR/go0, writes N2 lines,
/// waits for GODIR/go1, ... A GODIR of `-` never waits.
const GEN: &str = r#"
import os, sys, time
godir, counts = sys.argv[1], [int(a) for a in sys.argv[2:]]
def put(b):
    mv = memoryview(b)
    while mv:
        mv = mv[os.write(1, mv):]
k = 0
for i, n in enumerate(counts):
    buf = bytearray()
    for _ in range(n):
        buf += b"%09d\n" % k
        k += 1
        if len(buf) >= 1 << 16:
            put(buf)
            buf = bytearray()
    put(buf)
    if godir != "-":
        go = os.path.join(godir, "go%d" % i)
        while not os.path.exists(go):
            time.sleep(0.01)
"#;

/// The log bytes of lines `from..to` of GEN's output.
fn lines(from: usize, to: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity((to - from) * LINE);
    for k in from..to {
        v.extend_from_slice(format!("{k:09}\r\n").as_bytes());
    }
    v
}

/// A private store, and a private CODEX_HOME whose sessions.toml is read.
struct Env {
    s: Store,
    home: PathBuf,
}

impl Env {
    fn new(toml: &str) -> Env {
        let mut s = Store::new();
        let home = s.tmp.path().join("codex-home");
        std::fs::create_dir(&home).unwrap();
        s.env.push(("CODEX_HOME".into(), home.clone().into()));
        let e = Env { s, home };
        e.config(toml);
        e
    }

    fn config_path(&self) -> PathBuf {
        self.home.join("sessions.toml")
    }

    /// Replace sessions.toml (every command reads it afresh).
    fn config(&self, toml: &str) {
        std::fs::write(self.config_path(), toml).unwrap();
    }

    fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.s.cmd(args)
    }

    fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.s.run(args)
    }

    fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.s.ok(args)
    }

    /// Run, assert success, return the whole output.
    fn ok_full<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.run(args);
        assert!(out.status.success(), "{}", stderr(&out));
        out
    }

    /// `run --bg [FLAGS] --name NAME -- CMD...`, asserting it printed the name.
    fn start(&self, name: &str, flags: &[&str], cmd: &[&str]) {
        let mut args = vec!["run", "--bg"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["--name", name, "--"]);
        args.extend_from_slice(cmd);
        assert_eq!(self.ok(&args), format!("{name}\n"));
    }

    /// `list --json` under this configuration (so retention applies).
    fn list(&self) -> Vec<Value> {
        serde_json::from_str(&self.ok(["list", "--json"])).expect("list --json parses")
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .list()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    }

    fn entry(&self, name: &str) -> Value {
        self.list()
            .into_iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in list"))
    }

    /// Wait until the session has ended; its `list --json` entry.
    fn wait_ended(&self, name: &str, deadline: Duration) -> Value {
        wait_for(&format!("{name} to end"), deadline, || {
            let e = self.entry(name);
            (e["status"] != "running" && e["status"] != "starting").then_some(e)
        })
    }

    /// The STATUS cell of the session's row in the `list` table.
    fn table_status(&self, name: &str) -> String {
        let out = self.ok(["list"]);
        let header = out.lines().next().unwrap();
        let (from, to) = (header.find("STATUS").unwrap(), header.find("PID").unwrap());
        let row = out
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{out}"));
        row[from..to].trim().to_string()
    }
}

impl std::ops::Deref for Env {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.s
    }
}

/// Exit code 1, and stderr, for a command expected to fail.
fn fails(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
    stderr(out)
}

/// Replace a top-level field of a session's meta.json.
fn set_meta(s: &Store, name: &str, key: &str, v: Value) {
    let mut m = s.meta(name);
    m[key] = v;
    let p = s.dir(name).join("meta.json");
    std::fs::write(&p, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

/// A time long past, for retention.
const LONG_AGO: &str = "2001-02-03T04:05:06Z";

/// A child whose stdout is collected by a thread as it arrives.
struct Collector {
    child: Child,
    got: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Collector {
    fn spawn(mut cmd: Command) -> Collector {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning");
        let mut pipe = child.stdout.take().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => g.lock().unwrap().extend_from_slice(&buf[..n]),
                }
            }
        });
        Collector {
            child,
            got,
            reader: Some(reader),
        }
    }

    fn len(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    /// Wait until at least `n` bytes came; all of them.
    fn wait_len(&self, n: usize) -> Vec<u8> {
        wait_for(
            &format!("{n} bytes from logs -f"),
            Duration::from_secs(30),
            || {
                let g = self.got.lock().unwrap();
                (g.len() >= n).then(|| g.clone())
            },
        )
    }

    /// Wait for the child to exit; its status, all its stdout and stderr.
    fn finish(mut self) -> (std::process::ExitStatus, Vec<u8>, String) {
        let st = wait_child(&mut self.child, WAIT);
        self.reader.take().unwrap().join().unwrap();
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let got = std::mem::take(&mut *self.got.lock().unwrap());
        (st, got, err)
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Compare big byte strings, reporting where they first differ.
#[track_caller]
fn assert_bytes_eq(got: &[u8], want: &[u8], what: &str) {
    if got == want {
        return;
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let show = |b: &[u8]| {
        String::from_utf8_lossy(&b[at.saturating_sub(30)..(at + 30).min(b.len())]).into_owned()
    };
    panic!(
        "{what}: {} bytes, expected {}; first difference at byte {at}: got {:?}, expected {:?}",
        got.len(),
        want.len(),
        show(got),
        show(want)
    );
}

/// The rotated logs, oldest first (output.log.N … output.log.1), then
/// output.log; panics on a gap in the numbering.
fn log_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut rotated = Vec::new();
    for ent in std::fs::read_dir(dir).unwrap() {
        let name = ent.unwrap().file_name().into_string().unwrap();
        if let Some(k) = name.strip_prefix("output.log.") {
            rotated.push(k.parse::<usize>().unwrap_or_else(|_| panic!("{name}")));
        }
    }
    rotated.sort_unstable();
    assert_eq!(
        rotated,
        (1..=rotated.len()).collect::<Vec<_>>(),
        "rotated logs are numbered from 1 without gaps"
    );
    let mut files: Vec<(String, Vec<u8>)> = rotated
        .iter()
        .rev()
        .map(|k| {
            let name = format!("output.log.{k}");
            (name.clone(), std::fs::read(dir.join(&name)).unwrap())
        })
        .collect();
    files.push((
        "output.log".into(),
        std::fs::read(dir.join("output.log")).unwrap(),
    ));
    files
}

/// Write about 20 MiB through a 1 MiB `max_size` with `keep` rotated logs;
/// check the logs kept hold exactly the newest bytes, in order.
fn rotation_keeps_the_newest_bytes(keep: usize) {
    let e = Env::new(&format!("[logs]\nmax_size = \"1MiB\"\nkeep = {keep}\n"));
    let script = fixture_file(&e, "gen.py", GEN);
    let n = 20 * MIB / LINE + 7;
    e.start("big", &[], &[PYTHON, &script, "-", &n.to_string()]);
    let end = e.wait_ended("big", Duration::from_secs(60));
    assert_eq!(end["status"], "exited", "{end}");
    assert_eq!(end["exit_code"], 0, "{end}");
    let want = lines(0, n);
    assert_eq!(end["output_bytes"], want.len(), "every byte counted: {end}");

    let files = log_files(&e.dir("big"));
    let rotations = want.len().div_ceil(MIB) - 1;
    assert_eq!(
        files.len() - 1,
        rotations.min(keep),
        "{rotations} rotations, {keep} kept: {:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    let (head, rotated) = files.split_last().unwrap();
    for (name, b) in rotated {
        assert_eq!(b.len(), MIB, "{name} is exactly max_size");
    }
    assert!(
        (1..=MIB).contains(&head.1.len()),
        "output.log holds the rest: {}",
        head.1.len()
    );
    let kept: Vec<u8> = files.iter().flat_map(|f| f.1.iter().copied()).collect();
    assert!(kept.len() <= want.len());
    assert_bytes_eq(
        &kept,
        &want[want.len() - kept.len()..],
        "the logs kept, oldest first",
    );
    if keep >= rotations {
        assert_eq!(kept.len(), want.len(), "everything kept");
    }
    assert!(
        !e.dir("big")
            .join(format!("output.log.{}", keep + 1))
            .exists()
    );
}

/// Write a fixture into the test's temp folder; its path.
fn fixture_file(s: &Store, file: &str, body: &str) -> String {
    let p = s.tmp.path().join(file);
    std::fs::write(&p, body).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn rotation_keeps_every_byte_in_order_when_keep_is_large() {
    rotation_keeps_the_newest_bytes(30);
}

#[test]
fn rotation_keeps_the_newest_bytes_when_keep_is_small() {
    rotation_keeps_the_newest_bytes(3);
}

/// `logs -f` started before several rotations receives every byte once;
/// `logs`, `logs -n`, `ps`, `capture` and `list` read across the rotated logs,
/// right after a rotation too.
#[test]
fn logs_follow_ps_and_capture_across_rotations() {
    let e = Env::new("[logs]\nmax_size = \"1MiB\"\nkeep = 30\n");
    let script = fixture_file(&e, "gen.py", GEN);
    let godir = e.tmp.path().join("go");
    std::fs::create_dir(&godir).unwrap();
    // Three phases; the last ends just after a rotation, with output.log
    // holding a piece of one line and one whole line.
    let (p0, p1) = (150_000, 300_000);
    let total = (p0 + p1 + 250_000..)
        .find(|n| (11..=21).contains(&((n * LINE) % MIB)))
        .unwrap();
    let phases = [p0, p1, total - p0 - p1];
    let want = lines(0, total);
    let mut args = vec![PYTHON.to_string(), script, godir.display().to_string()];
    args.extend(phases.iter().map(|n| n.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    e.start("gen", &[], &args);

    let follow = Collector::spawn(e.cmd(["logs", "-f", "--color", "always", "gen"]));
    let mut done = 0;
    for (i, n) in phases.iter().enumerate() {
        done += n;
        let got = follow.wait_len(done * LINE);
        assert_bytes_eq(
            &got,
            &want[..done * LINE],
            &format!("logs -f after phase {i}"),
        );
        if i + 1 < phases.len() {
            std::fs::write(godir.join(format!("go{i}")), "").unwrap();
        }
    }
    assert!(
        e.dir("gen").join("output.log.6").exists(),
        "several rotations happened"
    );

    // The program waits, just after a rotation.
    let head = std::fs::read(e.dir("gen").join("output.log")).unwrap();
    assert!(head.len() < 2 * LINE, "output.log just rotated: {head:?}");
    let last = |k: usize| lines(total - k, total);
    let plain = |b: Vec<u8>| String::from_utf8(b).unwrap().replace("\r\n", "\n");
    assert_eq!(
        e.ok(["logs", "-n", "5", "--color", "always", "gen"])
            .as_bytes(),
        last(5),
        "logs -n 5 reaches into output.log.1"
    );
    assert_eq!(e.ok(["logs", "-n", "5", "gen"]), plain(last(5)));
    let ps = e.ok(["ps"]);
    let shown: Vec<&str> = ps.lines().skip(1).map(str::trim).collect();
    let want_ps: Vec<String> = (total - 3..total).map(|k| format!("{k:09}")).collect();
    assert_eq!(shown, want_ps, "ps shows the last lines:\n{ps}");
    let screen = e.ok(["capture", "gen"]);
    let rows: Vec<&str> = screen
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    let want_rows: Vec<String> = (total - rows.len()..total)
        .map(|k| format!("{k:09}"))
        .collect();
    assert!(rows.len() >= 20, "capture shows a full screen:\n{screen}");
    assert_eq!(rows, want_rows, "capture shows the last lines");
    assert_eq!(
        e.entry("gen")["output_bytes"],
        want.len(),
        "list counts every byte"
    );
    assert_eq!(follow.len(), want.len(), "nothing repeated while waiting");

    // The end: logs -f returns with exactly every byte, once.
    std::fs::write(godir.join(format!("go{}", phases.len() - 1)), "").unwrap();
    let (st, got, err) = follow.finish();
    assert!(st.success(), "logs -f: {st:?}: {err}");
    assert_bytes_eq(&got, &want, "logs -f, all of it");
    let end = e.wait_ended("gen", WAIT);
    assert_eq!(end["exit_code"], 0, "{end}");

    // Afterwards: everything across the rotated logs, raw and plain.
    let out = e.run(["logs", "--color", "always", "gen"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_bytes_eq(&out.stdout, &want, "logs --color always");
    let out = e.run(["logs", "gen"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_bytes_eq(&out.stdout, plain(want.clone()).as_bytes(), "logs (plain)");
    assert_eq!(
        e.ok(["logs", "-n", "5", "--color", "always", "gen"])
            .as_bytes(),
        last(5)
    );
    // -n larger than one log: from the right place in an older one.
    let n = MIB / LINE + 1000;
    let out = e.run(["logs", "-n", &n.to_string(), "--color", "always", "gen"]);
    assert_bytes_eq(&out.stdout, &last(n), "logs -n spanning two logs");
}

/// `logs -f` that falls more than `keep` logs behind skips ahead to the
/// oldest log left: it may lose bytes, but never repeats or reorders them,
/// and it still ends with the newest bytes when the session ends.
#[test]
fn logs_follow_that_falls_behind_skips_ahead_without_repeating() {
    let e = Env::new("[logs]\nmax_size = \"1MiB\"\nkeep = 1\n");
    let script = fixture_file(&e, "gen.py", GEN);
    let godir = e.tmp.path().join("go");
    std::fs::create_dir(&godir).unwrap();
    let n = 20 * MIB / LINE;
    let argv = [
        PYTHON,
        &script,
        godir.to_str().unwrap(),
        "1",
        &n.to_string(),
    ];
    e.start("gen", &[], &argv);
    let follow = Collector::spawn(e.cmd(["logs", "-f", "--color", "always", "gen"]));
    follow.wait_len(LINE);
    std::fs::write(godir.join("go0"), "").unwrap();
    std::fs::write(godir.join("go1"), "").unwrap();
    let (st, got, err) = follow.finish();
    assert!(st.success(), "logs -f: {st:?}: {err}");
    let want = lines(0, n + 1);
    let tail = &want[want.len() - MIB..];
    assert!(got.ends_with(tail), "it ends with the newest bytes");
    let mut last = None;
    for piece in got.split(|&b| b == b'\n') {
        let Some(k) = std::str::from_utf8(piece)
            .ok()
            .and_then(|p| p.strip_suffix('\r'))
            .filter(|p| p.len() == 9)
            .and_then(|p| p.parse::<u64>().ok())
        else {
            continue;
        };
        assert!(
            last < Some(k),
            "line {k} after {last:?}: repeated or reordered"
        );
        last = Some(k);
    }
}

/// Start `run --bg --name NAME -- sleep 100` from 10 threads at once.
fn ten_at_once(e: &Env) -> Vec<(String, Output)> {
    std::thread::scope(|sc| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                sc.spawn(move || {
                    let name = format!("job{i}");
                    let out = e.run(["run", "--bg", "--name", &name, "--", "sleep", "100"]);
                    (name, out)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// The refusal names the limit and every running session.
#[track_caller]
fn assert_refused(out: &Output, max: usize, running: &[&str]) {
    let err = fails(out);
    assert!(
        err.contains(&format!("max_sessions is {max}")),
        "names the limit: {err}"
    );
    assert!(
        err.contains(&format!("{} are running", running.len())),
        "{err}"
    );
    for w in running {
        assert!(
            words(&err).contains(w),
            "names what is running ({w}): {err}"
        );
    }
}

/// The words of a message that could be session names.
fn words(s: &str) -> Vec<&str> {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn max_sessions_limits_running_sessions() {
    let e = Env::new("max_sessions = 3\n");
    for n in ["a1", "a2", "a3"] {
        e.start(n, &[], &["sleep", "100"]);
    }
    let out = e.run(["run", "--bg", "--name", "a4", "--", "sleep", "100"]);
    assert_refused(&out, 3, &["a1", "a2", "a3"]);
    assert!(!e.dir("a4").exists(), "a4 left nothing behind");
    assert_eq!(e.names(), ["a1", "a2", "a3"]);

    // Ended sessions do not count.
    e.ok(["stop", "a2"]);
    e.start("a4", &[], &["sleep", "100"]);
    let out = e.run(["run", "--bg", "--name", "a5", "--", "sleep", "100"]);
    assert_refused(&out, 3, &["a1", "a3", "a4"]);
    assert!(
        !words(&stderr(&out)).contains(&"a2"),
        "a2 is not running: {}",
        stderr(&out)
    );
    // Generated names are limited too.
    let out = e.run(["run", "--bg", "--", "sleep", "100"]);
    assert_refused(&out, 3, &["a1", "a3", "a4"]);
    assert_eq!(e.names(), ["a1", "a2", "a3", "a4"]);
}

#[test]
fn concurrent_runs_respect_max_sessions() {
    let e = Env::new("max_sessions = 5\n");
    let results = ten_at_once(&e);
    let (won, lost): (Vec<_>, Vec<_>) = results.iter().partition(|(_, o)| o.status.success());
    let winners: Vec<&str> = won.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(won.len(), 5, "exactly 5 start: {winners:?}");
    for (name, out) in &won {
        assert_eq!(stdout(out), format!("{name}\n"));
    }
    for (name, out) in &lost {
        assert_refused(out, 5, &winners);
        assert!(!e.dir(name).exists(), "{name} left nothing behind");
    }
    let running = e
        .list()
        .into_iter()
        .filter(|x| x["status"] == "running")
        .count();
    assert_eq!(running, 5);
    assert_eq!(e.list().len(), 5, "the refused ones are not listed");
}

/// A session's events.jsonl, parsed.
fn events(s: &Store, name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(s.dir(name).join("events.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("an event parses"))
        .collect()
}

/// The session ended because of `why` ("idle" or "ttl"), and says so
/// everywhere: list (table and JSON), inspect --json, events.jsonl.
fn assert_timed_out(e: &Env, name: &str, why: &str) {
    let reason = format!("timed out ({why})");
    let end = e.wait_ended(name, WAIT);
    assert_eq!(end["end_reason"], reason.as_str(), "{end}");
    assert_eq!(end["status"], "killed", "{end}");
    assert_eq!(end["signal"], "SIGTERM", "{end}");
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

#[test]
fn idle_timeout_and_ttl_stop_sessions_and_say_why() {
    let e = Env::new("");
    e.start("quiet", &["--idle-timeout", "1s"], &["sleep", "100"]);
    e.start("ticker", &["--idle-timeout", "1s"], &["sh", "-c", TICK]);
    e.start("bounded", &["--ttl", "1s"], &["sh", "-c", TICK]);
    assert_timed_out(&e, "quiet", "idle");

    // 20 lines 100 ms apart: over 1.5 s, yet never idle for 1 s.
    e.wait_log("ticker", "tick20\r\n");
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
fn a_timeout_escalates_to_kill_like_stop() {
    let e = Env::new("");
    // The shell and its sleeps ignore TERM; no output, so idle.
    e.start(
        "stubborn",
        &["--idle-timeout", "1s"],
        &["sh", "-c", "trap '' TERM; while :; do sleep 0.2; done"],
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
        &["--idle-timeout", "2s"],
        &["sh", "-c", "stty -echo; echo READY; exec sleep 100"],
    );
    e.wait_log("typed", "READY");
    let mut t = Term::spawn(e.cmd(["attach", "typed"]), 80, 24);
    t.wait_screen("the repaint", |sc| sc.contains("READY"));
    // No output at all from here on (no echo): only keystrokes.
    let began = std::time::Instant::now();
    while began.elapsed() < Duration::from_secs(4) {
        t.write(b"x");
        // The pace of a person typing, not a synchronisation.
        std::thread::sleep(Duration::from_millis(200));
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

#[test]
fn retention_removes_only_old_ended_sessions() {
    let e = Env::new("retain_exited = \"1h\"\n");
    e.start("live", &[], &["sleep", "100"]);
    for n in ["old", "old2", "fresh"] {
        e.start(n, &[], &["true"]);
        e.wait_ended(n, WAIT);
    }
    // An hour is too long to wait: make two of them look old.
    set_meta(&e, "old", "ended", LONG_AGO.into());
    set_meta(&e, "live", "created", LONG_AGO.into());
    set_meta(&e, "live", "started", LONG_AGO.into());
    assert_eq!(e.names(), ["fresh", "live", "old2"], "list removed old");
    assert!(!e.dir("old").exists());

    set_meta(&e, "old2", "ended", LONG_AGO.into());
    e.start("new", &[], &["true"]);
    assert!(!e.dir("old2").exists(), "run removed old2");
    e.wait_ended("new", WAIT);
    assert_eq!(e.names(), ["fresh", "live", "new"]);
    assert_eq!(e.entry("live")["status"], "running");

    // One second: wait until the ended ones are older than that.
    e.config("retain_exited = \"1s\"\n");
    wait_for("list to remove the ended sessions", WAIT, || {
        (e.names() == ["live"]).then_some(())
    });
    assert_eq!(e.entry("live")["status"], "running", "running ones never");

    // And `run` applies it too.
    e.config("retain_exited = \"1h\"\n");
    e.start("done", &[], &["true"]);
    e.wait_ended("done", WAIT);
    e.config("retain_exited = \"1s\"\n");
    // `prune --dry-run` (which removes nothing) says when it is old enough.
    wait_for("done to be over 1s old", WAIT, || {
        let out = e.ok(["prune", "--dry-run"]);
        out.contains("would remove done").then_some(())
    });
    assert!(e.dir("done").exists(), "--dry-run removes nothing");
    e.start("trigger", &[], &["sleep", "100"]);
    assert!(!e.dir("done").exists(), "run removed done");
    assert_eq!(e.names(), ["live", "trigger"]);
}

#[test]
fn retain_off_keeps_everything() {
    let e = Env::new("retain_exited = \"off\"\n");
    e.start("ended", &[], &["true"]);
    e.wait_ended("ended", WAIT);
    set_meta(&e, "ended", "ended", LONG_AGO.into());
    e.start("other", &[], &["true"]);
    assert_eq!(e.names(), ["ended", "other"]);
    // `prune` without --older-than has nothing to go by.
    let out = e.run(["prune"]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("retain_exited is off"),
        "{}",
        stderr(&out)
    );
    assert!(e.dir("ended").exists());
}

#[test]
fn prune_removes_ended_sessions_on_demand() {
    let e = Env::new("retain_exited = \"off\"\n");
    e.start("live", &[], &["sleep", "100"]);
    e.start("a", &[], &["true"]);
    e.start("b", &[], &["sh", "-c", "exit 3"]);
    e.wait_ended("a", WAIT);
    e.wait_ended("b", WAIT);
    set_meta(&e, "a", "ended", LONG_AGO.into());

    // Only what ended long enough ago.
    let out = e.ok(["prune", "--dry-run", "--older-than", "1d"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("would remove a (exited 0, ended "), "{out}");
    assert!(e.dir("a").exists(), "--dry-run removes nothing");

    let out = e.ok(["prune", "--dry-run", "--older-than", "0s"]);
    let mut said: Vec<&str> = out.lines().collect();
    said.sort_unstable();
    assert_eq!(said.len(), 2, "{out}");
    assert!(said[0].starts_with("would remove a "), "{out}");
    assert!(said[1].starts_with("would remove b (exited 3"), "{out}");
    assert_eq!(e.names(), ["a", "b", "live"]);

    let out = e.ok(["prune", "--older-than", "0s"]);
    let mut said: Vec<&str> = out.lines().collect();
    said.sort_unstable();
    assert_eq!(said.len(), 2, "{out}");
    assert!(said[0].starts_with("removed a "), "{out}");
    assert!(said[1].starts_with("removed b "), "{out}");
    assert_eq!(e.names(), ["live"], "prune never removes running ones");
    assert_eq!(e.entry("live")["status"], "running");
    assert!(!e.dir("a").exists() && !e.dir("b").exists());

    let out = e.ok_full(["prune", "--older-than", "0s"]);
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("no ended session"),
        "{}",
        stderr(&out)
    );

    let err = e.run(["prune", "--older-than", "soon"]);
    assert_eq!(
        err.status.code(),
        Some(2),
        "a bad duration is a usage error"
    );
}

/// The binary as cron runs it: an empty environment but for PATH and HOME,
/// stdin /dev/null, no controlling terminal.
fn cron(home: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home);
    // Safety: setsid is async-signal-safe.
    unsafe {
        c.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    output_with_timeout(&mut c, CMD_TIMEOUT)
}

#[test]
fn cron_if_absent_and_replace() {
    let tmp = tempfile::Builder::new()
        .prefix("cs-test-")
        .tempdir()
        .unwrap();
    let home = tmp.path().to_path_buf();
    // The default store, ~/.codex/sessions: killed on drop like any other.
    let s = Store {
        root: home.join(".codex/sessions"),
        tmp,
        env: Vec::new(),
    };
    let job = [
        "run",
        "--bg",
        "--if-absent",
        "--name",
        "job",
        "--",
        "sleep",
        "100",
    ];

    let out = cron(&home, &job);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "job\n");
    let first = s.wait_status("job", "running");
    let pid = first["pid"].as_i64().unwrap() as i32;
    let sup = first["supervisor_pid"].as_i64().unwrap() as i32;
    assert!(alive(pid) && alive(sup), "it outlives the CLI");

    let out = cron(&home, &job);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "nothing started");
    assert!(
        stderr(&out).contains("job is already running"),
        "a note: {}",
        stderr(&out)
    );
    assert_eq!(s.list().len(), 1);
    assert_eq!(s.entry("job")["pid"], pid, "the same session");

    let replace = [
        "run",
        "--bg",
        "--replace",
        "--name",
        "job",
        "--",
        "sleep",
        "100",
    ];
    let out = cron(&home, &replace);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "job\n");
    let second = s.wait_status("job", "running");
    let pid2 = second["pid"].as_i64().unwrap() as i32;
    assert_ne!(pid2, pid, "a new program");
    assert_ne!(second["id"], first["id"], "a new session");
    assert!(alive(pid2));
    wait_for("the old program to be gone", WAIT, || {
        (!alive(pid)).then_some(())
    });
    assert_eq!(s.list().len(), 1);

    // An ended session of that name does not count as present.
    s.ok(["stop", "job"]);
    let out = cron(&home, &job);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "job\n");
    let third = s.wait_status("job", "running");
    assert_ne!(third["id"], second["id"]);

    // --replace also works when nothing is there.
    let fresh = [
        "run",
        "--bg",
        "--replace",
        "--name",
        "job2",
        "--",
        "sleep",
        "100",
    ];
    let out = cron(&home, &fresh);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "job2\n");
    s.wait_status("job2", "running");
}

/// Two cron jobs (or a slow start and the next minute's run) racing with
/// `--if-absent`: one starts the session, the others see it and exit 0.
#[test]
fn racing_if_absent_runs_start_one_session_and_all_exit_0() {
    let s = Store::new();
    // First with nothing there, then with an ended session of that name.
    for round in 0..2 {
        let outs: Vec<Output> = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..6)
                .map(|_| {
                    sc.spawn(|| {
                        s.run([
                            "run",
                            "--bg",
                            "--if-absent",
                            "--name",
                            "job",
                            "--",
                            "sleep",
                            "100",
                        ])
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for o in &outs {
            assert_eq!(o.status.code(), Some(0), "round {round}: {}", stderr(o));
        }
        let started = outs.iter().filter(|o| stdout(o) == "job\n").count();
        assert_eq!(started, 1, "round {round}: one started");
        assert_eq!(s.list().len(), 1);
        s.wait_status("job", "running");
        s.ok(["stop", "job"]);
    }
}

#[test]
fn config_errors_name_the_file_the_line_and_the_key() {
    let e = Env::new("");
    let path = e.config_path();
    let p = path.display().to_string();
    let check = |toml: &str, line: usize, needles: &[&str]| {
        e.config(toml);
        for args in [
            &["list"][..],
            &["config"],
            &["run", "--bg", "--name", "x", "--", "true"],
        ] {
            let err = fails(&e.run(args));
            assert!(
                err.contains(&format!("{p}:{line}")),
                "{args:?} names {p}:{line}: {err}"
            );
            for n in needles {
                assert!(err.contains(n), "{args:?}: {n:?} in {err}");
            }
        }
        assert!(!e.dir("x").exists(), "nothing started");
    };
    check(
        "# limits\nterm = \"xterm\"\nmax_session = 3\n",
        3,
        &["`max_session`", "did you mean `max_sessions`"],
    );
    check(
        "\n\nmax_sessions = \"many\"\n",
        3,
        &["`max_sessions`", "\"many\""],
    );
    check("max_sessions = 0\n", 1, &["`max_sessions`"]);
    check("term = \"x\"\nretain_exited = 7\n", 2, &["`retain_exited`"]);
    check("ttl = \"soon\"\n", 1, &["`ttl`"]);
    // 0 would stop every session at once, as the flags say too.
    check("\nttl = \"0s\"\n", 2, &["`ttl`", "longer than 0"]);
    check(
        "idle_timeout = \"0s\"\n",
        1,
        &["`idle_timeout`", "longer than 0"],
    );
    check("term = \"x\"\nthis is not toml\n", 2, &["malformed"]);
    check("[logs\nkeep = 2\n", 1, &["malformed"]);
    check(
        "[logs]\nmax_size = \"1MiB\"\nkeep = -1\n",
        3,
        &["`logs.keep`"],
    );
    check(
        "[logs]\nmax_sise = \"1MiB\"\n",
        2,
        &["`logs.max_sise`", "did you mean `logs.max_size`"],
    );
    check("[logs]\nmax_size = \"lots\"\n", 2, &["`logs.max_size`"]);
    check("detach_key = 5\n", 1, &["`detach_key`"]);

    // A named file must exist.
    e.config("");
    let missing = e.tmp.path().join("no-such.toml");
    let err = fails(&e.run(["--config", missing.to_str().unwrap(), "list"]));
    assert!(err.contains(missing.to_str().unwrap()), "{err}");
    let err = fails(&output_with_timeout(
        e.cmd(["list"]).env("CODEX_SESSION_CONFIG", &missing),
        CMD_TIMEOUT,
    ));
    assert!(err.contains(missing.to_str().unwrap()), "{err}");
}

/// The `config` line for a key: `key = value   # source: doc`.
fn config_line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no line for {key}:\n{out}"))
}

#[test]
fn which_config_file_is_read() {
    let e = Env::new("max_sessions = 11\n");
    let p = e.config_path().display().to_string();
    // $CODEX_HOME/sessions.toml by default.
    let out = e.ok(["config"]);
    assert!(out.starts_with(&format!("# {p}\n")), "{out}");
    let l = config_line(&out, "max_sessions");
    assert!(
        l.starts_with("max_sessions = 11 ") && l.contains(&format!("# {p}:1")),
        "{l}"
    );

    // CODEX_SESSION_CONFIG beats it, --config beats both.
    let env_file = e.tmp.path().join("env.toml");
    std::fs::write(&env_file, "\nmax_sessions = 12\n").unwrap();
    let flag_file = e.tmp.path().join("flag.toml");
    std::fs::write(&flag_file, "\n\nmax_sessions = 13\n").unwrap();
    let out = output_with_timeout(
        e.cmd(["config"]).env("CODEX_SESSION_CONFIG", &env_file),
        CMD_TIMEOUT,
    );
    let out = stdout(&out);
    let l = config_line(&out, "max_sessions");
    assert!(
        l.starts_with("max_sessions = 12 ") && l.contains(&format!("# {}:2", env_file.display())),
        "{l}"
    );
    let out = output_with_timeout(
        e.cmd(["config", "--config", flag_file.to_str().unwrap()])
            .env("CODEX_SESSION_CONFIG", &env_file),
        CMD_TIMEOUT,
    );
    let out = stdout(&out);
    let l = config_line(&out, "max_sessions");
    assert!(
        l.starts_with("max_sessions = 13 ") && l.contains(&format!("# {}:3", flag_file.display())),
        "{l}"
    );
    // And it is what `run` obeys.
    std::fs::write(&flag_file, "max_sessions = 1\n").unwrap();
    let flag = ["--config", flag_file.to_str().unwrap()];
    e.ok([
        &flag[..],
        &["run", "--bg", "--name", "one", "--", "sleep", "100"],
    ]
    .concat());
    let err = fails(
        &e.run(
            [
                &flag[..],
                &["run", "--bg", "--name", "two", "--", "sleep", "100"],
            ]
            .concat(),
        ),
    );
    assert!(err.contains("max_sessions is 1"), "{err}");
    e.start("two", &[], &["sleep", "100"]);

    // No file at all: every default, and everything works.
    std::fs::remove_file(e.config_path()).unwrap();
    let out = e.ok(["config"]);
    assert!(out.starts_with(&format!("# {p} (not found")), "{out}");
    for (key, value) in [
        ("max_sessions", "64"),
        ("detach_key", "\"^\\\\\""),
        ("term", "\"xterm-256color\""),
        ("retain_exited", "\"7days\""),
        ("idle_timeout", "\"off\""),
        ("ttl", "\"off\""),
        ("max_size", "\"64MiB\""),
        ("keep", "3"),
    ] {
        let l = config_line(&out, key);
        assert!(l.starts_with(&format!("{key} = {value} ")), "{key}: {l}");
        assert!(l.contains("# default"), "{key}: {l}");
    }
    e.start("three", &[], &["true"]);
    e.wait_ended("three", WAIT);
}

#[test]
fn config_shows_each_value_and_where_it_came_from() {
    let e = Env::new(
        "# my settings\nmax_sessions = 7\nterm = \"screen\"\n\n[logs]\nkeep = 5\nmax_size = \"2MiB\"\n",
    );
    let p = e.config_path().display().to_string();
    let out = e.ok(["config"]);
    let from_file = [
        ("max_sessions", "7", 2),
        ("term", "\"screen\"", 3),
        ("keep", "5", 6),
        ("max_size", "\"2MiB\"", 7),
    ];
    for (key, value, line) in from_file {
        let l = config_line(&out, key);
        assert!(l.starts_with(&format!("{key} = {value} ")), "{l}");
        assert!(
            l.contains(&format!("# {p}:{line}")),
            "{key} from {p}:{line}: {l}"
        );
    }
    for key in ["detach_key", "retain_exited", "idle_timeout", "ttl"] {
        assert!(
            config_line(&out, key).contains("# default"),
            "{key}:\n{out}"
        );
    }
    assert!(out.contains("\n[logs]\n"), "{out}");
    let logs_at = out.find("\n[logs]\n").unwrap();
    assert!(
        out.find("\nkeep = ").unwrap() > logs_at,
        "keep is under [logs]"
    );
    // The store line names the folder in use (here --store).
    let l = config_line(&out, "store");
    assert!(
        l.contains(&format!("{:?}", e.root.display().to_string())),
        "{l}"
    );
}

/// The binary with a private CODEX_HOME and no --store.
fn bare(home: &Path, codex_home: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("CODEX_SESSION_STORE")
        .env_remove("CODEX_SESSION_CONFIG")
        .env_remove("NO_COLOR")
        .env("CODEX_HOME", codex_home)
        .env("HOME", home);
    c
}

#[test]
fn the_store_from_the_file_and_what_overrides_it() {
    let base = Store::new();
    let codex_home = base.tmp.path().join("codex-home");
    std::fs::create_dir(&codex_home).unwrap();
    // Each store's sessions are killed when it drops.
    let in_file = Store::new();
    let by_flag = Store::new();
    let by_env = Store::new();
    let cfg = codex_home.join("sessions.toml");
    std::fs::write(
        &cfg,
        format!("\nstore = {:?}\n", in_file.root.display().to_string()),
    )
    .unwrap();
    let ok = |c: &mut Command| {
        let out = output_with_timeout(c, CMD_TIMEOUT);
        assert!(out.status.success(), "{c:?}: {}", stderr(&out));
        stdout(&out)
    };
    let home = base.tmp.path();
    let run = |name: &str| ["run", "--bg", "--name", name, "--", "sleep", "100"].map(String::from);

    ok(bare(home, &codex_home).args(run("from-file")));
    assert!(in_file.dir("from-file").join("meta.json").is_file());
    assert!(
        !codex_home.join("sessions").exists(),
        "not the default store"
    );
    assert_eq!(in_file.list().len(), 1);
    let out = ok(bare(home, &codex_home).arg("config"));
    let l = config_line(&out, "store");
    assert!(
        l.contains(&format!("{:?}", in_file.root.display().to_string())),
        "{l}"
    );
    assert!(l.contains(&format!("# {}:2", cfg.display())), "{l}");
    assert_eq!(
        ok(bare(home, &codex_home).args(["list", "-q"])),
        "from-file\n"
    );

    // --store beats the file.
    ok(bare(home, &codex_home)
        .arg("--store")
        .arg(&by_flag.root)
        .args(run("from-flag")));
    assert!(by_flag.dir("from-flag").join("meta.json").is_file());
    assert!(!in_file.dir("from-flag").exists());
    let out = ok(bare(home, &codex_home)
        .arg("--store")
        .arg(&by_flag.root)
        .arg("config"));
    let l = config_line(&out, "store");
    assert!(
        l.contains(&format!("{:?}", by_flag.root.display().to_string())),
        "{l}"
    );
    assert!(l.contains("# --store"), "the flag is the source: {l}");

    // CODEX_SESSION_STORE beats the file.
    ok(bare(home, &codex_home)
        .env("CODEX_SESSION_STORE", &by_env.root)
        .args(run("from-env")));
    assert!(by_env.dir("from-env").join("meta.json").is_file());
    assert!(!in_file.dir("from-env").exists());
    let out = ok(bare(home, &codex_home)
        .env("CODEX_SESSION_STORE", &by_env.root)
        .arg("config"));
    let l = config_line(&out, "store");
    assert!(
        l.contains(&format!("{:?}", by_env.root.display().to_string())),
        "{l}"
    );
    assert!(l.contains("# $CODEX_SESSION_STORE"), "{l}");
    assert_eq!(
        in_file.list().len(),
        1,
        "nothing else went to the file's store"
    );
}

#[test]
fn term_from_the_config() {
    let e = Env::new("term = \"screen\"\n");
    e.start("t", &[], &["sh", "-c", "echo T=$TERM."]);
    e.wait_ended("t", WAIT);
    assert_eq!(e.ok(["logs", "t"]), "T=screen.\n");
    e.start(
        "u",
        &["--env", "TERM=vt100"],
        &["sh", "-c", "echo T=$TERM."],
    );
    e.wait_ended("u", WAIT);
    assert_eq!(e.ok(["logs", "u"]), "T=vt100.\n", "--env TERM wins");
    e.config("");
    e.start("v", &[], &["sh", "-c", "echo T=$TERM."]);
    e.wait_ended("v", WAIT);
    assert_eq!(e.ok(["logs", "v"]), "T=xterm-256color.\n");
}

#[test]
fn detach_key_from_the_config() {
    let e = Env::new("detach_key = \"^Q\"\n");
    e.start("d", &[], &["sh", "-c", "echo READY; exec sleep 100"]);
    e.wait_log("d", "READY");
    let mut t = Term::spawn(e.cmd(["attach", "d"]), 80, 24);
    t.wait_screen("the repaint", |sc| sc.contains("READY"));
    wait_for("raw mode", WAIT, || {
        (!t.termios()
            .local_modes
            .contains(rustix::termios::LocalModes::ICANON))
        .then_some(())
    });
    t.write(b"\x11");
    let st = t.wait();
    assert_eq!(st.code(), Some(0), "{}", t.screen());
    t.wait_screen("the detach notice", |sc| sc.contains("[detached from d]"));
    assert_eq!(e.entry("d")["status"], "running");
}
