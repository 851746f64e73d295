//! `logs`: the session's output so far (`-n` lines from the end), then with
//! `-f` whatever comes until the session ends.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::process::ExitCode;
use std::time::Duration;

use super::{Ctx, stdout_error};
use crate::cli::{ColorChoice, LogsArgs};
use crate::error::{IoContext, Result};
use crate::logs::{Plain, tail_offset};
use crate::store::{self, LOG};
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
    let path = s.path(LOG);
    let mut f = match sys::open_nofollow(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(crate::error::Error::io("opening", &path, e)),
    };
    if let Some(n) = a.tail {
        let off = tail_offset(&mut f, n).ctx("reading", &path)?;
        f.seek(SeekFrom::Start(off)).ctx("reading", &path)?;
    }
    let mut out = Sink {
        out: io::stdout().lock(),
        plain: plain.then(Plain::new),
        buf: Vec::new(),
    };
    let mut buf = vec![0u8; 256 * 1024];
    let copy = |f: &mut File, out: &mut Sink<'_>, buf: &mut [u8]| -> Result<usize> {
        let mut total = 0;
        loop {
            let n = f.read(buf).ctx("reading", &path)?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
            out.write(&buf[..n])?;
        }
    };
    copy(&mut f, &mut out, &mut buf)?;
    if a.follow {
        loop {
            // Look at liveness before reading: the supervisor writes all
            // output before it lets go of the lock, so one more read after
            // seeing it gone gets everything.
            let live = !s.meta.is_ended() && store::is_locked(&s.dir);
            let n = copy(&mut f, &mut out, &mut buf)?;
            if !live {
                break;
            }
            if n == 0 {
                out.flush()?;
                std::thread::sleep(FOLLOW_POLL);
            }
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
