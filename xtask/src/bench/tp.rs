//! Detached throughput: the session's program waits for a go-file, `cat`s a
//! large text file onto its PTY with no client attached, then touches a
//! done-file. The clock runs from creating the go-file until the done-file
//! exists (polled every 1 ms), exactly as `bench/peers.py` measures.
//!
//! Baselines, interleaved with ours in rotating order every repetition:
//! - raw: the same command on a PTY whose master a thread here drains with a
//!   plain loop of 64 KiB reads, discarding the bytes;
//! - raw+log: the same loop appending every chunk to a file (we log every byte,
//!   so this is the fair floor; the target is against it).
//!
//! Also recorded: the time until every byte has reached the log (ours) or the
//! reader (raw), and the CPU the supervisor / the drain thread used. Ours is
//! verified afterwards: output.log must hold every byte (payload plus the CR
//! the PTY adds before each LF).

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::report::{self, Report, Verdict, median, min_max, ratio};
use super::{Ctx, sys};

/// base64 wraps at 76 columns: 57 random bytes make one 77-byte line.
const LINE_IN: u64 = 57;
const LINE_OUT: u64 = 77;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Raw,
    RawLog,
    Ours,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Raw => "raw",
            Kind::RawLog => "raw+log",
            Kind::Ours => "ours",
        }
    }
}

struct Sample {
    kind: Kind,
    /// go → done-file.
    secs: f64,
    /// go → every byte logged (ours) or read (raw).
    secs_complete: f64,
    /// CPU (user + system) of the supervisor (ours) or the drain thread (raw).
    cpu: Option<(f64, f64)>,
    /// Ours: `output_bytes` in meta.json after the session was stopped.
    counted: Option<u64>,
}

pub struct Payload {
    pub path: PathBuf,
    pub bytes: u64,
    pub lines: u64,
}

impl Payload {
    /// What the PTY delivers: ONLCR turns each LF into CR LF.
    pub fn on_pty(&self) -> u64 {
        self.bytes + self.lines
    }
}

/// About `mb` MB of base64 text, generated once and cached in
/// `/tmp/codex-session-bench/` (`cat` of a file keeps the generator's CPU off
/// the measurement).
pub fn payload(mb: u64) -> Result<Payload, String> {
    let lines = (mb * 1_000_000 / LINE_OUT).max(1);
    let bytes = lines * LINE_OUT;
    let dir = PathBuf::from("/tmp/codex-session-bench");
    match fs::symlink_metadata(&dir) {
        Ok(m) => {
            if !m.is_dir() || m.uid() != nix::unistd::getuid().as_raw() {
                return Err(format!("{} is not a folder of ours", dir.display()));
            }
        }
        Err(_) => sys::mkdir_private(&dir)?,
    }
    let path = dir.join(format!("payload-{mb}MB.b64"));
    if fs::metadata(&path).map(|m| m.len()).ok() == Some(bytes) {
        return Ok(Payload { path, bytes, lines });
    }
    eprintln!(
        "bench:   generating {} ({:.0} MB of base64 text)",
        path.display(),
        bytes as f64 / 1e6
    );
    let tmp = dir.join(format!(".payload-{}.tmp", std::process::id()));
    let st = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "head -c {} /dev/urandom | base64 > '{}'",
            lines * LINE_IN,
            tmp.display()
        ))
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("generating the payload: {e}"))?;
    let got = fs::metadata(&tmp).map(|m| m.len()).unwrap_or(0);
    if !st.success() || got != bytes {
        let _ = fs::remove_file(&tmp);
        return Err(format!(
            "generating the payload: {st}, {got} bytes instead of {bytes} (is base64 wrapping at 76?)"
        ));
    }
    fs::rename(&tmp, &path).map_err(|e| format!("renaming {}: {e}", tmp.display()))?;
    Ok(Payload { path, bytes, lines })
}

fn script(ctx: &Ctx, data: &Path, tok: &str) -> (String, PathBuf, PathBuf) {
    let go = ctx.scratch(&format!("{tok}.go"));
    let done = ctx.scratch(&format!("{tok}.done"));
    let s = format!(
        "while [ ! -e {go} ]; do sleep 0.002; done; cat {data}; : > {done}; exec sleep 1000",
        go = go.display(),
        data = data.display(),
        done = done.display()
    );
    (s, go, done)
}

