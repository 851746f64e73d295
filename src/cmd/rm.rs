//! `rm`: remove ended sessions' folders; running ones only with `--force`,
//! which stops them first.

use std::process::ExitCode;
use std::time::Duration;

use super::Ctx;
use crate::cli::RmArgs;
use crate::client::{STOP_SIGNALS, stop_all};
use crate::error::{Error, IoContext, Result};
use crate::store::Session;

/// The grace period `rm --force` gives a running program.
const FORCE_GRACE: Duration = Duration::from_secs(10);

pub fn run(a: RmArgs, ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store()?;
    let mut ok = true;
    // Every name (or number) is looked up before anything is removed:
    // removing one renumbers those after it.
    let found: Vec<Result<Session>> = a.names.iter().map(|n| store.get(n)).collect();
    for s in found {
        if let Err(e) = s.and_then(|s| remove(s, a.force)) {
            e.print();
            ok = false;
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn remove(s: Session, force: bool) -> Result<()> {
    if s.is_running() {
        if !force {
            return Err(Error::new(format!("session {} is running", s.name)).hint(format!(
                "stop it first (`codex-session stop {0}`), or use `codex-session rm --force {0}`",
                s.name
            )));
        }
        stop_all(std::slice::from_ref(&s), &STOP_SIGNALS, FORCE_GRACE)
            .pop()
            .expect("one result")?;
    }
    std::fs::remove_dir_all(&s.dir).ctx("removing", &s.dir)
}
