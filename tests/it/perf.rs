//! What the speed work must not weaken (issue 13): `max_sessions` counted
//! from the running sessions' slots stays exact, a failed start leaves
//! nothing behind, retention still happens (at most once per interval).
//! Functional checks only; the timings are `cargo xtask bench`'s.

use std::process::Output;
use std::time::{Duration, SystemTime};

use crate::support::attach::{DETACH, attach};
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
    assert!(err.contains("2 are running and max_sessions is 2"), "{err}");
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
    assert!(err.contains("2 are running and max_sessions is 2"), "{err}");
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

// --- every byte to an attached client that keeps reading -------------------

/// A program that waits for `go` to exist, prints `lines` numbered lines
/// (`%08d`, 9 bytes each), then END-OF-STREAM, then waits.
fn counter(s: &Store, name: &str, go: &std::path::Path, lines: u64) {
    let script = format!(
        "while [ ! -e {go} ]; do sleep 0.01; done; seq -f %08.0f 0 {last}; echo END-OF-STREAM; exec sleep 100",
        go = go.display(),
        last = lines - 1,
    );
    s.start(name, &["sh", "-c", &script]);
}

/// The stream a terminal on the program's PTY shows, line by line: checks
/// the counter's lines arrive complete and in order after the repaint.
struct Checker {
    /// The next line number expected; None until the first one is seen.
    next: Option<u64>,
    lines: u64,
    partial: Vec<u8>,
    done: bool,
    error: Option<String>,
}

impl Checker {
    fn new(lines: u64) -> Checker {
        Checker {
            next: None,
            lines,
            partial: Vec::new(),
            done: false,
            error: None,
        }
    }

    fn feed(&mut self, data: &[u8]) {
        if self.done || self.error.is_some() {
            return;
        }
        self.partial.extend_from_slice(data);
        let mut start = 0;
        while let Some(p) = self.partial[start..].iter().position(|&b| b == b'\n') {
            let line = self.partial[start..start + p].to_vec();
            start += p + 1;
            self.line(&line);
            if self.done || self.error.is_some() {
                return;
            }
        }
        self.partial.drain(..start);
    }

    fn line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(want) = self.next else {
            // Before the stream: the repaint; the stream starts at line 0.
            if line.ends_with(b"00000000") {
                self.next = Some(1);
            }
            return;
        };
        if want == self.lines {
            if line == b"END-OF-STREAM" {
                self.done = true;
            } else {
                self.error = Some(format!(
                    "after the last line: {:?}",
                    String::from_utf8_lossy(line)
                ));
            }
            return;
        }
        if line != format!("{want:08}").as_bytes() {
            self.error = Some(format!(
                "line {want}: got {:?}",
                String::from_utf8_lossy(&line[..line.len().min(80)])
            ));
            return;
        }
        self.next = Some(want + 1);
    }
}

/// `attach EXTRA... NAME` on a terminal of our own whose output goes to
/// `sink`; returns once the client has put it in raw mode.
fn attach_streaming(
    s: &Store,
    name: &str,
    extra: &[&str],
    mut sink: impl FnMut(&[u8]) + Send + 'static,
) -> (
    std::process::Child,
    std::fs::File,
    std::thread::JoinHandle<()>,
) {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let ws = nix::pty::Winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&ws), None).expect("openpty");
    for fd in [&pty.master, &pty.slave] {
        rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::CLOEXEC).unwrap();
    }
    let mut args = vec!["attach"];
    args.extend_from_slice(extra);
    args.push(name);
    let mut cmd = s.cmd(&args);
    let slave_fd = pty.slave.as_raw_fd();
    cmd.stdin(std::process::Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(std::process::Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(std::process::Stdio::from(pty.slave.try_clone().unwrap()));
    // Safety: setsid and ioctl are async-signal-safe; the fd stays open in
    // the child until exec.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            if nix::libc::ioctl(slave_fd, nix::libc::TIOCSCTTY as _, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("spawning attach");
    drop(pty.slave);
    let master = std::fs::File::from(pty.master);
    let mut r = master.try_clone().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match std::io::Read::read(&mut r, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => sink(&buf[..n]),
            }
        }
    });
    wait_for("the client to enter raw mode", WAIT, || {
        let t = rustix::termios::tcgetattr(&master).ok()?;
        (!t.local_modes.contains(rustix::termios::LocalModes::ICANON)).then_some(())
    });
    (child, master, reader)
}

