//! Small system helpers with no `unsafe`: records opened safely (no
//! symlink followed, never blocking, regular files only), peer credentials, connecting to a session socket whose path is
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

/// Open a record of the store (meta.json, a log, events, a saved screen,
/// the lock) for reading, the one safe way: never following a symlink at
/// the last component, never blocking (`O_NONBLOCK`: a FIFO put in place
/// of a record would otherwise wait for a writer for ever), and only a
/// regular file. Anything else is an error that says what is there ("it is
/// a FIFO, not a regular file"), for the verbs to report the session as
/// damaged.
pub fn open_nofollow(path: &Path) -> io::Result<File> {
    open_regular(path, false)
}

/// The same for the configuration file, which may be a symlink (into a
/// dotfiles repository, say) but must still be a regular file.
pub fn open_config(path: &Path) -> io::Result<File> {
    open_regular(path, true)
}

fn open_regular(path: &Path, follow: bool) -> io::Result<File> {
    let mut flags = OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    if !follow {
        flags |= OFlag::O_NOFOLLOW;
    }
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits())
        .open(path)
        .map_err(|e| explain_eloop(path, e))?;
    check_regular(&f)?;
    // Reads of a regular file never block anyway; a caller may hand the
    // file to code that expects a blocking descriptor.
    let fl = rustix::fs::fcntl_getfl(&f)?;
    rustix::fs::fcntl_setfl(&f, fl - rustix::fs::OFlags::NONBLOCK)?;
    Ok(f)
}

/// `O_NOFOLLOW` fails with ELOOP at a symlink: say so.
fn explain_eloop(path: &Path, e: io::Error) -> io::Error {
    let is_link = e.raw_os_error() == Some(nix::libc::ELOOP)
        && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link {
        not_what(&"a symbolic link", "a regular file")
    } else {
        e
    }
}

/// An error for a file that is not the kind it must be.
fn not_what(is: &dyn std::fmt::Display, want: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("it is {is}, not {want}"),
    )
}

/// Refuse anything but a regular file.
fn check_regular(f: &File) -> io::Result<()> {
    let ft = f.metadata()?.file_type();
    if ft.is_file() {
        Ok(())
    } else {
        Err(not_what(&kind_of(ft), "a regular file"))
    }
}

/// "a FIFO", "a folder", ... as an error message names it.
pub fn kind_of(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_file() {
        "a regular file"
    } else if ft.is_dir() {
        "a folder"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else {
        "not a file"
    }
}

/// Read a whole record ([`open_nofollow`]).
pub fn read_nofollow(path: &Path) -> io::Result<Vec<u8>> {
    let mut f = open_nofollow(path)?;
    let mut v = Vec::new();
    f.read_to_end(&mut v)?;
    Ok(v)
}

/// Read a whole record of at most `max` bytes (a bigger one is an error:
/// meta.json and the configuration are small, and a huge one is damage).
pub fn read_small(f: File, max: u64) -> io::Result<Vec<u8>> {
    let mut v = Vec::new();
    f.take(max + 1).read_to_end(&mut v)?;
    if v.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is larger than {max} bytes"),
        ));
    }
    Ok(v)
}

/// Replace a record with `data`: a new file beside it, renamed over it, so
/// whatever was at `path` (a FIFO, a symlink) is replaced, never opened.
pub fn write_record(path: &Path, data: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let written = create_nofollow(&tmp)
        .and_then(|mut f| f.write_all(data))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
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

/// Open (creating if needed, 0600) for appending, without following
/// symlinks or blocking; only a regular file.
pub fn append_nofollow(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC).bits())
        .open(path)
        .map_err(|e| explain_eloop(path, e))?;
    check_regular(&f)?;
    let fl = rustix::fs::fcntl_getfl(&f)?;
    rustix::fs::fcntl_setfl(&f, fl - rustix::fs::OFlags::NONBLOCK)?;
    Ok(f)
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

/// Connect to `dir/sock`, however long `dir` is. What is there must be a
/// socket itself: connect would follow a symlink.
pub fn connect_in(dir: &Path, name: &str) -> io::Result<UnixStream> {
    let sock = dir.join(name);
    let ft = std::fs::symlink_metadata(&sock)?.file_type();
    if !std::os::unix::fs::FileTypeExt::is_socket(&ft) {
        return Err(not_what(&kind_of(ft), "a socket"));
    }
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
