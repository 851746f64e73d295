//! run --bg, list, stop: the shortest path a user takes.

use crate::support::*;

#[test]
fn run_list_stop() {
    let s = Store::new();
    assert_eq!(
        s.start("api", &["sh", "-c", "echo hello; exec sleep 60"]),
        "api"
    );
    s.wait_log("api", "hello");
    let e = s.wait_status("api", "running");
    assert!(alive(e["pid"].as_i64().unwrap() as i32));
    let out = s.ok(["stop", "api"]);
    assert!(out.contains("stopped api"), "{out}");
    let e = s.entry("api");
    assert_eq!(e["status"], "killed");
    assert_eq!(e["signal"], "SIGHUP", "stop sends HUP first");
}
