//! `attach`: the terminal joins a running session.

use std::process::ExitCode;

use super::Ctx;
use crate::cli::AttachArgs;
use crate::client::attach::{self, Options};
use crate::error::{Error, Result};

pub fn run(a: AttachArgs, ctx: &Ctx) -> Result<ExitCode> {
    let name = a.target.name().map_err(Error::usage)?;
    let detach_key = ctx.detach_key(a.detach_key.as_deref())?;
    let store = ctx.store()?;
    let s = store.get_running(&name)?;
    attach::attach(
        &s,
        &Options {
            read_only: a.read_only,
            detach_key,
        },
    )
}
