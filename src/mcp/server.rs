//! The MCP face of the tools: names, descriptions, schemas, and the hop
//! from the protocol's async handlers to the blocking tool functions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, ListResourceTemplatesResult, ListResourcesResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
    Resource, ResourceContents, ResourceTemplate, ResourceUpdatedNotification,
    ResourceUpdatedNotificationParam, ServerCapabilities, ServerConfig, ServerNotification,
    SubscribeRequestParams, SubscriptionFilter, UnsubscribeRequestParams,
};
use rmcp::service::{RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use tokio::sync::mpsc;

use super::args::{self, Dur};
use super::backend::{Backend, Fail};
use super::resources::{self, Subscriptions, View};
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
    /// resources/subscribe (protocol versions with a handshake).
    subscriptions: Arc<Subscriptions>,
    /// subscriptions/listen: the output size of each session asked for when
    /// the subscription was acknowledged (its watches open just after).
    acknowledged: Arc<Mutex<HashMap<String, u64>>>,
}

impl Server {
    pub fn new(backend: Backend) -> Server {
        Server {
            backend: Arc::new(backend),
            tool_router: Self::tool_router(),
            subscriptions: Arc::default(),
            acknowledged: Arc::default(),
        }
    }

    /// Run blocking work on the pool; a panic there is an internal error.
    async fn blocking<T, F>(&self, f: F) -> Result<T, ErrorData>
    where
        T: Send + 'static,
        F: FnOnce(&Backend) -> Result<T, Fail> + Send + 'static,
    {
        let b = self.backend.clone();
        let task = tokio::task::spawn_blocking(move || f(&b));
        match tokio::time::timeout(tools::DEFAULT_TIMEOUT, task).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(f))) => Err(ErrorData::resource_not_found(f.message, None)),
            Ok(Err(e)) => Err(ErrorData::internal_error(e.to_string(), None)),
            Err(_) => Err(ErrorData::internal_error("no answer in time", None)),
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
        let caps = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_resources_subscribe()
            .build();
        let mut c = ServerConfig::new(caps).with_instructions(INSTRUCTIONS);
        c.server_info = Implementation::new("codex-session", env!("CARGO_PKG_VERSION"));
        c
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let all = self.blocking(|b| b.list()).await?;
        let mut list = Vec::new();
        for i in all {
            let what = match &i.label {
                Some(l) => format!("{} ({l}), {}", i.command, i.status_text),
                None => format!("{}, {}", i.command, i.status_text),
            };
            list.push(
                Resource::new(
                    resources::uri(&i.name, View::Screen),
                    format!("{} screen", i.name),
                )
                .with_description(format!(
                    "What the terminal of session {} shows: {what}",
                    i.name
                ))
                .with_mime_type("text/plain"),
            );
            list.push(
                Resource::new(
                    resources::uri(&i.name, View::Log),
                    format!("{} log", i.name),
                )
                .with_description(format!(
                    "The last output of session {} as plain text: {what}",
                    i.name
                ))
                .with_mime_type("text/plain")
                .with_size(i.output_bytes),
            );
        }
        // Sessions come and go: nothing here stays fresh.
        Ok(ListResourcesResult::with_all_items(list).with_ttl_ms(0))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new("session://{name}/screen", "session screen")
                .with_description(
                    "What a session's terminal shows now (the last screen once it ended)",
                )
                .with_mime_type("text/plain"),
            ResourceTemplate::new("session://{name}/log", "session log")
                .with_description("The last of a session's output, as plain text")
                .with_mime_type("text/plain"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri;
        let (name, view) =
            resources::parse(&uri).map_err(|f| ErrorData::resource_not_found(f.message, None))?;
        let text = self
            .blocking(move |b| resources::read(b, &name, view))
            .await?;
        Ok(
            ReadResourceResult::new(vec![ResourceContents::text(text, uri)])
                .with_ttl_ms(0)
                .into(),
        )
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let uri = request.uri.clone();
        let (b, subs) = (self.backend.clone(), self.subscriptions.clone());
        self.blocking(move |_| subs.add(b, &uri, None, move |u| tx.send(u.to_string()).is_ok()))
            .await?;
        let peer = context.peer.clone();
        tokio::spawn(async move {
            while let Some(uri) = rx.recv().await {
                let p = ResourceUpdatedNotificationParam::new(uri);
                if peer.notify_resource_updated(p).await.is_err() {
                    break;
                }
            }
        });
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.subscriptions.remove(&request.uri);
        Ok(())
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        let mut uris = Vec::new();
        let mut acknowledged = self.acknowledged.lock().expect("not poisoned");
        for uri in requested.resource_subscriptions.iter().flatten() {
            let Ok((name, _)) = resources::parse(uri) else {
                continue;
            };
            // Reading the size is a stat, cheap enough for this async thread:
            // what comes after it is news for the subscriber.
            if let Ok(n) = self.backend.output_bytes(&name) {
                acknowledged.insert(uri.clone(), n);
                uris.push(uri.clone());
            }
        }
        Some(
            SubscriptionFilter::builder()
                .resource_subscriptions(uris)
                .build(),
        )
    }

    /// subscriptions/listen (2026-07-28): the same watches, for as long as
    /// the request lasts.
    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let uris = context
            .accepted()
            .resource_subscriptions
            .clone()
            .unwrap_or_default();
        let subs = Arc::new(Subscriptions::default());
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        for uri in uris {
            let since = self.acknowledged.lock().expect("not poisoned").remove(&uri);
            let (b, s, tx) = (self.backend.clone(), subs.clone(), tx.clone());
            self.blocking(move |_| s.add(b, &uri, since, move |u| tx.send(u.to_string()).is_ok()))
                .await?;
        }
        drop(tx);
        loop {
            tokio::select! {
                _ = context.cancelled() => break,
                next = rx.recv() => match next {
                    Some(uri) => {
                        let n = ResourceUpdatedNotification::new(ResourceUpdatedNotificationParam::new(uri));
                        if context.sink().send(ServerNotification::ResourceUpdatedNotification(n)).await.is_err() {
                            break;
                        }
                    }
                    None => {
                        context.cancelled().await;
                        break;
                    }
                },
            }
        }
        Ok(())
    }
}
