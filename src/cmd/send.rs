//! `send`: input for the program through its supervisor, as one unit, with
//! draft safety, an audit record and de-duplication; `--wait-idle` then
//! prints what the program answered (after the echo of the input).

use std::io::{self, Read};
use std::process::ExitCode;
use std::time::Instant;

use super::Ctx;
use crate::cli::SendArgs;
use crate::client::{self, command, watch};
use crate::error::{Error, Result, describe_io, note};
use crate::fmt;
use crate::logs::Plain;
use crate::proto;

pub fn run(a: SendArgs, ctx: &Ctx) -> Result<ExitCode> {
    // Every wait below counts from here.
    let started = Instant::now();
    let timeout = fmt::duration_arg("--timeout", &a.timeout)?;
    let wait_idle = a
        .wait_idle
        .as_deref()
        .map(|d| fmt::duration_arg("--wait-idle", d))
        .transpose()?;
    let mut text = a.text.clone().unwrap_or_default().into_bytes();
    if a.stdin {
        io::stdin()
            .read_to_end(&mut text)
            .map_err(|e| Error::new(format!("reading standard input: {}", describe_io(&e))))?;
        if a.submit {
            // `echo TEXT | send --stdin --submit`: one Enter, not two.
            drop_final_newline(&mut text);
        }
    }
    let nothing = text.is_empty() && a.keys.is_empty() && !a.submit && !a.interrupt && !a.eof;
    if nothing && !a.stdin {
        return Err(Error::usage(
            "nothing to send: give TEXT, --stdin, --keys, --submit, --interrupt or --eof",
        )
        .hint("`codex-session send NAME --submit` sends just Enter"));
    }
    let req = proto::SendReq {
        keys: a.keys.clone(),
        paste: a.paste,
        submit: a.submit,
        interrupt: a.interrupt,
        eof: a.eof,
        force: a.force,
        timeout_ms: timeout.as_millis() as u64,
        label: a.as_label.clone(),
        id: a.id.clone(),
        wait_idle_ms: wait_idle.map(|d| d.as_millis() as u64),
        wait_command: a.wait_command,
    };
    let store = ctx.store()?;
    let s = store.get(&a.name)?;
    if let Some(e) = watch::lost(&s) {
        return Err(e);
    }
    let s = store.get_running(&a.name)?;
    if a.wait_command {
        command::require_marks(&s, "--wait-idle DUR")?;
    }
    let deadline = started + timeout;
    let timed_out = || {
        Error::new(format!(
            "timed out after {} sending to {}",
            humantime::format_duration(timeout),
            s.name
        ))
        .with_code(124)
    };
    let (result, mut conn) = client::send(&s, &req, &text, deadline, timed_out)?;
    if result.duplicate {
        note(format!(
            "id {} was already delivered to {}: duplicate, not delivered",
            a.id.as_deref().unwrap_or(""),
            s.name
        ));
        return Ok(ExitCode::SUCCESS);
    }
    if a.wait_command {
        return command::print_command(&mut conn, &s, result.offset, None, Some(deadline));
    }
    match wait_idle {
        None => Ok(ExitCode::SUCCESS),
        Some(_) => {
            let answer = watch::Answer::to_send(&result);
            watch::print_until_idle(&mut conn, &s, deadline, Plain::new(), Some(answer))
        }
    }
}

/// One final "\n" or "\r\n" of standard input: the Enter is --submit's.
fn drop_final_newline(text: &mut Vec<u8>) {
    if text.ends_with(b"\r\n") {
        text.truncate(text.len() - 2);
    } else if text.ends_with(b"\n") {
        text.pop();
    }
}
