//! One integration test binary: the real `codex-session`, a private store
//! per test, deadlines instead of sleeps.

mod support;

mod attach;
mod basics;
mod config;
mod cron;
mod disk;
mod exit_policy;
mod lifecycle;
mod limits;
mod list;
mod logs;
mod perf;
mod retention;
mod rotation;
mod run;
mod screen;
mod security;
mod send;
mod timeouts;
