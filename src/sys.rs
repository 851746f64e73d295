//! Small system helpers with no `unsafe`: files opened without following
//! symlinks, peer credentials, connecting to a session socket whose path is
//! too long for `sun_path`, signal names.
//!
//! Which crate owns which call: nix for signals, process ids and `getpeereid`
//! (macOS/BSD); rustix for `SO_PEERCRED` (Linux), poll and fd flags.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::signal::Signal;

/// Open for reading without following a symlink at the last component.
pub fn open_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_NOFOLLOW.bits())
        .open(path)
}

pub fn read_nofollow(path: &Path) -> io::Result<Vec<u8>> {
    let mut f = open_nofollow(path)?;
    let mut v = Vec::new();
    f.read_to_end(&mut v)?;
    Ok(v)
}

/// Create a new file (0600) for writing; fails if anything exists at `path`.
pub fn create_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(OFlag::O_NOFOLLOW.bits())
        .open(path)
}

/// Open (creating if needed, 0600) for appending, without following symlinks.
pub fn append_nofollow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(OFlag::O_NOFOLLOW.bits())
        .open(path)
}

pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// The uid (and pid, where the platform tells) of the process at the other
/// end of a Unix socket, as the kernel recorded it at connect time.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn peer_cred(s: &UnixStream) -> io::Result<(u32, Option<i32>)> {
    let c = rustix::net::sockopt::socket_peercred(s.as_fd())?;
    Ok((c.uid.as_raw(), Some(c.pid.as_raw_nonzero().get())))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn peer_cred(s: &UnixStream) -> io::Result<(u32, Option<i32>)> {
    let (uid, _gid) = nix::unistd::getpeereid(s.as_fd())?;
    Ok((uid.as_raw(), None))
}

/// The longest socket path we hand to `connect` directly (sun_path is 104
/// bytes on macOS/BSD, 108 on Linux, both including the NUL).
const SUN_PATH_SAFE: usize = 100;

/// Connect to `dir/sock`, however long `dir` is.
pub fn connect_in(dir: &Path, name: &str) -> io::Result<UnixStream> {
    let sock = dir.join(name);
    if sock.as_os_str().len() <= SUN_PATH_SAFE {
        return UnixStream::connect(&sock);
    }
    connect_long(dir, name)
}

/// On Linux, reach the folder through a short `/proc/self/fd/N` path, which
/// changes no process-wide state.
#[cfg(target_os = "linux")]
fn connect_long(dir: &Path, name: &str) -> io::Result<UnixStream> {
    use std::os::fd::AsRawFd;
    let d = OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_DIRECTORY.bits())
        .open(dir)?;
    UnixStream::connect(format!("/proc/self/fd/{}/{name}", d.as_raw_fd()))
}

/// Elsewhere, connect relative to the folder and change back. The CLI is
/// single-threaded when it connects, so the brief chdir is not observable.
#[cfg(not(target_os = "linux"))]
fn connect_long(dir: &Path, name: &str) -> io::Result<UnixStream> {
    let here = File::open(".")?;
    std::env::set_current_dir(dir)?;
    let r = UnixStream::connect(name);
    nix::unistd::fchdir(&here).map_err(io::Error::from)?;
    r
}

/// Parse "TERM", "SIGTERM", "term" or "15".
pub fn parse_signal(s: &str) -> Option<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).ok();
    }
    let up = s.to_ascii_uppercase();
    let full = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    full.parse().ok()
}

/// Whether `fd` is a terminal.
pub fn isatty(fd: impl AsFd) -> bool {
    rustix::termios::isatty(fd)
}
