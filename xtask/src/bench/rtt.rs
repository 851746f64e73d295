//! Keystroke round trip through an attached client, as `bench/peers.py`'s
//! `rtt` measures it.
//!
//! The session runs `stty raw -echo; exec cat` (through `sh -c`). A client,
//! `codex-session attach`, runs on a PTY opened here (80×24, put in raw mode
//! before it starts, so nothing is echoed locally); once a probe typed on it
//! has come back, N times: write one byte to the client's PTY master, read
//! until that byte is seen (escape sequences stripped), record the time. The
//! path is: our PTY → client → socket → supervisor → the session's PTY → `cat`
//! → back the same way.
//!
//! raw: the same program on a PTY whose master this process drives directly
//! (one PTY crossing each way instead of two, and no relays). In each
//! repetition both are set up (a fresh session and client for ours) and kept
//! alive side by side, and the N round trips of each are taken in alternating
//! blocks of 50, so that both see the same moments of the (noisy, shared)
//! machine. The summary's p50/p99 are medians of per-repetition percentiles; a
//! note gives the pooled p99 and max, and the CPU `cat`, the client and the
//! supervisor spent per round trip (from /proc/PID/task/*/schedstat).

use std::time::{Duration, Instant};

use super::report::{Report, Verdict, median, num, pctl, ratio};
use super::store::Store;
use super::term::{self, Got, Tty, contains, strip_esc};
use super::{Ctx, sys};

const RTT_CMD: &str = "stty raw -echo; printf 'PB%s\\n' READY; exec cat";
/// The bytes typed, in turn (none is special to a terminal or the client).
const CHARS: &[u8] = b"qwxzQWXZ";
/// Round trips in a row before switching to the other side.
const BLOCK: usize = 50;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Raw,
    Ours,
}

/// One side of a repetition: the terminal typed on, and the processes whose
/// CPU is counted (`cat`; ours: also the client and the supervisor).
struct Side {
    kind: Kind,
    tty: Tty,
    /// (cat, client, supervisor) pids; the client and supervisor only for ours.
    pids: [Option<i32>; 3],
    us: Vec<f64>,
    cpu_ns: [u64; 3],
}

impl Side {
    /// `n` more round trips, adding each process's CPU over them.
    fn block(&mut self, n: usize) -> Result<(), String> {
        let before = self.pids.map(|p| p.and_then(sys::cpu_ns));
        round_trips(&self.tty, n, &mut self.us)
            .map_err(|e| format!("{}: {e}", label(self.kind)))?;
        let after = self.pids.map(|p| p.and_then(sys::cpu_ns));
        for ((sum, a), b) in self.cpu_ns.iter_mut().zip(before).zip(after) {
            if let (Some(a), Some(b)) = (a, b) {
                *sum += b.saturating_sub(a);
            }
        }
        Ok(())
    }

    /// CPU µs per round trip of (cat, client, supervisor).
    fn cpu_us(&self) -> [Option<f64>; 3] {
        let n = self.us.len().max(1) as f64;
        let mut out = [None; 3];
        for ((o, p), ns) in out.iter_mut().zip(self.pids).zip(self.cpu_ns) {
            *o = p.map(|_| ns as f64 / 1e3 / n);
        }
        out
    }
}

struct Rep {
    kind: Kind,
    us: Vec<f64>,
    cpu_us: [Option<f64>; 3],
}

