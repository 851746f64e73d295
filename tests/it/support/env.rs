//! A store with its own configuration: a private CODEX_HOME whose
//! sessions.toml every command reads, for the tests of policy (limits,
//! timeouts, retention, rotation) and of the configuration itself.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::{Store, list_row, wait_for};

/// A private store, and a private CODEX_HOME whose sessions.toml is read.
/// Everything a [`Store`] does, it does (through `Deref`).
pub struct Env {
    pub s: Store,
    pub home: PathBuf,
}

impl Env {
    pub fn new(toml: &str) -> Env {
        let mut s = Store::new();
        let home = s.tmp.path().join("codex-home");
        std::fs::create_dir(&home).unwrap();
        s.env.push(("CODEX_HOME".into(), home.clone().into()));
        let e = Env { s, home };
        e.config(toml);
        e
    }

    pub fn config_path(&self) -> PathBuf {
        self.home.join("sessions.toml")
    }

    /// Replace sessions.toml (every command reads it afresh).
    pub fn config(&self, toml: &str) {
        std::fs::write(self.config_path(), toml).unwrap();
    }

    /// `run --bg [FLAGS] --name NAME -- CMD...`, asserting it printed the name.
    pub fn start(&self, name: &str, flags: &[&str], cmd: &[&str]) {
        let mut args = vec!["run", "--bg"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["--name", name, "--"]);
        args.extend_from_slice(cmd);
        assert_eq!(self.ok(&args), format!("{name}\n"));
    }

    /// The names `list --json` shows under this configuration (so retention
    /// applies), sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .list()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    }

    /// Wait until the session has ended; its `list --json` entry.
    pub fn wait_ended(&self, name: &str, deadline: Duration) -> Value {
        wait_for(&format!("{name} to end"), deadline, || {
            let e = self.entry(name);
            (e["status"] != "running" && e["status"] != "starting").then_some(e)
        })
    }

    /// The STATUS cell of the session's row in the `list` table.
    pub fn table_status(&self, name: &str) -> String {
        let out = self.ok(["list"]);
        let header = out.lines().next().unwrap();
        let (from, to) = (header.find("STATUS").unwrap(), header.find("PID").unwrap());
        list_row(&out, name)[from..to].trim().to_string()
    }
}

impl std::ops::Deref for Env {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.s
    }
}
