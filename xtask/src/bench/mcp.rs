//! One `session_send` round trip through `codex-session mcp`, beside the
//! CLI's `send --wait-idle`: a session runs `cat` (the terminal echoes the
//! line, cat prints it again), and each sample sends `TOKEN` + Enter and
//! waits for the answer once the output has been quiet for 50 ms.
//!
//! - mcp: one server, started once and initialized (the handshake a client
//!   does); timed from writing the `tools/call` line to reading its answer.
//! - cli: `codex-session send NAME TOKEN --submit --wait-idle 50ms`, timed
//!   from spawn to exit (a process per call, as a shell or an agent's shell
//!   tool pays it).
//!
//! Both include the 50 ms of quiet the answer waits for. Interleaved,
//! rotating the order. The JSON is written and read by hand: the xtask has
//! no JSON library, and the lines it needs are simple.

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use super::report::{Report, Verdict, median, num, pctl, ratio};
use super::{Ctx, sys, term};

const NAME: &str = "echo";

struct Server {
    child: std::process::Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Server {
    fn write(&mut self, line: &str) -> Result<(), String> {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("mcp: writing to the server: {e}"))
    }

    /// The answer to request `id`.
    fn answer(&mut self, id: u64) -> Result<String, String> {
        let want = format!("\"id\":{id},");
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            sys::check_interrupt()?;
            let left = end.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .map_err(|_| format!("mcp: no answer to request {id} within 30 s"))?;
            if line.contains(&want) {
                return Ok(line);
            }
        }
    }

    /// One session_send round trip; its answer line.
    fn send(&mut self, id: u64, tok: &str) -> Result<String, String> {
        self.write(&format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"tools/call\",\"params\":{{\"name\":\"session_send\",\
             \"arguments\":{{\"name\":\"{NAME}\",\"text\":\"{tok}\",\"submit\":true,\"wait_idle\":\"50ms\"}}}}}}"
        ))?;
        let a = self.answer(id)?;
        if !a.contains("\"isError\":false") || !a.contains(tok) {
            return Err(format!("mcp: session_send {tok}: unexpected answer {a}"));
        }
        Ok(a)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn run(ctx: &Ctx, rep: &mut Report) -> Result<(), String> {
    let mut seed = term::seed(&ctx.tag);
    let store = ctx.store("mcp")?;
    store.run_bg(NAME, &["cat"])?;

    // The server, started and initialized once (timed, for scale).
    let mut cmd = ctx.command(&ctx.bin);
    cmd.arg("--store")
        .arg(store.dir())
        .arg("mcp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let t0 = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("mcp: starting the server: {e}"))?;
    let stdin = child.stdin.take().expect("piped");
    let out = child.stdout.take().expect("piped");
    let (tx, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(l) = line else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut server = Server {
        child,
        stdin,
        lines,
    };
    server.write(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\
         \"capabilities\":{},\"clientInfo\":{\"name\":\"bench\",\"version\":\"1\"}}}",
    )?;
    server.answer(1)?;
    let startup = t0.elapsed().as_secs_f64() * 1e3;
    server.write("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}")?;
    let mut id = 1;
    // Untimed warm-ups, one each.
    id += 1;
    server.send(id, "warm")?;
    store.call(&["send", NAME, "warm", "--submit", "--wait-idle", "50ms"])?;

    let (mut mcp, mut cli) = (Vec::new(), Vec::new());
    for r in 0..ctx.opts.send_reps {
        for i in 0..2 {
            sys::check_interrupt()?;
            let tok = format!(
                "m{r}{}",
                String::from_utf8_lossy(&term::letters(&mut seed, 6))
            );
            if (i + r) % 2 == 0 {
                id += 1;
                let t = Instant::now();
                server.send(id, &tok)?;
                mcp.push(t.elapsed().as_secs_f64() * 1e3);
            } else {
                let mut c = store.cli(&["send", NAME, &tok, "--submit", "--wait-idle", "50ms"]);
                let t = Instant::now();
                let child = c.spawn().map_err(|e| format!("send: {e}"))?;
                store.finish(child, "send --wait-idle 50ms")?;
                cli.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        eprintln!(
            "bench:   rep {r} mcp {} | cli {} ms",
            num(mcp.last().copied(), 2),
            num(cli.last().copied(), 2)
        );
    }
    drop(server);

    let cell =
        |xs: &[f64], d: usize| format!("{} ({})", num(median(xs), d), num(pctl(xs, 90.0), d));
    rep.row(
        format!(
            "session_send via MCP (cat, wait_idle 50ms) vs CLI send --wait-idle 50ms, ms median (p90), n={}",
            ctx.opts.send_reps
        ),
        cell(&mcp, 2),
        cell(&cli, 2),
        ratio(median(&mcp), median(&cli)),
        "",
        Verdict::Info,
    );
    rep.note(format!(
        "mcp: both wait for 50 ms of quiet; the MCP server was started once (spawn → initialize \
         answered: {} ms) and each call is a line on its standard input; the CLI spawns a process \
         per send",
        num(Some(startup), 1)
    ));
    Ok(())
}
