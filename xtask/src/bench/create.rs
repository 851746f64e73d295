//! Create latency: from launching `codex-session run --bg -- sleep 1000` until
//! the session is attachable. `run --bg` returns only once the program has
//! been exec'd and the socket listens, so the command returning is the
//! moment; a connect to `<store>/NAME/sock` right after verifies it (a
//! refused first connect is counted and retried, and the time then includes
//! the wait).
//!
//! Twice: in an empty store, and in a full one (`--create-ended` ended
//! sessions, copies of one real ended session, plus `--create-running`
//! sessions running `sleep 1000`), to show whether the cost grows with the
//! store. The full store is filled before the clock runs, so its one
//! retention pass (at most once per interval) is not in the samples.
//!
//! raw: openpty + spawn of the same program on the slave (setsid, TIOCSCTTY),
//! until spawn returns (std waits for the exec on a close-on-exec pipe).
//! Interleaved raw / empty / full; one warm-up of each is not counted.

use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::report::{Report, Verdict, median, num, pctl, ratio};
use super::store::Store;
use super::{Ctx, sys};

/// The target for both stores, ms.
const TARGET_MS: f64 = 1.5;

pub fn run(ctx: &Ctx, rep: &mut Report) -> Result<(), String> {
    let empty = ctx.store("create")?;
    let full = ctx.store("createfull")?;
    let (n_ended, n_running) = (ctx.opts.create_ended, ctx.opts.create_running);
    let t = Instant::now();
    fill(&full, n_ended, n_running)?;
    eprintln!(
        "bench:   filled a store with {n_ended} ended + {n_running} running sessions in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let reps = ctx.opts.create_reps;
    let (mut raw, mut bare) = (Vec::new(), Vec::new());
    let mut e = Samples::default();
    let mut f = Samples::default();
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
        if i > 0 {
            raw.push(t_raw.as_secs_f64() * 1e3);
            bare.push(t_bare.as_secs_f64() * 1e3);
        }

        // ours, alternating which store goes first
        let name = format!("c{i}");
        for in_full in [i % 2 == 1, i % 2 == 0] {
            let (store, s) = if in_full {
                (&full, &mut f)
            } else {
                (&empty, &mut e)
            };
            s.one(ctx, store, &name, i > 0)?;
        }
    }
    let r = median(&raw);
    for (label, s) in [
        ("empty store".to_string(), &e),
        (format!("{n_ended} ended + {n_running} running"), &f),
    ] {
        let o = median(&s.ready);
        rep.row(
            format!("create → attachable, ms median (p90), {label}, n={reps}"),
            format!("{} ({})", num(o, 2), num(pctl(&s.ready, 90.0), 2)),
            format!("{} ({})", num(r, 2), num(pctl(&raw, 90.0), 2)),
            ratio(o, r),
            format!("≤ {TARGET_MS} ms"),
            Verdict::check(o.map(|x| x <= TARGET_MS)),
        );
        rep.note(format!(
            "create ({label}): `run --bg` returned after {} ms median (p90 {}, max {}); \
             socket refused the first connect {} of {} times",
            num(median(&s.returned), 2),
            num(pctl(&s.returned, 90.0), 2),
            num(pctl(&s.returned, 100.0), 2),
            s.refused,
            reps + 1,
        ));
    }
    rep.note(format!(
        "create: a bare `codex-session --version` (spawn, exec, exit) takes {} ms median",
        num(median(&bare), 2)
    ));
    Ok(())
}

#[derive(Default)]
struct Samples {
    ready: Vec<f64>,
    returned: Vec<f64>,
    refused: usize,
}

impl Samples {
    /// One timed `run --bg` in `store`, then (untimed) stop and rm.
    fn one(&mut self, ctx: &Ctx, store: &Store<'_>, name: &str, keep: bool) -> Result<(), String> {
        let mut cmd = store.run_bg_cmd(name, &["sleep", "1000"]);
        let sock = store.sock(name);
        let t0 = Instant::now();
        let child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", ctx.bin.display()))?;
        store.finish(child, &format!("run --bg --name {name}"))?;
        let t_ret = t0.elapsed();
        let mut first = true;
        let mut refused = false;
        let ok = sys::wait_until(Duration::from_secs(5), Duration::from_micros(100), || {
            let ok = sys::connectable(&sock);
            refused |= !ok && first;
            first = false;
            ok
        })?;
        let t_ready = t0.elapsed();
        if !ok {
            return Err(format!("{} never accepted a connection", sock.display()));
        }
        if keep {
            self.refused += usize::from(refused);
            self.returned.push(t_ret.as_secs_f64() * 1e3);
            self.ready.push(t_ready.as_secs_f64() * 1e3);
        }
        store.call(&["stop", name])?;
        store.call(&["rm", name])
    }
}

/// `ended` copies of one real ended session, then `running` sessions of
/// `sleep 1000`.
fn fill(store: &Store<'_>, ended: usize, running: usize) -> Result<(), String> {
    if ended > 0 {
        store.run_bg("tmpl", &["true"])?;
        let ok = sys::wait_until(Duration::from_secs(10), Duration::from_millis(2), || {
            store.meta("tmpl").is_some_and(|m| m.ended())
        })?;
        if !ok {
            return Err("the template session never ended".into());
        }
        // Its supervisor lets go of the folder just after the record says so.
        let src = store.session_dir("tmpl");
        sys::wait_until(Duration::from_secs(5), Duration::from_millis(2), || {
            !src.join("sock").exists()
        })?;
        let meta = fs::read_to_string(src.join("meta.json"))
            .map_err(|e| format!("reading the template's meta.json: {e}"))?;
        let files: Vec<_> = fs::read_dir(&src)
            .map_err(|e| format!("reading {}: {e}", src.display()))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name())
            .collect();
        for i in 0..ended {
            sys::check_interrupt()?;
            let name = format!("e{i}");
            let dst = store.session_dir(&name);
            sys::mkdir_private(&dst)?;
            for f in &files {
                let to = dst.join(f);
                let r = if f == "meta.json" {
                    let m =
                        meta.replacen("\"name\": \"tmpl\"", &format!("\"name\": \"{name}\""), 1);
                    fs::write(&to, m)
                } else {
                    fs::copy(src.join(f), &to).map(|_| ())
                };
                r.map_err(|e| format!("writing {}: {e}", to.display()))?;
            }
        }
        store.call(&["rm", "tmpl"])?;
    }
    for i in 0..running {
        sys::check_interrupt()?;
        store.run_bg(&format!("r{i}"), &["sleep", "1000"])?;
    }
    Ok(())
}
