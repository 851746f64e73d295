//! One integration test binary: the real `codex-session`, a private store
//! per test, deadlines instead of sleeps.

mod support;

mod agent;
mod agents;
mod attach;
mod basics;
mod cli;
mod config;
mod cron;
mod disk;
mod examples;
mod exit_policy;
mod hostile;
mod lifecycle;
mod limits;
mod list;
mod logs;
mod logs_time;
mod marks;
#[cfg(feature = "mcp")]
mod mcp;
mod perf;
mod pipe;
mod restart;
mod retention;
mod rotation;
mod run;
mod screen;
mod security;
mod send;
mod timeouts;
