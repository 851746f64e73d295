//! Attach → first complete repaint, as `bench/peers.py`'s `attach` measures it.
//!
//! The session printed `RSTMARK` while no client was attached (the harness
//! waits until output.log holds it), then runs raw-mode `cat`. Each repetition
//! spawns `codex-session attach` on a PTY opened here (80×24, raw mode), types
//! a unique probe at once, and records from the spawn: the first output byte,
//! the repaint (`RSTMARK` visible, escape sequences stripped) and "usable"
//! (the probe echoed back by `cat`). Then, once the client has been quiet for
//! 100 ms, it detaches with Ctrl-\ and waits for the client to exit 0.
//!
//! raw: the physical floor of putting a screen on a fresh terminal — the
//! program itself, `printf RSTMARK; exec cat`, spawned on a raw-mode PTY of our
//! own, timed the same way (first byte, marker, probe echoed). Interleaved
//! with ours, alternating the order.

use std::thread;
use std::time::{Duration, Instant};

use super::report::{Report, Verdict, median, num, pctl, ratio};
use super::term::{self, Got, Tty, contains, strip_esc};
use super::{Ctx, sys};

const ATTACH_CMD: &str = "printf 'RST%s\\n' MARK; stty raw -echo; exec cat";
const RAW_CMD: &str = "printf 'RST%s\\n' MARK; exec cat";
const MARK: &[u8] = b"RSTMARK";

/// One timing of a [`Sample`].
type Field = fn(&Sample) -> Option<f64>;

#[derive(Default)]
struct Sample {
    first_ms: Option<f64>,
    repaint_ms: Option<f64>,
    usable_ms: Option<f64>,
}

pub fn run(ctx: &Ctx, rep: &mut Report) -> Result<(), String> {
    let mut seed = term::seed(&ctx.tag);
    let store = ctx.store("attach")?;
    let name = "at";
    store.run_bg(name, &[ATTACH_CMD])?;
    store.wait_log_contains(name, MARK, Duration::from_secs(5))?;
    // Let `stty raw -echo; exec cat` happen before the first client.
    thread::sleep(Duration::from_millis(200));

    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    let (mut detach_ms, mut detach_bad) = (Vec::new(), 0);
    let reps = ctx.opts.attach_reps;
    for r in 0..reps {
        for ours_turn in [r % 2 == 1, r % 2 == 0] {
            sys::check_interrupt()?;
            let probe = term::letters(&mut seed, 8);
            if ours_turn {
                let mut tty = Tty::spawn(store.attach_cmd(name), true)?;
                let t0 = tty.spawned_at();
                tty.write_all(&probe)?;
                let s = observe(&tty, &probe, t0);
                tty.drain_quiet(Duration::from_millis(100), Duration::from_secs(2));
                let (took, clean) = tty.detach(Duration::from_secs(3))?;
                detach_ms.push(took.as_secs_f64() * 1e3);
                detach_bad += usize::from(!clean);
                drop(tty);
                ours.push(s);
            } else {
                let mut cmd = ctx.command("/bin/sh");
                cmd.arg("-c").arg(RAW_CMD);
                let tty = Tty::spawn(cmd, true)?;
                let t0 = tty.spawned_at();
                tty.write_all(&probe)?;
                let s = observe(&tty, &probe, t0);
                drop(tty);
                raw.push(s);
            }
            thread::sleep(Duration::from_millis(30));
        }
        let (o, w) = (&ours[ours.len() - 1], &raw[raw.len() - 1]);
        eprintln!(
            "bench:   rep {r} ours first {} repaint {} usable {} ms | raw first {} repaint {} usable {} ms",
            num(o.first_ms, 2),
            num(o.repaint_ms, 2),
            num(o.usable_ms, 2),
            num(w.first_ms, 2),
            num(w.repaint_ms, 2),
            num(w.usable_ms, 2),
        );
    }

    let col = |v: &[Sample], f: Field| -> Vec<f64> { v.iter().filter_map(f).collect() };
    let cell = |xs: &[f64]| format!("{} ({})", num(median(xs), 2), num(pctl(xs, 90.0), 2));
    let restored = ours.iter().filter(|s| s.repaint_ms.is_some()).count();
    let usable = ours.iter().filter(|s| s.usable_ms.is_some()).count();
    let rows: [(&str, Field); 3] = [
        ("attach → repaint (RSTMARK), ms median (p90)", |s| {
            s.repaint_ms
        }),
        ("attach → first byte, ms median (p90)", |s| s.first_ms),
        ("attach → usable (probe echoed), ms median (p90)", |s| {
            s.usable_ms
        }),
    ];
    for (i, (label, f)) in rows.into_iter().enumerate() {
        let (o, w) = (col(&ours, f), col(&raw, f));
        let (target, verdict) = if i == 0 {
            let ok = (restored == reps).then(|| median(&o).map(|x| x <= 10.0));
            ("≤ 10 ms", Verdict::check(ok.unwrap_or(Some(false))))
        } else {
            ("", Verdict::Info)
        };
        rep.row(
            if i == 0 {
                format!("{label}, n={reps}")
            } else {
                label.to_owned()
            },
            cell(&o),
            cell(&w),
            ratio(median(&o), median(&w)),
            target,
            verdict,
        );
    }
    rep.note(format!(
        "attach: RSTMARK (printed while detached) repainted in {restored} of {reps} attaches, probe echoed in {usable}; \
         Ctrl-\\ → client exit {} ms median (max {}), {} exit(s) non-zero; \
         raw = `printf RSTMARK; exec cat` spawned on a fresh raw-mode PTY",
        num(median(&detach_ms), 2),
        num(pctl(&detach_ms, 100.0), 2),
        detach_bad,
    ));
    if restored < reps || usable < reps {
        return Err(format!(
            "the screen was repainted in {restored} and the probe echoed in {usable} of {reps} attaches"
        ));
    }
    Ok(())
}

/// Read until the marker and the probe have both been seen (or 5 s); times
/// from `t0`.
fn observe(tty: &Tty, probe: &[u8], t0: Instant) -> Sample {
    let ms = |t: Instant| Some(t.duration_since(t0).as_secs_f64() * 1e3);
    let mut s = Sample::default();
    let mut acc = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let end = t0 + Duration::from_secs(5);
    while (s.repaint_ms.is_none() || s.usable_ms.is_none()) && !sys::interrupted() {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match tty.read(&mut buf, left) {
            Got::Data(n) => {
                let now = Instant::now();
                if s.first_ms.is_none() {
                    s.first_ms = ms(now);
                }
                acc.extend_from_slice(&buf[..n]);
                let text = strip_esc(&acc);
                if s.repaint_ms.is_none() && contains(&text, MARK) {
                    s.repaint_ms = ms(now);
                }
                if s.usable_ms.is_none() && contains(&text, probe) {
                    s.usable_ms = ms(now);
                }
            }
            Got::Timeout => {}
            Got::Eof => break,
        }
    }
    s
}
