//! One private session store (`--store DIR`, a 0700 folder in the run's
//! scratch space) and the CLI calls on it. Dropping a store stops every
//! session in it (`stop --all`), SIGKILLs by pid whatever `meta.json` still
//! names as alive and tagged as ours, and removes the folder.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::Ctx;
use super::sys;

/// The few `meta.json` fields the benchmark needs.
#[derive(Debug, Clone, Default)]
pub struct MetaLite {
    pub status: String,
    /// The program's pid, also its process group.
    pub pid: Option<i32>,
    pub supervisor_pid: Option<i32>,
    pub output_bytes: Option<u64>,
}

impl MetaLite {
    pub fn ended(&self) -> bool {
        matches!(self.status.as_str(), "exited" | "killed" | "lost")
    }
}

pub struct Store<'a> {
    ctx: &'a Ctx,
    dir: PathBuf,
    cleaned: bool,
    /// A configuration file of this store's own (`CODEX_SESSION_CONFIG`).
    config: Option<PathBuf>,
}

impl<'a> Store<'a> {
    pub fn new(ctx: &'a Ctx, label: &str) -> Result<Store<'a>, String> {
        let dir = ctx.scratch(label);
        sys::mkdir_private(&dir)?;
        Ok(Store {
            ctx,
            dir,
            cleaned: false,
            config: None,
        })
    }

    /// Give this store's CLI calls a configuration of their own.
    pub fn set_config(&mut self, toml: &str) -> Result<(), String> {
        let path = self.dir.with_extension("toml");
        fs::write(&path, toml).map_err(|e| format!("writing {}: {e}", path.display()))?;
        self.config = Some(path);
        Ok(())
    }

    fn command(&self) -> Command {
        let mut c = self.ctx.command(&self.ctx.bin);
        if let Some(p) = &self.config {
            c.env("CODEX_SESSION_CONFIG", p);
        }
        c
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn session_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn sock(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("sock")
    }

    /// `codex-session --store DIR ARGS...`, stdout and stderr appended to the
    /// run's cli.log (never a pipe: a daemonising child could hold it open).
    pub fn cli(&self, args: &[&str]) -> Command {
        let mut c = self.command();
        c.arg("--store").arg(&self.dir).args(args);
        match fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.ctx.cli_log())
        {
            Ok(mut log) => {
                let _ = writeln!(
                    log,
                    "$ codex-session --store {} {}",
                    self.dir.display(),
                    args.join(" ")
                );
                match log.try_clone() {
                    Ok(l2) => {
                        c.stdout(Stdio::from(log)).stderr(Stdio::from(l2));
                    }
                    Err(_) => {
                        c.stdout(Stdio::null()).stderr(Stdio::null());
                    }
                }
            }
            Err(_) => {
                c.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        c
    }

    /// The command line of `run --bg --name NAME -- PROGRAM...`.
    pub fn run_bg_cmd(&self, name: &str, program: &[&str]) -> Command {
        let mut args = vec!["run", "--bg", "--name", name, "--"];
        args.extend_from_slice(program);
        self.cli(&args)
    }

    /// `codex-session --store DIR attach NAME`, stdio left for the caller
    /// (a PTY: see [`super::term::Tty::spawn`]).
    pub fn attach_cmd(&self, name: &str) -> Command {
        let mut c = self.command();
        c.arg("--store").arg(&self.dir).args(["attach", name]);
        c
    }

    /// Wait (polling every 2 ms, at most `timeout`) until the session's
    /// output.log holds `needle`.
    pub fn wait_log_contains(
        &self,
        name: &str,
        needle: &[u8],
        timeout: Duration,
    ) -> Result<(), String> {
        let log = self.session_dir(name).join("output.log");
        let ok = sys::wait_until(timeout, Duration::from_millis(2), || {
            fs::read(&log).is_ok_and(|b| super::term::contains(&b, needle))
        })?;
        if ok {
            Ok(())
        } else {
            Err(format!(
                "session {name}: {:?} not in output.log after {timeout:?}",
                String::from_utf8_lossy(needle)
            ))
        }
    }

    /// Start a session and wait for `run --bg` to return.
    pub fn run_bg(&self, name: &str, program: &[&str]) -> Result<(), String> {
        let child = self
            .run_bg_cmd(name, program)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.ctx.bin.display()))?;
        self.finish(child, &format!("run --bg --name {name}"))
    }

    /// Wait (bounded) for a CLI call started from [`Store::cli`]; an error
    /// names the call and quotes the end of cli.log.
    pub fn finish(&self, mut child: Child, what: &str) -> Result<(), String> {
        match sys::wait_timeout(&mut child, Duration::from_secs(30)) {
            Some(st) if st.success() => Ok(()),
            Some(st) => Err(format!(
                "`{what}` failed ({st}); cli.log ends:\n{}",
                self.log_tail()
            )),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("`{what}` did not return within 30 s"))
            }
        }
    }

    /// Run a CLI call to completion (untimed housekeeping: stop, rm).
    pub fn call(&self, args: &[&str]) -> Result<(), String> {
        let child = self
            .cli(args)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.ctx.bin.display()))?;
        self.finish(child, &args.join(" "))
    }

    fn log_tail(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = fs::File::open(self.ctx.cli_log()) {
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = f.seek(SeekFrom::Start(len.saturating_sub(1500)));
            let _ = f.read_to_string(&mut s);
        }
        s.lines()
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .map(|l| format!("  | {l}\n"))
            .collect()
    }

    pub fn meta(&self, name: &str) -> Option<MetaLite> {
        let text = fs::read_to_string(self.dir.join(name).join("meta.json")).ok()?;
        Some(MetaLite {
            status: json_str(&text, "status").unwrap_or_default(),
            pid: json_int(&text, "pid").map(|p| p as i32),
            supervisor_pid: json_int(&text, "supervisor_pid").map(|p| p as i32),
            output_bytes: json_int(&text, "output_bytes").map(|b| b as u64),
        })
    }

    /// Every session folder holding a readable meta.json.
    pub fn metas(&self) -> Vec<(String, MetaLite)> {
        let Ok(dir) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut v: Vec<_> = dir
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                let m = self.meta(&name)?;
                Some((name, m))
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Bytes in the session's output log, rotated parts included.
    pub fn log_bytes(&self, name: &str) -> u64 {
        let Ok(dir) = fs::read_dir(self.session_dir(name)) else {
            return 0;
        };
        dir.filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("output.log"))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    }

    /// Stop every session, kill what is left, remove the folder. Idempotent;
    /// returns problems worth reporting.
    pub fn cleanup(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.cleaned || !self.dir.exists() {
            self.cleaned = true;
            return problems;
        }
        self.cleaned = true;
        let running = self.metas().iter().any(|(_, m)| !m.ended());
        if running {
            match self.cli(&["stop", "--all"]).spawn() {
                Ok(mut child) => match sys::wait_timeout(&mut child, Duration::from_secs(60)) {
                    Some(st) if st.success() => {}
                    Some(st) => problems.push(format!("stop --all: {st}")),
                    None => {
                        let _ = child.kill();
                        let _ = child.wait();
                        problems.push("stop --all did not return within 60 s".into());
                    }
                },
                Err(e) => problems.push(format!("stop --all: {e}")),
            }
        }
        let tag = &self.ctx.tag;
        let mut killed = 0;
        for (_, m) in self.metas() {
            if let Some(pid) = m.pid {
                killed += usize::from(sys::kill_if_tagged(pid, tag, true));
            }
            if let Some(pid) = m.supervisor_pid {
                killed += usize::from(sys::kill_if_tagged(pid, tag, false));
            }
        }
        if killed > 0 {
            problems.push(format!(
                "{killed} process(es) left after stop --all, killed"
            ));
        }
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            problems.push(format!("removing {}: {e}", self.dir.display()));
        }
        problems
    }
}

