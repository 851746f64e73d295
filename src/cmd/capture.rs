//! `capture`: the screen as text, one line per row (with `--join`, one per
//! line of text; with `--ansi`, with its colours); after the program ended,
//! the last screen it showed.

use std::io::{self, Write};
use std::process::ExitCode;

use super::Ctx;
use crate::cli::CaptureArgs;
use crate::client::Conn;
use crate::error::{Error, Result, stdout_error};
use crate::proto::{self, Kind, Role};
use crate::store::{SCREEN_ANSI, SCREEN_JOINED, SCREEN_TXT, Session};
use crate::sys;

pub fn run(a: CaptureArgs, ctx: &Ctx) -> Result<ExitCode> {
    let name = a.target.name().map_err(Error::usage)?;
    let store = ctx.store()?;
    let s = store.get(&name)?;
    if s.meta.is_pipe() {
        return Err(
            Error::new(format!("{} has no screen: it runs in pipe mode", s.name))
                .hint(format!("try `codex-session logs {}`", s.name)),
        );
    }
    let screen = if s.is_running() {
        live(&s, a.ansi, a.join)?
    } else {
        let path = s.path(if a.ansi {
            SCREEN_ANSI
        } else if a.join {
            SCREEN_JOINED
        } else {
            SCREEN_TXT
        });
        sys::read_nofollow(&path).map_err(|e| {
            Error::io("reading the last screen of", &path, e).hint(format!(
                "session {} is {} and left no screen; `codex-session logs {}` shows its output",
                s.name,
                s.status(),
                s.name
            ))
        })?
    };
    let mut out = io::stdout().lock();
    out.write_all(&screen).map_err(stdout_error)?;
    out.flush().map_err(stdout_error)?;
    Ok(ExitCode::SUCCESS)
}

/// The screen from the supervisor's model: Screen frames, then Ok.
fn live(s: &Session, ansi: bool, join: bool) -> Result<Vec<u8>> {
    let mut c = Conn::open(s, Role::Control, None, false)?;
    c.request(
        Kind::Capture,
        &proto::json(&proto::CaptureReq { ansi, join }),
    )
}
