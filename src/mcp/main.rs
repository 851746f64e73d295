//! `codex-session-mcp`: the store's sessions as MCP tools and resources,
//! served on standard input and output with the official SDK, `rmcp`.
//! `codex-session mcp` resolves the store and the configuration, then execs
//! this program (found next to itself) with them as arguments.
//!
//! A program of its own so that `codex-session` itself stays as it was: the
//! supervisor of every session is a fork of that binary, and linking the
//! SDK and its async runtime into it grew each supervisor's resident memory
//! (relocated data and code pages) by about 0.3 MiB.
//!
//! - `server.rs`: tool names, descriptions and schemas; the async-to-blocking hop
//! - `args.rs`: arguments and answers (their doc comments are the schemas')
//! - `tools.rs`: each tool as a blocking function with its own deadline
//! - `resources.rs`: session://NAME/screen and /log, and their subscriptions
//! - `text.rs`: plain text, the input's echo skipped, head and tail bounds
//! - `backend.rs`: sessions, sockets, logs: the one file that calls into
//!   the modules shared with `codex-session`, listed below
//!
//! The runtime: one thread for the protocol, tokio's blocking pool for the
//! tools, which are the CLI's blocking client code behind `backend`.

// The modules this program shares with `codex-session` (it uses part of each).
#[allow(dead_code, unused_imports)]
#[path = "../client/mod.rs"]
mod client;
#[allow(dead_code)]
#[path = "../error.rs"]
mod error;
#[allow(dead_code)]
#[path = "../events.rs"]
mod events;
#[allow(dead_code)]
#[path = "../fmt.rs"]
mod fmt;
#[allow(dead_code)]
#[path = "../keys.rs"]
mod keys;
#[allow(dead_code, unused_imports)]
#[path = "../logs/mod.rs"]
mod logs;
#[allow(dead_code)]
#[path = "../meta.rs"]
mod meta;
#[allow(dead_code)]
#[path = "../modes.rs"]
mod modes;
#[allow(dead_code)]
#[path = "../osc.rs"]
mod osc;
#[allow(dead_code)]
#[path = "../proto.rs"]
mod proto;
#[allow(dead_code)]
#[path = "../store.rs"]
mod store;
#[allow(dead_code)]
#[path = "../sys.rs"]
mod sys;

mod args;
mod backend;
mod resources;
mod server;
mod text;
mod tools;

use std::process::ExitCode;
use std::time::Duration;

use rmcp::ServiceExt;

const USAGE: &str = "usage: codex-session-mcp --store DIR --exe PATH [--config FILE] \
    [--max-output BYTES] [--max-timeout-ms MS] [--idle-after-ms MS]\n\
    (started by `codex-session mcp`, which fills these in: run that instead)";

fn main() -> ExitCode {
    let opts = match parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("codex-session-mcp: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match serve(backend::Backend::new(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("codex-session: serving MCP: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<backend::Options, String> {
    let mut o = backend::Options::default();
    let (mut store, mut exe) = (None, None);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {v:?}"))
        };
        match flag.as_str() {
            "--store" => store = Some(value()?.into()),
            "--exe" => exe = Some(value()?.into()),
            "--config" => o.config_file = Some(value()?.into()),
            "--max-output" => o.max_output = number(value()?)? as usize,
            "--max-timeout-ms" => o.max_timeout = Duration::from_millis(number(value()?)?),
            "--idle-after-ms" => o.idle_after = Duration::from_millis(number(value()?)?),
            _ => return Err(format!("unexpected argument {flag:?}")),
        }
    }
    o.store = store.ok_or("--store is required")?;
    o.exe = exe.ok_or("--exe is required")?;
    Ok(o)
}

/// Serve until the client closes standard input.
fn serve(backend: backend::Backend) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let running = server::Server::new(backend)
            .serve(rmcp::transport::stdio_pipes())
            .await
            .map_err(std::io::Error::other)?;
        running.waiting().await.map_err(std::io::Error::other)?;
        Ok::<(), std::io::Error>(())
    })?;
    // A tool still blocked on a session must not hold the exit up.
    rt.shutdown_timeout(Duration::from_millis(100));
    Ok(())
}
