//! What the speed work must not weaken (issue 13): `max_sessions` counted
//! from the running sessions' slots stays exact, a failed start leaves
//! nothing behind, retention still happens (at most once per interval).
//! Functional checks only; the timings are `cargo xtask bench`'s.

use std::process::Output;
use std::time::{Duration, SystemTime};

use crate::support::*;

/// The slots in the store's `.running` folder.
fn slots(s: &Store) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(s.root.join(".running"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn start_many(e: &Env, n: usize) -> Vec<(String, Output)> {
    std::thread::scope(|sc| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                sc.spawn(move || {
                    let name = format!("race{i}");
                    let out = e.run(["run", "--bg", "--name", &name, "--", "sleep", "100"]);
                    (name, out)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn twenty_racing_starts_respect_max_sessions() {
    let e = Env::new("max_sessions = 7\n");
    let results = start_many(&e, 20);
    let won: Vec<&str> = results
        .iter()
        .filter(|(_, o)| o.status.success())
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(won.len(), 7, "exactly 7 start: {won:?}");
    for (name, out) in results.iter().filter(|(_, o)| !o.status.success()) {
        let err = fails(out);
        assert!(err.contains("max_sessions is 7"), "{err}");
        assert!(!e.dir(name).exists(), "{name} left its folder behind");
    }
    assert_eq!(slots(&e).len(), 7, "one slot per running session");
    let running = e.list().iter().filter(|x| x["status"] == "running").count();
    assert_eq!(running, 7);
}

#[test]
fn an_ended_or_killed_session_frees_its_slot() {
    let e = Env::new("max_sessions = 2\n");
    e.start("a", &[], &["sleep", "100"]);
    e.start("b", &[], &["sleep", "100"]);
    fails(&e.run(["run", "--bg", "--name", "c", "--", "sleep", "100"]));

    // Stopped: its supervisor gives the slot back.
    e.ok(["stop", "b"]);
    wait_for("b's slot to go", WAIT, || {
        (slots(&e).len() == 1).then_some(())
    });
    e.start("c", &[], &["sleep", "100"]);

    // Killed: the slot stays, but nobody holds its lock, so it is stale.
    let m = e.meta("a");
    let (sup, pid) = (
        m["supervisor_pid"].as_i64().unwrap(),
        m["pid"].as_i64().unwrap(),
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sup as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    wait_for("a's supervisor to go", WAIT, || {
        (!alive(sup as i32)).then_some(())
    });
    // (`list` would sweep it away: not called before the start below.)
    assert_eq!(slots(&e).len(), 2, "a killed supervisor leaves its slot");
    e.start("d", &[], &["sleep", "100"]);
    let out = e.run(["run", "--bg", "--name", "f", "--", "sleep", "100"]);
    let err = fails(&out);
    assert!(err.contains("2 are running (c, d)"), "{err}");
    assert_eq!(slots(&e).len(), 2, "the stale slot was removed");
}

#[test]
fn a_failed_start_leaves_no_slot() {
    let e = Env::new("max_sessions = 1\n");
    // Executable, but exec fails (no such interpreter).
    let script = e.tmp.path().join("broken");
    std::fs::write(&script, "#!/nonexistent/interpreter\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = e.run([
        "run",
        "--bg",
        "--name",
        "bad",
        "--",
        script.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(!e.dir("bad").exists());
    assert!(slots(&e).is_empty(), "{:?}", slots(&e));
    // The one allowed session can still start.
    e.start("good", &[], &["sleep", "100"]);
}

#[test]
fn sessions_started_before_slots_existed_are_counted() {
    let e = Env::new("max_sessions = 2\n");
    e.start("a", &[], &["sleep", "100"]);
    e.start("b", &[], &["sleep", "100"]);
    // As a store from an older version: no slots.
    std::fs::remove_dir_all(e.root.join(".running")).unwrap();
    let err = fails(&e.run(["run", "--bg", "--name", "c", "--", "sleep", "100"]));
    assert!(err.contains("2 are running (a, b)"), "{err}");
    assert_eq!(slots(&e).len(), 2, "{:?}", slots(&e));
}

#[test]
fn run_applies_retention_at_most_once_per_interval() {
    let e = Env::new("retain_exited = \"1h\"\n");
    e.start("old", &[], &["true"]);
    e.wait_ended("old", WAIT);
    let p = e.dir("old").join("meta.json");
    let mut m = e.meta("old");
    m["ended"] = "2001-02-03T04:05:06Z".into();
    std::fs::write(&p, serde_json::to_vec_pretty(&m).unwrap()).unwrap();

    // The last pass was just now (the first run made it).
    e.start("x", &[], &["true"]);
    assert!(e.dir("old").exists(), "no second pass within the interval");

    // Two hours later, the next run makes one.
    let stamp = std::fs::File::options()
        .write(true)
        .open(e.root.join(".retention"))
        .expect("the first run left a stamp");
    stamp
        .set_modified(SystemTime::now() - Duration::from_secs(7200))
        .unwrap();
    e.start("y", &[], &["true"]);
    assert!(!e.dir("old").exists(), "run removed old");
}
