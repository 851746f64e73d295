//! `codex-session mcp`: the store's sessions as MCP tools (and resources),
//! served on standard input and output with the official SDK, `rmcp`.
//!
//! The async runtime lives here only: one thread for the protocol, tokio's
//! blocking pool for the tools, which are the CLI's blocking client code
//! behind [`backend`] (the one file that calls into the rest of the crate).
//! Nothing else in the binary starts a runtime, so `run`, the supervisor and
//! every other verb stay as they were.
//!
//! - `server.rs`: tool names, descriptions and schemas; the async-to-blocking hop
//! - `args.rs`: arguments and answers (their doc comments are the schemas')
//! - `tools.rs`: each tool as a blocking function with its own deadline
//! - `resources.rs`: session://NAME/screen and /log, and their subscriptions
//! - `text.rs`: plain text, the input's echo skipped, head and tail bounds
//! - `backend.rs`: sessions, sockets, logs

pub mod backend;

mod args;
mod resources;
mod server;
mod text;
mod tools;

use rmcp::ServiceExt;

/// Serve until the client closes standard input.
pub fn serve(backend: backend::Backend) -> std::io::Result<()> {
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
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(())
}
