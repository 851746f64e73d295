//! Attached throughput, as `bench/peers.py`'s `throughput_attached` measures
//! it: the detached throughput's program (wait for a go-file, `cat` the
//! payload, print a unique end token, touch a done-file), with one attach
//! client on a PTY opened here (80×24, raw mode) whose master this process
//! drains as fast as it can. The clock runs from creating the go-file until the
//! end token appears in the client's byte stream.
//!
//! A client that keeps reading gets every byte (the supervisor holds the
//! program back while the client's queue is full; only a client stuck for
//! `attach.stall` is cut loose and repainted), so client bytes ÷ bytes on the
//! PTY should be 1 (reported; the repaint before the flood counts a little
//! over). output.log must hold every byte (checked).
//!
//! raw: the same command on a PTY (cooked, as the supervisor's), whose master
//! this process reads directly with the same loop. Interleaved with ours,
//! alternating the order.

use std::fs;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use super::report::{self, Report, Verdict, median, min_max, ratio};
use super::store::Store;
use super::term::Tty;
use super::tp::{Payload, payload};
use super::{Ctx, sys};

struct Run {
    ours: bool,
    secs: f64,
    client_bytes: u64,
    /// Ours: CPU s of (supervisor, client) during the run.
    cpu: Option<(f64, f64)>,
}

struct Script {
    cmd: String,
    go: PathBuf,
    done: PathBuf,
    marker: Vec<u8>,
}

fn script(ctx: &Ctx, data: &std::path::Path) -> Script {
    let tok = ctx.unique("tpa");
    let go = ctx.scratch(&format!("{tok}.go"));
    let done = ctx.scratch(&format!("{tok}.done"));
    // The token is printed in two halves so the command line never holds it.
    let cmd = format!(
        "while [ ! -e {go} ]; do sleep 0.002; done; cat {data}; printf '%s_%s\\n' PBEND {tok}{tag}; \
         : > {done}; exec sleep 1000",
        go = go.display(),
        data = data.display(),
        done = done.display(),
        tag = &ctx.tag[..8],
    );
    let marker = format!("PBEND_{tok}{}", &ctx.tag[..8]).into_bytes();
    Script {
        cmd,
        go,
        done,
        marker,
    }
}

pub fn run(ctx: &Ctx, rep: &mut Report) -> Result<(), String> {
    let p = payload(ctx.opts.tp_mb)?;
    let mut runs = Vec::new();
    for r in 0..ctx.opts.tp_reps {
        for ours in [r % 2 == 1, r % 2 == 0] {
            sys::check_interrupt()?;
            let run = if ours {
                one_ours(ctx, &p)?
            } else {
                one_raw(ctx, &p)?
            };
            let cpu = run
                .cpu
                .map(|(s, c)| format!(", cpu supervisor {s:.2} s, client {c:.2} s"))
                .unwrap_or_default();
            eprintln!(
                "bench:   rep {r} {:<4} {:>6.1} MB/s ({:.2} s; client got {:.1}% of the bytes{cpu})",
                if ours { "ours" } else { "raw" },
                p.bytes as f64 / 1e6 / run.secs,
                run.secs,
                run.client_bytes as f64 * 100.0 / p.on_pty() as f64,
            );
            runs.push(run);
        }
    }
    let mbps = |ours: bool| -> Vec<f64> {
        runs.iter()
            .filter(|r| r.ours == ours)
            .map(|r| p.bytes as f64 / 1e6 / r.secs)
            .collect()
    };
    let (o, w) = (median(&mbps(true)), median(&mbps(false)));
    let ok = o.zip(w).map(|(o, w)| o >= 0.9 * w);
    rep.row(
        format!(
            "attached throughput, MB/s ({:.0} MB, {} reps)",
            p.bytes as f64 / 1e6,
            ctx.opts.tp_reps
        ),
        report::num(o, 0),
        report::num(w, 0),
        ratio(o, w),
        "≥ 0.90× raw",
        Verdict::check(ok),
    );
    let frac = |ours: bool| -> Vec<f64> {
        runs.iter()
            .filter(|r| r.ours == ours)
            .map(|r| r.client_bytes as f64 / p.on_pty() as f64)
            .collect()
    };
    let fo = frac(true);
    let all = min_max(&fo).map(|(lo, _)| lo >= 1.0);
    let range = |xs: &[f64], scale: f64, d: usize| match min_max(xs) {
        Some((lo, hi)) => format!("[{:.d$}–{:.d$}]", lo * scale, hi * scale),
        None => "–".into(),
    };
    rep.row(
        "  … client bytes ÷ bytes on the PTY, median",
        format!("{:.3}", median(&fo).unwrap_or(0.0)),
        format!("{:.3}", median(&frac(false)).unwrap_or(0.0)),
        "",
        "every byte, every run",
        Verdict::check(all),
    );
    let cpu: Vec<(f64, f64)> = runs.iter().filter_map(|r| r.cpu).collect();
    rep.note(format!(
        "tpa: MB/s ours {} raw {}; client got {} of the {} bytes on the PTY (per run, min–max); \
         CPU per run (median): supervisor {} s, client {} s; output.log held every byte in every run",
        range(&mbps(true), 1.0, 0),
        range(&mbps(false), 1.0, 0),
        range(&fo, 1.0, 3),
        p.on_pty(),
        report::num(median(&cpu.iter().map(|c| c.0).collect::<Vec<_>>()), 2),
        report::num(median(&cpu.iter().map(|c| c.1).collect::<Vec<_>>()), 2),
    ));
    Ok(())
}

