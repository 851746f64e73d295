//! `cargo xtask bench`: measure `codex-session` side by side with a raw PTY.
//!
//! Every figure is taken in the same run as its baseline (the same program on a
//! PTY whose master this process drains itself), interleaved where the metric
//! repeats, and reported as a ratio: the 2-core machine this runs on is noisy,
//! absolute numbers move between runs, ratios much less.
//!
//! Layout, so that metrics can be added without touching the rest:
//!
//! - this file: options, the run context (private temp root, process tag,
//!   environment), the metric registry and the final table;
//! - `bench/sys.rs`: PTYs, processes, `/proc`, temp folders, interrupts;
//! - `bench/store.rs`: one private session store and the CLI calls on it, with
//!   cleanup of every session it holds when dropped;
//! - `bench/report.rs`: statistics and the table;
//! - `bench/term.rs`: driving a program on a PTY we hold (an attach client on
//!   a raw-mode terminal, or the raw baseline's program): reads, probes,
//!   escape stripping, detach;
//! - one module per metric (`tp`, `create`, `rss`, `list`, `rtt`, `attach`,
//!   `tpa`, `send`, `mcp`), each a `fn(&Ctx, &mut Report) -> Result<(), String>`
//!   listed in [`METRICS`].
//!
//! Cleanup: every process started here carries `CODEX_SESSION_BENCH_TAG=<tag>`
//! in its environment (the supervisor and program inherit the CLI's). Each
//! store stops its sessions and SIGKILLs, by pid, what `meta.json` names and is
//! still alive with the tag; at the very end every process that still carries
//! the tag is killed by pid. Ctrl-C sets a flag that every wait loop checks,
//! so cleanup runs then too.

mod attach;
mod create;
mod list;
mod mcp;
mod report;
mod rss;
mod rtt;
mod send;
mod store;
mod sys;
mod term;
mod tp;
mod tpa;

use std::cell::Cell;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use report::Report;
use store::Store;

/// One measurement that can be selected with `--only`.
pub struct Metric {
    pub key: &'static str,
    pub about: &'static str,
    pub run: fn(&Ctx, &mut Report) -> Result<(), String>,
}

/// Every metric, in the order they run. To add one, add a module with a `run`
/// function and a line here.
pub const METRICS: &[Metric] = &[
    Metric {
        key: "tp",
        about: "detached throughput: a flood of text with no client attached, vs raw PTY and raw PTY + log",
        run: tp::run,
    },
    Metric {
        key: "create",
        about: "create latency: `run --bg` until the session's socket connects, in an empty and a full store, vs openpty + spawn",
        run: create::run,
    },
    Metric {
        key: "rss",
        about: "idle memory: RSS and PSS of supervisors over N idle sessions",
        run: rss::run,
    },
    Metric {
        key: "list",
        about: "`list` and `list --json` over many ended sessions, vs `cat` of their meta.json",
        run: list::run,
    },
    Metric {
        key: "rtt",
        about: "keystroke round trip through an attached client to raw-mode `cat`, vs `cat` on a raw PTY",
        run: rtt::run,
    },
    Metric {
        key: "attach",
        about: "attach → first byte / repaint / usable, then Ctrl-\\ detach, vs spawning the program on a PTY",
        run: attach::run,
    },
    Metric {
        key: "tpa",
        about: "attached throughput: a flood of text read from the attach client's terminal, vs raw PTY",
        run: tpa::run,
    },
    Metric {
        key: "send",
        about: "`send TEXT --submit` → reply visible (attached client; output.log), vs a write to a raw PTY",
        run: send::run,
    },
    Metric {
        key: "mcp",
        about: "one `session_send` round trip through `codex-session mcp` (cat, wait_idle 50ms), vs `send --wait-idle 50ms`",
        run: mcp::run,
    },
];

const USAGE: &str = "\
usage: cargo xtask bench [--quick] [--only KEYS] [options]

Builds target/release/codex-session, then measures it beside a raw PTY in the
same run and prints a table of medians and ratios.

options:
  --quick             small sizes for a smoke run of ~30 s (20 MB payload, 3 reps,
                      10 sessions, 100 list sessions, 2×200 round trips,
                      5 attaches, 10 sends)
  --only KEYS         comma-separated metrics to run (default: all)
  --bin PATH          measure this binary; skip the release build
  --keep              keep the private temp folder (CLI output in cli.log)
  --tp-mb N           detached throughput payload, MB of text [250; quick 20]
  --tp-reps N         throughput repetitions, interleaved [5; quick 3]
  --create-reps N     create latency samples [30; quick 10]
  --create-ended N    ended sessions in the full store for create [1000]
  --create-running N  running sessions in the full store for create [60]
  --sessions N        idle sessions for rss [100; quick 10]
  --list-sessions N   ended sessions for list [1000; quick 100]
  --list-reps N       list timings [7; quick 3]
  --rtt-n N           keystroke round trips per repetition [2000; quick 200]
  --rtt-reps N        rtt repetitions, interleaved with raw [5; quick 2]
  --attach-reps N     attach/detach cycles [20; quick 5]
  --send-reps N       send → output samples, and MCP round trips [30; quick 10]
                      (tpa uses --tp-mb and --tp-reps)
  -h, --help          this text

