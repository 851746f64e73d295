//! A command turn: the shell's marks (OSC 133) in the watched output tell
//! where a command's output begins (`C`) and where it ended (`D;STATUS`).
//! Used by `send --wait-command` and `wait --command`.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::Conn;
use super::watch::{self, Event};
use crate::error::{Error, Result, stdout_error};
use crate::logs::Plain;
use crate::osc::{Found, Scanner, Sign};
use crate::store::Session;

/// The error when the session's shell marks no commands, naming the
/// alternative (`alternative`: the flag that waits for quiet instead).
pub fn require_marks(s: &Session, alternative: &str) -> Result<()> {
    if s.meta.signs.has_marks() {
        return Ok(());
    }
    Err(Error::new(format!(
        "{}: its program reports no command marks (OSC 133), so a command's end cannot be seen",
        s.name
    ))
    .hint(format!(
        "use {alternative} to wait until the output is quiet instead; a bash, zsh or fish \
         started by `run` with no command (or --shell) reports them"
    )))
}

/// Stream the output from `pos` (the output byte count where the stream
/// begins) until the shell reports a command's end; print that command's
/// output, from its `C` mark (or from `running_from` for a command that
/// was already running, whose earlier output is read from the logs) to
/// its `D` mark, as plain text; exit with its exit code (0 when the shell
/// gave none). The program's status if it ends first; 124 at the deadline.
pub fn print_command(
    c: &mut Conn,
    s: &Session,
    pos: u64,
    running_from: Option<u64>,
    deadline: Option<Instant>,
) -> Result<ExitCode> {
    let mut out = io::stdout().lock();
    let mut plain = Plain::new();
    let mut text = Vec::new();
    let mut printing = running_from;
    if let Some(from) = running_from.filter(|&f| f < pos) {
        emit(
            &watch::read_range(s, from, pos)?.1,
            &mut plain,
            &mut text,
            &mut out,
        )?;
    }
    let mut scan = Scanner::at(pos);
    let mut found: Vec<Found> = Vec::new();
    let end = loop {
        let p = match watch::next(c, deadline)? {
            Event::Output(p) => p,
            Event::Idle => continue,
            other => break other,
        };
        let base = scan.pos();
        let slice = |lo: u64, hi: u64| &p[(lo - base) as usize..(hi - base) as usize];
        found.clear();
        scan.feed(&p, &mut found);
        for f in &found {
            match f.sign {
                Sign::CommandStart { .. } => printing = Some(f.end),
                Sign::CommandEnd { exit } => {
                    let Some(from) = printing else { continue };
                    let from = from.max(base);
                    if from < f.start {
                        emit(slice(from, f.start), &mut plain, &mut text, &mut out)?;
                    }
                    finish(&mut plain, &mut text, &mut out)?;
                    return Ok(ExitCode::from(exit.unwrap_or(0).rem_euclid(256) as u8));
                }
                _ => {}
            }
        }
        if let Some(from) = printing {
            let from = from.max(base);
            emit(slice(from, scan.pos()), &mut plain, &mut text, &mut out)?;
        }
    };
    finish(&mut plain, &mut text, &mut out)?;
    match end {
        Event::Exit(info) => Ok(ExitCode::from(info.status())),
        Event::Lost => {
            let until = Instant::now() + Duration::from_secs(5);
            let Some(over) = watch::settle(s, until) else {
                return Err(c.io_err(io::ErrorKind::UnexpectedEof.into()));
            };
            match watch::lost(&over) {
                Some(e) => Err(e),
                None => Ok(ExitCode::from(watch::exit_status(&over))),
            }
        }
        _ => Err(Error::new(format!(
            "{}: the shell did not report the command's end before the timeout",
            c.name()
        ))
        .with_code(124)),
    }
}

/// Output bytes, printed as plain text (finished lines).
fn emit(data: &[u8], plain: &mut Plain, text: &mut Vec<u8>, out: &mut impl Write) -> Result<()> {
    text.clear();
    plain.feed(data, text);
    out.write_all(text).map_err(stdout_error)
}

/// The last, unfinished line too, unless it is blank (zsh marks a partial
/// line with spaces and CRs before its prompt hook reports the end).
fn finish(plain: &mut Plain, text: &mut Vec<u8>, out: &mut impl Write) -> Result<()> {
    text.clear();
    plain.finish(text);
    if text.iter().all(u8::is_ascii_whitespace) {
        text.clear();
    }
    out.write_all(text).map_err(stdout_error)?;
    out.flush().map_err(stdout_error)
}
