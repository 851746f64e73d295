//! Idle memory: N sessions running `sleep 1000`, no client attached, measured
//! once they have gone idle (the supervisor trims its memory then). Sums of
//! VmRSS (`/proc/PID/status`) and Pss (`/proc/PID/smaps_rollup`) over the
//! supervisors (`supervisor_pid` in each meta.json): per session (total ÷ N)
//! and marginal ((total_N − first) ÷ (N − 1)). RSS counts shared pages (the
//! binary's text, libc) in full for every process; PSS splits them.
//!
//! There is no raw supervisor: the raw column shows the idle program itself
//! (`sleep`, a minimal C process) for scale.

use std::thread;
use std::time::Duration;

use super::report::{Report, Verdict, num, ratio};
use super::{Ctx, sys};

/// How long after its start a session counts as idle.
const IDLE: Duration = Duration::from_millis(2500);

pub fn run(ctx: &Ctx, rep: &mut Report) -> Result<(), String> {
    let n = ctx.opts.sessions;
    let mut store = ctx.store("rss")?;
    // More sessions than the default limit may run here.
    store.set_config(&format!("max_sessions = {}\n", n + 1))?;
    store.run_bg("r1", &["sleep", "1000"])?;
    // Idle: past idle_after (2 s), when a supervisor gives memory back.
    thread::sleep(IDLE);
    let m1 = store.meta("r1").ok_or("no meta.json for r1")?;
    let sup1 = m1.supervisor_pid.ok_or("r1: no supervisor_pid")?;
    let (rss1, pss1) = sys::mem_kb(sup1).ok_or("r1: supervisor not running")?;
    for i in 2..=n {
        sys::check_interrupt()?;
        store.run_bg(&format!("r{i}"), &["sleep", "1000"])?;
    }
    thread::sleep(IDLE);
    let (mut rss, mut pss, mut prss, mut ppss, mut count) = (0u64, 0u64, 0u64, 0u64, 0usize);
    let (mut anon, mut file) = (0u64, 0u64);
    for (name, m) in store.metas() {
        let sup = m
            .supervisor_pid
            .ok_or(format!("{name}: no supervisor_pid"))?;
        let (r, p) = sys::mem_kb(sup).ok_or(format!("{name}: supervisor {sup} not running"))?;
        rss += r;
        pss += p;
        count += 1;
        if let Some((a, f)) = sys::rss_split_kb(sup) {
            anon += a;
            file += f;
        }
        if let Some((r, p)) = m.pid.and_then(sys::mem_kb) {
            prss += r;
            ppss += p;
        }
    }
    if count != n {
        return Err(format!("{count} of {n} sessions found"));
    }
    let nf = n as f64;
    let mb = |kb: u64| kb as f64 / 1024.0;
    let (rss_per, pss_per) = (mb(rss) / nf, mb(pss) / nf);
    let (prss_per, ppss_per) = (mb(prss) / nf, mb(ppss) / nf);
    let marginal = (mb(rss) - mb(rss1)) / (nf - 1.0);
    let kb = |mib: f64| mib * 1024.0;
    rep.row(
        format!("idle RSS per supervisor, kB (total÷{n})"),
        num(Some(kb(rss_per)), 0),
        format!("{} (sleep)", num(Some(kb(prss_per)), 0)),
        ratio(Some(rss_per), Some(prss_per)),
        "≤ 1024 kB",
        Verdict::check(Some(kb(rss_per) <= 1024.0)),
    );
    rep.row(
        format!("idle PSS per supervisor, kB (total÷{n})"),
        num(Some(kb(pss_per)), 0),
        format!("{} (sleep)", num(Some(kb(ppss_per)), 0)),
        ratio(Some(pss_per), Some(ppss_per)),
        "≤ 150 kB",
        Verdict::check(Some(kb(pss_per) <= 150.0)),
    );
    rep.row(
        "idle RSS, marginal per extra session, MiB",
        num(Some(marginal), 2),
        "",
        "",
        "",
        Verdict::Info,
    );
    rep.note(format!(
        "rss: first supervisor alone RSS {:.2} MiB, PSS {:.2} MiB; {n} supervisors RSS {:.1} MiB, PSS {:.1} MiB in all; \
         per supervisor RSS = {:.2} MiB anonymous (heap, stacks) + {:.2} MiB file-backed (binary, libc: shared, hence the low PSS)",
        mb(rss1),
        mb(pss1),
        mb(rss),
        mb(pss),
        mb(anon) / nf,
        mb(file) / nf
    ));
    Ok(())
}
