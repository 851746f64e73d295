//! Create latency: from launching `codex-session run --bg -- sleep 1000` until
//! the session is attachable. `run --bg` returns only once the program has
//! been exec'd and the socket listens, so the command returning is the
//! moment; a connect to `<store>/NAME/sock` right after verifies it (a
//! refused first connect is counted and retried, and the time then includes
//! the wait).
//!
//! raw: openpty + spawn of the same program on the slave (setsid, TIOCSCTTY),
//! until spawn returns (std waits for the exec on a close-on-exec pipe).
//! Interleaved raw/ours; one warm-up of each is not counted.

use std::process::Stdio;
use std::time::{Duration, Instant};

use super::report::{Report, Verdict, median, num, pctl, ratio};
use super::{Ctx, sys};

pub fn run(ctx: &Ctx, rep: &mut Report) -> Result<(), String> {
    let store = ctx.store("create")?;
    let reps = ctx.opts.create_reps;
    let (mut raw, mut ready, mut returned) = (Vec::new(), Vec::new(), Vec::new());
    let mut bare = Vec::new();
    let mut refused = 0;
    for i in 0..=reps {
        sys::check_interrupt()?;
        // raw
        let mut cmd = ctx.command("sleep");
        cmd.arg("1000");
        let t0 = Instant::now();
        let pc = sys::spawn_on_pty(cmd).map_err(|e| format!("raw PTY: {e}"))?;
        let t_raw = t0.elapsed();
        drop(pc);

        // the CLI's fixed cost: a process that starts, parses and exits
        let mut cmd = ctx.command(&ctx.bin);
        cmd.arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let t0 = Instant::now();
        let st = cmd
            .status()
            .map_err(|e| format!("{}: {e}", ctx.bin.display()))?;
        let t_bare = t0.elapsed();
        if !st.success() {
            return Err(format!("codex-session --version: {st}"));
        }

        // ours
        let name = format!("c{i}");
        let mut cmd = store.run_bg_cmd(&name, &["sleep", "1000"]);
        let sock = store.sock(&name);
        let t0 = Instant::now();
        let child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", ctx.bin.display()))?;
        store.finish(child, &format!("run --bg --name {name}"))?;
        let t_ret = t0.elapsed();
        let mut first = true;
        let ok = sys::wait_until(Duration::from_secs(5), Duration::from_micros(100), || {
            let ok = sys::connectable(&sock);
            if !ok && first {
                refused += 1;
            }
            first = false;
            ok
        })?;
        let t_ready = t0.elapsed();
        if !ok {
            return Err(format!("{} never accepted a connection", sock.display()));
        }
        if i > 0 {
            raw.push(t_raw.as_secs_f64() * 1e3);
            bare.push(t_bare.as_secs_f64() * 1e3);
            returned.push(t_ret.as_secs_f64() * 1e3);
            ready.push(t_ready.as_secs_f64() * 1e3);
        }
        store.call(&["stop", &name])?;
        store.call(&["rm", &name])?;
    }
    let (o, r) = (median(&ready), median(&raw));
    rep.row(
        format!("create → attachable, ms median (p90), n={reps}"),
        format!("{} ({})", num(o, 2), num(pctl(&ready, 90.0), 2)),
        format!("{} ({})", num(r, 2), num(pctl(&raw, 90.0), 2)),
        ratio(o, r),
        "≤ 5 ms",
        Verdict::check(o.map(|x| x <= 5.0)),
    );
    rep.note(format!(
        "create: `run --bg` returned after {} ms median (p90 {}, max {}); socket refused the first connect {refused} of {} times; \
         a bare `codex-session --version` (spawn, exec, exit) takes {} ms median",
        num(median(&returned), 2),
        num(pctl(&returned, 90.0), 2),
        num(pctl(&returned, 100.0), 2),
        reps + 1,
        num(median(&bare), 2)
    ));
    Ok(())
}
