//! The running-session limit, `max_sessions`: refused with the limit, the
//! count and the key to raise (not a list of every session), and kept under
//! concurrent starts.

use std::process::Output;

use crate::support::*;

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

/// The refusal names the limit, the count and the key, and none of the
/// running sessions (a thousand names help nobody).
#[track_caller]
fn assert_refused(out: &Output, max: usize, running: &[&str]) {
    let err = fails(out);
    assert!(
        err.contains(&format!("max_sessions is {max}")),
        "names the limit and its key: {err}"
    );
    assert!(
        err.contains(&format!("{} are running", running.len())),
        "{err}"
    );
    assert!(err.contains("raise max_sessions in"), "{err}");
    for w in running {
        assert!(
            !words(&err).contains(w),
            "does not list what is running ({w}): {err}"
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