fn one_raw(ctx: &Ctx, p: &Payload) -> Result<Run, String> {
    let s = script(ctx, &p.path);
    let mut cmd = ctx.command("/bin/sh");
    cmd.arg("-c").arg(&s.cmd);
    let tty = Tty::spawn(cmd, false)?;
    thread::sleep(Duration::from_millis(100));
    let result = timed(ctx, &tty, &s);
    drop(tty);
    for f in [&s.go, &s.done] {
        let _ = fs::remove_file(f);
    }
    let (secs, n) = result.map_err(|e| format!("raw: {e}"))?;
    Ok(Run {
        ours: false,
        secs,
        client_bytes: n,
        cpu: None,
    })
}

fn timed(ctx: &Ctx, tty: &Tty, s: &Script) -> Result<(f64, u64), String> {
    let t0 = Instant::now();
    fs::File::create(&s.go).map_err(|e| format!("{}: {e}", s.go.display()))?;
    let deadline = t0 + Duration::from_secs(ctx.opts.tp_timeout_s);
    let (found, n, t1) = tty.read_until_marker(&s.marker, deadline);
    sys::check_interrupt()?;
    if !found {
        return Err(format!(
            "the end token never appeared in the terminal's output ({n} bytes read in {:.1} s)",
            t1.duration_since(t0).as_secs_f64()
        ));
    }
    Ok((t1.duration_since(t0).as_secs_f64(), n))
}

fn one_ours(ctx: &Ctx, p: &Payload) -> Result<Run, String> {
    let s = script(ctx, &p.path);
    let store = ctx.store("tpa")?;
    let name = "tpa";
    let result = ours_in(ctx, &store, name, p, &s);
    for f in [&s.go, &s.done] {
        let _ = fs::remove_file(f);
    }
    drop(store);
    result
}

fn ours_in(
    ctx: &Ctx,
    store: &Store<'_>,
    name: &str,
    p: &Payload,
    s: &Script,
) -> Result<Run, String> {
    store.run_bg(name, &[&s.cmd])?;
    let sup = store
        .meta(name)
        .and_then(|m| m.supervisor_pid)
        .ok_or("ours: meta.json has no supervisor_pid")?;
    let mut tty = Tty::spawn(store.attach_cmd(name), true)?;
    // Let the client attach and paint before the flood.
    tty.drain_quiet(Duration::from_millis(300), Duration::from_secs(3));
    if tty.pc.child.try_wait().ok().flatten().is_some() {
        return Err("ours: the attach client exited before the run".into());
    }
    let (s0, c0) = (sys::cpu_ns(sup), tty.cpu_ns());
    let (secs, n) = timed(ctx, &tty, s)
        .map_err(|e| format!("ours: {e}; output.log has {} bytes", store.log_bytes(name)))?;
    let (s1, c1) = (sys::cpu_ns(sup), tty.cpu_ns());
    let cpu = match (s0, s1, c0, c1) {
        (Some(a), Some(b), Some(c), Some(d)) => Some((
            b.saturating_sub(a) as f64 / 1e9,
            d.saturating_sub(c) as f64 / 1e9,
        )),
        _ => None,
    };
    // Every byte (payload, the CRs the PTY adds, the end line) must be logged.
    let want = p.on_pty() + s.marker.len() as u64 + 2;
    sys::wait_until(Duration::from_secs(30), Duration::from_millis(2), || {
        store.log_bytes(name) >= want
    })?;
    let logged = store.log_bytes(name);
    if logged < want {
        return Err(format!(
            "ours: output.log holds {logged} bytes, expected {want} with a client attached"
        ));
    }
    let (_, clean) = tty.detach(Duration::from_secs(5))?;
    if !clean {
        return Err("ours: the attach client exited non-zero after Ctrl-\\".into());
    }
    drop(tty);
    store.call(&["stop", name])?;
    Ok(Run {
        ours: true,
        secs,
        client_bytes: n,
        cpu,
    })
}
