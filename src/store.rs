//! The sessions root: where it is, who may use it, which of its folders are
//! sessions, and whether a session's supervisor is alive.
//!
//! The root is shared with Codex (`YYYY/MM/DD/rollout-*.jsonl`): folders that
//! are not sessions are ignored and never touched. A session folder is one
//! whose name follows [`check_name`] and that holds a `meta.json`.

use std::fs::{self, DirBuilder, File};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::meta::{self, Meta};
use crate::sys;

pub const LOCK: &str = "lock";
pub const SOCK: &str = "sock";
pub const LOG: &str = "output.log";
/// Pipe mode: the program's standard error, apart from its output.
pub const ERR_LOG: &str = "stderr.log";
pub const EVENTS: &str = "events.jsonl";
/// The final screen, saved when the program ends.
pub const SCREEN_TXT: &str = "screen.txt";
pub const SCREEN_ANSI: &str = "screen.ansi";
pub const SCREEN_JOINED: &str = "screen.joined.txt";

pub const NAME_RULE: &str = "a session name starts with a letter, then letters, digits, '.', '_' or '-', at most 64 characters";

pub fn check_name(name: &str) -> Result<()> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "invalid session name {name:?}: {NAME_RULE}"
        )))
    }
}

/// Whether a NAME argument is a row number of `list` (all digits).
pub fn is_number(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit())
}

pub struct Store {
    pub root: PathBuf,
}

/// One session folder as found on disk.
pub struct Session {
    pub name: String,
    pub dir: PathBuf,
    pub meta: Meta,
    /// A supervisor holds the lock.
    pub live: bool,
}

impl Session {
    /// The status word `list` shows: `running`, `exited N`, `killed SIG`, `lost`.
    pub fn status(&self) -> String {
        if !self.meta.is_ended() && !self.live {
            "lost".into()
        } else {
            self.meta.ended_status()
        }
    }

    pub fn is_running(&self) -> bool {
        self.live && !self.meta.is_ended()
    }

    /// Output bytes so far: from meta once ended; from the log while running
    /// (the supervisor does not rewrite meta for every write).
    pub fn output_bytes(&self) -> u64 {
        if self.meta.is_ended() {
            return self.meta.output_bytes;
        }
        let on_disk = fs::symlink_metadata(self.dir.join(LOG))
            .map(|m| m.len())
            .unwrap_or(0);
        self.meta.output_bytes.max(self.meta.log_base + on_disk)
    }

    /// Pipe mode: standard error's bytes so far, as [`Session::output_bytes`]
    /// counts the output's; None for a terminal session.
    pub fn stderr_bytes(&self) -> Option<u64> {
        if !self.meta.is_pipe() {
            return None;
        }
        if self.meta.is_ended() {
            return Some(self.meta.stderr_bytes);
        }
        let on_disk = fs::symlink_metadata(self.dir.join(ERR_LOG))
            .map(|m| m.len())
            .unwrap_or(0);
        Some(
            self.meta
                .stderr_bytes
                .max(self.meta.stderr_log_base + on_disk),
        )
    }

