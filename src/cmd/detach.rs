//! `detach`: detach every client of a session, from another shell.

use std::process::ExitCode;

use super::Ctx;
use crate::cli::DetachArgs;
use crate::client::Conn;
use crate::error::Result;
use crate::proto::{Kind, Role};

pub fn run(a: DetachArgs, ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store()?;
    let s = store.get_running(&a.name)?;
    let mut c = Conn::open(&s, Role::Control, None, false)?;
    c.request(Kind::Detach, &[])?;
    Ok(ExitCode::SUCCESS)
}
