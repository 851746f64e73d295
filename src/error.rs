//! One error type for the whole tool: what failed, why, and what to do.
//!
//! `main` prints it once as `codex-session: <message>` (plus `hint: ...`) and
//! maps it to the exit code in [`Error::code`].

use std::fmt;
use std::io;
use std::path::Path;

#[derive(Debug)]
pub struct Error {
    msg: String,
    hint: Option<String>,
    code: u8,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A failure: exit status 1.
    pub fn new(msg: impl Into<String>) -> Self {
        Error {
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

    pub fn code(&self) -> u8 {
        self.code
    }

    pub fn hint_text(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    pub fn message(&self) -> &str {
        &self.msg
    }
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