fn touch(p: &std::path::Path) {
    std::fs::write(p, b"").unwrap();
}

fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).unwrap();
}

#[test]
fn a_draining_client_receives_50_mb_byte_for_byte() {
    // A loaded machine must not make a reading client look stuck.
    let e = Env::new("[attach]\nstall = \"1m\"\n");
    let go = e.tmp.path().join("go");
    let lines = 50_000_000 / 9;
    counter(&e, "flood", &go, lines);
    let check = std::sync::Arc::new(std::sync::Mutex::new(Checker::new(lines)));
    let c2 = check.clone();
    let (mut child, _master, _reader) =
        attach_streaming(&e, "flood", &[], move |b| c2.lock().unwrap().feed(b));
    touch(&go);
    wait_for(
        "every line on the client's terminal",
        Duration::from_secs(300),
        || {
            let c = check.lock().unwrap();
            if let Some(err) = &c.error {
                panic!("the stream broke: {err}");
            }
            c.done.then_some(())
        },
    );
    assert!(
        !events(&e, "flood").iter().any(|v| v["event"] == "stalled"),
        "a client that reads is never cut loose"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// A terminal that can stop taking output, and shows what it got: either
/// the attach client relays (SIGSTOP stops it), or the client passed the
/// terminal to the supervisor (then the terminal itself is not read).
enum Stoppable {
    Relayed(crate::support::pty::Term),
    Passed {
        child: std::process::Child,
        gate: std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
        screen: std::sync::Arc<std::sync::Mutex<vt100::Parser>>,
        _master: std::fs::File,
    },
}

impl Stoppable {
    fn attach(s: &Store, name: &str, extra: &[&str], relay: bool) -> Stoppable {
        if relay {
            let mut args = vec!["attach"];
            args.extend_from_slice(extra);
            args.push(name);
            let mut cmd = s.cmd(&args);
            cmd.env("CODEX_SESSION_RELAY", "1");
            let mut t = crate::support::pty::Term::spawn(cmd, 80, 24);
            crate::support::attach::wait_raw_mode(&mut t);
            return Stoppable::Relayed(t);
        }
        let gate = std::sync::Arc::new((std::sync::Mutex::new(true), std::sync::Condvar::new()));
        let screen = std::sync::Arc::new(std::sync::Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(24).unwrap(),
            std::num::NonZeroU16::new(80).unwrap(),
            0,
        )));
        let (g, sc) = (gate.clone(), screen.clone());
        let (child, master, _reader) = attach_streaming(s, name, extra, move |b| {
            let (open, cv) = &*g;
            let mut o = open.lock().unwrap();
            while !*o {
                o = cv.wait(o).unwrap();
            }
            sc.lock().unwrap().process(b);
        });
        Stoppable::Passed {
            child,
            gate,
            screen,
            _master: master,
        }
    }

    fn pid(&self) -> u32 {
        match self {
            Stoppable::Relayed(t) => t.child.id(),
            Stoppable::Passed { child, .. } => child.id(),
        }
    }

    /// Stop taking output (or take it again).
    fn set_reading(&self, on: bool) {
        match self {
            Stoppable::Relayed(t) => signal(
                t.child.id(),
                if on {
                    nix::sys::signal::Signal::SIGCONT
                } else {
                    nix::sys::signal::Signal::SIGSTOP
                },
            ),
            Stoppable::Passed { gate, .. } => {
                *gate.0.lock().unwrap() = on;
                gate.1.notify_all();
            }
        }
    }

    /// Wait until the screen's last non-blank lines are `tail`.
    fn wait_tail(&self, tail: &[&str]) {
        let ends = |sc: &str| {
            let lines: Vec<&str> = sc
                .lines()
                .map(str::trim_end)
                .filter(|l| !l.is_empty())
                .collect();
            lines.ends_with(tail)
        };
        match self {
            Stoppable::Relayed(t) => {
                t.wait_screen_for("the final screen", Duration::from_secs(60), ends);
            }
            Stoppable::Passed { screen, .. } => {
                wait_for("the final screen", Duration::from_secs(60), || {
                    ends(&screen.lock().unwrap().screen().contents()).then_some(())
                });
            }
        }
    }
}

