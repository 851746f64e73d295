//! `run`: validate everything first (name, cwd, program, size), so a typo
//! leaves nothing behind; then `mkdir` the session folder (atomic: of two
//! racing `run --name x`, one wins) and start its supervisor.

use std::ffi::{CString, OsString};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::stat::{Mode, umask};

use super::Ctx;
use crate::cli::RunArgs;
use crate::client::{STOP_SIGNALS, attach, stop_all, watch};
use crate::error::{Error, IoContext, Result, describe_io, note, stdout_error};
use crate::logs::{self, Plain};
use crate::meta::{self, Meta, RestartPolicy, SessionType, Status};
use crate::pty::Exec;
use crate::slots::{self, Slot};
use crate::store::{self, check_name};
use crate::supervisor::{self, AGENT_SOCK, Init, Ready, RestartSettings, Settings};
use crate::{fmt, integration, names};

pub fn run(a: RunArgs, ctx: &Ctx) -> Result<ExitCode> {
    let detach_key = ctx.detach_key(a.detach_key.as_deref())?;
    if !a.bg {
        attach::require_terminal()
            .map_err(|e| e.hint("add --bg to start the session in the background"))?;
    }
    let (name, explicit) = match &a.name {
        Some(n) => {
            check_name(n)?;
            (n.clone(), true)
        }
        None => (names::generate(), false),
    };
    let (cols, rows) = fmt::parse_window(&a.size)?;
    let cwd = resolve_cwd(a.cwd.as_deref())?;
    let env = build_env(&a.env, &ctx.config.term)?;
    let mut env = env;
    if let Some(sh) = &a.shell {
        // `--shell PROGRAM`: as with no command, that shell instead of $SHELL.
        set_var(&mut env, "SHELL", sh);
    }
    let (mut command, command_line) = shape_command(&a.command, &env);
    let path = resolve_program(&command[0], &cwd, &env)?;

    let wait_idle = a
        .wait_idle
        .as_deref()
        .map(|d| fmt::duration_arg("--wait-idle", d))
        .transpose()?;
    let idle_timeout = timeout(
        a.idle_timeout.as_deref(),
        ctx.config.idle_timeout,
        "--idle-timeout",
    )?;
    let ttl = timeout(a.ttl.as_deref(), ctx.config.ttl, "--ttl")?;
    let mut restart = restart_settings(&a, &ctx.config)?;
    if a.pipe {
        // Pipe mode runs once: the configured policy is for terminals (the
        // restart flags are refused with --pipe).
        restart.policy = RestartPolicy::No;
    }

    let store = ctx.store()?;
    // Creation is serialized by the store's lock, held until the new
    // session's folder, lock and running slot exist: from then on its name
    // is taken and it counts against max_sessions. Its meta.json is written
    // by the supervisor once the program runs (a folder without one is not
    // yet a session to `list`; `make_room` waits for it).
    let root_lock = loop {
        let root_lock = store.lock_root()?;
        if !(explicit && (a.if_absent || a.replace)) {
            break root_lock;
        }
        match make_room(&store, &name, a.if_absent, ctx.verbose)? {
            Room::Made => break root_lock,
            Room::Done(code) => return Ok(code),
            Room::Stop(s) => {
                // Stopping takes a while: not under the lock.
                drop(root_lock);
                stop_all(
                    std::slice::from_ref(&*s),
                    &STOP_SIGNALS,
                    Duration::from_secs(10),
                )
                .pop()
                .expect("one result")?;
            }
            Room::Starting(dir) => {
                drop(root_lock);
                if !store::wait_started(&dir, Instant::now() + Duration::from_secs(10)) {
                    return Err(Error::new(format!(
                        "session {name} is being started by another run that has not finished in 10s"
                    )));
                }
            }
        }
    };
    check_limit(&store, ctx)?;
    let umask = current_umask();
    let (name, dir) = create_dir(&store, name, explicit, umask)?;
    let mut guard = RemoveOnDrop {
        dir: Some(dir.clone()),
        slot: None,
    };
    let lock = store::take_lock(&dir)?;
    let id = names::session_id();
    // From here on the session counts against max_sessions.
    guard.slot = Slot::claim(&store, &name, &id, &dir)?;

    let mut full_env = env;
    set_var(&mut full_env, "CODEX_SESSION", &name);
    let shell = integration::shell_kind(&command[0])
        .filter(|_| a.command.is_empty() && !a.no_shell_integration)
        .filter(|_| ctx.config.shell_integration);
    if let Some(kind) = shell {
        let at = std::path::absolute(&dir).unwrap_or_else(|_| dir.clone());
        let (args, vars) = integration::inject(kind, &at, &full_env)?;
        command.extend(args);
        for (k, v) in vars {
            set_var(&mut full_env, &k, &v);
        }
    }
    let agent = agent_to_follow(&a, &ctx.config, &dir);
    if agent.is_some() {
        full_env.retain(|(k, _)| k != "SSH_AUTH_SOCK");
        full_env.push(("SSH_AUTH_SOCK".into(), dir.join(AGENT_SOCK).into()));
    }
    let exec = Exec {
        path: cstring(path.as_os_str().as_bytes(), "the program path")?,
        argv: command
            .iter()
            .map(|a| cstring(a.as_bytes(), "an argument"))
            .collect::<Result<_>>()?,
        envp: full_env
            .iter()
            .map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                cstring(&kv, "an environment variable")
            })
            .collect::<Result<_>>()?,
        cwd: cstring(cwd.as_os_str().as_bytes(), "the working directory")?,
        umask,
    };
    // The supervisor is a fork of this process: what is still allocated
    // here stays allocated in it for the session's life.
    drop(full_env);

    let settings = Settings {
        log_max_size: ctx.config.log_max_size,
        log_keep: ctx.config.log_keep,
        events_max_size: ctx.config.events_max_size,
        events_keep: ctx.config.events_keep,
        idle_timeout,
        ttl,
        idle_after: ctx.config.idle_after,
        draft_quiet: ctx.config.draft_quiet,
        attention_after: ctx.config.attention_after,
        restart,
        agent,
        attach_stall: ctx.config.attach_stall,
    };
    let ms = |d: Duration| d.as_millis() as u64;
    let meta = Meta {
        schema: meta::SCHEMA,
        name: name.clone(),
        id,
        command: command.clone(),
        command_line,
        cwd: cwd.to_string_lossy().into_owned(),
        label: a.label.clone(),
        kind: if a.agent {
            SessionType::Agent
        } else if a.command.is_empty() {
            SessionType::Shell
        } else {
            SessionType::Cmd
        },
        mode: if a.pipe { meta::PIPE } else { meta::PTY }.into(),
        // Milliseconds: two sessions started one after the other within a
        // second are still listed (and numbered) in the order they were made.
        created: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        started: None,
        ended: None,
        supervisor_pid: None,
        pid: None,
        status: Status::Starting,
        exit_code: None,
        signal: None,
        end_reason: None,
        cols,
        rows,
        clients: 0,
        output_bytes: 0,
        dropped_bytes: 0,
        log_error: None,
        log_base: 0,
        stderr_bytes: 0,
        stderr_log_base: 0,
        log_max_size: settings.log_max_size,
        log_keep: settings.log_keep,
        idle_timeout_ms: settings.idle_timeout.map(ms),
        ttl_ms: settings.ttl.map(ms),
        idle_after_ms: ms(settings.idle_after),
        draft_quiet_ms: ms(settings.draft_quiet),
        signs: meta::Signs {
            shell_integration: shell.map(str::to_string),
            ..Default::default()
        },
        restart: restart.policy,
        restart_delay_ms: (restart.policy != RestartPolicy::No).then(|| ms(restart.delay)),
        max_restarts: restart.max.filter(|_| restart.policy != RestartPolicy::No),
        restarts: 0,
        last_exit: None,
        restart_at: None,
        agent_follow: settings.agent.is_some(),
    };
    drop(root_lock);

    match supervisor::start(Init {
        dir,
        meta,
        settings,
        exec,
        lock,
        slot: guard.slot.as_ref().map(Slot::seen_from_session_folder),
    })? {
        Ready::Running { .. } => {
            guard.disarm();
            if a.bg {
                writeln!(io::stdout(), "{name}").map_err(stdout_error)?;
                ctx.retain_if_due(&store);
                if let Some(d) = wait_idle {
                    supervisor::let_go();
                    return first_output(&store.get(&name)?, d);
                }
                return Ok(ExitCode::SUCCESS);
            }
            ctx.retain_if_due(&store);
            supervisor::let_go();
            let s = store.get(&name)?;
            attach::attach(
                &s,
                &attach::Options {
                    read_only: false,
                    detach_key,
                },
            )
        }
        Ready::ExecFailed(errno) => {
            let code = if errno == Errno::ENOENT { 127 } else { 126 };
            Err(Error::new(format!(
                "cannot run {}: {}",
                fmt::shell_word(&command[0]),
                describe_io(&io::Error::from_raw_os_error(errno as i32))
            ))
            .with_code(code))
        }
        Ready::Failed(msg) => Err(Error::new(format!("starting session {name}: {msg}"))),
        // The supervisor itself: back to `main`, which runs it.
        Ready::Forked => {
            guard.disarm();
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `run --bg --wait-idle`: the program's first output, as plain text, once
/// it has been quiet for `idle` (at most a minute, then exit 124); the
/// program's exit status if it ended first.
fn first_output(s: &store::Session, idle: Duration) -> Result<ExitCode> {
    let limit = Duration::from_secs(60).max(idle * 2);
    let deadline = std::time::Instant::now() + limit;
    let timed_out = || {
        Error::new(format!(
            "{}: the output did not go quiet within {}",
            s.name,
            humantime::format_duration(limit)
        ))
        .with_code(124)
    };
    let (mut conn, info) =
        match watch::open(s, Some(idle.as_millis() as u64), Some(deadline), timed_out)? {
            Ok(w) => w,
            // Over already: everything it printed is in the log.
            Err(ended) => {
                let (_, out) = watch::read_range(&ended, 0, u64::MAX)?;
                writeln!(io::stdout(), "{}", logs::plain(&out).trim_end()).map_err(stdout_error)?;
                if let Some(e) = watch::lost(&ended) {
                    return Err(e);
                }
                return Ok(ExitCode::from(watch::exit_status(&ended)));
            }
        };
    let (_, before) = watch::read_range(s, 0, info.offset)?;
    let mut p = Plain::new();
    let mut text = Vec::new();
    p.feed(&before, &mut text);
    io::stdout().write_all(&text).map_err(stdout_error)?;
    watch::print_until_idle(&mut conn, s, deadline, p, None)
}

/// A per-session timeout from its flag ("off" allowed), else the config.
fn timeout(
    flag: Option<&str>,
    configured: Option<Duration>,
    what: &str,
) -> Result<Option<Duration>> {
    match flag {
        None => Ok(configured),
        Some("off" | "none" | "never") => Ok(None),
        Some(s) => match fmt::duration_arg(what, s)? {
            d if d.is_zero() => Err(Error::usage(format!(
                "{what} must be longer than 0 (or \"off\")"
            ))),
            d => Ok(Some(d)),
        },
    }
}

/// The restart policy from the flags, else the configuration.
fn restart_settings(a: &RunArgs, c: &crate::config::Config) -> Result<RestartSettings> {
    let policy = match a.restart.as_deref() {
        None => c.restart,
        Some(s) => RestartPolicy::parse(s)
            .ok_or_else(|| Error::usage(format!("invalid --restart {s:?}")))?,
    };
    let delay = match a.restart_delay.as_deref() {
        None => c.restart_delay,
        Some(s) => match fmt::duration_arg("--restart-delay", s)? {
            d if d.is_zero() => {
                return Err(Error::usage("--restart-delay must be longer than 0"));
            }
            d => d,
        },
    };
    Ok(RestartSettings {
        policy,
        delay,
        max: a.max_restarts.or(c.max_restarts),
        marker: a.restart_marker || c.restart_marker,
    })
}

/// The agent socket the session's `agent.sock` starts at, when its
/// SSH_AUTH_SOCK is to follow the person (`supervisor/agent.rs`): the
/// caller has an agent, `ssh_agent_follow` is on, `--env` does not set
/// SSH_AUTH_SOCK, and the link's path fits in a socket address.
fn agent_to_follow(a: &RunArgs, c: &crate::config::Config, dir: &Path) -> Option<PathBuf> {
    /// sun_path is 104 bytes on macOS and the BSDs, 108 on Linux.
    const SUN_PATH: usize = 104;
    let given = a.env.iter().any(|kv| kv.starts_with("SSH_AUTH_SOCK="));
    if !c.ssh_agent_follow || given || dir.join(AGENT_SOCK).as_os_str().len() >= SUN_PATH {
        return None;
    }
    let sock = std::env::var_os("SSH_AUTH_SOCK").filter(|v| !v.is_empty())?;
    std::path::absolute(sock).ok()
}

enum Room {
    /// No session of that name is left.
    Made,
    /// Nothing more to do (`--if-absent` and it runs).
    Done(ExitCode),
    /// It runs and must be stopped first (`--replace`).
    Stop(Box<store::Session>),
    /// Another `run` is starting it: its folder is locked, its meta.json
    /// not written yet. Wait, then look again.
    Starting(PathBuf),
}

/// `--if-absent` and `--replace`, under the store's lock: remove an ended
/// session of the same name; say what to do with a running one. A running
/// one is what `--if-absent` expects on every cron tick but the first, so
/// it says so only with `-v` (cron mails whatever is printed).
fn make_room(store: &store::Store, name: &str, if_absent: bool, verbose: bool) -> Result<Room> {
    let dir = store.dir(name);
    if !dir.exists() {
        return Ok(Room::Made);
    }
    if std::fs::symlink_metadata(dir.join(meta::FILE)).is_err() && store::is_locked(&dir) {
        return Ok(Room::Starting(dir));
    }
    let s = store.get(name)?;
    if s.is_running() {
        if if_absent {
            if verbose {
                note(format!("session {name} is already running; nothing to do"));
            }
            return Ok(Room::Done(ExitCode::SUCCESS));
        }
        return Ok(Room::Stop(Box::new(s)));
    }
    std::fs::remove_dir_all(&s.dir).ctx("removing", &s.dir)?;
    Ok(Room::Made)
}

/// Refuse to start beyond `max_sessions` running sessions (called with the
/// store's creation lock held, so racing starts cannot both slip through).
/// Reads only the running sessions' slots, never the whole store.
fn check_limit(store: &store::Store, ctx: &Ctx) -> Result<()> {
    let max = ctx.config.max_sessions;
    let running = slots::running_if_at_least(store, max)?;
    if running.len() < max {
        return Ok(());
    }
    Err(Error::new(format!(
        "cannot start another session: {} are running and max_sessions is {max}",
        running.len(),
    ))
    .hint(format!(
        "stop one (`codex-session list --running` shows them), or raise max_sessions in {}",
        ctx.config.path.display()
    )))
}

/// Removes a half-made session (its folder and slot) unless disarmed.
struct RemoveOnDrop {
    dir: Option<PathBuf>,
    slot: Option<Slot>,
}

impl RemoveOnDrop {
    /// The session started: its supervisor owns both now.
    fn disarm(&mut self) {
        self.dir = None;
        self.slot = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(s) = self.slot.take() {
            s.release();
        }
        if let Some(d) = self.dir.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn create_dir(
    store: &store::Store,
    mut name: String,
    explicit: bool,
    umask: Mode,
) -> Result<(String, PathBuf)> {
    let mut tries = 0;
    loop {
        let dir = store.dir(&name);
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                // mkdir's mode is masked by umask; make sure it is exactly 0700.
                if umask.bits() & 0o700 != 0 {
                    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                        .ctx("securing", &dir)?;
                }
                return Ok((name, dir));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if explicit {
                    let what = match store.get(&name) {
                        Ok(s) if s.is_running() => "a running session".to_string(),
                        Ok(s) => format!("a session ({})", s.status()),
                        Err(_) => "a session (or something else)".to_string(),
                    };
                    return Err(Error::new(format!(
                        "{what} named {name} already exists"
                    ))
                    .hint(format!(
                        "choose another --name, or remove it first with `codex-session rm --force {name}`"
                    )));
                }
                tries += 1;
                if tries > 20 {
                    return Err(
                        Error::new("could not find a free session name").hint("pass --name")
                    );
                }
                name = names::generate();
            }
            Err(e) => return Err(Error::io("creating the session folder", &dir, e)),
        }
    }
}

fn resolve_cwd(flag: Option<&Path>) -> Result<PathBuf> {
    let cwd = match flag {
        Some(p) => std::path::absolute(p).ctx("resolving --cwd", p)?,
        None => std::env::current_dir().map_err(|e| {
            Error::new(format!(
                "reading the current directory: {}",
                describe_io(&e)
            ))
        })?,
    };
    match std::fs::metadata(&cwd) {
        Ok(m) if m.is_dir() => Ok(cwd),
        Ok(_) => Err(Error::new(format!("--cwd {}: not a folder", cwd.display()))),
        Err(e) => Err(Error::io("--cwd", &cwd, e)),
    }
}

type Env = Vec<(OsString, OsString)>;

/// The caller's environment, then `--env` overrides, then TERM unless given.
fn build_env(overrides: &[String], term: &str) -> Result<Env> {
    let mut env: Env = std::env::vars_os().collect();
    let mut term_given = false;
    for kv in overrides {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| Error::usage(format!("invalid --env {kv:?}: expected KEY=VAL")))?;
        if k.is_empty() || k.contains('\0') {
            return Err(Error::usage(format!(
                "invalid --env {kv:?}: the name is empty"
            )));
        }
        term_given |= k == "TERM";
        set_var(&mut env, k, v);
    }
    if !term_given {
        set_var(&mut env, "TERM", term);
    }
    Ok(env)
}

fn set_var(env: &mut Env, k: &str, v: &str) {
    env.retain(|(ek, _)| ek != k);
    env.push((k.into(), v.into()));
}

fn get_var<'a>(env: &'a Env, k: &str) -> Option<&'a OsString> {
    env.iter().find(|(ek, _)| ek == k).map(|(_, v)| v)
}