    /// After a connection to the supervisor ended unexpectedly: wait (a few
    /// seconds at most) for the supervisor to let go of the lock, then the
    /// session as recorded, if it has ended.
    pub fn settle(&self) -> Option<Session> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        if !wait_unlocked(&self.dir, deadline) {
            return None;
        }
        let meta = Meta::read(&self.dir).ok()?;
        meta.is_ended().then(|| Session {
            name: self.name.clone(),
            dir: self.dir.clone(),
            meta,
            live: false,
        })
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

/// What a scan found in one folder that looks like a session.
pub enum Entry {
    Ok(Box<Session>),
    /// The folder is named like a session but its record cannot be used.
    Damaged {
        name: String,
        reason: String,
    },
}

impl Store {
    /// Resolve the root (flag, `CODEX_SESSION_STORE`, `$CODEX_HOME/sessions`),
    /// create it if needed (0700), and refuse an unsafe one.
    pub fn open(flag: Option<&Path>, configured: Option<&Path>) -> Result<Store> {
        let root = resolve_root(flag, configured)?;
        if !root.exists() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&root)
                .ctx("creating the sessions folder", &root)?;
        }
        check_owned_dir(&root, "sessions folder")?;
        Ok(Store { root })
    }

    pub fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Find one session by name, or by its number in `list` (names cannot
    /// be numbers: they start with a letter), or `no session named X`.
    pub fn get(&self, name: &str) -> Result<Session> {
        if is_number(name) {
            return self.get_number(name);
        }
        match self.entry(name)? {
            Entry::Ok(s) => Ok(*s),
            Entry::Damaged { reason, .. } => Err(damaged(name, &reason)),
        }
    }

    /// One session folder by name, loaded or damaged; `no session named X`
    /// when there is none.
    pub fn entry(&self, name: &str) -> Result<Entry> {
        check_name(name)?;
        let dir = self.dir(name);
        match fs::symlink_metadata(dir.join(meta::FILE)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::new(format!("no session named {name}"))
                    .hint("`codex-session list` shows the sessions there are"));
            }
            _ => {}
        }
        Ok(self.load(name, dir))
    }

    /// The session in row `n` of `list`: every session in the store by
    /// creation, the oldest 0.
    fn get_number(&self, n: &str) -> Result<Session> {
        let mut entries = self.scan()?;
        let count = entries.len();
        match n.parse::<usize>().ok().filter(|&i| i < count) {
            Some(i) => match entries.swap_remove(i) {
                Entry::Ok(s) => Ok(*s),
                Entry::Damaged { name, reason } => {
                    Err(Error::new(format!("session #{i} ({name}): {reason}")))
                }
            },
            None => {
                let there = match count {
                    0 => "there are none".to_string(),
                    1 => "there is 1: 0".to_string(),
                    c => format!("there are {c}: 0-{}", c - 1),
                };
                Err(Error::new(format!("no session #{n} ({there})"))
                    .hint("`codex-session list` shows each session's number in its # column"))
            }
        }
    }

    /// A session that must be running (to attach, detach, send to).
    pub fn get_running(&self, name: &str) -> Result<Session> {
        let s = self.get(name)?;
        if !s.is_running() {
            return Err(Error::new(format!(
                "session {} is not running ({})",
                s.name,
                s.status()
            ))
            .hint(format!("`codex-session logs {}` shows its output", s.name)));
        }
        Ok(s)
    }

    fn load(&self, name: &str, dir: PathBuf) -> Entry {
        let damaged = |reason: String| Entry::Damaged {
            name: name.to_string(),
            reason,
        };
        if let Err(e) = check_owned_dir(&dir, "session folder") {
            return damaged(e.message().to_string());
        }
        let mut meta = match Meta::read(&dir) {
            Ok(m) => m,
            Err(e) => return damaged(e.message().to_string()),
        };
        let live = !meta.is_ended() && is_locked(&dir);
        if !live && !meta.is_ended() {
            // It may have ended between reading the record and looking at
            // the lock: a supervisor writes its final record before it lets
            // go of the lock, so read it again.
            if let Ok(m) = Meta::read(&dir) {
                meta = m;
            }
        }
        Entry::Ok(Box::new(Session {
            name: name.to_string(),
            dir,
            meta,
            live,
        }))
    }

    /// Every session folder, sorted by creation time then name. Everything
    /// else in the root is ignored.
    pub fn scan(&self) -> Result<Vec<Entry>> {
        let rd = fs::read_dir(&self.root).ctx("reading", &self.root)?;
        let mut out = Vec::new();
        for ent in rd {
            let ent = ent.ctx("reading", &self.root)?;
            let Some(name) = ent.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if check_name(&name).is_err() {
                continue;
            }
            let dir = ent.path();
            // Only folders holding a meta.json are sessions.
            if fs::symlink_metadata(dir.join(meta::FILE)).is_err() {
                continue;
            }
            out.push(self.load(&name, dir));
        }
        out.sort_by_key(sort_key);
        Ok(out)
    }

    /// The sessions that loaded, ignoring damaged ones.
    pub fn sessions(&self) -> Result<Vec<Session>> {
        Ok(self
            .scan()?
            .into_iter()
            .filter_map(|e| match e {
                Entry::Ok(s) => Some(*s),
                Entry::Damaged { .. } => None,
            })
            .collect())
    }
}

/// A session whose record cannot be used.
fn damaged(name: &str, reason: &str) -> Error {
    Error::new(format!("session {name}: {reason}")).hint(format!(
        "the session is damaged; `codex-session rm --force {name}` removes it"
    ))
}

/// What [`Store::remove_session`] did.
pub enum Removal {
    Removed,
    /// Left alone: its supervisor runs (stop it first).
    Running(Box<Session>),
}

fn sort_key(e: &Entry) -> (String, String) {
    match e {
        Entry::Ok(s) => (s.meta.created.clone(), s.name.clone()),
        Entry::Damaged { name, .. } => (String::new(), name.clone()),
    }
}

fn resolve_root(flag: Option<&Path>, configured: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = flag {
        return absolute(p);
    }
    if let Some(p) = std::env::var_os("CODEX_SESSION_STORE").filter(|v| !v.is_empty()) {
        return absolute(Path::new(&p));
    }
    if let Some(p) = configured {
        return absolute(p);
    }
    Ok(codex_home()?.join("sessions"))
}

