//! `run --restart`: the program started again on the same terminal, with
//! growing delays, bounded, and ended for good by `stop`.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::support::*;

/// The `restarted` events, in order.
fn restarts(s: &Store, name: &str) -> Vec<Value> {
    events(s, name)
        .into_iter()
        .filter(|e| e["event"] == "restarted")
        .collect()
}

fn ts(e: &Value) -> SystemTime {
    humantime::parse_rfc3339(e["ts"].as_str().expect("ts")).expect("an RFC 3339 time")
}

fn gap(a: &Value, b: &Value) -> Duration {
    ts(b).duration_since(ts(a)).expect("events in time order")
}

#[test]
fn a_failing_program_is_restarted_with_growing_delays_up_to_the_bound() {
    let s = Store::new();
    s.ok([
        "run",
        "--bg",
        "--name",
        "flaky",
        "--restart",
        "on-failure",
        "--restart-delay",
        "100ms",
        "--max-restarts",
        "3",
        "--",
        "sh",
        "-c",
        "echo run; exit 1",
    ]);
    // Not ended while it will restart: wait --exit sees the last run's end.
    let out = s.run(["wait", "flaky", "--exit", "--timeout", "20s"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    let ev = restarts(&s, "flaky");
    assert_eq!(ev.len(), 3, "{ev:?}");
    let delays: Vec<u64> = ev.iter().map(|e| e["delay_ms"].as_u64().unwrap()).collect();
    assert_eq!(delays, [100, 200, 400]);
    for (i, e) in ev.iter().enumerate() {
        assert_eq!(e["attempt"], i as u64 + 1);
        assert_eq!(e["previous"]["code"], 1);
    }
    // The delays are waited: each restart comes at least its delay after
    // the one before (and each run takes a little more).
    let all = events(&s, "flaky");
    let started = all.iter().find(|e| e["event"] == "started").unwrap();
    assert!(gap(started, &ev[0]) >= Duration::from_millis(100));
    assert!(gap(&ev[0], &ev[1]) >= Duration::from_millis(200));
    assert!(gap(&ev[1], &ev[2]) >= Duration::from_millis(400));
    assert_eq!(all.iter().filter(|e| e["event"] == "exited").count(), 1);

    let m = s.meta("flaky");
    assert_eq!(m["restarts"], 3);
    assert_eq!(m["last_exit"]["code"], 1);
    assert_eq!(m["exit_code"], 1);
    assert_eq!(m["restart"], "on-failure");
    let e = s.entry("flaky");
    assert_eq!(
        (e["restarts"].as_u64(), e["status"].as_str()),
        (Some(3), Some("exited"))
    );
    let table = s.ok(["list"]);
    assert!(
        list_row(&table, "flaky").contains("exited 1 (3 restarts)"),
        "{table}"
    );
    // One log, every run in it.
    let log = String::from_utf8_lossy(&std::fs::read(s.dir("flaky").join("output.log")).unwrap())
        .into_owned();
    assert_eq!(log.matches("run").count(), 4, "{log:?}");
}

#[test]
fn stop_during_the_restart_delay_stops_it_for_good() {
    let s = Store::new();
    s.ok([
        "run",
        "--bg",
        "--name",
        "svc",
        "--restart",
        "always",
        "--restart-delay",
        "30s",
        "--",
        "true",
    ]);
    wait_for("the restart delay", WAIT, || {
        s.meta("svc")["restart_at"].as_str().map(|_| ())
    });
    let table = s.ok(["list"]);
    assert!(list_row(&table, "svc").contains("restarting"), "{table}");
    let began = std::time::Instant::now();
    s.ok(["stop", "svc"]);
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "stop took the delay"
    );
    let e = s.entry("svc");
    assert_eq!(e["status"], "exited");
    assert_eq!(e["restarts"], 0);
    assert_eq!(e["end_reason"], "stopped");
    assert!(restarts(&s, "svc").is_empty());
    assert!(e["restart_at"].is_null());
}

#[test]
fn stop_while_running_ends_the_policy() {
    let s = Store::new();
    s.ok([
        "run",
        "--bg",
        "--name",
        "svc",
        "--restart",
        "always",
        "--restart-delay",
        "100ms",
        "--",
        "sleep",
        "100",
    ]);
    s.ok(["stop", "svc"]);
    let e = s.wait_status("svc", "killed");
    assert_eq!(e["restarts"], 0);
    assert!(restarts(&s, "svc").is_empty());
}

#[test]
fn always_restarts_after_a_clean_exit_with_a_marker_when_asked() {
    let s = Store::new();
    s.ok([
        "run",
        "--bg",
        "--name",
        "job",
        "--restart",
        "always",
        "--restart-delay",
        "50ms",
        "--max-restarts",
        "2",
        "--restart-marker",
        "--",
        "sh",
        "-c",
        "echo tick",
    ]);
    let out = s.run(["wait", "job", "--exit", "--timeout", "20s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ev = restarts(&s, "job");
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(ev[0]["previous"]["code"], 0);
    let log = String::from_utf8_lossy(&std::fs::read(s.dir("job").join("output.log")).unwrap())
        .into_owned();
    assert_eq!(log.matches("tick").count(), 3, "{log:?}");
    assert!(
        log.contains("[codex-session: exited with code 0; restart 1]")
            && log.contains("; restart 2]"),
        "{log:?}"
    );
    // The meta and the count agree with the log's byte count.
    assert_eq!(
        s.meta("job")["output_bytes"].as_u64(),
        Some(log.len() as u64)
    );
}

#[test]
fn on_failure_does_not_restart_a_clean_exit_and_no_marker_by_default() {
    let s = Store::new();
    s.ok([
        "run",
        "--bg",
        "--name",
        "ok",
        "--restart",
        "on-failure",
        "--restart-delay",
        "50ms",
        "--",
        "sh",
        "-c",
        "echo done",
    ]);
    let out = s.run(["wait", "ok", "--exit", "--timeout", "20s"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(restarts(&s, "ok").is_empty());
    assert!(!s.wait_log("ok", "done").contains("codex-session"));
}

#[test]
fn the_restart_flags_are_checked() {
    let s = Store::new();
    let out = s.run(["run", "--bg", "--restart", "sometimes", "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = s.run(["run", "--bg", "--restart-delay", "0s", "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("codex-session: "),
        "{}",
        stderr(&out)
    );
}

#[test]
fn input_sent_during_the_delay_reaches_the_next_run() {
    let s = Store::new();
    s.ok([
        "run",
        "--bg",
        "--name",
        "reader",
        "--restart",
        "on-failure",
        "--restart-delay",
        "2s",
        "--max-restarts",
        "1",
        "--",
        "sh",
        "-c",
        "read x; echo \"got $x\"; exit 1",
    ]);
    s.ok(["send", "reader", "first", "--submit"]);
    wait_for("the restart delay", WAIT, || {
        s.meta("reader")["restart_at"].as_str().map(|_| ())
    });
    s.ok(["send", "reader", "second", "--submit"]);
    let out = s.run(["wait", "reader", "--exit", "--timeout", "20s"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let log = s.wait_log("reader", "got second");
    assert!(log.contains("got first"), "{log:?}");
    assert_eq!(restarts(&s, "reader").len(), 1);
}
