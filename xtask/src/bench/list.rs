//! `list` over many sessions: M sessions running `true` are started (several
//! `run --bg` at once), then, once every meta.json says they ended, `list` and
//! `list --json` are timed from spawn to exit with their output read from a
//! pipe. raw: one `cat` of every session's meta.json (the least a listing
//! process that reads the same files does). Interleaved, one warm-up each.
//!
//! Also timed here, since it needs the same full store: `run --bg` into it
//! (starting a session checks the running-session limit over the store).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::report::{Report, Verdict, median, min_max, num, ratio};
use super::{Ctx, sys};

/// `run --bg` calls in flight at once while filling the store.
const PARALLEL: usize = 8;
/// The size the target is stated for.
const TARGET_N: usize = 1000;

pub fn run(ctx: &Ctx, rep: &mut Report) -> Result<(), String> {
    let m = ctx.opts.list_sessions;
    let store = ctx.store("list")?;

    // Fill the store.
    let t0 = Instant::now();
    let mut running = InFlight(Vec::new());
    let mut next = 0;
    while next < m || !running.0.is_empty() {
        sys::check_interrupt()?;
        while running.0.len() < PARALLEL && next < m {
            let name = format!("l{next:05}");
            let child = store
                .run_bg_cmd(&name, &["true"])
                .spawn()
                .map_err(|e| format!("starting {}: {e}", ctx.bin.display()))?;
            running.0.push((name, child));
            next += 1;
        }
        let mut i = 0;
        while i < running.0.len() {
            match running.0[i].1.try_wait() {
                Ok(Some(_)) => {
                    let (name, child) = running.0.swap_remove(i);
                    store.finish(child, &format!("run --bg --name {name}"))?;
                }
                Ok(None) => i += 1,
                Err(e) => return Err(format!("waiting for run --bg: {e}")),
            }
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    let fill = t0.elapsed().as_secs_f64();
    let all_ended = sys::wait_until(Duration::from_secs(120), Duration::from_millis(100), || {
        let metas = store.metas();
        metas.len() == m && metas.iter().all(|(_, x)| x.ended())
    })?;
    if !all_ended {
        let metas = store.metas();
        let ended = metas.iter().filter(|(_, x)| x.ended()).count();
        return Err(format!(
            "{ended} of {m} sessions ended after 120 s ({} meta.json files)",
            metas.len()
        ));
    }
    let settled = t0.elapsed().as_secs_f64();

    let metas: Vec<_> = store
        .metas()
        .into_iter()
        .map(|(name, _)| store.session_dir(&name).join("meta.json"))
        .collect();
    let list_cmd = |json: bool| {
        let mut c = ctx.command(&ctx.bin);
        c.arg("--store").arg(store.dir()).arg("list");
        if json {
            c.arg("--json");
        }
        c
    };
    let cat_cmd = || {
        let mut c = ctx.command("cat");
        c.args(&metas);
        c
    };
    // One warm-up each, and the output checks.
    let json = timed(list_cmd(true))?.1;
    let entries = count_key(&json, "supervisor_pid");
    if entries != m {
        return Err(format!(
            "list --json shows {entries} sessions, expected {m}"
        ));
    }
    let text = timed(list_cmd(false))?.1;
    let lines = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    if lines < m {
        return Err(format!("list printed {lines} lines for {m} sessions"));
    }
    timed(cat_cmd())?;

    let (mut raw, mut plain, mut js) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..ctx.opts.list_reps {
        sys::check_interrupt()?;
        for k in 0..3 {
            match (k + r) % 3 {
                0 => raw.push(timed(cat_cmd())?.0),
                1 => plain.push(timed(list_cmd(false))?.0),
                _ => js.push(timed(list_cmd(true))?.0),
            }
        }
    }
    // `run --bg` into this full store (each start checks the running-session
    // limit over the store's sessions).
    let mut create = Vec::new();
    for r in 0..ctx.opts.list_reps {
        sys::check_interrupt()?;
        let name = format!("x{r}");
        let mut cmd = store.run_bg_cmd(&name, &["sleep", "1000"]);
        let t0 = Instant::now();
        let child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", ctx.bin.display()))?;
        store.finish(child, &format!("run --bg --name {name}"))?;
        create.push(t0.elapsed().as_secs_f64() * 1e3);
        store.call(&["stop", &name])?;
        store.call(&["rm", &name])?;
    }

    let verdict = |x: Option<f64>| {
        if m == TARGET_N {
            Verdict::check(x.map(|v| v <= 100.0))
        } else {
            Verdict::Info
        }
    };
    let target = if m == TARGET_N {
        "≤ 100 ms".to_owned()
    } else {
        format!("≤ 100 ms at {TARGET_N}")
    };
    let (p, j, c) = (median(&plain), median(&js), median(&raw));
    rep.row(
        format!("list, {m} ended sessions, ms"),
        num(p, 1),
        format!("{} (cat meta)", num(c, 1)),
        ratio(p, c),
        target.clone(),
        verdict(p),
    );
    rep.row(
        format!("list --json, {m} ended sessions, ms"),
        num(j, 1),
        format!("{} (cat meta)", num(c, 1)),
        ratio(j, c),
        target,
        verdict(j),
    );
    let cr = median(&create);
    rep.row(
        format!("create → attachable with {m} ended sessions in the store, ms"),
        num(cr, 2),
        "",
        "",
        "≤ 5 ms",
        Verdict::check(cr.map(|v| v <= 5.0)),
    );
    let rng = |xs: &[f64]| {
        min_max(xs)
            .map(|(a, b)| format!("{a:.1}–{b:.1}"))
            .unwrap_or_default()
    };
    rep.note(format!(
        "list: {} reps, ranges: list {} ms, --json {} ms, cat {} ms; filling the store took {fill:.1} s \
         ({:.1} ms per `run --bg`, {PARALLEL} at a time), all ended after {settled:.1} s; \
         `run --bg` into the full store: {} ms",
        ctx.opts.list_reps,
        rng(&plain),
        rng(&js),
        rng(&raw),
        fill * 1e3 / m as f64,
        rng(&create),
    ));
    Ok(())
}

/// `run --bg` calls in flight. On an early return they are waited for (they
/// are quick) before the store is cleaned up, so none creates a session
/// behind the cleanup's back.
struct InFlight(Vec<(String, Child)>);

impl Drop for InFlight {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            if sys::wait_timeout(child, Duration::from_secs(30)).is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Run to completion with stdout read from a pipe; (ms, stdout).
fn timed(mut c: Command) -> Result<(f64, Vec<u8>), String> {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let t0 = Instant::now();
    let out = c
        .output()
        .map_err(|e| format!("running {:?}: {e}", c.get_program()))?;
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    if !out.status.success() {
        return Err(format!(
            "{:?} failed ({}): {}",
            c.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok((ms, out.stdout))
}

/// How many times `"key"` appears as an object key.
fn count_key(text: &[u8], key: &str) -> usize {
    let text = String::from_utf8_lossy(text);
    let pat = format!("\"{key}\"");
    text.match_indices(&pat)
        .filter(|(i, _)| text[i + pat.len()..].trim_start().starts_with(':'))
        .count()
}