/// tmux's rule: one word with spaces goes through `sh -c`, several are exec'd
/// directly, none starts the user's shell. Returns (argv, display form).
fn shape_command(words: &[String], env: &Env) -> (Vec<String>, String) {
    match words {
        [] => {
            let shell = get_var(env, "SHELL")
                .map(|s| s.to_string_lossy().into_owned())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "/bin/sh".into());
            (vec![shell.clone()], shell)
        }
        [one] if one.contains(char::is_whitespace) => (
            vec!["/bin/sh".into(), "-c".into(), one.clone()],
            one.clone(),
        ),
        many => (
            many.to_vec(),
            many.iter()
                .map(|w| fmt::shell_word(w))
                .collect::<Vec<_>>()
                .join(" "),
        ),
    }
}

/// Find the program as execvp would, so a typo fails before anything exists:
/// 127 when it is nowhere, 126 when found but not executable.
fn resolve_program(prog: &str, cwd: &Path, env: &Env) -> Result<PathBuf> {
    let not_found = || {
        Error::new(format!(
            "cannot run {}: command not found",
            fmt::shell_word(prog)
        ))
        .with_code(127)
    };
    if prog.is_empty() {
        return Err(not_found());
    }
    if prog.contains('/') {
        let p = cwd.join(prog);
        return match std::fs::metadata(&p) {
            Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Ok(p),
            Ok(_) => Err(Error::new(format!(
                "cannot run {}: permission denied (not an executable file)",
                fmt::shell_word(prog)
            ))
            .with_code(126)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::new(format!(
                "cannot run {}: no such file or directory",
                fmt::shell_word(prog)
            ))
            .with_code(127)),
            Err(e) => Err(Error::io("cannot run", &p, e).with_code(126)),
        };
    }
    let path = get_var(env, "PATH")
        .cloned()
        .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let mut denied = false;
    for dir in std::env::split_paths(&path) {
        let dir = if dir.as_os_str().is_empty() {
            cwd.to_path_buf()
        } else {
            cwd.join(dir)
        };
        let p = dir.join(prog);
        if let Ok(m) = std::fs::metadata(&p) {
            if m.is_file() && m.permissions().mode() & 0o111 != 0 {
                return Ok(p);
            }
            denied |= m.is_file();
        }
    }
    if denied {
        return Err(Error::new(format!(
            "cannot run {}: permission denied (not executable)",
            fmt::shell_word(prog)
        ))
        .with_code(126));
    }
    Err(not_found())
}

