//! One file per verb, each with `pub fn run(args, &Ctx) -> Result<ExitCode>`.

mod attach;
mod capture;
mod config;
mod detach;
mod events;
mod exec;
mod inspect;
mod list;
mod logs;
mod mcp;
mod prune;
mod ps;
mod rm;
mod run;
mod send;
mod stop;
mod wait;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::error::Result;
use crate::store::Store;

/// What every verb gets: the global flags and the configuration.
pub struct Ctx {
    store_flag: Option<std::path::PathBuf>,
    pub config: Config,
}

impl Ctx {
    /// The store, opened (and created) on first use.
    pub fn store(&self) -> Result<Store> {
        Store::open(self.store_flag.as_deref(), self.config.store.as_deref())
    }

    /// The detach key from a flag, else the configuration.
    pub fn detach_key(&self, flag: Option<&str>) -> Result<Option<u8>> {
        crate::attach::parse_key(flag.unwrap_or(&self.config.detach_key))
    }
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    let ctx = Ctx {
        store_flag: cli.store,
        config: Config::load(cli.config.as_deref())?,
    };
    match cli.command {
        Command::Run(a) => run::run(a, &ctx),
        Command::Attach(a) => attach::run(a, &ctx),
        Command::Detach(a) => detach::run(a, &ctx),
        Command::Capture(a) => capture::run(a, &ctx),
        Command::Send(a) => send::run(a, &ctx),
        Command::Wait(a) => wait::run(a, &ctx),
        Command::Events(a) => events::run(a, &ctx),
        Command::Exec(a) => exec::run(a, &ctx),
        Command::List(a) => list::run(a, &ctx),
        Command::Inspect(a) => inspect::run(a, &ctx),
        Command::Logs(a) => logs::run(a, &ctx),
        Command::Ps(a) => ps::run(a, &ctx),
        Command::Stop(a) => stop::run(a, &ctx),
        Command::Rm(a) => rm::run(a, &ctx),
        Command::Prune(a) => prune::run(a, &ctx),
        Command::Config(a) => config::run(a, &ctx),
        Command::Mcp(a) => mcp::run(a, &ctx),
    }
}

/// An error writing to standard output (a closed pipe exits 0 in `main`).
pub fn stdout_error(e: std::io::Error) -> crate::error::Error {
    crate::error::Error::new(format!(
        "writing to standard output: {}",
        crate::error::describe_io(&e)
    ))
}

/// Print an error for one of several named sessions and go on.
pub fn report(e: &crate::error::Error) {
    eprintln!("codex-session: {e}");
    if let Some(h) = e.hint_text() {
        eprintln!("hint: {h}");
    }
}