pub fn run(ctx: &Ctx, rep: &mut Report) -> Result<(), String> {
    let n = ctx.opts.rtt_n;
    let mut seed = term::seed(&ctx.tag);
    let store = ctx.store("rtt")?;
    let mut reps: Vec<Rep> = Vec::new();
    for r in 0..ctx.opts.rtt_reps {
        sys::check_interrupt()?;
        let name = format!("rt{r}");
        let mut raw = raw_side(ctx, &mut seed)?;
        let mut ours = ours_side(&store, &name, &mut seed)?;
        let mut done = 0;
        while done < n {
            let b = BLOCK.min(n - done);
            if (done / BLOCK + r).is_multiple_of(2) {
                raw.block(b)?;
                ours.block(b)?;
            } else {
                ours.block(b)?;
                raw.block(b)?;
            }
            done += b;
        }
        let (_, clean) = ours.tty.detach(Duration::from_secs(3))?;
        if !clean {
            return Err("ours: the attach client exited non-zero after Ctrl-\\".into());
        }
        store.call(&["stop", &name])?;
        for side in [raw, ours] {
            let c = side.cpu_us();
            eprintln!(
                "bench:   rep {r} {:<4} p50 {:>6.1} µs  p99 {:>7.1} µs (CPU µs per round trip: cat {}{})",
                label(side.kind),
                pctl(&side.us, 50.0).unwrap_or(f64::NAN),
                pctl(&side.us, 99.0).unwrap_or(f64::NAN),
                num(c[0], 1),
                if side.kind == Kind::Ours {
                    format!(", client {}, supervisor {}", num(c[1], 1), num(c[2], 1))
                } else {
                    String::new()
                }
            );
            reps.push(Rep {
                kind: side.kind,
                cpu_us: c,
                us: side.us,
            });
        }
    }

    let per_rep = |k: Kind, q: f64| -> Option<f64> {
        let xs: Vec<f64> = reps
            .iter()
            .filter(|r| r.kind == k)
            .filter_map(|r| pctl(&r.us, q))
            .collect();
        median(&xs)
    };
    let pooled = |k: Kind| -> Vec<f64> {
        reps.iter()
            .filter(|r| r.kind == k)
            .flat_map(|r| r.us.iter().copied())
            .collect()
    };
    let cpu = |k: Kind, i: usize| -> Option<f64> {
        let xs: Vec<f64> = reps
            .iter()
            .filter(|r| r.kind == k)
            .filter_map(|r| r.cpu_us[i])
            .collect();
        median(&xs)
    };
    let (o50, r50) = (per_rep(Kind::Ours, 50.0), per_rep(Kind::Raw, 50.0));
    let (o99, r99) = (per_rep(Kind::Ours, 99.0), per_rep(Kind::Raw, 99.0));
    let nreps = ctx.opts.rtt_reps;
    let ok = o50.zip(r50).map(|(o, r)| o <= 150.0 && o <= 5.0 * r);
    rep.row(
        format!("keystroke rtt p50, µs ({nreps}×{n})"),
        num(o50, 1),
        num(r50, 1),
        ratio(o50, r50),
        "≤ 150 µs and ≤ 5× raw (stretch ≤ 80 µs)",
        Verdict::check(ok),
    );
    rep.row(
        "keystroke rtt p99, µs",
        num(o99, 1),
        num(r99, 1),
        ratio(o99, r99),
        "",
        Verdict::Info,
    );
    let (po, pr) = (pooled(Kind::Ours), pooled(Kind::Raw));
    rep.note(format!(
        "rtt: pooled over {} round trips each: ours p50 {} / p99 {} / max {} µs, raw p50 {} / p99 {} / max {} µs; \
         stretch target p50 ≤ 80 µs {}; CPU per round trip (median of reps): client {} µs, supervisor {} µs, \
         `cat` {} µs (raw: `cat` {} µs)",
        po.len(),
        num(pctl(&po, 50.0), 1),
        num(pctl(&po, 99.0), 1),
        num(pctl(&po, 100.0), 0),
        num(pctl(&pr, 50.0), 1),
        num(pctl(&pr, 99.0), 1),
        num(pctl(&pr, 100.0), 0),
        match o50 {
            Some(x) if x <= 80.0 => "met",
            Some(_) => "not met",
            None => "–",
        },
        num(cpu(Kind::Ours, 1), 1),
        num(cpu(Kind::Ours, 2), 1),
        num(cpu(Kind::Ours, 0), 1),
        num(cpu(Kind::Raw, 0), 1),
    ));
    Ok(())
}

fn label(k: Kind) -> &'static str {
    match k {
        Kind::Raw => "raw",
        Kind::Ours => "ours",
    }
}

/// `cat` on a PTY of our own, echoing a probe.
fn raw_side(ctx: &Ctx, seed: &mut u64) -> Result<Side, String> {
    let mut cmd = ctx.command("/bin/sh");
    cmd.arg("-c").arg(RTT_CMD);
    let tty = Tty::spawn(cmd, false)?;
    if !tty.expect(Duration::from_secs(5), |a| contains(a, b"PBREADY")) {
        return Err("raw: `cat` did not start".into());
    }
    if tty
        .probe_until_echo(seed, Duration::from_secs(10))
        .is_none()
    {
        return Err("raw: a probe was never echoed".into());
    }
    tty.drain_quiet(Duration::from_millis(100), Duration::from_secs(2));
    let cat = tty.pid();
    Ok(Side {
        kind: Kind::Raw,
        tty,
        pids: [Some(cat), None, None],
        us: Vec::new(),
        cpu_ns: [0; 3],
    })
}

/// A fresh session running `cat` and a client attached to it, echoing a probe.
fn ours_side(store: &Store<'_>, name: &str, seed: &mut u64) -> Result<Side, String> {
    store.run_bg(name, &[RTT_CMD])?;
    store.wait_log_contains(name, b"PBREADY", Duration::from_secs(5))?;
    let meta = store.meta(name).unwrap_or_default();
    let sup = meta
        .supervisor_pid
        .ok_or("ours: meta.json has no supervisor_pid")?;
    let cat = meta.pid.ok_or("ours: meta.json has no pid")?;
    let tty = Tty::spawn(store.attach_cmd(name), true)?;
    if tty
        .probe_until_echo(seed, Duration::from_secs(10))
        .is_none()
    {
        return Err("ours: a probe typed on the attach client was never echoed".into());
    }
    tty.drain_quiet(Duration::from_millis(300), Duration::from_secs(3));
    let client = tty.pid();
    Ok(Side {
        kind: Kind::Ours,
        tty,
        pids: [Some(cat), Some(client), Some(sup)],
        us: Vec::new(),
        cpu_ns: [0; 3],
    })
}

/// N × (write one byte, read until it is seen), appending µs each to `us`.
fn round_trips(tty: &Tty, n: usize, us: &mut Vec<f64>) -> Result<(), String> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut acc: Vec<u8> = Vec::with_capacity(256);
    for i in 0..n {
        if i % 256 == 0 {
            sys::check_interrupt()?;
        }
        let ch = CHARS[i % CHARS.len()];
        acc.clear();
        let t0 = Instant::now();
        tty.write_all(&[ch])?;
        let end = t0 + Duration::from_secs(3);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("round trip {i}: no echo within 3 s"));
            }
            match tty.read(&mut buf, left) {
                Got::Data(k) => {
                    acc.extend_from_slice(&buf[..k]);
                    if acc.contains(&ch) && strip_esc(&acc).contains(&ch) {
                        break;
                    }
                }
                Got::Timeout => {}
                Got::Eof => return Err(format!("round trip {i}: the terminal closed")),
            }
        }
        us.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    Ok(())
}
