//! The test harness: a private store per test, the real binary, deadlines
//! instead of sleeps, and cleanup of every supervisor even when a test fails.

#![allow(dead_code)]

pub mod attach;
pub mod bg;
pub mod env;
pub mod pty;
pub mod skip;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use bg::{Bg, spawn, spawn_with_stdin};
pub use env::Env;
pub use skip::{is_root, missing, require, skip};

pub const BIN: &str = env!("CARGO_BIN_EXE_codex-session");

/// Where python3 lives (fixtures are small python programs). Debian's, not
/// the first on PATH: that may be a per-user shim other uids cannot run.
pub const PYTHON: &str = "/usr/bin/python3";

/// The longest any single command may take before the test fails.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(30);
/// The default deadline for waiting on a condition.
pub const WAIT: Duration = Duration::from_secs(15);

/// Poll `f` until it returns Some, or panic with `what` at the deadline.
pub fn wait_for<T>(what: &str, deadline: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + deadline;
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() >= end {
            panic!("timed out after {deadline:?} waiting for {what}");
        }
        // Polling interval of a deadline wait, not a synchronisation sleep.
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Wait for a child with a deadline; kill it and panic on timeout.
pub fn wait_child(child: &mut Child, deadline: Duration) -> ExitStatus {
    let end = Instant::now() + deadline;
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return st;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("child {} did not exit within {deadline:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Run a command to completion with a deadline, collecting its output.
pub fn output_with_timeout(cmd: &mut Command, deadline: Duration) -> Output {
    bg::start(cmd, None).finish_within(deadline)
}

/// Run a command to completion (with a deadline), assert success, return
/// stdout.
pub fn run_ok(c: &mut Command) -> String {
    let out = output_with_timeout(c, CMD_TIMEOUT);
    assert!(out.status.success(), "{c:?}: {}", stderr(&out));
    stdout(&out)
}

/// The binary without `--store`, in a clean environment.
pub fn bare(home: &Path) -> Command {
    let mut c = Command::new(BIN);
    clean_env(&mut c, home);
    c
}

/// A clean, predictable environment: none of the variables that choose the
/// store or the configuration, no NO_COLOR, and a private HOME.
pub fn clean_env(c: &mut Command, home: &Path) {
    c.env_remove("CODEX_SESSION_STORE")
        .env_remove("CODEX_HOME")
        .env_remove("CODEX_SESSION_CONFIG")
        .env_remove("NO_COLOR")
        .env("HOME", home);
}

/// A private sessions folder; its supervisors are killed when it drops.
pub struct Store {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    /// Set for every command this store runs (e.g. a private CODEX_HOME).
    pub env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Store {
        let tmp = tempfile::Builder::new()
            .prefix("cs-test-")
            .tempdir()
            .expect("tempdir");
        let root = tmp.path().join("sessions");
        Store {
            tmp,
            root,
            env: Vec::new(),
        }
    }

    /// A store at a given root (e.g. a very long path) inside this temp dir.
    pub fn with_root(root: PathBuf) -> Store {
        let tmp = tempfile::Builder::new()
            .prefix("cs-test-")
            .tempdir()
            .expect("tempdir");
        let root = tmp.path().join(root);
        Store {
            tmp,
            root,
            env: Vec::new(),
        }
    }

    /// The binary with `--store` set and a clean, predictable environment.
    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new(BIN);
        c.arg("--store").arg(&self.root).args(args);
        clean_env(&mut c, self.tmp.path());
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    /// Run to completion (with a deadline).
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        output_with_timeout(&mut self.cmd(args), CMD_TIMEOUT)
    }

    /// Run, assert success, return stdout.
    pub fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self.run(&args);
        assert!(
            out.status.success(),
            "{args:?} failed with {:?}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Run, assert success, return the whole output.
    pub fn ok_full<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.run(args);
        assert!(out.status.success(), "{}", stderr(&out));
        out
    }

    /// `run --bg --name NAME -- CMD...`; returns the printed name.
    pub fn start(&self, name: &str, cmd: &[&str]) -> String {
        let mut args = vec!["run", "--bg", "--name", name, "--"];
        args.extend_from_slice(cmd);
        self.ok(&args).trim().to_string()
    }

    pub fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    pub fn meta(&self, name: &str) -> Value {
        let p = self.dir(name).join("meta.json");
        let b = std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
        serde_json::from_slice(&b).expect("meta.json parses")
    }

    /// `list --json`, parsed.
    pub fn list(&self) -> Vec<Value> {
        let out = self.ok(["list", "--json"]);
        serde_json::from_str::<Vec<Value>>(&out).expect("list --json parses")
    }

    pub fn entry(&self, name: &str) -> Value {
        self.list()
            .into_iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in list"))
    }

    /// Wait until `list --json` shows the session with this status.
    pub fn wait_status(&self, name: &str, status: &str) -> Value {
        wait_for(&format!("{name} to be {status}"), WAIT, || {
            let e = self.entry(name);
            (e["status"] == status).then_some(e)
        })
    }

    /// Wait until the session's log contains `needle`.
    pub fn wait_log(&self, name: &str, needle: &str) -> String {
        let p = self.dir(name).join("output.log");
        wait_for(&format!("{needle:?} in {name}'s log"), WAIT, || {
            let b = std::fs::read(&p).ok()?;
            let s = String::from_utf8_lossy(&b).into_owned();
            s.contains(needle).then_some(s)
        })
    }

    /// Kill every supervisor and program group in this store.
    pub fn kill_all(&self) {
        let Ok(rd) = std::fs::read_dir(&self.root) else {
            return;
        };
        for e in rd.flatten() {
            kill_session(&e.path());
        }
    }
}

fn kill_session(dir: &Path) {
    let Ok(b) = std::fs::read(dir.join("meta.json")) else {
        return;
    };
    let Ok(m) = serde_json::from_slice::<Value>(&b) else {
        return;
    };
    if let Some(pid) = m["pid"].as_i64() {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    if let Some(pid) = m["supervisor_pid"].as_i64() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.kill_all();
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit code 1, and stderr, for a command expected to fail.
#[track_caller]
pub fn fails(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
    stderr(out)
}

/// The row of `list`'s table for a session: the one whose NAME (the column
/// after #) it is.
#[track_caller]
pub fn list_row<'a>(table: &'a str, name: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no row for {name}:\n{table}"))
}

/// A session's events.jsonl, parsed (none yet if it is not there).
pub fn events(s: &Store, name: &str) -> Vec<Value> {
    let b = std::fs::read(s.dir(name).join("events.jsonl")).unwrap_or_default();
    String::from_utf8_lossy(&b)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

/// Write a fixture (a python program, a script) into the test's temp
/// folder; its path.
pub fn fixture(s: &Store, file: &str, body: &str) -> String {
    let p = s.tmp.path().join(file);
    std::fs::write(&p, body).expect("writing a fixture");
    p.to_string_lossy().into_owned()
}

/// The python fixture `file` running as session `name`.
pub fn start_py(s: &Store, name: &str, file: &str, body: &str, args: &[&str]) {
    let script = fixture(s, file, body);
    let mut cmd = vec![PYTHON, script.as_str()];
    cmd.extend_from_slice(args);
    s.start(name, &cmd);
}

/// Wait until `path` exists.
pub fn wait_file(path: &Path, deadline: Duration) {
    wait_for(&format!("{} to exist", path.display()), deadline, || {
        path.exists().then_some(())
    });
}

/// Whether a process exists.
pub fn alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}
