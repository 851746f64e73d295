//! The SSH agent that follows the person: the program's SSH_AUTH_SOCK is
//! the session's `agent.sock`, pointed at the agent of the terminal that
//! attached last. Fake agents are listening sockets made by the test; the
//! program connects to $SSH_AUTH_SOCK and says which line it was given.

use std::io::Read;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use crate::support::attach::{DETACH, wait_raw_mode};
use crate::support::pty::Term;
use crate::support::*;

const PROGRAM: &str = r#"
import os, socket, sys
print("agent at", os.environ.get("SSH_AUTH_SOCK"), flush=True)
for line in sys.stdin:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(os.environ["SSH_AUTH_SOCK"])
        s.sendall(line.strip().encode())
    except OSError as e:
        print("failed", e, flush=True)
    s.close()
"#;

/// A fake agent: a listening socket in the test's folder.
fn agent(s: &Store, name: &str) -> (PathBuf, UnixListener) {
    let p = s.tmp.path().join(name);
    let l = UnixListener::bind(&p).expect("binding a fake agent");
    l.set_nonblocking(true).unwrap();
    (p, l)
}

/// What the program sent to this agent next.
fn heard(l: &UnixListener) -> String {
    let (mut c, _) = wait_for("the program to reach the agent", WAIT, || l.accept().ok());
    c.set_nonblocking(false).unwrap();
    let mut got = String::new();
    c.read_to_string(&mut got).unwrap();
    got
}

fn link(s: &Store, name: &str) -> Option<PathBuf> {
    std::fs::read_link(s.dir(name).join("agent.sock")).ok()
}

fn wait_link(s: &Store, name: &str, to: &Path) {
    wait_for(
        &format!("agent.sock to point at {}", to.display()),
        WAIT,
        || (link(s, name).as_deref() == Some(to)).then_some(()),
    );
}

fn attach_with_agent(s: &Store, name: &str, sock: &Path) -> Term {
    let mut c = s.cmd(["attach", name]);
    c.env("SSH_AUTH_SOCK", sock);
    let mut t = Term::spawn(c, 80, 24);
    wait_raw_mode(&mut t);
    t
}

fn start(s: &Store, name: &str, sock: &Path) {
    let script = fixture(s, "agent.py", PROGRAM);
    let mut c = s.cmd(["run", "--bg", "--name", name, "--", PYTHON, &script]);
    c.env("SSH_AUTH_SOCK", sock);
    run_ok(&mut c);
}

#[test]
fn an_attach_with_a_new_agent_repoints_the_session_and_a_detach_points_back() {
    let s = Store::new();
    let (a, la) = agent(&s, "agent.a");
    let (b, lb) = agent(&s, "agent.b");
    start(&s, "ag", &a);
    let sock = s.dir("ag").join("agent.sock");
    s.wait_log("ag", &format!("agent at {}", sock.display()));
    assert_eq!(link(&s, "ag").as_deref(), Some(a.as_path()));
    assert_eq!(s.entry("ag")["agent_follow"], true);

    s.ok(["send", "ag", "one", "--submit"]);
    assert_eq!(heard(&la), "one");

    // A person comes back over a new SSH connection, with a new agent.
    let mut t = attach_with_agent(&s, "ag", &b);
    wait_link(&s, "ag", &b);
    s.ok(["send", "ag", "two", "--submit"]);
    assert_eq!(heard(&lb), "two");

    // They leave: the link goes back to the agent the session began with.
    t.write(DETACH);
    t.wait();
    wait_link(&s, "ag", &a);
    s.ok(["send", "ag", "three", "--submit"]);
    assert_eq!(heard(&la), "three");

    let ev = events(&s, "ag");
    let pointed: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"] == "agent" && e["socket"].is_string())
        .map(|e| e["socket"].as_str().unwrap())
        .collect();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    assert_eq!(pointed, [a, b, a]);
}

#[test]
fn an_agent_that_is_no_socket_is_refused() {
    let s = Store::new();
    let (a, _la) = agent(&s, "agent.a");
    start(&s, "ag", &a);
    let file = s.tmp.path().join("not-a-socket");
    std::fs::write(&file, "x").unwrap();
    let _t = attach_with_agent(&s, "ag", &file);
    let refusal = wait_for("the refusal", WAIT, || {
        events(&s, "ag")
            .into_iter()
            .find(|e| e["event"] == "agent" && e["refused"].is_string())
    });
    assert_eq!(refusal["reason"], "not a socket");
    assert_eq!(refusal["refused"], file.to_str().unwrap());
    assert_eq!(link(&s, "ag").as_deref(), Some(a.as_path()));
}

#[test]
fn without_following_the_program_gets_the_agent_as_is() {
    let s = Store::new();
    let (a, _la) = agent(&s, "agent.a");
    let config = fixture(&s, "sessions.toml", "ssh_agent_follow = false\n");
    let script = fixture(&s, "agent.py", PROGRAM);
    let mut c = s.cmd(["--config", &config, "run", "--bg", "--name", "ag", "--"]);
    c.args([PYTHON, &script]).env("SSH_AUTH_SOCK", &a);
    run_ok(&mut c);
    s.wait_log("ag", &format!("agent at {}", a.display()));
    assert!(link(&s, "ag").is_none());
    assert_eq!(s.entry("ag")["agent_follow"], false);
    // Nor when there is no agent to begin with.
    let mut c = s.cmd(["run", "--bg", "--name", "none", "--", PYTHON, &script]);
    c.env_remove("SSH_AUTH_SOCK");
    run_ok(&mut c);
    s.wait_log("none", "agent at None");
    assert!(link(&s, "none").is_none());
}
