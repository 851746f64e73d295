//! `codex-session mcp`: driven by a real MCP client (the official Python SDK,
//! tests/mcp/client.py) for the tools' behaviour, and by a few hand-written
//! JSON-RPC lines here for what a client library would hide: a person
//! attached to the same session, the server killed mid-call, garbage input.
//!
//! The Python SDK (`pip install mcp`) is looked for in
//! $CODEX_SESSION_TEST_PYTHON, target/mcp-venv (where .ci/run installs it),
//! /usr/bin/python3 and python3. Without it the client tests skip with a
//! message, unless CI=true, where they fail.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::attach::*;
use crate::support::*;

// --- the Python SDK's client -----------------------------------------------------

/// A Python that can `import mcp`, or why there is none.
fn python_with_mcp() -> Result<String, String> {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let mut candidates: Vec<String> = Vec::new();
    if let Some(p) = std::env::var_os("CODEX_SESSION_TEST_PYTHON") {
        candidates.push(p.to_string_lossy().into_owned());
    }
    candidates.push(format!("{manifest}/target/mcp-venv/bin/python3"));
    candidates.push(PYTHON.to_string());
    candidates.push("python3".to_string());
    for py in &candidates {
        let ok = Command::new(py)
            .args(["-c", "import mcp.client.stdio"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(py.clone());
        }
    }
    Err(format!(
        "the MCP Python SDK is not installed (tried {}); `bash .ci/run` installs it, or \
         `python3 -m venv target/mcp-venv && target/mcp-venv/bin/pip install mcp`",
        candidates.join(", ")
    ))
}

/// Run tests/mcp/client.py with these steps against a fresh store.
fn client(mode: &str, steps: &[&str]) {
    let py = match python_with_mcp() {
        Ok(p) => p,
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("{why}"),
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let s = Store::new();
    std::fs::create_dir_all(&s.root).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/client.py");
    let mut cmd = Command::new(&py);
    cmd.arg(script).arg(BIN).arg(&s.root).arg(mode).args(steps);
    // The server it starts sees the same clean environment as the CLI's.
    cmd.env_remove("CODEX_SESSION_STORE")
        .env_remove("CODEX_HOME")
        .env_remove("CODEX_SESSION_CONFIG")
        .env("HOME", s.tmp.path());
    let out = output_with_timeout(&mut cmd, Duration::from_secs(50));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        out.status.success(),
        "client.py {mode} {steps:?} failed:\n{text}"
    );
    assert!(stdout(&out).contains("ok: done"), "{text}");
}

#[test]
fn mcp_client_lists_tools_and_talks_to_a_repl() {
    client("legacy", &["tools", "repl"]);
}

#[test]
fn mcp_client_pages_a_5mb_log() {
    client("legacy", &["big_log"]);
}

#[test]
fn mcp_client_waits_for_output_and_reads_vim() {
    client("legacy", &["wait_regex", "vim_screen"]);
}

#[test]
fn mcp_client_bad_arguments_list_stop_remove() {
    client("legacy", &["bad_arguments", "stop_and_remove"]);
}

#[test]
fn mcp_client_reads_and_subscribes_to_resources() {
    client("legacy", &["resources"]);
}

#[test]
fn mcp_client_on_the_newest_protocol() {
    client("auto", &["modern"]);
}

// --- hand-written JSON-RPC -------------------------------------------------------

/// `codex-session mcp` on pipes, initialized as client "rust-test".
struct Mcp {
    child: Child,
    /// None once closed.
    stdin: Option<ChildStdin>,
    lines: Receiver<Value>,
    id: u64,
}

impl Mcp {
    fn start(s: &Store) -> Mcp {
        let mut cmd = s.cmd(["mcp"]);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("spawning codex-session mcp");
        let stdin = child.stdin.take().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
                    panic!("the server wrote a line that is not JSON ({e}): {line:?}")
                });
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let mut m = Mcp {
            child,
            stdin: Some(stdin),
            lines,
            id: 0,
        };
        let r = m.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "rust-test", "version": "1"}}),
        );
        assert_eq!(r["result"]["serverInfo"]["name"], "codex-session", "{r}");
        m.line(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string());
        m
    }

    fn line(&mut self, l: &str) {
        let w = self.stdin.as_mut().expect("standard input open");
        writeln!(w, "{l}").expect("writing to the server");
        w.flush().unwrap();
    }

    /// Send a request; its id.
    fn post(&mut self, method: &str, params: Value) -> u64 {
        self.id += 1;
        let id = self.id;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.line(&msg.to_string());
        id
    }

    /// The response to request `id` (notifications and others skipped).
    fn response(&mut self, id: u64) -> Value {
        let end = Instant::now() + CMD_TIMEOUT;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let v = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no response to request {id} within {CMD_TIMEOUT:?}"));
            if v["id"] == id {
                return v;
            }
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.post(method, params);
        self.response(id)
    }

    /// A tool call's result (isError or not).
    fn call(&mut self, tool: &str, args: Value) -> Value {
        let r = self.request("tools/call", json!({"name": tool, "arguments": args}));
        r.get("result")
            .cloned()
            .unwrap_or_else(|| panic!("{tool} {args}: not a result: {r}"))
    }

    /// A tool call that must succeed: its structured content.
    fn ok(&mut self, tool: &str, args: Value) -> Value {
        let r = self.call(tool, args.clone());
        assert_eq!(r["isError"], false, "{tool} {args}: {r}");
        r["structuredContent"].clone()
    }
}

impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn input_events(s: &Store, name: &str) -> Vec<Value> {
    let b = std::fs::read(s.dir(name).join("events.jsonl")).unwrap_or_default();
    String::from_utf8_lossy(&b)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "input")
        .collect()
}

