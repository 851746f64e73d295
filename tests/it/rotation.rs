//! Log rotation as `logs`, `logs -f`, `ps`, `capture` and `list` see it:
//! `logs.max_size` and `logs.keep`, every byte kept in order or the newest
//! ones, a follower that falls behind.

use std::path::Path;
use std::time::Duration;

use crate::support::*;

const MIB: usize = 1 << 20;
/// Every generated line is nine digits, then CR LF in the log (the PTY
/// turns the program's `\n` into `\r\n`).
const LINE: usize = 11;

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
    let script = fixture(&e, "gen.py", GEN);
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
    let script = fixture(&e, "gen.py", GEN);
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

    let follow = spawn(e.cmd(["logs", "-f", "--color", "always", "gen"]));
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
    let out = follow.finish();
    let (st, err, got) = (out.status, stderr(&out), out.stdout);
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
    let script = fixture(&e, "gen.py", GEN);
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
    let follow = spawn(e.cmd(["logs", "-f", "--color", "always", "gen"]));
    follow.wait_len(LINE);
    std::fs::write(godir.join("go0"), "").unwrap();
    std::fs::write(godir.join("go1"), "").unwrap();
    let out = follow.finish();
    let (st, err, got) = (out.status, stderr(&out), out.stdout);
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