pub fn run(ctx: &Ctx, rep: &mut Report) -> Result<(), String> {
    let p = payload(ctx.opts.tp_mb)?;
    let kinds = [Kind::Raw, Kind::RawLog, Kind::Ours];
    let mut samples: Vec<Sample> = Vec::new();
    for r in 0..ctx.opts.tp_reps {
        for i in 0..kinds.len() {
            let kind = kinds[(i + r) % kinds.len()];
            sys::check_interrupt()?;
            let s = match kind {
                Kind::Ours => one_ours(ctx, &p)?,
                _ => one_raw(ctx, &p, kind)?,
            };
            let cpu = s
                .cpu
                .map(|(u, k)| format!(", cpu {u:.2} user + {k:.2} sys s"))
                .unwrap_or_default();
            eprintln!(
                "bench:   rep {r} {:<7} {:>6.1} MB/s ({:.2} s; all bytes in {:.2} s{cpu})",
                kind.label(),
                p.bytes as f64 / 1e6 / s.secs,
                s.secs,
                s.secs_complete
            );
            samples.push(s);
        }
    }

    let mbps = |k: Kind, complete: bool| -> Vec<f64> {
        samples
            .iter()
            .filter(|s| s.kind == k)
            .map(|s| p.bytes as f64 / 1e6 / if complete { s.secs_complete } else { s.secs })
            .collect()
    };
    let med = |k, c| median(&mbps(k, c));
    let (raw, rawlog, ours) = (
        med(Kind::Raw, false),
        med(Kind::RawLog, false),
        med(Kind::Ours, false),
    );
    let mb = p.bytes as f64 / 1e6;
    rep.row(
        format!("detached throughput, MB/s ({mb:.0} MB)"),
        report::num(ours, 0),
        format!(
            "{} (raw+log {})",
            report::num(raw, 0),
            report::num(rawlog, 0)
        ),
        ratio(ours, raw),
        "",
        Verdict::Info,
    );
    let r_log = ours.zip(rawlog).map(|(o, r)| o / r);
    rep.row(
        "detached throughput vs raw+log",
        report::num(ours, 0),
        report::num(rawlog, 0),
        ratio(ours, rawlog),
        "≥ 0.80× raw+log",
        Verdict::check(r_log.map(|x| x >= 0.8)),
    );
    let (raw_c, ours_c) = (med(Kind::RawLog, true), med(Kind::Ours, true));
    rep.row(
        "  … until every byte is logged, MB/s",
        report::num(ours_c, 0),
        report::num(raw_c, 0),
        ratio(ours_c, raw_c),
        "",
        Verdict::Info,
    );
    for k in kinds {
        let xs = mbps(k, false);
        let runs: Vec<&Sample> = samples.iter().filter(|s| s.kind == k).collect();
        let user: Vec<f64> = runs.iter().filter_map(|s| s.cpu.map(|c| c.0)).collect();
        let sys_: Vec<f64> = runs.iter().filter_map(|s| s.cpu.map(|c| c.1)).collect();
        let who = if k == Kind::Ours {
            "supervisor"
        } else {
            "drain thread"
        };
        if let Some((lo, hi)) = min_max(&xs) {
            rep.note(format!(
                "tp {}: {} reps, MB/s median {:.0} [{lo:.0}–{hi:.0}]; {who} CPU per run (median) {} s user + {} s sys",
                k.label(),
                xs.len(),
                median(&xs).unwrap_or(0.0),
                report::num(median(&user), 2),
                report::num(median(&sys_), 2),
            ));
        }
    }
    let short: Vec<String> = samples
        .iter()
        .filter(|s| s.kind == Kind::Ours && s.counted.is_none_or(|n| n < p.on_pty()))
        .map(|s| s.counted.map_or("none".into(), |n| n.to_string()))
        .collect();
    rep.note(format!(
        "tp: every ours run's output.log held all {} bytes (payload {} + {} CRs added by the PTY); \
         meta.json output_bytes after stop: {}",
        p.on_pty(),
        p.bytes,
        p.lines,
        if short.is_empty() {
            "complete in every run".to_owned()
        } else {
            format!("SHORT in {} run(s): {}", short.len(), short.join(", "))
        }
    ));
    Ok(())
}

