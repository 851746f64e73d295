//! `send` → output visible: a session runs a line-echoing REPL,
//! `stty -echo; while read l; do echo "got:$l"; done`; each sample spawns
//! `codex-session send NAME TOKEN --submit` and times until `got:TOKEN` is
//! visible:
//!
//! - on an attached client (a second session, with `codex-session attach` on
//!   a raw-mode PTY opened here, whose master this process reads);
//! - in output.log of a session with no client (the file is polled every
//!   0.1 ms; the same loop notes when the `send` process exited).
//!
//! raw: the same program on a PTY of our own; the harness writes `TOKEN\r` to
//! its master and times until `got:TOKEN` is read back. For scale, the
//! process cost of the CLI itself: spawn → exit of `codex-session --version`,
//! beside `/bin/true`. All five are interleaved, rotating the order.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::report::{Report, Verdict, median, num, pctl, ratio};
use super::store::Store;
use super::term::{self, Tty, contains};
use super::{Ctx, sys};

const SEND_CMD: &str = "stty -echo; while read l; do echo \"got:$l\"; done";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Raw,
    Attached,
    Log,
    Version,
    True,
}

const KINDS: [Kind; 5] = [
    Kind::Raw,
    Kind::Attached,
    Kind::Log,
    Kind::Version,
    Kind::True,
];

#[derive(Default)]
struct Samples {
    raw: Vec<f64>,
    attached: Vec<f64>,
    log: Vec<f64>,
    /// When `send` exited, in the log runs.
    returned: Vec<f64>,
    version: Vec<f64>,
    truth: Vec<f64>,
}

pub fn run(ctx: &Ctx, rep: &mut Report) -> Result<(), String> {
    let mut seed = term::seed(&ctx.tag);
    let store = ctx.store("send")?;
    let (att, logged) = ("sda", "sdl");
    store.run_bg(att, &[SEND_CMD])?;
    store.run_bg(logged, &[SEND_CMD])?;

    // raw: the program on our own PTY, warmed up (stty has run once a line comes back).
    let mut cmd = ctx.command("/bin/sh");
    cmd.arg("-c").arg(SEND_CMD);
    let raw = Tty::spawn(cmd, false)?;
    raw.write_all(b"warm\r")?;
    if !raw.expect_text(b"got:warm", Duration::from_secs(5)) {
        return Err("raw: the REPL did not answer".into());
    }

    // ours, attached: a client, then one untimed send through it.
    let mut client = Tty::spawn(store.attach_cmd(att), true)?;
    client.drain_quiet(Duration::from_millis(300), Duration::from_secs(3));
    store.call(&["send", att, "warm", "--submit"])?;
    if !client.expect_text(b"got:warm", Duration::from_secs(5)) {
        return Err("ours: a send never showed on the attached client".into());
    }
    // ours, no client: one untimed send, seen in the log.
    store.call(&["send", logged, "warm", "--submit"])?;
    store.wait_log_contains(logged, b"got:warm", Duration::from_secs(5))?;
    thread::sleep(Duration::from_millis(100));

    let mut s = Samples::default();
    for r in 0..ctx.opts.send_reps {
        for i in 0..KINDS.len() {
            sys::check_interrupt()?;
            let kind = KINDS[(i + r) % KINDS.len()];
            let tok = format!(
                "t{r}{}",
                String::from_utf8_lossy(&term::letters(&mut seed, 6))
            );
            let want = format!("got:{tok}").into_bytes();
            match kind {
                Kind::Raw => {
                    let t0 = Instant::now();
                    raw.write_all(format!("{tok}\r").as_bytes())?;
                    if !raw.expect_text(&want, Duration::from_secs(10)) {
                        return Err(format!("raw: no {tok:?} echo"));
                    }
                    s.raw.push(ms(t0));
                }
                Kind::Attached => {
                    let mut cmd = store.cli(&["send", att, &tok, "--submit"]);
                    let t0 = Instant::now();
                    let child = cmd.spawn().map_err(|e| format!("send: {e}"))?;
                    let seen = client.expect_text(&want, Duration::from_secs(10));
                    let t = ms(t0);
                    store.finish(child, "send (attached)")?;
                    if !seen {
                        return Err(format!("ours: {tok:?} never showed on the attached client"));
                    }
                    s.attached.push(t);
                }
                Kind::Log => {
                    let (vis, ret) = send_and_poll_log(&store, logged, &tok, &want)?;
                    s.log.push(vis);
                    s.returned.push(ret);
                }
                Kind::Version => {
                    let mut cmd = ctx.command(&ctx.bin);
                    cmd.arg("--version");
                    s.version.push(spawn_ms(cmd)?);
                }
                Kind::True => s.truth.push(spawn_ms(ctx.command("true"))?),
            }
        }
        let last = |v: &[f64]| v.last().copied();
        eprintln!(
            "bench:   rep {r} raw {} | attached {} | log {} (send exited {}) | --version {} | true {} ms",
            num(last(&s.raw), 3),
            num(last(&s.attached), 2),
            num(last(&s.log), 2),
            num(last(&s.returned), 2),
            num(last(&s.version), 2),
            num(last(&s.truth), 2),
        );
    }
    let (_, clean) = client.detach(Duration::from_secs(3))?;
    drop(client);
    drop(raw);

    let cell =
        |xs: &[f64], d: usize| format!("{} ({})", num(median(xs), d), num(pctl(xs, 90.0), d));
    let n = ctx.opts.send_reps;
    rep.row(
        format!("send → reply on attached client, ms median (p90), n={n}"),
        cell(&s.attached, 2),
        cell(&s.raw, 3),
        ratio(median(&s.attached), median(&s.raw)),
        "",
        Verdict::Info,
    );
    rep.row(
        "send → reply in output.log (no client), ms median (p90)",
        cell(&s.log, 2),
        cell(&s.raw, 3),
        ratio(median(&s.log), median(&s.raw)),
        "",
        Verdict::Info,
    );
    rep.row(
        "CLI process: `--version` spawn → exit, ms (raw: `true`)",
        cell(&s.version, 2),
        cell(&s.truth, 2),
        ratio(median(&s.version), median(&s.truth)),
        "",
        Verdict::Info,
    );
    rep.note(format!(
        "send: raw = `TOKEN\\r` written to the REPL's own PTY master, until `got:TOKEN` is read back; \
         the `send` process exited {} ms (median; p90 {}) after its spawn (no client attached); \
         its fixed process cost is `--version`'s {} ms; detach after the send runs {}",
        num(median(&s.returned), 2),
        num(pctl(&s.returned, 90.0), 2),
        num(median(&s.version), 2),
        if clean { "clean" } else { "exited non-zero" },
    ));
    Ok(())
}

