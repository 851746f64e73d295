//! What lets `run` start a session in the same time however big the store
//! is: the running-session slots (for `max_sessions`) and the retention
//! stamp (retention at most once per interval).
//!
//! A slot is a hard link to a session's `lock` file in the root's
//! `.running/` folder, named `NAME@ID`. `run` makes it under the store's
//! creation lock, while it already holds the session lock, and the
//! supervisor (which inherits that lock) removes it when the session ends.
//! Counting the running sessions is then reading one small folder. The
//! count may only be too high (a supervisor that was killed left its
//! slot); it is made exact when it matters, at the limit, by looking at
//! each slot's lock: the link is the same file, so a slot whose lock
//! nobody holds is stale and is removed.
//!
//! A store where hard links cannot be made gets a `.running/.scan` marker,
//! and its sessions are counted the old way, by looking at every folder.

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{IoContext, Result};
use crate::store::{LOCK, Store};
use crate::sys;

/// The slots' folder in the store's root.
pub const RUNNING: &str = ".running";
/// In [`RUNNING`]: count by scanning the store (no hard links here).
const SCAN: &str = ".scan";
/// In the root: touched each time retention runs.
pub const RETENTION_STAMP: &str = ".retention";
/// `run` applies retention at most this often (or as often as
/// `retain_exited`, when that is shorter).
pub const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// A session's slot: counted as running while it exists.
#[derive(Debug)]
pub struct Slot {
    path: PathBuf,
}

impl Slot {
    /// Take a slot for the session `name` in `dir`, whose lock the caller
    /// holds; call with the store's creation lock held. None where slots
    /// cannot be made (the store is counted by scanning then).
    pub fn claim(store: &Store, name: &str, id: &str, dir: &Path) -> Result<Option<Slot>> {
        let folder = slots_folder(store)?;
        if folder.join(SCAN).exists() {
            return Ok(None);
        }
        let path = folder.join(format!("{name}@{id}"));
        match fs::hard_link(dir.join(LOCK), &path) {
            Ok(()) => Ok(Some(Slot { path })),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // The same name and id: only a leftover of this very start.
                let _ = fs::remove_file(&path);
                fs::hard_link(dir.join(LOCK), &path).ctx("registering", &path)?;
                Ok(Some(Slot { path }))
            }
            Err(_) => {
                fall_back_to_scanning(&folder)?;
                Ok(None)
            }
        }
    }

    /// The same slot seen from the session's folder (the supervisor's
    /// working directory), so a moved store still finds it.
    pub fn seen_from_session_folder(&self) -> Slot {
        let file = self.path.file_name().unwrap_or_default();
        Slot {
            path: Path::new("..").join(RUNNING).join(file),
        }
    }

    /// Where the slot is (for a fresh image of the supervisor, `fresh.rs`).
    #[cfg(target_os = "linux")]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The slot at `path`, as [`Slot::path`] gave it.
    #[cfg(target_os = "linux")]
    pub fn from_path(path: PathBuf) -> Slot {
        Slot { path }
    }

    /// The session no longer counts as running.
    pub fn release(self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// The slots' folder, made (and filled with the sessions that run now) the
/// first time. Call with the store's creation lock held.
fn slots_folder(store: &Store) -> Result<PathBuf> {
    let folder = store.root.join(RUNNING);
    match fs::symlink_metadata(&folder) {
        Ok(m) if m.is_dir() => return Ok(folder),
        Ok(_) => {
            fs::remove_file(&folder).ctx("removing", &folder)?;
        }
        Err(_) => {}
    }
    // Sessions started before slots existed: take their locks' links now.
    let running = store.running_if_at_least(0)?;
    let tmp = store
        .root
        .join(format!("{RUNNING}.{}.tmp", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&tmp)
        .ctx("creating", &tmp)?;
    for name in running {
        let link = tmp.join(format!("{name}@0"));
        if fs::hard_link(store.dir(&name).join(LOCK), &link).is_err() {
            fall_back_to_scanning(&tmp)?;
            break;
        }
    }
    fs::rename(&tmp, &folder).ctx("creating", &folder)?;
    Ok(folder)
}

fn fall_back_to_scanning(folder: &Path) -> Result<()> {
    let marker = folder.join(SCAN);
    sys::append_nofollow(&marker)
        .map(drop)
        .ctx("creating", &marker)
}

/// The names of the running sessions when there may be `at_least` of them
/// (an empty list when there are surely fewer). Reads only the slots'
/// folder; at the limit, each slot's lock is looked at and stale slots are
/// removed, so the answer is exact. Call with the store's creation lock
/// held.
pub fn running_if_at_least(store: &Store, at_least: usize) -> Result<Vec<String>> {
    let folder = slots_folder(store)?;
    if folder.join(SCAN).exists() {
        return store.running_if_at_least(at_least);
    }
    let slots = list(&folder)?;
    if slots.len() < at_least {
        return Ok(Vec::new());
    }
    Ok(live(&folder, slots))
}

/// Remove the slots of sessions that are gone without saying so (a
/// supervisor that was killed). Safe without the creation lock: a slot is
/// made by a process that already holds its lock.
pub fn sweep(store: &Store) {
    let folder = store.root.join(RUNNING);
    if let Ok(slots) = list(&folder) {
        live(&folder, slots);
    }
}

/// The slot file names in the folder.
fn list(folder: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for ent in fs::read_dir(folder).ctx("reading", folder)? {
        let ent = ent.ctx("reading", folder)?;
        if let Some(n) = ent.file_name().to_str().filter(|n| !n.starts_with('.')) {
            out.push(n.to_string());
        }
    }
    Ok(out)
}

/// The sessions among `slots` whose lock is held; the others' slots are
/// removed.
fn live(folder: &Path, slots: Vec<String>) -> Vec<String> {
    let mut names = Vec::new();
    for s in slots {
        let path = folder.join(&s);
        if is_held(&path) {
            let name = s.rsplit_once('@').map_or(s.as_str(), |(n, _)| n);
            names.push(name.to_string());
        } else {
            let _ = fs::remove_file(&path);
        }
    }
    names.sort();
    names.dedup();
    names
}

fn is_held(path: &Path) -> bool {
    let Ok(f) = sys::open_nofollow(path) else {
        return false;
    };
    matches!(f.try_lock_shared(), Err(fs::TryLockError::WouldBlock))
}

/// Whether `run` should apply retention now: the last pass (by `run` or
/// `list`) was longer ago than `every`. Claims the pass when it is due, so
/// racing starts do not all make it.
pub fn retention_due(store: &Store, every: Duration) -> bool {
    let stamp = store.root.join(RETENTION_STAMP);
    let due = match fs::symlink_metadata(&stamp).and_then(|m| m.modified()) {
        Ok(t) => match SystemTime::now().duration_since(t) {
            Ok(age) => age >= every,
            // Set in the future: the clock moved back.
            Err(_) => true,
        },
        Err(_) => true,
    };
    if due {
        retention_ran(store);
    }
    due
}

/// Record that retention ran now.
pub fn retention_ran(store: &Store) {
    let stamp = store.root.join(RETENTION_STAMP);
    if let Ok(f) = sys::append_nofollow(&stamp) {
        let _ = f.set_modified(SystemTime::now());
    }
}