fn one_raw(ctx: &Ctx, p: &Payload, kind: Kind) -> Result<Sample, String> {
    let tok = ctx.unique("tp");
    let (script, go, done) = script(ctx, &p.path, &tok);
    let logpath = ctx.scratch(&format!("{tok}.rawlog"));
    let mut cmd = ctx.command("/bin/sh");
    cmd.arg("-c").arg(&script);
    let mut pc = sys::spawn_on_pty(cmd).map_err(|e| format!("raw PTY: {e}"))?;
    let master = pc.master.take().expect("fresh PtyChild has its master");
    let seen = Arc::new(AtomicU64::new(0));
    let mut sink = match kind {
        Kind::RawLog => Some(
            fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&logpath)
                .map_err(|e| format!("{}: {e}", logpath.display()))?,
        ),
        _ => None,
    };
    let seen2 = Arc::clone(&seen);
    let reader = thread::spawn(move || {
        let c0 = sys::cpu_secs("/proc/thread-self/stat");
        sys::drain(master, |b| {
            if let Some(f) = sink.as_mut() {
                let _ = f.write_all(b);
            }
            seen2.fetch_add(b.len() as u64, Ordering::Relaxed);
        });
        let c1 = sys::cpu_secs("/proc/thread-self/stat");
        c0.zip(c1).map(|(a, b)| (b.0 - a.0, b.1 - a.1))
    });
    let result = (|| {
        thread::sleep(Duration::from_millis(100));
        let t0 = Instant::now();
        fs::File::create(&go).map_err(|e| format!("{}: {e}", go.display()))?;
        let timeout = Duration::from_secs(ctx.opts.tp_timeout_s);
        if !sys::wait_until(timeout, Duration::from_millis(1), || done.exists())? {
            return Err(format!("{}: no done-file after {timeout:?}", kind.label()));
        }
        let secs = t0.elapsed().as_secs_f64();
        let want = p.on_pty();
        sys::wait_until(Duration::from_secs(30), Duration::from_millis(1), || {
            seen.load(Ordering::Relaxed) >= want
        })?;
        Ok((secs, t0.elapsed().as_secs_f64()))
    })();
    pc.kill(); // the slave closes: the reader sees EIO and ends
    let end = Instant::now() + Duration::from_secs(10);
    while !reader.is_finished() && Instant::now() < end {
        thread::sleep(Duration::from_millis(5));
    }
    let cpu = if reader.is_finished() {
        reader.join().ok().flatten()
    } else {
        None
    };
    for f in [&go, &done, &logpath] {
        let _ = fs::remove_file(f);
    }
    let (secs, secs_complete) = result?;
    let got = seen.load(Ordering::Relaxed);
    if got < p.on_pty() {
        return Err(format!(
            "{}: read {got} of {} bytes",
            kind.label(),
            p.on_pty()
        ));
    }
    Ok(Sample {
        kind,
        secs,
        secs_complete,
        cpu,
        counted: None,
    })
}

fn one_ours(ctx: &Ctx, p: &Payload) -> Result<Sample, String> {
    let tok = ctx.unique("tp");
    let (script, go, done) = script(ctx, &p.path, &tok);
    let store = ctx.store("tp")?;
    let name = "tp";
    // One argument with spaces: the supervisor runs it with `sh -c`, as raw does.
    store.run_bg(name, &[&script])?;
    let meta = store
        .meta(name)
        .ok_or("ours: no meta.json after run --bg")?;
    let sup = meta
        .supervisor_pid
        .ok_or("ours: meta.json has no supervisor_pid")?;
    let stat = format!("/proc/{sup}/stat");
    let want = p.on_pty();
    let result = (|| {
        thread::sleep(Duration::from_millis(100));
        let c0 = sys::cpu_secs(&stat);
        let t0 = Instant::now();
        fs::File::create(&go).map_err(|e| format!("{}: {e}", go.display()))?;
        let timeout = Duration::from_secs(ctx.opts.tp_timeout_s);
        if !sys::wait_until(timeout, Duration::from_millis(1), || done.exists())? {
            return Err(format!(
                "ours: no done-file after {timeout:?} (log has {} bytes)",
                store.log_bytes(name)
            ));
        }
        let secs = t0.elapsed().as_secs_f64();
        sys::wait_until(Duration::from_secs(30), Duration::from_millis(1), || {
            store.log_bytes(name) >= want
        })?;
        let secs_complete = t0.elapsed().as_secs_f64();
        let c1 = sys::cpu_secs(&stat);
        Ok((
            secs,
            secs_complete,
            c0.zip(c1).map(|(a, b)| (b.0 - a.0, b.1 - a.1)),
        ))
    })();
    for f in [&go, &done] {
        let _ = fs::remove_file(f);
    }
    let (secs, secs_complete, cpu) = result?;
    let logged = store.log_bytes(name);
    if logged < want {
        return Err(format!(
            "ours: output.log holds {logged} bytes, expected at least {want} (payload {} + {} CRs)",
            p.bytes, p.lines
        ));
    }
    // meta.json is rewritten on state changes, not per chunk: its count is
    // checked once the session has been stopped.
    store.call(&["stop", name])?;
    let counted = store.meta(name).and_then(|m| m.output_bytes);
    drop(store);
    Ok(Sample {
        kind: Kind::Ours,
        secs,
        secs_complete,
        cpu,
        counted,
    })
}