fn ms(t0: Instant) -> f64 {
    t0.elapsed().as_secs_f64() * 1e3
}

/// Spawn → exit of a command with no output, in ms.
fn spawn_ms(mut cmd: Command) -> Result<f64, String> {
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let t0 = Instant::now();
    let st = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    let t = ms(t0);
    if !st.success() {
        return Err(format!("{cmd:?}: {st}"));
    }
    Ok(t)
}

/// Spawn `send NAME TOK --submit`, then poll output.log (from its current
/// end) and the process every 0.1 ms until the reply is logged and `send` has
/// exited: (reply visible, send exited), ms from the spawn.
fn send_and_poll_log(
    store: &Store<'_>,
    name: &str,
    tok: &str,
    want: &[u8],
) -> Result<(f64, f64), String> {
    let path = store.session_dir(name).join("output.log");
    let mut f = fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.seek(SeekFrom::End(0))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut cmd = store.cli(&["send", name, tok, "--submit"]);
    let mut acc = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let t0 = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("send: {e}"))?;
    let (mut seen, mut exited) = (None, None);
    let end = t0 + Duration::from_secs(10);
    while seen.is_none() || exited.is_none() {
        if exited.is_none()
            && let Ok(Some(st)) = child.try_wait()
        {
            exited = Some(ms(t0));
            if !st.success() {
                return Err(format!("`send {name} {tok} --submit` failed ({st})"));
            }
        }
        if seen.is_none() {
            while let Ok(n) = f.read(&mut buf) {
                if n == 0 {
                    break;
                }
                acc.extend_from_slice(&buf[..n]);
            }
            if contains(&acc, want) {
                seen = Some(ms(t0));
            }
        }
        if Instant::now() > end || sys::interrupted() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "ours: {tok:?} not in output.log after 10 s (send exited: {})",
                exited.is_some()
            ));
        }
        thread::sleep(Duration::from_micros(100));
    }
    Ok((seen.unwrap_or(f64::NAN), exited.unwrap_or(f64::NAN)))
}
