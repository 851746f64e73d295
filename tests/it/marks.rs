//! What programs tell their terminal (issue 15): shell integration and the
//! command marks (OSC 133) behind `send --wait-command` and `wait
//! --command`; notifications, progress, bell and title as events;
//! attention; focus reports. Real shells: bash always, zsh and fish where
//! installed (CI installs them).

use std::process::Output;

use serde_json::Value;

use crate::support::attach::*;
use crate::support::*;

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    )
}

fn of_kind(evs: &[Value], kind: &str) -> Vec<Value> {
    evs.iter().filter(|e| e["event"] == kind).cloned().collect()
}

/// A shell started by `run --shell SHELL`, then a command turn for agents.
fn command_turns(shell: &str) {
    if !require(shell) {
        return;
    }
    let s = Store::new();
    // zsh offers its set-up wizard to a user without startup files.
    std::fs::write(s.tmp.path().join(".zshrc"), "").unwrap();
    assert_eq!(
        s.ok(["run", "--bg", "--name", "sh", "--shell", shell]),
        "sh\n"
    );
    assert_eq!(s.meta("sh")["shell_integration"], shell);

    let o = s.run(["send", "sh", "false", "--submit", "--wait-command"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let o = s.run(["send", "sh", "echo hi", "--submit", "--wait-command"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(stdout(&o), "hi\n", "{}", show(&o));

    let evs = events(&s, "sh");
    let ends = of_kind(&evs, "command-end");
    assert_eq!(ends.len(), 2, "{evs:?}");
    assert_eq!(ends[0]["exit_code"], 1);
    assert_eq!(ends[1]["exit_code"], 0);
    assert_eq!(ends[1]["command"], "echo hi");
    assert!(ends[1]["duration_ms"].is_u64());
    let starts = of_kind(&evs, "command-start");
    assert_eq!(starts[1]["command"], "echo hi");
    assert!(!of_kind(&evs, "prompt").is_empty());
    // The output range is the command's output in the log.
    let range = ends[1]["output"].as_array().unwrap().clone();
    let (a, b) = (range[0].as_u64().unwrap(), range[1].as_u64().unwrap());
    let log = std::fs::read(s.dir("sh").join("output.log")).unwrap();
    let out = &log[a as usize..b as usize];
    if shell == "bash" {
        assert_eq!(out, b"hi\r\n");
    } else {
        // zsh marks a partial last line before its prompt hook runs; fish
        // sets the title after its preexec hook.
        assert!(out.windows(4).any(|w| w == b"hi\r\n"), "{out:?}");
    }

    let info: Value = serde_json::from_str(&s.ok(["inspect", "--json", "sh"])).unwrap();
    assert_eq!(info["last_command"]["command"], "echo hi");
    assert_eq!(info["last_command"]["exit_code"], 0);
    assert!(info["last_prompt"].is_string());
}

#[test]
fn bash_reports_its_commands() {
    command_turns("bash");
}

#[test]
fn zsh_reports_its_commands() {
    command_turns("zsh");
}

#[test]
fn fish_reports_its_commands() {
    command_turns("fish");
}

#[test]
fn wait_command_follows_a_command_already_running() {
    if !cfg!(target_os = "linux") {
        return skip("looks at /proc for the waiting process's connection");
    }
    let s = Store::new();
    s.ok(["run", "--bg", "--name", "sh", "--shell", "bash"]);
    s.ok(["send", "sh", "read x; echo got $x; (exit 4)", "--submit"]);
    wait_for("the command to start", WAIT, || {
        s.meta("sh")["last_command"]["command"]
            .as_str()
            .is_some_and(|c| c.starts_with("read x"))
            .then_some(())
    });
    let w = spawn(s.cmd(["wait", "sh", "--command", "--timeout", "20s"]));
    // Connected: the waiting process holds a socket.
    let fds = format!("/proc/{}/fd", w.pid());
    wait_for("wait to connect", WAIT, || {
        std::fs::read_dir(&fds).ok()?.flatten().find(|e| {
            std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
        })
    });
    s.ok(["send", "sh", "foo", "--submit"]);
    let o = w.finish_within(CMD_TIMEOUT);
    assert_eq!(code(&o), 4, "{}", show(&o));
    assert!(stdout(&o).contains("got foo"), "{}", show(&o));
}

#[test]
fn without_marks_the_command_waits_fail_fast_naming_wait_idle() {
    let e = Env::new("shell_integration = false\n");
    e.ok(["run", "--bg", "--name", "plain", "--shell", "bash"]);
    e.ok([
        "run",
        "--bg",
        "--name",
        "flag",
        "--no-shell-integration",
        "--shell",
        "bash",
    ]);
    for name in ["plain", "flag"] {
        // Exactly as before: the shell alone, nothing written for it.
        let m = e.meta(name);
        assert_eq!(m["command"], serde_json::json!(["bash"]), "{m}");
        assert!(m["shell_integration"].is_null());
        assert!(!e.dir(name).join("shell").exists());
        let o = e.run(["send", name, "echo hi", "--submit", "--wait-command"]);
        assert_eq!(code(&o), 1, "{}", show(&o));
        assert!(stderr(&o).contains("--wait-idle"), "{}", show(&o));
        let o = e.run(["wait", name, "--command"]);
        assert_eq!(code(&o), 1, "{}", show(&o));
        assert!(stderr(&o).contains("--wait-idle"), "{}", show(&o));
    }
    // The shell works as ever, and prints no marks.
    e.ok(["send", "plain", "echo ok-$((40+2))", "--submit"]);
    e.wait_log("plain", "ok-42");
    let log = std::fs::read(e.dir("plain").join("output.log")).unwrap();
    assert!(!String::from_utf8_lossy(&log).contains("]133;"));
}

#[test]
fn notifications_progress_bell_and_title_are_events() {
    let s = Store::new();
    start_py(
        &s,
        "tell",
        "tell.py",
        r#"import sys
w = sys.stdout.write
w("\x1b]9;approval requested\x07")
w("\x1b]777;notify;Build;done in 3s\x1b\\")
w("\x1b]99;i=7:d=0;Kitty\x1b\\\x1b]99;i=7:p=body;says hi\x1b\\")
w("\x1b]9;4;1;42\x07")
w("\x07")
w("\x1b]2;my title\x07")
w("ready\n")
sys.stdout.flush()
input()
"#,
        &[],
    );
    s.wait_log("tell", "ready");
    let evs = wait_for("the events", WAIT, || {
        let evs = events(&s, "tell");
        (of_kind(&evs, "notification").len() == 3 && !of_kind(&evs, "title").is_empty())
            .then_some(evs)
    });
    let n = of_kind(&evs, "notification");
    assert_eq!(n[0]["body"], "approval requested");
    assert_eq!(
        (&n[1]["title"], &n[1]["body"]),
        (&"Build".into(), &"done in 3s".into())
    );
    assert_eq!(
        (&n[2]["title"], &n[2]["body"]),
        (&"Kitty".into(), &"says hi".into())
    );
    let p = of_kind(&evs, "progress");
    assert_eq!(
        (&p[0]["state"], &p[0]["percent"]),
        (&"normal".into(), &42.into())
    );
    assert_eq!(of_kind(&evs, "bell").len(), 1, "{evs:?}");
    assert_eq!(of_kind(&evs, "title")[0]["title"], "my title");
    // A notification needs a person.
    let a = of_kind(&evs, "attention");
    assert_eq!(a[0]["reason"], "notification", "{evs:?}");

    // The record is saved just after the batch's events are written: a
    // reader that saw the events may be a moment early for the record.
    let info: Value = wait_for("the record to hold the title", WAIT, || {
        let v: Value = serde_json::from_str(&s.ok(["inspect", "--json", "tell"])).ok()?;
        (v["title"] == "my title").then_some(v)
    });
    assert_eq!(info["title"], "my title");
    assert_eq!(info["progress"]["percent"], 42);
    let row = s.ok(["list"]);
    let row = list_row(&row, "tell");
    assert!(row.contains("!running 42%"), "{row}");
}

#[test]
fn a_program_waiting_for_input_needs_attention_until_input() {
    let e = Env::new("[attention]\nafter = \"1s\"\n");
    e.start(
        "ask",
        &[],
        &[PYTHON, "-c", "input('name? '); input('again? ')"],
    );
    // attention.after + 1 s at most.
    let o = e.run(["wait", "ask", "--attention", "--timeout", "2s"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(stdout(&o), "input\n");
    let m = e.meta("ask");
    assert_eq!(m["attention"]["reason"], "input", "{m}");
    let listed = e.ok(["list", "--attention", "--json"]);
    assert!(listed.contains("\"ask\""), "{listed}");
    assert!(list_row(&e.ok(["list"]), "ask").contains("!running"));
    assert_eq!(of_kind(&events(&e, "ask"), "attention").len(), 1);

    e.ok(["send", "ask", "bob", "--submit"]);
    wait_for("the mark to clear", WAIT, || {
        e.meta("ask")["attention"].is_null().then_some(())
    });
    let listed = e.ok(["list", "--attention", "--json"]);
    assert!(!listed.contains("\"ask\""), "{listed}");
}

#[test]
fn focus_follows_people_attaching_and_leaving() {
    let s = Store::new();
    let seen = s.tmp.path().join("seen");
    start_py(
        &s,
        "focus",
        "focus.py",
        r#"import os, sys, tty
tty.setraw(0)
os.write(1, b"\x1b[?1004h")
while True:
    got = os.read(0, 64)
    with open(sys.argv[1], "ab") as f:
        f.write(got)
"#,
        &[seen.to_str().unwrap()],
    );
    let reports = |want: &[u8]| {
        wait_for(&format!("focus reports {want:?}"), WAIT, || {
            std::fs::read(&seen).ok().filter(|b| b.as_slice() == want)
        })
    };
    // Nobody attached: focus-out at once.
    reports(b"\x1b[O");
    let mut t = attach(&s, "focus", 80, 24);
    reports(b"\x1b[O\x1b[I");
    t.write(DETACH);
    t.wait();
    reports(b"\x1b[O\x1b[I\x1b[O");
}

#[test]
fn marks_written_a_byte_at_a_time_are_found() {
    let s = Store::new();
    start_py(
        &s,
        "slow",
        "slow.py",
        r#"import os
out = b"\x1b]133;A\x07$ \x1b]133;C;cmdline=x\x1b\\out\n\x1b]133;D;3\x07done\n"
for i in range(len(out)):
    os.write(1, out[i:i + 1])
input()
"#,
        &[],
    );
    s.wait_log("slow", "done");
    let end = wait_for("the command's end", WAIT, || {
        of_kind(&events(&s, "slow"), "command-end").pop()
    });
    assert_eq!(end["exit_code"], 3);
    assert_eq!(end["command"], "x");
    let r = end["output"].as_array().unwrap().clone();
    let log = std::fs::read(s.dir("slow").join("output.log")).unwrap();
    let (a, b) = (
        r[0].as_u64().unwrap() as usize,
        r[1].as_u64().unwrap() as usize,
    );
    // (The terminal turns LF into CR LF.)
    assert_eq!(&log[a..b], b"out\r\n");
}
