//! `codex-session`: parse, run the verb, map the outcome to an exit code.
//! The one exit policy lives here: a broken pipe is success, every other
//! error prints once as `codex-session: <what failed>: <why>` and exits 1
//! (2 for usage), or with the code the error carries (126/127 from `run`).

mod attach;
mod cli;
mod client;
mod cmd;
mod config;
mod error;
mod events;
mod fmt;
mod keys;
mod logs;
mod meta;
mod names;
mod proto;
mod pty;
mod store;
mod supervisor;
mod sys;
mod watch;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "codex-session: {e}");
            if let Some(h) = e.hint_text() {
                let _ = writeln!(err, "hint: {h}");
            }
            ExitCode::from(e.code())
        }
    }
}

fn is_broken_pipe(e: &error::Error) -> bool {
    e.message().ends_with(": broken pipe")
}