/// `$CODEX_HOME` (which must be an existing folder, as Codex requires), else
/// `~/.codex`.
pub fn codex_home() -> Result<PathBuf> {
    if let Some(h) = std::env::var_os("CODEX_HOME").filter(|v| !v.is_empty()) {
        let p = absolute(Path::new(&h))?;
        if !p.is_dir() {
            return Err(Error::new(format!(
                "CODEX_HOME is {}, which is not an existing folder",
                p.display()
            ))
            .hint("create it, or unset CODEX_HOME to use ~/.codex"));
        }
        return Ok(p);
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            Error::new("cannot find the sessions folder: HOME is not set")
                .hint("set HOME, CODEX_HOME or CODEX_SESSION_STORE, or pass --store DIR")
        })?;
    Ok(PathBuf::from(home).join(".codex"))
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).ctx("resolving", p)
}

/// Refuse a folder that another user owns or that group/others can write
/// (ssh StrictModes style), or that is not a folder at all.
pub fn check_owned_dir(dir: &Path, what: &str) -> Result<()> {
    let md = if what == "session folder" {
        fs::symlink_metadata(dir)
    } else {
        fs::metadata(dir)
    }
    .ctx(&format!("checking the {what}"), dir)?;
    if !md.is_dir() {
        return Err(Error::new(format!(
            "refusing the {what} {}: it is not a folder",
            dir.display()
        )));
    }
    let me = sys::euid();
    if md.uid() != me {
        return Err(Error::new(format!(
            "refusing the {what} {}: it is owned by uid {}, not by you (uid {me})",
            dir.display(),
            md.uid()
        )));
    }
    let mode = md.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(Error::new(format!(
            "refusing the {what} {}: it is writable by group or others (mode {mode:04o})",
            dir.display()
        ))
        .hint(format!("run `chmod go-w {}`", dir.display())));
    }
    Ok(())
}

impl Store {
    /// Serialize session creation (the running-session limit is checked
    /// under this lock). Released on drop.
    pub fn lock_root(&self) -> Result<File> {
        let path = self.root.join(".codex-session.lock");
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags((nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK).bits())
            .open(&path)
            .ctx("opening", &path)?;
        let md = f.metadata().ctx("opening", &path)?;
        if !md.is_file() {
            return Err(Error::new(format!(
                "opening {}: it is {}, not a regular file",
                path.display(),
                sys::kind_of(md.file_type())
            )));
        }
        f.lock().ctx("locking", &path)?;
        Ok(f)
    }

    /// Remove a session, deciding under the store's lock (which creation
    /// takes too): what is there is looked at, a running session is left
    /// alone (the caller may stop it and ask again), a damaged one is
    /// removed only if `damaged_ok`. The folder is renamed aside in one
    /// step, so of racing removals exactly one finds it and the others
    /// say there is no such session; it is deleted after the lock is let
    /// go.
    pub fn remove_session(&self, name: &str, damaged_ok: bool) -> Result<Removal> {
        let lock = self.lock_root()?;
        match self.entry(name)? {
            Entry::Ok(s) if s.is_running() => return Ok(Removal::Running(s)),
            Entry::Ok(_) => {}
            Entry::Damaged { reason, .. } if !damaged_ok => return Err(damaged(name, &reason)),
            Entry::Damaged { .. } => {}
        }
        let dir = self.dir(name);
        let aside = self.set_aside(&dir)?;
        drop(lock);
        fs::remove_dir_all(&aside).ctx("removing", &dir)?;
        Ok(Removal::Removed)
    }