metrics:";

#[derive(Debug, Clone)]
pub struct Opts {
    pub quick: bool,
    pub only: Vec<&'static str>,
    pub bin: Option<PathBuf>,
    pub keep: bool,
    pub tp_mb: u64,
    pub tp_reps: usize,
    pub tp_timeout_s: u64,
    pub create_reps: usize,
    pub create_ended: usize,
    pub create_running: usize,
    pub sessions: usize,
    pub list_sessions: usize,
    pub list_reps: usize,
    pub rtt_n: usize,
    pub rtt_reps: usize,
    pub attach_reps: usize,
    pub send_reps: usize,
}

impl Opts {
    fn parse(args: &[String]) -> Result<Option<Opts>, String> {
        let quick = args.iter().any(|a| a == "--quick");
        let mut o = Opts {
            quick,
            only: METRICS.iter().map(|m| m.key).collect(),
            bin: None,
            keep: false,
            tp_mb: if quick { 20 } else { 250 },
            tp_reps: if quick { 3 } else { 5 },
            tp_timeout_s: 120,
            create_reps: if quick { 10 } else { 30 },
            create_ended: 1000,
            create_running: 60,
            sessions: if quick { 10 } else { 100 },
            list_sessions: if quick { 100 } else { 1000 },
            list_reps: if quick { 3 } else { 7 },
            rtt_n: if quick { 200 } else { 2000 },
            rtt_reps: if quick { 2 } else { 5 },
            attach_reps: if quick { 5 } else { 20 },
            send_reps: if quick { 10 } else { 30 },
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
                _ => (arg.as_str(), None),
            };
            let mut value = |name: &str| -> Result<String, String> {
                match &inline {
                    Some(v) => Ok(v.clone()),
                    None => it
                        .next()
                        .cloned()
                        .ok_or_else(|| format!("bench: {name} needs a value")),
                }
            };
            fn num<T: std::str::FromStr>(flag: &str, v: String) -> Result<T, String> {
                v.parse()
                    .map_err(|_| format!("bench: {flag}: not a number: {v:?}"))
            }
            match flag {
                "--quick" => {}
                "-h" | "--help" => {
                    println!("{USAGE}");
                    for m in METRICS {
                        println!("  {:<8}{}", m.key, m.about);
                    }
                    return Ok(None);
                }
                "--keep" => o.keep = true,
                "--only" => {
                    let v = value(flag)?;
                    o.only.clear();
                    for k in v.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                        let m = METRICS.iter().find(|m| m.key == k).ok_or_else(|| {
                            let keys: Vec<_> = METRICS.iter().map(|m| m.key).collect();
                            format!("bench: unknown metric {k:?} (known: {})", keys.join(","))
                        })?;
                        if !o.only.contains(&m.key) {
                            o.only.push(m.key);
                        }
                    }
                    if o.only.is_empty() {
                        return Err("bench: --only needs at least one metric".into());
                    }
                }
                "--bin" => o.bin = Some(PathBuf::from(value(flag)?)),
                "--tp-mb" => o.tp_mb = num(flag, value(flag)?)?,
                "--tp-reps" => o.tp_reps = num(flag, value(flag)?)?,
                "--create-reps" => o.create_reps = num(flag, value(flag)?)?,
                "--create-ended" => o.create_ended = num(flag, value(flag)?)?,
                "--create-running" => o.create_running = num(flag, value(flag)?)?,
                "--sessions" => o.sessions = num(flag, value(flag)?)?,
                "--list-sessions" => o.list_sessions = num(flag, value(flag)?)?,
                "--list-reps" => o.list_reps = num(flag, value(flag)?)?,
                "--rtt-n" => o.rtt_n = num(flag, value(flag)?)?,
                "--rtt-reps" => o.rtt_reps = num(flag, value(flag)?)?,
                "--attach-reps" => o.attach_reps = num(flag, value(flag)?)?,
                "--send-reps" => o.send_reps = num(flag, value(flag)?)?,
                other => return Err(format!("bench: unexpected argument `{other}`\n\n{USAGE}")),
            }
        }
        if o.tp_mb == 0
            || o.tp_reps == 0
            || o.create_reps == 0
            || o.sessions < 2
            || o.list_sessions == 0
            || o.list_reps == 0
            || o.rtt_n == 0
            || o.rtt_reps == 0
            || o.attach_reps == 0
            || o.send_reps == 0
        {
            return Err("bench: counts must be positive (and --sessions at least 2)".into());
        }
        Ok(Some(o))
    }
}

