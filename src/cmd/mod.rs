//! One file per verb, each with `pub fn run(args, &Ctx) -> Result<ExitCode>`.
//! A verb imports only from below `cmd/` (the client, the store, the
//! formatting helpers), never from another verb.

mod attach;
mod capture;
mod complete;
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

use crate::cli::{Cli, Command, LogsArgs, RunArgs};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::Store;

/// What every verb gets: the global flags and the configuration.
pub struct Ctx {
    store_flag: Option<std::path::PathBuf>,
    pub config: Config,
    /// `-q`: no notes (already set in `error::note`); `list` and `ps` print names.
    pub quiet: bool,
    /// `-v`: notes that are silent by default.
    pub verbose: bool,
}

impl Ctx {
    /// The store, opened (and created) on first use.
    pub fn store(&self) -> Result<Store> {
        Store::open(self.store_flag.as_deref(), self.config.store.as_deref())
    }

    /// The detach key from a flag, else the configuration.
    pub fn detach_key(&self, flag: Option<&str>) -> Result<Option<u8>> {
        crate::keys::parse_detach_key(flag.unwrap_or(&self.config.detach_key))
    }

    /// Retention, as `list` applies it (it reads every record anyway):
    /// quietly, never failing it.
    pub fn retain(&self, store: &Store) {
        if let Some(d) = self.config.retain_exited {
            crate::slots::retention_ran(store);
            crate::slots::sweep(store);
            let _ = store.prune(d, false);
        }
    }

    /// Retention, as `run` applies it: the same, at most once per
    /// interval (`slots::RETENTION_EVERY`, or `retain_exited` if shorter),
    /// so that starting a session does not read the whole store.
    pub fn retain_if_due(&self, store: &Store) {
        if let Some(d) = self.config.retain_exited
            && crate::slots::retention_due(store, d.min(crate::slots::RETENTION_EVERY))
        {
            crate::slots::sweep(store);
            let _ = store.prune(d, false);
        }
    }
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    let g = cli.global;
    crate::error::set_quiet(g.quiet);
    let ctx = Ctx {
        store_flag: g.store,
        config: Config::load(g.config.as_deref())?,
        quiet: g.quiet,
        verbose: g.verbose,
    };
    match cli.command {
        Command::Run(a) => run::run(a, &ctx),
        // `new` and `create` are `run --bg`.
        Command::New(a) => run::run(RunArgs { bg: true, ..a }, &ctx),
        Command::Attach(a) => attach::run(a, &ctx),
        Command::Detach(a) => detach::run(a, &ctx),
        Command::Capture(a) => capture::run(a, &ctx),
        Command::Send(a) => send::run(a.resolve().map_err(Error::usage)?, &ctx),
        Command::Wait(a) => wait::run(a, &ctx),
        Command::Events(a) => events::run(a, &ctx),
        // `exec` is `run --bg` with arguments made from the prompt.
        Command::Exec(a) => run::run(exec::run_args(a, &ctx), &ctx),
        Command::List(a) => list::run(a, &ctx),
        Command::Inspect(a) => inspect::run(a, &ctx),
        Command::Logs(a) => logs::run(a, &ctx),
        Command::Follow(a) => logs::run(LogsArgs { follow: true, ..a }, &ctx),
        Command::Ps(a) => ps::run(a, &ctx),
        Command::Stop(a) => stop::run(a, &ctx),
        Command::Rm(a) => rm::run(a, &ctx),
        Command::Prune(a) => prune::run(a, &ctx),
        Command::Config(a) => config::run(a, &ctx),
        Command::Mcp(a) => mcp::run(a, &ctx),
        Command::Complete(a) => complete::run(a, &ctx),
    }
}