    /// Rename a session folder to a hidden name in the root (scans skip
    /// it), with the store's lock held.
    fn set_aside(&self, dir: &Path) -> Result<PathBuf> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let name = dir.file_name().unwrap_or_default().to_string_lossy();
        let aside = self
            .root
            .join(format!(".removing.{name}.{}.{nanos}", std::process::id()));
        fs::rename(dir, &aside).ctx("removing", dir)?;
        Ok(aside)
    }

    /// The sessions whose supervisor holds its lock (running or starting),
    /// when there may be `at_least` of them; an empty list when there are
    /// fewer folders than that. Cheap on a big store: only folders with a
    /// socket, or created in the last minute (a session still starting),
    /// can be running, so only those have their lock looked at.
    pub fn running_if_at_least(&self, at_least: usize) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for ent in fs::read_dir(&self.root).ctx("reading", &self.root)? {
            let ent = ent.ctx("reading", &self.root)?;
            if let Some(name) = ent.file_name().to_str().filter(|n| check_name(n).is_ok()) {
                names.push(name.to_string());
            }
        }
        if names.len() < at_least {
            return Ok(Vec::new());
        }
        let recent = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        Ok(names
            .into_iter()
            .filter(|n| {
                let dir = self.dir(n);
                let maybe = fs::symlink_metadata(dir.join(SOCK)).is_ok()
                    || fs::symlink_metadata(dir.join(LOCK))
                        .and_then(|m| m.modified())
                        .is_ok_and(|t| t > recent);
                maybe && is_locked(&dir)
            })
            .collect())
    }

    /// Remove ended sessions that ended longer ago than `older_than`;
    /// running and lost ones are never touched. Returns what was (or would
    /// be) removed. Only each record's status and end time are read, so a
    /// pass over a big store stays cheap (run and list make one each time).
    pub fn prune(&self, older_than: std::time::Duration, dry_run: bool) -> Result<Vec<Pruned>> {
        let now = std::time::SystemTime::now();
        let mut due = Vec::new();
        for ent in fs::read_dir(&self.root).ctx("reading", &self.root)? {
            let ent = ent.ctx("reading", &self.root)?;
            let Some(name) = ent
                .file_name()
                .to_str()
                .filter(|n| check_name(n).is_ok())
                .map(str::to_string)
            else {
                continue;
            };
            let dir = ent.path();
            let Some(e) = Ending::read(&dir) else {
                continue;
            };
            let old = e
                .ended_at()
                .is_some_and(|t| now.duration_since(t).unwrap_or_default() >= older_than);
            if old && check_owned_dir(&dir, "session folder").is_ok() {
                due.push((name, dir, e));
            }
        }
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let mut removed = Vec::new();
        let mut aside = Vec::new();
        // Decide again under the store's lock: the folder may have been
        // removed, or replaced by a new session, since it was looked at.
        let lock = if dry_run {
            None
        } else {
            Some(self.lock_root()?)
        };
        for (name, dir, e) in due {
            if !dry_run {
                if Ending::read(&dir).is_none_or(|again| again.ended != e.ended) {
                    continue;
                }
                match self.set_aside(&dir) {
                    Ok(p) => aside.push((p, dir)),
                    Err(_) if !dir.exists() => continue,
                    Err(err) => return Err(err),
                }
            }
            let status = meta::describe_end(
                e.status,
                e.exit_code,
                e.signal.as_deref(),
                e.end_reason.as_deref(),
            );
            removed.push(Pruned {
                name,
                status,
                ended: e.ended.unwrap_or_default(),
            });
        }
        drop(lock);
        for (p, dir) in aside {
            fs::remove_dir_all(&p).ctx("removing", &dir)?;
        }
        removed.sort_by(|a, b| a.ended.cmp(&b.ended));
        Ok(removed)
    }
}

/// What retention reads of a record: its status and end only (a pass
/// over a big store stays cheap). None unless it has ended.
#[derive(serde::Deserialize)]
struct Ending {
    status: meta::Status,
    #[serde(default)]
    ended: Option<String>,
    #[serde(default)]
    exit_code: Option<i32>,
    #[serde(default)]
    signal: Option<String>,
    #[serde(default)]
    end_reason: Option<String>,
}

impl Ending {
    fn read(dir: &Path) -> Option<Ending> {
        let f = sys::open_nofollow(&dir.join(meta::FILE)).ok()?;
        let bytes = sys::read_small(f, meta::MAX_SIZE).ok()?;
        let e: Ending = serde_json::from_slice(&bytes).ok()?;
        let ended = matches!(e.status, meta::Status::Exited | meta::Status::Killed);
        (ended && e.ended_at().is_some()).then_some(e)
    }

    fn ended_at(&self) -> Option<std::time::SystemTime> {
        humantime::parse_rfc3339(self.ended.as_deref()?).ok()
    }
}

/// A session `prune` removed.
pub struct Pruned {
    pub name: String,
    pub status: String,
    pub ended: String,
}

/// Wait until no supervisor holds the session's lock; false at `deadline`.
pub fn wait_unlocked(dir: &Path, deadline: std::time::Instant) -> bool {
    while is_locked(dir) {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    true
}

/// Wait until a session being started has its meta.json (or its start
/// failed and the lock is free); false at `deadline`.
pub fn wait_started(dir: &Path, deadline: std::time::Instant) -> bool {
    while fs::symlink_metadata(dir.join(meta::FILE)).is_err() && is_locked(dir) {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    true
}

/// Whether a supervisor holds the session's lock.
pub fn is_locked(dir: &Path) -> bool {
    let Ok(f) = sys::open_nofollow(&dir.join(LOCK)) else {
        return false;
    };
    match f.try_lock_shared() {
        Ok(()) => false,
        Err(std::fs::TryLockError::WouldBlock) => true,
        Err(std::fs::TryLockError::Error(_)) => false,
    }
}

/// Create the lock file and take it; the supervisor inherits the locked
/// descriptor across its forks, so the session is never seen unlocked
/// between creation and the supervisor's end.
pub fn take_lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK);
    let f = sys::create_nofollow(&path).ctx("creating", &path)?;
    f.try_lock()
        .map_err(|e| Error::new(format!("locking {}: {e}", path.display())))?;
    Ok(f)
}