/// What every metric gets: the binary, the options, a private temp root and
/// the environment for every process it starts.
pub struct Ctx {
    pub bin: PathBuf,
    pub opts: Opts,
    pub root: sys::TempDir,
    /// Value of [`sys::TAG_VAR`] in every process this run starts.
    pub tag: String,
    /// A private `CODEX_HOME`, so no user configuration applies.
    home: PathBuf,
    counter: Cell<u32>,
}

impl Ctx {
    /// A command with the run's environment: tagged, private `CODEX_HOME`,
    /// none of the caller's store or config overrides.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env(sys::TAG_VAR, &self.tag)
            .env("CODEX_HOME", &self.home)
            .env("TERM", "xterm-256color")
            .env_remove("CODEX_SESSION_STORE")
            .env_remove("CODEX_SESSION_CONFIG")
            .env_remove("CODEX_SESSION")
            .stdin(Stdio::null());
        c
    }

    /// A fresh name, unique in this run (for files and stores).
    pub fn unique(&self, prefix: &str) -> String {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        format!("{prefix}{n}")
    }

    /// A path in the run's scratch folder.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// Where CLI calls write their stdout and stderr.
    pub fn cli_log(&self) -> PathBuf {
        self.root.path().join("cli.log")
    }

    /// A new private, empty session store; dropping it cleans up every session.
    pub fn store(&self, label: &str) -> Result<Store<'_>, String> {
        Store::new(self, &self.unique(label))
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    let Some(opts) = Opts::parse(args)? else {
        return Ok(());
    };
    sys::install_interrupt_handler();
    let bin = match &opts.bin {
        Some(b) => b
            .canonicalize()
            .map_err(|e| format!("bench: --bin {}: {e}", b.display()))?,
        None => build_release()?,
    };
    sys::check_interrupt()?;
    let root = sys::TempDir::new("csb", opts.keep)?;
    let home = root.path().join("home");
    sys::mkdir_private(&home)?;
    let ctx = Ctx {
        bin,
        tag: sys::random_tag(),
        root,
        home,
        opts,
        counter: Cell::new(0),
    };
    let started = Instant::now();
    eprintln!(
        "bench: {} ({}), scratch {}, metrics {}",
        ctx.bin.display(),
        if ctx.opts.quick { "quick" } else { "full" },
        ctx.root.path().display(),
        ctx.opts.only.join(",")
    );
    let mut report = Report::default();
    report.load_at_start = report::loadavg();
    let mut failed = Vec::new();
    for m in METRICS.iter().filter(|m| ctx.opts.only.contains(&m.key)) {
        if sys::interrupted() {
            failed.push(format!("{}: interrupted", m.key));
            break;
        }
        eprintln!("bench: -- {} --", m.key);
        let t = Instant::now();
        if let Err(e) = (m.run)(&ctx, &mut report) {
            eprintln!("bench: {} failed: {e}", m.key);
            report.error(m.key, &e);
            failed.push(format!("{}: {e}", m.key));
        }
        eprintln!("bench: {} took {:.1} s", m.key, t.elapsed().as_secs_f64());
    }
    let leftovers = sys::kill_tagged(&ctx.tag);
    if leftovers > 0 {
        eprintln!("bench: killed {leftovers} leftover tagged process(es)");
    }
    report.print(&ctx, started.elapsed());
    if ctx.opts.keep {
        eprintln!("bench: kept {}", ctx.root.path().display());
    }
    drop(ctx);
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("bench: {}", failed.join("; ")))
    }
}

/// `cargo build --release -p codex-session`; the binary's path as cargo reports it.
fn build_release() -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("xtask has no parent folder")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("bench: cargo build --release -p codex-session (codex-session, codex-session-mcp)");
    let out = Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "--release",
            "-p",
            "codex-session",
            "--bin",
            "codex-session",
            // What `codex-session mcp` runs, from the same folder (bench mcp).
            "--bin",
            "codex-session-mcp",
            "--message-format=json-render-diagnostics",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("bench: running cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("bench: cargo build failed ({})", out.status));
    }
    // One JSON message a line; the binary's artifact names its executable.
    let text = String::from_utf8_lossy(&out.stdout);
    let exe = text
        .lines()
        .filter(|l| l.contains("\"compiler-artifact\"") && l.contains("\"name\":\"codex-session\""))
        .find_map(|l| store::json_str(l, "executable"));
    match exe {
        Some(p) => Ok(PathBuf::from(p)),
        None => {
            let p = root.join("target/release/codex-session");
            if p.exists() {
                Ok(p)
            } else {
                Err("bench: cargo did not report the codex-session executable".into())
            }
        }
    }
}
