//! `codex-session`: parse, run the verb, map the outcome to an exit code.
//! The one exit policy lives here, by the error's kind: a closed standard
//! output ends quietly with 0; every other error prints once as
//! `codex-session: <what failed>: <why>` and exits 1 (2 for usage), or with
//! the code the error carries (124 on a timeout, 126/127 from `run`).

mod cli;
mod cli_args;
mod client;
mod cmd;
mod config;
mod error;
mod events;
mod fmt;
mod integration;
mod keys;
mod logs;
mod meta;
mod modes;
mod names;
mod osc;
mod proto;
mod pty;
mod slots;
mod store;
mod supervisor;
mod sys;
mod view;

use std::process::ExitCode;

fn main() -> ExitCode {
    // A supervisor's fresh image goes on with its session here.
    supervisor::resume_if_fresh();
    let cli = cli::parse();
    let outcome = cmd::run(cli);
    // `run` forked a supervisor and this is it: everything the CLI held is
    // dropped by now, so none of it stays allocated for the session's life.
    supervisor::run_if_forked();
    match outcome {
        Ok(code) => code,
        Err(e) if e.kind() == error::ErrorKind::StdoutClosed => ExitCode::SUCCESS,
        Err(e) => {
            e.print();
            ExitCode::from(e.code())
        }
    }
}
