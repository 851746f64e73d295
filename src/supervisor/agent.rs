//! An SSH agent that follows the person: the program's `SSH_AUTH_SOCK` is
//! `agent.sock` in the session folder, a symbolic link the supervisor points
//! at the agent socket of the terminal that attached last (each attach
//! brings its client's `SSH_AUTH_SOCK` in its Hello), and back at the
//! previous one when that terminal detaches: another attached terminal's,
//! else the one `run` was started with, whichever still is a socket. After
//! an SSH reconnect and `attach`, `git push` in the session uses the new
//! connection's agent.
//!
//! A socket is taken only if it is one (`lstat`), owned by the
//! supervisor's user; a symbolic link given as the socket (owned by the
//! user too) is resolved and the socket it leads to checked the same way.
//! A refused one is an `agent` event with the reason, and the link stays
//! where it was. The link is replaced in one step (a new link renamed over
//! it), so a program never finds it missing.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::events::Events;

/// The link's name in the session folder.
pub const AGENT_SOCK: &str = "agent.sock";
const TMP: &str = ".agent.sock.tmp";

pub struct Agent {
    /// The agent `run` was started with.
    start: PathBuf,
    /// Attached terminals that brought an agent, by client id, oldest first.
    clients: Vec<(u64, PathBuf)>,
    /// Where the link points now.
    now: Option<PathBuf>,
    uid: u32,
}

impl Agent {
    /// Make the link (in the current folder, the session's) point at the
    /// starting agent, if it is a socket of ours.
    pub fn new(start: PathBuf, uid: u32, events: &mut Events) -> Agent {
        let mut a = Agent {
            start: start.clone(),
            clients: Vec::new(),
            now: None,
            uid,
        };
        match check(&start, uid) {
            Ok(p) => a.point(p, None, events),
            Err(why) => refused(&start, &why, None, events),
        }
        a
    }

    /// The agent it started with and where the link points, for a fresh
    /// image of the supervisor (`fresh.rs`); no terminal is attached yet.
    #[cfg(target_os = "linux")]
    pub fn parts(&self) -> (PathBuf, Option<PathBuf>) {
        (self.start.clone(), self.now.clone())
    }

    /// The agent [`Agent::parts`] described.
    #[cfg(target_os = "linux")]
    pub fn from_parts(start: PathBuf, now: Option<PathBuf>, uid: u32) -> Agent {
        Agent {
            start,
            clients: Vec::new(),
            now,
            uid,
        }
    }

    /// A terminal attached with its client's agent at `sock`.
    pub fn attached(&mut self, id: u64, pid: Option<i32>, sock: &str, events: &mut Events) {
        let given = Path::new(sock);
        match check(given, self.uid) {
            Ok(p) => {
                self.clients.push((id, p.clone()));
                self.point(p, pid, events);
            }
            Err(why) => refused(given, &why, pid, events),
        }
    }

    /// These terminals are gone: point back at the latest agent left that
    /// is still a socket of ours (another terminal's, else the first one).
    pub fn detached(&mut self, ids: &[u64], events: &mut Events) {
        let before = self.clients.len();
        self.clients.retain(|(id, _)| !ids.contains(id));
        if self.clients.len() == before {
            return;
        }
        let uid = self.uid;
        let back = (self.clients.iter().rev().map(|(_, p)| p))
            .chain(std::iter::once(&self.start))
            .find_map(|p| check(p, uid).ok());
        if let Some(p) = back {
            self.point(p, None, events);
        }
    }

    fn point(&mut self, to: PathBuf, pid: Option<i32>, events: &mut Events) {
        if self.now.as_ref() == Some(&to) {
            return;
        }
        match relink(&to) {
            Ok(()) => {
                events.emit("agent", json!({"socket": to, "client_pid": pid}));
                self.now = Some(to);
            }
            Err(e) => {
                let why = format!("replacing {AGENT_SOCK}: {e}");
                refused(&to, &why, pid, events);
            }
        }
    }
}

fn refused(sock: &Path, why: &str, pid: Option<i32>, events: &mut Events) {
    events.emit(
        "agent",
        json!({"refused": sock, "reason": why, "client_pid": pid}),
    );
}

/// A new link renamed over the old one: never missing, never half made.
fn relink(to: &Path) -> std::io::Result<()> {
    let _ = fs::remove_file(TMP);
    std::os::unix::fs::symlink(to, TMP)?;
    fs::rename(TMP, AGENT_SOCK).inspect_err(|_| {
        let _ = fs::remove_file(TMP);
    })
}

/// The socket to point at for `given`: an absolute path to a socket owned
/// by `uid`, or a link owned by `uid` to one. Why not, otherwise.
pub fn check(given: &Path, uid: u32) -> Result<PathBuf, String> {
    if !given.is_absolute() {
        return Err("not an absolute path".into());
    }
    let md = fs::symlink_metadata(given).map_err(|e| e.to_string())?;
    let (path, md) = if md.file_type().is_symlink() {
        if md.uid() != uid {
            return Err(format!("the link is owned by uid {}", md.uid()));
        }
        let real = fs::canonicalize(given).map_err(|e| format!("following the link: {e}"))?;
        let md = fs::symlink_metadata(&real).map_err(|e| e.to_string())?;
        (real, md)
    } else {
        (given.to_path_buf(), md)
    };
    if !md.file_type().is_socket() {
        return Err("not a socket".into());
    }
    if md.uid() != uid {
        return Err(format!("owned by uid {}, not {uid}", md.uid()));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn only_our_own_sockets_are_taken() {
        let dir = tempfile::tempdir().unwrap();
        let uid = crate::sys::euid();
        let sock = dir.path().join("agent.1");
        let _l = UnixListener::bind(&sock).unwrap();
        assert_eq!(check(&sock, uid), Ok(sock.clone()));
        assert!(check(&sock, uid + 1).unwrap_err().contains("owned by uid"));
        let file = dir.path().join("plain");
        fs::write(&file, "x").unwrap();
        assert_eq!(check(&file, uid), Err("not a socket".into()));
        // A link to a file is no socket either; a link to the socket is.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(check(&link, uid), Err("not a socket".into()));
        let link2 = dir.path().join("link2");
        std::os::unix::fs::symlink(&sock, &link2).unwrap();
        assert_eq!(check(&link2, uid), Ok(fs::canonicalize(&sock).unwrap()));
        assert!(check(Path::new("relative.sock"), uid).is_err());
        assert!(check(&dir.path().join("missing"), uid).is_err());
    }
}
