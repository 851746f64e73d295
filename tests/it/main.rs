//! One integration test binary: the real `codex-session`, a private store
//! per test, deadlines instead of sleeps.

mod support;

mod attach;
mod basics;
mod config;
mod disk;
mod lifecycle;
mod list;
mod logs;
#[cfg(feature = "mcp")]
mod mcp;
mod run;
mod security;
mod send;
