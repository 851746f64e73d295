//! One error type for the whole tool: what failed, why, and what to do.
//!
//! `main` prints it once as `codex-session: <message>` (plus `hint: ...`)
//! with [`Error::print`] and maps it to the exit code in [`Error::code`],
//! except the one [`ErrorKind`] that ends quietly: standard output closed.
//! Messages that are not failures ([`note`]) are printed the same way.

use std::fmt;
use std::io::{self, Write};
use std::path::Path;

#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    msg: String,
    hint: Option<String>,
    code: u8,
}

/// What `main` does with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Print it and exit with its code.
    Failed,
    /// Standard output was closed by its reader (`list | head -1`): stop
    /// quietly with status 0, as other filters do. Only [`stdout_error`]
    /// makes this kind; a closed session socket is a failure.
    StdoutClosed,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A failure: exit status 1.
    pub fn new(msg: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Failed,
            msg: msg.into(),
            hint: None,
            code: 1,
        }
    }

    /// Bad usage (a malformed argument): exit status 2.
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::new(msg).with_code(2)
    }

    /// "<doing> <path>: <io error>", the shape of every I/O failure.
    pub fn io(doing: &str, path: &Path, err: io::Error) -> Self {
        Error::new(format!("{doing} {}: {}", path.display(), describe_io(&err)))
    }

    pub fn with_code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn code(&self) -> u8 {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.msg
    }

    /// The hint, if any (the MCP server puts it in its one-sentence answers).
    pub fn hint_text(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// Print on standard error as `codex-session: <message>`, then the
    /// hint: the one way every error reaches the user (`main`, and verbs
    /// that report one of several sessions and go on).
    pub fn print(&self) {
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "codex-session: {}", self.msg);
        if let Some(h) = self.hint_text() {
            let _ = writeln!(err, "hint: {h}");
        }
    }
}

/// `--quiet`: notes are not printed.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Silence [`note`] for the rest of the run (`-q/--quiet`).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// A message that is not a failure ("nothing to do"), printed as errors
/// are, unless `--quiet`.
pub fn note(msg: impl fmt::Display) {
    if QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let _ = writeln!(io::stderr().lock(), "codex-session: {msg}");
}

/// An error writing to standard output. A closed pipe is
/// [`ErrorKind::StdoutClosed`], which `main` ends quietly with status 0.
pub fn stdout_error(e: io::Error) -> Error {
    let mut err = Error::new(format!("writing to standard output: {}", describe_io(&e)));
    if e.kind() == io::ErrorKind::BrokenPipe {
        err.kind = ErrorKind::StdoutClosed;
    }
    err
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Error {}

/// An io::Error as a person reads it: "permission denied", not
/// "Permission denied (os error 13)".
pub fn describe_io(err: &io::Error) -> String {
    let s = match err.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => err.to_string(),
    };
    lower_first(&s)
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) if c.clone().next().is_some_and(|n| n.is_lowercase()) => {
            first.to_lowercase().chain(c).collect()
        }
        _ => s.to_string(),
    }
}

/// Adds "<doing> <path>" to an io::Result.
pub trait IoContext<T> {
    fn ctx(self, doing: &str, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, doing: &str, path: &Path) -> Result<T> {
        self.map_err(|e| Error::io(doing, path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_closed_stdout_ends_quietly() {
        let closed = stdout_error(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(closed.kind(), ErrorKind::StdoutClosed);
        let full = stdout_error(io::Error::from_raw_os_error(nix::libc::ENOSPC));
        assert_eq!(full.kind(), ErrorKind::Failed);
        assert_eq!(
            full.message(),
            "writing to standard output: no space left on device"
        );
        // The same EPIPE from anywhere else is a failure.
        let socket = Error::io(
            "writing to",
            Path::new("sock"),
            io::Error::from_raw_os_error(nix::libc::EPIPE),
        );
        assert_eq!(socket.kind(), ErrorKind::Failed);
    }
}
