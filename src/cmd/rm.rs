//! `rm`: remove ended sessions' folders; running ones only with `--force`,
//! which stops them first, as it removes damaged ones. Each removal is
//! decided under the store's lock ([`Store::remove_session`]): of several
//! racing `rm` of one session exactly one succeeds.

use std::process::ExitCode;
use std::time::Duration;

use super::Ctx;
use crate::cli::RmArgs;
use crate::client::{STOP_SIGNALS, stop_all};
use crate::error::{Error, Result};
use crate::store::{Removal, Store};

/// The grace period `rm --force` gives a running program.
const FORCE_GRACE: Duration = Duration::from_secs(10);

pub fn run(a: RmArgs, ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store()?;
    // The worst outcome decides the status: 2 if a name was invalid.
    let mut code = 0;
    // Every row number is looked up before anything is removed: removing
    // one renumbers those after it.
    let names: Vec<Result<String>> = (a.names.iter())
        .map(|n| match n.bytes().all(|b| b.is_ascii_digit()) {
            true => store.get(n).map(|s| s.name),
            false => Ok(n.clone()),
        })
        .collect();
    for name in names {
        if let Err(e) = name.and_then(|name| remove(&store, &name, a.force)) {
            e.print();
            code = code.max(e.code());
        }
    }
    Ok(ExitCode::from(code))
}

fn remove(store: &Store, name: &str, force: bool) -> Result<()> {
    loop {
        let s = match store.remove_session(name, force)? {
            Removal::Removed => return Ok(()),
            Removal::Running(s) => s,
        };
        if !force {
            return Err(Error::new(format!("session {} is running", s.name)).hint(format!(
                "stop it first (`codex-session stop {0}`), or use `codex-session rm --force {0}`",
                s.name
            )));
        }
        // Stopping takes a while: not under the store's lock. Then decide
        // again (someone may have removed or replaced it meanwhile).
        stop_all(std::slice::from_ref(&*s), &STOP_SIGNALS, FORCE_GRACE)
            .pop()
            .expect("one result")?;
    }
}