impl Drop for Stoppable {
    fn drop(&mut self) {
        self.set_reading(true);
        if let Stoppable::Passed { child, .. } = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn held_back_then_resynced(relay: bool) {
    let e = Env::new("[attach]\nstall = \"300ms\"\n");
    let go = e.tmp.path().join("go");
    counter(&e, "held", &go, 300_000);
    let t = Stoppable::attach(&e, "held", &[], relay);
    t.set_reading(false);
    touch(&go);
    // Held back (its queue is full), it is cut loose after the stall...
    let stalled = wait_for("the stalled event", WAIT, || {
        events(&e, "held")
            .into_iter()
            .find(|v| v["event"] == "stalled")
    });
    assert_eq!(stalled["client_pid"], t.pid(), "{stalled}");
    assert_eq!(stalled["after_ms"], 300, "{stalled}");
    // ...and the program goes on to the end while it takes nothing.
    e.wait_log("held", "END-OF-STREAM");
    // Reading again, it is repainted with the screen as it is now.
    t.set_reading(true);
    t.wait_tail(&["00299999", "END-OF-STREAM"]);
}

#[test]
fn a_stopped_relaying_client_holds_the_program_back_until_attach_stall_then_is_resynced() {
    held_back_then_resynced(true);
}

#[test]
fn an_unread_passed_terminal_holds_the_program_back_until_attach_stall_then_is_resynced() {
    held_back_then_resynced(false);
}

fn viewer_never_holds_back(relay: bool) {
    // Were it to hold the program back, an hour would pass before the end.
    let e = Env::new("[attach]\nstall = \"1h\"\n");
    let go = e.tmp.path().join("go");
    counter(&e, "viewed", &go, 500_000);
    let t = Stoppable::attach(&e, "viewed", &["--read-only"], relay);
    t.set_reading(false);
    touch(&go);
    e.wait_log("viewed", "END-OF-STREAM");
    assert!(
        !events(&e, "viewed").iter().any(|v| v["event"] == "stalled"),
        "a viewer is never a terminal that holds the program back"
    );
    t.set_reading(true);
    t.wait_tail(&["00499999", "END-OF-STREAM"]);
}

#[test]
fn a_read_only_viewer_that_never_reads_does_not_hold_the_program_back() {
    viewer_never_holds_back(false);
}

#[test]
fn a_stopped_relaying_viewer_does_not_hold_the_program_back() {
    viewer_never_holds_back(true);
}

// --- keystrokes without the relay hop ---------------------------------------

/// Turns on the modes a full-screen program uses, says READY, then echoes
/// what it reads (raw).
const MODAL: &str = r#"
import os, sys, tty
tty.setraw(0)
os.write(1, b"\x1b[?1049h\x1b[?1000h\x1b[?1006h\x1b[?2004h\x1b[?1h\x1b=\x1b[?25lREADY\r\n")
while True:
    b = os.read(0, 1024)
    if not b:
        break
    os.write(1, b)
"#;

/// A fresh terminal's settings, as the tests' terminals start.
fn fresh_termios() -> rustix::termios::Termios {
    let pty = nix::pty::openpty(None, None).unwrap();
    rustix::termios::tcgetattr(&pty.slave).unwrap()
}

fn same_termios(a: &rustix::termios::Termios, b: &rustix::termios::Termios) -> bool {
    a.input_modes == b.input_modes
        && a.output_modes == b.output_modes
        && a.control_modes == b.control_modes
        && a.local_modes == b.local_modes
        && format!("{:?}", a.special_codes) == format!("{:?}", b.special_codes)
}

/// Where a process's descriptors lead.
fn fd_targets(pid: i64) -> Vec<std::path::PathBuf> {
    fds_of(pid).into_iter().map(|(_, to)| to).collect()
}

/// A process's descriptors, by number, and where each leads.
fn fds_of(pid: i64) -> Vec<(u32, std::path::PathBuf)> {
    let mut v: Vec<_> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let n = e.file_name().to_str()?.parse().ok()?;
                    Some((n, std::fs::read_link(e.path()).ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The file status flags of a process's descriptor (`/proc/PID/fdinfo`).
fn fd_flags(pid: u32, fd: u32) -> u32 {
    let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).unwrap();
    let line = info.lines().find(|l| l.starts_with("flags:")).unwrap();
    u32::from_str_radix(line.split_whitespace().nth(1).unwrap(), 8).unwrap()
}

/// The modes the program set are on the terminal: the supervisor wrote them.
fn assert_modes_on(t: &crate::support::pty::Term) {
    t.with_screen(|sc| {
        assert!(sc.alternate_screen() && sc.bracketed_paste() && sc.hide_cursor());
        assert!(sc.application_cursor() && sc.application_keypad());
        assert_ne!(sc.mouse_protocol_mode(), vt100::MouseProtocolMode::None);
    });
}

/// ...and off again once the client has left.
fn assert_modes_off(t: &crate::support::pty::Term) {
    t.with_screen(|sc| {
        assert!(!sc.alternate_screen(), "left the alternate screen");
        assert!(!sc.bracketed_paste(), "bracketed paste off");
        assert!(!sc.application_cursor(), "application cursor keys off");
        assert!(!sc.application_keypad(), "application keypad off");
        assert!(!sc.hide_cursor(), "cursor shown");
        assert_eq!(sc.mouse_protocol_mode(), vt100::MouseProtocolMode::None);
    });
}

/// Attached with its terminal passed: the supervisor holds the terminal,
/// keystrokes reach the program while the client is stopped, the client's
/// descriptor keeps its flags; returns the terminal and the supervisor pid.
fn attach_direct(s: &Store, name: &str) -> (crate::support::pty::Term, i64) {
    let t = attach(s, name, 80, 24);
    t.wait_screen("the program's screen", |sc| sc.contains("READY"));
    let sup = s.meta(name)["supervisor_pid"].as_i64().unwrap();
    let client = t.child.id();
    let tty = std::fs::read_link(format!("/proc/{client}/fd/0")).unwrap();
    wait_for("the supervisor to hold the terminal", WAIT, || {
        fd_targets(sup).contains(&tty).then_some(())
    });
    assert_modes_on(&t);
    // The client is off the data path: stopped, it still sees the echo.
    signal(client, nix::sys::signal::Signal::SIGSTOP);
    let mut t = t;
    t.write(b"typed-while-stopped");
    t.wait_screen("the echo", |sc| sc.contains("typed-while-stopped"));
    signal(client, nix::sys::signal::Signal::SIGCONT);
    // The supervisor opened the terminal for itself: the descriptor it
    // shares with the client (and the shell) is still blocking.
    assert_eq!(
        fd_flags(client, 0) & nix::libc::O_NONBLOCK as u32,
        0,
        "the client's terminal is not non-blocking"
    );
    (t, sup)
}

#[test]
fn attach_with_its_terminal_passed_restores_it_exactly_after_detach() {
    let s = Store::new();
    start_py(&s, "modal", "modal.py", MODAL, &[]);
    s.wait_log("modal", "READY");
    let before = fresh_termios();
    let (mut t, sup) = attach_direct(&s, "modal");
    t.write(DETACH);
    let st = t.wait();
    assert_eq!(st.code(), Some(0), "{}", t.screen());
    t.wait_screen("the detach notice", |sc| {
        sc.contains("[detached from modal]")
    });
    assert!(same_termios(&t.termios(), &before), "termios restored");
    assert_modes_off(&t);
    let tty = t.raw();
    assert!(!tty.is_empty());
    // The supervisor let go of the terminal; the session goes on.
    assert!(
        !fd_targets(sup).iter().any(|p| p.starts_with("/dev/pts")),
        "{:?}",
        fd_targets(sup)
    );
    assert_eq!(s.meta("modal")["status"], "running");
}

#[test]
fn attach_with_its_terminal_passed_restores_it_when_the_supervisor_is_killed() {
    let s = Store::new();
    start_py(&s, "modal", "modal.py", MODAL, &[]);
    s.wait_log("modal", "READY");
    let before = fresh_termios();
    let (mut t, sup) = attach_direct(&s, "modal");
    signal(sup as u32, nix::sys::signal::Signal::SIGKILL);
    let st = t.wait();
    assert_eq!(st.code(), Some(1), "{}", t.screen());
    t.wait_screen("the error", |sc| sc.contains("codex-session: "));
    assert!(same_termios(&t.termios(), &before), "termios restored");
    assert_modes_off(&t);
}

#[test]
fn attach_relays_when_asked_to() {
    let mut s = Store::new();
    s.env.push(("CODEX_SESSION_RELAY".into(), "1".into()));
    start_py(&s, "modal", "modal.py", MODAL, &[]);
    s.wait_log("modal", "READY");
    let before = fresh_termios();
    let mut t = attach(&s, "modal", 80, 24);
    t.wait_screen("the program's screen", |sc| sc.contains("READY"));
    let sup = s.meta("modal")["supervisor_pid"].as_i64().unwrap();
    assert!(
        !fd_targets(sup).iter().any(|p| p.starts_with("/dev/pts")),
        "relayed: the supervisor does not hold the terminal"
    );
    t.write(b"relayed-keys");
    t.wait_screen("the echo", |sc| sc.contains("relayed-keys"));
    t.write(DETACH);
    assert_eq!(t.wait().code(), Some(0));
    assert!(same_termios(&t.termios(), &before), "termios restored");
    assert_modes_off(&t);
}

/// The supervisor goes on in a fresh image of its binary (Linux,
/// `supervisor/fresh.rs`). What crosses the exec must not leak: once it is
/// over the supervisor holds no memfd and no pipe (the state and the ready
/// pipe are closed), every descriptor of its own is close-on-exec again,
/// and a program it starts again holds only its terminal.
#[cfg(target_os = "linux")]
#[test]
fn the_fresh_image_keeps_nothing_of_the_handoff() {
    let s = Store::new();
    let marker = s.root.join("ran-once");
    let script = format!(
        "[ -e {m} ] && exec sleep 300; touch {m}; exit 3",
        m = marker.display()
    );
    s.ok([
        "run",
        "--bg",
        "--name",
        "fr",
        "--restart",
        "on-failure",
        "--restart-delay",
        "100ms",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    // The second run (started by the fresh image) is the one that sleeps.
    let meta = wait_for("the restarted program", WAIT, || {
        let m = s.meta("fr");
        let pid = m["pid"].as_i64()?;
        std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
            .ok()?
            .starts_with("sleep")
            .then_some(m)
    });
    let (sup, pid) = (
        meta["supervisor_pid"].as_i64().unwrap(),
        meta["pid"].as_i64().unwrap(),
    );
    let held = wait_for("the handoff to be over", WAIT, || {
        let fds = fds_of(sup);
        let leftover = |t: &std::path::PathBuf| {
            let t = t.to_string_lossy();
            t.starts_with("/memfd:") || t.starts_with("pipe:")
        };
        (!fds.is_empty() && !fds.iter().any(|(_, t)| leftover(t))).then_some(fds)
    });
    for (fd, what) in held.iter().filter(|(fd, _)| *fd > 2) {
        // O_CLOEXEC is 02000000 in fdinfo's flags.
        let flags = fd_flags(sup as u32, *fd);
        assert!(
            flags & 0o2000000 != 0,
            "supervisor fd {fd} ({}) is not close-on-exec: flags {flags:o}",
            what.display()
        );
    }
    let program: Vec<u32> = fds_of(pid).into_iter().map(|(fd, _)| fd).collect();
    assert_eq!(program, [0, 1, 2], "the restarted program's descriptors");
    s.ok(["stop", "fr"]);
}

/// A session that nobody connects to and whose program prints nothing gets
/// its fresh image all the same: the supervisor waits for its first work
/// at most 50 ms before the exec (`fresh.rs`, `QUIET_WAIT`), never for
/// ever. The state's variable in the supervisor's environment says the
/// exec happened; nothing here connects to the socket, which would set it
/// off at once.
#[cfg(target_os = "linux")]
#[test]
fn a_quiet_session_gets_its_fresh_image_too() {
    let s = Store::new();
    s.ok(["run", "--bg", "--name", "q", "--", "sleep", "300"]);
    let sup = s.meta("q")["supervisor_pid"].as_i64().unwrap();
    wait_for("the supervisor's fresh image", WAIT, || {
        let env = std::fs::read(format!("/proc/{sup}/environ")).ok()?;
        env.split(|&b| b == 0)
            .any(|kv| kv.starts_with(b"CODEX_SESSION_SUPERVISOR_STATE="))
            .then_some(())
    });
    s.ok(["stop", "q"]);
}
