//! `mcp`: resolve the store and the configuration, then exec the MCP server,
//! `codex-session-mcp`, installed next to this program (it is a program of
//! its own so that this one, which every supervisor is a fork of, does not
//! carry the SDK and its runtime).

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use super::Ctx;
use crate::cli::McpArgs;
use crate::error::{Error, Result, describe_io};

// Kept out of the verb dispatcher: every supervisor is a fork of this
// binary, and its idle memory counts the dispatcher's code pages.
#[cold]
#[inline(never)]
pub fn run(_a: McpArgs, ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store()?;
    let root = std::path::absolute(&store.root).unwrap_or(store.root);
    let exe = std::env::current_exe()
        .map_err(|e| Error::new(format!("finding this program's path: {}", describe_io(&e))))?;
    let server = exe.with_file_name("codex-session-mcp");
    let c = &ctx.config;
    let mut cmd = Command::new(&server);
    cmd.arg("--store").arg(&root).arg("--exe").arg(&exe);
    if c.found {
        cmd.arg("--config").arg(&c.path);
    }
    cmd.arg("--max-output")
        .arg(c.mcp_max_output.to_string())
        .arg("--max-timeout-ms")
        .arg(c.mcp_max_timeout.as_millis().to_string())
        .arg("--idle-after-ms")
        .arg(c.idle_after.as_millis().to_string());
    let e = cmd.exec();
    Err(Error::new(format!(
        "starting the MCP server {}: {}",
        server.display(),
        describe_io(&e)
    ))
    .hint("it is built with the default `mcp` cargo feature and installed next to codex-session"))
}
