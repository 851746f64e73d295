//! `mcp`: serve the store's sessions to a coding agent over MCP on
//! standard input and output (all of it in `src/mcp/`).

use std::process::ExitCode;

use super::Ctx;
use crate::cli::McpArgs;
use crate::error::{Error, Result};

#[cfg(feature = "mcp")]
pub fn run(_a: McpArgs, ctx: &Ctx) -> Result<ExitCode> {
    let backend = crate::mcp::backend::Backend::new(ctx.store()?, &ctx.config)
        .map_err(|f| Error::new(f.message))?;
    crate::mcp::serve(backend).map_err(|e| Error::new(format!("serving MCP: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "mcp"))]
pub fn run(_a: McpArgs, _ctx: &Ctx) -> Result<ExitCode> {
    Err(
        Error::new("this codex-session was built without MCP support")
            .hint("build it with the `mcp` feature (on by default)"),
    )
}
