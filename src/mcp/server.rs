//! The MCP face of the tools: names, descriptions, schemas, and the hop
//! from the protocol's async handlers to the blocking tool functions.

use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, tool, tool_handler, tool_router};

use super::args::{self, Dur};
use super::backend::{Backend, Fail};
use super::tools::{self, Answer};

/// How much longer than its own deadline a call may take before the server
/// answers for it (the blocking code keeps its deadline; this is the
/// backstop that keeps an agent from ever hanging).
const BACKSTOP: Duration = Duration::from_secs(5);

const INSTRUCTIONS: &str = "\
Durable terminal sessions (codex-session). Each session is a program on its own terminal, \
kept by a small supervisor process: it keeps running when you or this server exit, a person \
can watch or take it over (`codex-session attach NAME`), and its whole output is logged.

Typical turn: session_start {command, name} -> session_send {name, text, submit: true} returns \
the program's answer once it is quiet -> session_wait / session_logs / session_screen as needed \
-> session_stop and session_remove when done. Use session_screen for full-screen programs \
(editors, top), session_logs to page through long output. Answers are plain text, at most \
16 KiB unless configured: longer output is cut in the middle with a marker that gives the \
session_logs offset and limit to read the rest. Input typed by a person attached to a session \
is never mixed with yours: a send is refused while they type a line.";

#[derive(Clone)]
pub struct Server {
    backend: Arc<Backend>,
    tool_router: ToolRouter<Server>,
}

impl Server {
    pub fn new(backend: Backend) -> Server {
        Server {
            backend: Arc::new(backend),
            tool_router: Self::tool_router(),
        }
    }

    /// The backstop for a call that asked for `timeout`.
    fn limit(&self, timeout: Option<&Dur>) -> Duration {
        timeout
            .map_or(tools::DEFAULT_TIMEOUT, |d| d.0)
            .min(self.backend.max_timeout)
            + BACKSTOP
    }

    /// Run a tool on the blocking pool, within `limit`.
    async fn call<F>(&self, limit: Duration, f: F) -> CallToolResult
    where
        F: FnOnce(&Backend) -> Result<Answer, Fail> + Send + 'static,
    {
        let b = self.backend.clone();
        let task = tokio::task::spawn_blocking(move || f(&b));
        match tokio::time::timeout(limit, task).await {
            Ok(Ok(Ok(a))) => {
                let mut r = CallToolResult::success(vec![ContentBlock::text(a.text)]);
                r.structured_content = Some(a.structured);
                r
            }
            Ok(Ok(Err(f))) => error(f.message),
            Ok(Err(e)) => error(format!("internal error in this tool: {e}")),
            Err(_) => error(format!(
                "no answer within {}: the call was abandoned (sessions are unaffected); \
                 try again, or with a shorter wait",
                humantime::format_duration(limit)
            )),
        }
    }
}