fn cstring(b: &[u8], what: &str) -> Result<CString> {
    CString::new(b.to_vec()).map_err(|_| Error::usage(format!("{what} contains a NUL byte")))
}

fn current_umask() -> Mode {
    let old = umask(Mode::from_bits_truncate(0o077));
    umask(old);
    old
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use clap::Parser;

    use crate::cli::{Cli, parse_run_only};

    /// The `run`-only parse builds exactly what the whole command does, and
    /// leaves to it whatever it does not accept.
    #[test]
    fn run_only_parse_matches_the_whole_command() {
        let same = [
            "run --bg -- sleep 1000",
            "run --bg --name api pnpm dev",
            "run --bg --name x --cwd /tmp --env A=1 --env B=2 -- sh -c 'exit 3'",
            "run --bg -q --label l --size 100x30 --ttl 5m --idle-timeout 1m top",
            "run --bg --store /s --config /c -v --if-absent --name n job.sh --flag -x",
            "run --bg --pipe --name sum sha256sum",
            "run --bg --restart on-failure --restart-delay 2s --max-restarts 3 -- ./srv",
            "run --bg --shell bash",
            "run --bg --agent --name a -- codex --model x",
            "run --bg --wait-idle 1s -- echo hi",
            "run",
            "run --bogus",
            "run --bg --name",
            "run --bg --size 10",
        ];
        for line in same {
            let args: Vec<OsString> = std::iter::once("codex-session")
                .chain(line.split(' '))
                .map(OsString::from)
                .collect();
            let whole = Cli::try_parse_from(&args).map(|c| format!("{c:?}"));
            let fast = parse_run_only(&args).map(|c| format!("{c:?}"));
            match whole {
                Ok(w) => assert_eq!(fast.as_deref(), Some(w.as_str()), "{line}"),
                Err(_) => assert!(fast.is_none(), "{line}"),
            }
        }
        for line in [
            "run --help",
            "run -h",
            "run --version",
            "--store /s run --bg x",
            "list",
            "runn --bg x",
        ] {
            let args: Vec<OsString> = std::iter::once("codex-session")
                .chain(line.split(' '))
                .map(OsString::from)
                .collect();
            assert!(parse_run_only(&args).is_none(), "{line}");
        }
    }
}