#[test]
fn mcp_input_is_seen_by_a_person_attached_and_never_joins_their_draft() {
    let mut s = Store::new();
    // The person's unfinished line alone holds the agent back, however long
    // they pause; once it is submitted, a short pause lets the agent in.
    let cfg = s.tmp.path().join("sessions.toml");
    std::fs::write(&cfg, "draft_quiet = \"100ms\"\n").unwrap();
    s.env.push(("CODEX_SESSION_CONFIG".into(), cfg.into()));
    let mut m = Mcp::start(&s);
    let r = m.ok(
        "session_start",
        json!({"command": "cat", "name": "c", "wait_idle": 0}),
    );
    assert_eq!(r["status"], "running", "{r}");
    let mut t = attach(&s, "c", 80, 24);

    // The person starts a line: the agent's input is refused, not mixed in.
    t.write(b"draft");
    t.wait_screen("the person's draft echoed", |sc| sc.contains("draft"));
    let r = m.call(
        "session_send",
        json!({"name": "c", "text": "AGENT", "submit": true, "timeout": "300ms"}),
    );
    assert_eq!(r["isError"], true, "{r}");
    let msg = text(&r);
    assert!(
        msg.contains("typing a line") && msg.contains("nothing was sent"),
        "{msg}"
    );
    let refused = input_events(&s, "c");
    assert_eq!(refused.last().unwrap()["delivered"], false, "{refused:?}");
    assert_eq!(
        refused.last().unwrap()["as"],
        "mcp:rust-test",
        "{refused:?}"
    );

    // Once the person's line is done, the agent's input goes through, and the
    // person sees it on their screen.
    t.write(b"\r");
    t.wait_screen("cat's answer to the person", |sc| {
        sc.lines().filter(|l| l.trim() == "draft").count() == 2
    });
    let r = m.ok(
        "session_send",
        json!({"name": "c", "text": "from-the-agent", "submit": true, "wait_idle": "200ms"}),
    );
    assert_eq!(
        r["answer"].as_str().unwrap().lines().next(),
        Some("from-the-agent"),
        "{r}"
    );
    t.wait_screen("the agent's input on the person's screen", |sc| {
        sc.contains("from-the-agent")
    });
    let sent = input_events(&s, "c");
    let last = sent.last().unwrap();
    assert_eq!(last["as"], "mcp:rust-test", "{sent:?}");
    assert!(last["uid"].is_number() && last["pid"].is_number(), "{last}");
    let log = std::fs::read_to_string(s.dir("c").join("output.log")).unwrap();
    assert!(
        !log.contains("AGENT"),
        "the refused input reached the program: {log:?}"
    );
}

#[test]
fn mcp_server_killed_mid_call_leaves_the_session_running() {
    let s = Store::new();
    let mut m = Mcp::start(&s);
    m.ok(
        "session_start",
        json!({"command": "cat", "name": "k", "wait_idle": 0}),
    );
    // A call that waits (for output that never comes) ...
    m.post(
        "tools/call",
        json!({"name": "session_send", "arguments":
            {"name": "k", "text": "waiting", "submit": true, "wait_output": "^never$", "timeout": 20}}),
    );
    // ... is under way once its input was delivered: kill the server then.
    wait_for("the input delivered", WAIT, || {
        (!input_events(&s, "k").is_empty()).then_some(())
    });
    m.child.kill().unwrap();
    m.child.wait().unwrap();
    let e = s.entry("k");
    assert_eq!(e["status"], "running", "{e}");
    assert!(alive(e["pid"].as_i64().unwrap() as i32));
    let out = s.ok([
        "send",
        "k",
        "still-here",
        "--submit",
        "--wait-idle",
        "300ms",
    ]);
    assert!(out.contains("still-here"), "{out}");
    s.ok(["stop", "k"]);
}

#[test]
fn mcp_garbage_and_protocol_errors_do_not_stop_the_server() {
    let s = Store::new();
    let mut m = Mcp::start(&s);
    m.line("this is not JSON");
    m.line("{\"jsonrpc\": \"2.0\", \"id\": \"x\", \"method\": ");
    let r = m.request("no/such/method", json!({}));
    assert!(r["error"].is_object(), "{r}");
    let r = m.request(
        "tools/call",
        json!({"name": "no_such_tool", "arguments": {}}),
    );
    assert!(
        r["error"].is_object() || r["result"]["isError"] == true,
        "{r}"
    );
    // Arguments that are not an object cannot even be routed: a protocol error.
    let r = m.request(
        "tools/call",
        json!({"name": "session_logs", "arguments": "x"}),
    );
    assert!(
        r["error"].is_object() || r["result"]["isError"] == true,
        "{r}"
    );
    let r = m.call("session_wait", json!({"name": "x", "timeout": 1e300}));
    assert_eq!(r["isError"], true, "{r}");
    // Still serving, and the store is untouched.
    let r = m.ok("session_list", json!({}));
    assert_eq!(r["sessions"], json!([]), "{r}");
    assert!(m.child.try_wait().unwrap().is_none(), "the server exited");
}

#[test]
fn mcp_ends_when_its_client_closes_the_pipe() {
    let s = Store::new();
    let mut m = Mcp::start(&s);
    m.ok(
        "session_start",
        json!({"command": "cat", "name": "stays", "wait_idle": 0}),
    );
    // End of input: the server exits; the session it started stays.
    drop(m.stdin.take());
    let st = wait_child(&mut m.child, WAIT);
    assert!(st.success(), "{st:?}");
    assert_eq!(s.entry("stays")["status"], "running");
    s.ok(["stop", "stays"]);
}