fn error(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

/// Who is calling, for the audit record: `mcp:<client name>`.
fn label(ctx: &RequestContext<RoleServer>) -> String {
    match ctx.client_info() {
        Some(i) if !i.name.is_empty() => format!("mcp:{}", i.name),
        _ => "mcp".to_string(),
    }
}

#[tool_router]
impl Server {
    /// Start a program as a durable session.
    #[tool(
        name = "session_start",
        description = "Start a program on its own terminal as a named session that outlives this \
            conversation: a dev server, a REPL, a build, a shell, an editor. Returns its name, pid, \
            status and its first output once quiet (wait_idle, 1s). People can `codex-session \
            attach NAME` to watch or take over.",
        output_schema = schema_for_output::<args::StartResult>()
    )]
    async fn session_start(&self, Parameters(a): Parameters<args::StartArgs>) -> CallToolResult {
        let limit = self.limit(a.timeout.as_ref());
        self.call(limit, move |b| tools::start(b, a)).await
    }

    /// Type into a session and read the answer.
    #[tool(
        name = "session_send",
        description = "Type into a session (text, named keys, Enter with submit: true, Ctrl-C with \
            interrupt) and get the program's answer: the output after the echo of your input, as \
            plain text, once it has been quiet for wait_idle (1s) or a line matches wait_output. \
            outcome says idle, matched, exited (with exit_code) or timeout. If a person attached \
            is typing a line, nothing is sent and the error says so.",
        output_schema = schema_for_output::<args::SendResult>()
    )]
    async fn session_send(
        &self,
        Parameters(a): Parameters<args::SendArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let limit = self.limit(a.timeout.as_ref());
        let who = label(&ctx);
        self.call(limit, move |b| tools::send(b, a, who)).await
    }

    /// Wait for a session to end, go quiet, or print something.
    #[tool(
        name = "session_wait",
        description = "Wait until a session's program exits (exit: true), has printed nothing for \
            a while (idle), or prints a line matching a regex (output; by default also searching \
            what it printed since the last input). outcome is exited, idle, matched or timeout; \
            a timeout is an answer, not an error: call again to keep waiting.",
        output_schema = schema_for_output::<args::WaitResult>(),
        annotations(read_only_hint = true)
    )]
    async fn session_wait(&self, Parameters(a): Parameters<args::WaitArgs>) -> CallToolResult {
        let limit = self.limit(a.timeout.as_ref());
        self.call(limit, move |b| tools::wait(b, a)).await
    }

    /// What the terminal shows now.
    #[tool(
        name = "session_screen",
        description = "The session's terminal screen as text, as a person attached would see it \
            now (for full-screen programs: editors, top, menus), optionally with the cursor \
            position and the window title. After the program ended: the last screen it showed.",
        output_schema = schema_for_output::<args::ScreenResult>(),
        annotations(read_only_hint = true)
    )]
    async fn session_screen(&self, Parameters(a): Parameters<args::ScreenArgs>) -> CallToolResult {
        self.call(self.limit(None), move |b| tools::screen(b, a))
            .await
    }

    /// Read the output log.
    #[tool(
        name = "session_logs",
        description = "A session's output as plain text (escape sequences removed, progress bars \
            resolved), also after it ended: the last lines (tail, default 100), or a page of \
            bytes from an offset (offset, limit) to read a large log in order. Every answer gives \
            the total size and next_offset.",
        output_schema = schema_for_output::<args::LogsResult>(),
        annotations(read_only_hint = true)
    )]
    async fn session_logs(&self, Parameters(a): Parameters<args::LogsArgs>) -> CallToolResult {
        self.call(self.limit(None), move |b| tools::logs(b, a))
            .await
    }

    /// Every session.
    #[tool(
        name = "session_list",
        description = "Every session in the store, running and ended (also those people started): \
            name, status, pid, exit code, command, label, attached clients, output size.",
        output_schema = schema_for_output::<args::ListResult>(),
        annotations(read_only_hint = true)
    )]
    async fn session_list(&self, Parameters(_a): Parameters<args::ListArgs>) -> CallToolResult {
        self.call(self.limit(None), tools::list).await
    }

    /// Stop a session.
    #[tool(
        name = "session_stop",
        description = "Stop a running session: a signal (TERM unless told) to its program's \
            process group, SIGKILL after grace (10s); returns once it has ended, with how. The \
            session's record and logs stay until session_remove.",
        output_schema = schema_for_output::<args::StopResult>(),
        annotations(destructive_hint = true)
    )]
    async fn session_stop(&self, Parameters(a): Parameters<args::StopArgs>) -> CallToolResult {
        let limit = self.limit(a.timeout.as_ref());
        self.call(limit, move |b| tools::stop(b, a)).await
    }

    /// Remove an ended session.
    #[tool(
        name = "session_remove",
        description = "Delete an ended session's record and logs (force: true stops a running \
            one first).",
        output_schema = schema_for_output::<args::RemoveResult>(),
        annotations(destructive_hint = true)
    )]
    async fn session_remove(&self, Parameters(a): Parameters<args::RemoveArgs>) -> CallToolResult {
        let limit = self.limit(a.timeout.as_ref());
        self.call(limit, move |b| tools::remove(b, a)).await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        let mut c = ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions(INSTRUCTIONS);
        c.server_info = Implementation::new("codex-session", env!("CARGO_PKG_VERSION"));
        c
    }
}
