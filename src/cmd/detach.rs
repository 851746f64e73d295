//! `detach`: detach every client of a session, from another shell.

use std::process::ExitCode;

use super::Ctx;
use crate::cli::DetachArgs;
use crate::client::{Conn, io_err, remote_error};
use crate::error::{Error, Result};
use crate::proto::{self, Kind, Role};

pub fn run(a: DetachArgs, ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store()?;
    let s = store.get_running(&a.name)?;
    let mut c = Conn::open(&s, Role::Control, None, false)?;
    proto::write_frame(&mut c.stream, Kind::Detach, &[]).map_err(|e| io_err(&s, e))?;
    match proto::read_frame(&mut c.stream).map_err(|e| io_err(&s, e))? {
        (Kind::Ok, _) => Ok(ExitCode::SUCCESS),
        (Kind::Error, p) => Err(remote_error(&s, &p)),
        (k, _) => Err(Error::new(format!(
            "session {}: unexpected {k:?} answer",
            s.name
        ))),
    }
}
