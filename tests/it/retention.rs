//! Retention: `retain_exited` applied by `list` (every time) and `run` (at
//! most once per interval), and `prune`.

use serde_json::Value;

use crate::support::*;

/// Replace a top-level field of a session's meta.json.
fn set_meta(s: &Store, name: &str, key: &str, v: Value) {
    let mut m = s.meta(name);
    m[key] = v;
    let p = s.dir(name).join("meta.json");
    std::fs::write(&p, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

/// Remove the stamp that says when retention last ran, so the next `run`
/// applies it.
fn forget_retention(s: &Store) {
    let _ = std::fs::remove_file(s.root.join(".retention"));
}

/// A time long past, for retention.
const LONG_AGO: &str = "2001-02-03T04:05:06Z";

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
    // `run` applies retention at most once an hour (or per `retain_exited`
    // if shorter), and `list` just did: forget when it last ran.
    forget_retention(&e);
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
    forget_retention(&e);
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