impl Drop for Store<'_> {
    fn drop(&mut self) {
        for p in self.cleanup() {
            eprintln!("bench: cleanup: {p}");
        }
    }
}

// ---------------------------------------------------------------------------
// tiny readers for flat JSON objects (meta.json, cargo's messages): enough
// for a key's scalar value without a JSON dependency.

/// The raw token after `"key":` (a string without its quotes, unescaped
/// only for `\"` and `\\`, or a bare scalar).
fn json_value(text: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\"");
    let mut from = 0;
    while let Some(i) = text[from..].find(&pat) {
        let after = &text[from + i + pat.len()..];
        from += i + pat.len();
        let Some(rest) = after.trim_start().strip_prefix(':') else {
            continue; // a string value equal to the key, not the key
        };
        let rest = rest.trim_start();
        if let Some(s) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = s.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => return Some(out),
                    '\\' => out.push(chars.next()?),
                    c => out.push(c),
                }
            }
            return None;
        }
        let end = rest
            .find(|c: char| c == ',' || c == '}' || c == ']' || c.is_whitespace())
            .unwrap_or(rest.len());
        return Some(rest[..end].to_owned());
    }
    None
}

pub fn json_str(text: &str, key: &str) -> Option<String> {
    json_value(text, key).filter(|v| v != "null")
}

pub fn json_int(text: &str, key: &str) -> Option<i64> {
    json_value(text, key)?.parse().ok()
}
