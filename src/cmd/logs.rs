//! `logs`: the session's output so far (`-n` lines from the end), then with
//! `-f` whatever comes until the session ends; `--stderr`: a pipe session's
//! standard error, the same way.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use super::Ctx;
use crate::cli::{ColorChoice, LogsArgs};
use crate::error::{Error, Result, stdout_error};
use crate::logs::{LogReader, Plain};
use crate::store::{self, ERR_LOG, LOG};
use crate::sys;

/// How often `-f` looks for new output.
const FOLLOW_POLL: Duration = Duration::from_millis(20);

pub fn run(a: LogsArgs, ctx: &Ctx) -> Result<ExitCode> {
    let store = ctx.store()?;
    let s = store.get(&a.name)?;
    let plain = match a.color {
        ColorChoice::Always => false,
        ColorChoice::Never => true,
        ColorChoice::Auto => {
            !sys::isatty(io::stdout())
                || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        }
    };
    if a.stderr && !s.meta.is_pipe() {
        return Err(Error::new(format!(
            "{} has no standard error apart: it runs on a terminal, where both streams are its output",
            s.name
        ))
        .hint(format!("`codex-session logs {}` shows all of it", s.name)));
    }
    let base = if a.stderr { ERR_LOG } else { LOG };
    let open = |dir: &std::path::Path| match a.tail {
        Some(n) => LogReader::open_tail_of(dir, base, n),
        None => LogReader::open_start_of(dir, base),
    };
    let read_err = |e| crate::error::Error::io("reading the output of", &s.dir, e);
    let mut out = Sink {
        out: io::stdout().lock(),
        plain: plain.then(Plain::new),
        buf: Vec::new(),
    };
    let mut buf = vec![0u8; 256 * 1024];
    let mut reader = open(&s.dir).map_err(read_err)?;
    loop {
        // Look at liveness before reading: the supervisor writes all
        // output before it lets go of the lock, so one more read after
        // seeing it gone gets everything.
        let live = a.follow && !s.meta.is_ended() && store::is_locked(&s.dir);
        if reader.is_none() {
            reader = open(&s.dir).map_err(read_err)?;
        }
        let mut got = 0;
        if let Some(r) = reader.as_mut() {
            loop {
                let n = r.read(&mut buf).map_err(read_err)?;
                if n == 0 {
                    break;
                }
                got += n;
                out.write(&buf[..n])?;
            }
        }
        if !live {
            break;
        }
        if got == 0 {
            out.flush()?;
            std::thread::sleep(FOLLOW_POLL);
        }
    }
    out.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// Standard output, raw or through the plain-text renderer.
struct Sink<'a> {
    out: io::StdoutLock<'a>,
    plain: Option<Plain>,
    buf: Vec<u8>,
}

impl Sink<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        match &mut self.plain {
            None => self.out.write_all(data).map_err(stdout_error),
            Some(p) => {
                self.buf.clear();
                p.feed(data, &mut self.buf);
                self.out.write_all(&self.buf).map_err(stdout_error)
            }
        }
    }

    fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(stdout_error)
    }

    fn finish(mut self) -> Result<()> {
        if let Some(p) = &mut self.plain {
            self.buf.clear();
            p.finish(&mut self.buf);
            self.out.write_all(&self.buf).map_err(stdout_error)?;
        }
        self.flush()
    }
}
