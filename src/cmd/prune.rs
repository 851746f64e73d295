//! `prune`: remove ended sessions older than the retention period.

use std::io::{self, Write};
use std::process::ExitCode;

use super::Ctx;
use crate::cli::PruneArgs;
use crate::error::{Result, note, stdout_error};
use crate::fmt;

pub fn run(a: PruneArgs, ctx: &Ctx) -> Result<ExitCode> {
    let older_than = match &a.older_than {
        Some(s) => fmt::duration_arg("--older-than", s)?,
        None => match ctx.config.retain_exited {
            Some(d) => d,
            None => {
                note("retain_exited is off; nothing to prune (pass --older-than DUR)");
                return Ok(ExitCode::SUCCESS);
            }
        },
    };
    let store = ctx.store()?;
    let removed = store.prune(older_than, a.dry_run)?;
    let mut out = io::stdout().lock();
    let verb = if a.dry_run { "would remove" } else { "removed" };
    for s in &removed {
        writeln!(
            out,
            "{verb} {} ({}, ended {})",
            s.name,
            s.status,
            fmt::ago(&s.ended)
        )
        .map_err(stdout_error)?;
    }
    if removed.is_empty() {
        note(format!(
            "no ended session is older than {}",
            humantime::format_duration(older_than)
        ));
    }
    Ok(ExitCode::SUCCESS)
}
