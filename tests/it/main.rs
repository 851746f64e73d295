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
mod run;
mod screen;
mod security;
mod send;
