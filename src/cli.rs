// The command line, and nothing else: this file is `include!`d by the xtask to
// generate man pages and shell completions, so it may only use clap and std.
// Doc comments here become `--help` and the man pages.

use std::path::PathBuf;

use clap::{Args, FromArgMatches, Parser, Subcommand};

pub use crate::cli_args::*;

/// Run terminal programs in the background as named sessions.
///
/// Each session is one small supervisor process that holds the program's
/// pseudo-terminal, logs every byte it prints and serves a socket in the
/// session's folder. Sessions survive the terminal that started them closing;
/// anyone on the same account can list, tail, attach to and stop them.
///
/// Sessions live in $CODEX_HOME/sessions (default ~/.codex/sessions), beside
/// Codex's own files, one folder per session.
#[derive(Debug, Parser)]
#[command(
    name = "codex-session",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = "Examples:\n  \
        codex-session run --bg --name api pnpm dev   # start a dev server in the background\n  \
        codex-session list                           # every session, numbered, and how it ended\n  \
        codex-session logs -f api                    # follow its output (or: logs -f 0)\n  \
        codex-session stop api                       # stop it (HUP and TERM, KILL after 10s)"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Globals,

    #[command(subcommand)]
    pub command: Command,
}

/// Parse the command line. clap builds every verb's arguments before it
/// parses any, and `run`, which scripts and agents call to start each
/// session, pays for all of them: a third of what `run --bg` takes. So
/// `codex-session run ...` is first parsed by a command holding only the
/// global options and `run`; whatever that one does not accept (`--help`,
/// `--version`, a mistake) is parsed again by the whole command, so the
/// output and the errors are the ones it gives. Both build the same `Cli`.
pub fn parse() -> Cli {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    parse_run_only(&args).unwrap_or_else(|| Cli::parse_from(args))
}

/// `args` parsed with only the `run` verb; None unless that verb comes
/// first and the parse succeeds.
pub fn parse_run_only(args: &[std::ffi::OsString]) -> Option<Cli> {
    if args.get(1)? != "run" {
        return None;
    }
    let run = RunArgs::augment_args(clap::Command::new("run"));
    // What of Cli's own attributes bears on parsing: `run --version`.
    let top = clap::Command::new("codex-session")
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true);
    let cmd = Globals::augment_args(top).subcommand(run);
    Cli::from_arg_matches(&cmd.try_get_matches_from(args).ok()?).ok()
}

/// The options every verb takes.
#[derive(Debug, clap::Args)]
pub struct Globals {
    /// The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]
    #[arg(long, global = true, value_name = "DIR", display_order = 900)]
    pub store: Option<PathBuf>,

    /// The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]
    #[arg(long, global = true, value_name = "FILE", display_order = 901)]
    pub config: Option<PathBuf>,

    /// Print no notes (what was not done and why); `list -q` and `ps -q` print names only
    #[arg(long, short = 'q', global = true, display_order = 902)]
    pub quiet: bool,

    /// Print notes that are silent by default (`run --if-absent` finding the session running)
    #[arg(
        long,
        short = 'v',
        global = true,
        conflicts_with = "quiet",
        display_order = 903
    )]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a program as a session and attach to it (or not, with --bg)
    ///
    /// Without --bg, the terminal attaches at once (like `dtach -A`); detach
    /// with Ctrl-\ and the program keeps running in the background.
    ///
    /// The command comes after the options: everything from its first word
    /// on belongs to the program, options too (`--` before it is optional).
    /// One word that contains spaces runs through `sh -c` (so
    /// `run --bg "pnpm dev"` works); several words are executed directly;
    /// with none, your $SHELL starts (--shell: that shell instead).
    ///
    /// A bash, zsh or fish started so gets codex-session's shell
    /// integration: a startup file in the session's folder that reads your
    /// own, then marks each prompt and command (OSC 133) for `send
    /// --wait-command`, `wait --command` and the command events. Turn it off
    /// with --no-shell-integration or `shell_integration = false`.
    ///
    /// `run --bg` returns once the program has started and the session can be
    /// attached to. It prints the session's name on standard output.
    ///
    /// --pipe runs the program without a terminal: its standard output is the
    /// session's output (output.log), its standard error is kept apart
    /// (stderr.log: `logs --stderr`, the ERR column of `list`), and its
    /// standard input is a pipe that `send` writes to (Enter is a newline)
    /// and `send --eof` closes. There is no screen: `capture` refuses, and
    /// `attach` only watches both streams. It runs once (no --restart).
    ///
    /// With SSH_AUTH_SOCK set, the program's SSH_AUTH_SOCK is agent.sock in
    /// the session's folder, a link to the agent of whoever attached last
    /// (see attach; ssh_agent_follow = false passes it through as is).
    #[command(after_help = "Examples:\n  \
        codex-session run --bg --name api pnpm dev\n  \
        codex-session run -d --name build \"make -j8 2>&1 | tee build.txt\"\n  \
        codex-session run --bg --cwd ~/src/app --env PORT=4000 --label 'staging api' npm start\n  \
        codex-session run --bg --if-absent --name nightly ./job.sh   # for cron: silent if running\n  \
        codex-session run --bg --name sh --shell bash   # a bash that reports its commands\n  \
        codex-session run --bg --pipe --name sum sha256sum   # no terminal: stdin is a pipe")]
    Run(RunArgs),

    /// `run --bg` (hidden: `new` and `create`, for tmux and docker hands)
    #[command(hide = true, alias = "create")]
    New(RunArgs),

    /// Attach the terminal to a running session
    ///
    /// The program's current screen is painted at once (text, colours,
    /// cursor and modes), then output streams live and keystrokes go to the
    /// program. The window follows the size of the client that attached or
    /// typed last. Detach with Ctrl-\ (see --detach-key); the program keeps
    /// running. When the program ends, attach exits with its exit code.
    ///
    /// With SSH_AUTH_SOCK set, the session's agent link (its program's
    /// SSH_AUTH_SOCK, when run had one) points at your agent until you
    /// detach, then back at the one before. Only a socket you own is taken.
    #[command(after_help = "Examples:\n  \
        codex-session attach api\n  \
        codex-session attach 0                     # the first session in `list`\n  \
        codex-session attach --read-only api       # watch without typing\n  \
        codex-session attach --detach-key ^Q api")]
    Attach(AttachArgs),

    /// Detach every client attached to a session
    Detach(DetachArgs),

    /// Print a session's current screen as text
    ///
    /// One line per screen row (--join: per line of text), trailing blanks
    /// trimmed. After the session ended, the last screen it showed is
    /// printed.
    #[command(after_help = "Examples:\n  \
        codex-session capture api\n  \
        codex-session capture --ansi -t api        # with colours, tmux style")]
    Capture(CaptureArgs),

    /// Send input to a session's program, as one unit
    ///
    /// The input goes through the supervisor, never interleaved with a
    /// person's keystrokes and never added to a person's unfinished line.
    /// It waits while someone attached has a line unfinished (typed since
    /// their last Enter, Ctrl-C, Ctrl-U or Ctrl-D; one who detached leaves it
    /// in the program's input) or has typed anything in the last draft_quiet
    /// (2s), and goes once the line is submitted or cleared and they paused.
    /// --force skips that wait. Right after the program started, a send also
    /// waits until the program reads its terminal, 1s at most (Linux).
    ///
    /// --timeout counts from the start, connecting included; with
    /// --wait-idle, the output going quiet counts too. Exit status: 0
    /// delivered; 124 timed out (not delivered; with --wait-idle, after
    /// delivery: the output never went quiet); with --wait-idle, the
    /// program's own exit status (128+N for signal N) if it ended first, its
    /// output printed; 1 any other failure.
    ///
    /// --wait-idle prints the program's answer as plain text: what it printed
    /// after the echo of the input, i.e. after the first as many line breaks
    /// as the input had line ends (an Enter, CR or LF; CR LF counts once),
    /// or all it printed from the moment the input was written when there
    /// were none. A program that does not echo loses its first line to this
    /// rule.
    ///
    /// --wait-command waits for the shell to report the command's end (its
    /// OSC 133 marks; see `run`'s shell integration), prints the command's
    /// output as plain text and exits with the command's exit code (124 at
    /// --timeout). A session whose program reports no marks fails at once
    /// (exit 1), naming --wait-idle.
    ///
    /// --stdin --submit: one final newline of the input ("\n" or "\r\n") is
    /// dropped, then exactly one Enter is sent.
    ///
    /// To a pipe session (`run --pipe`, `exec`), the input goes to the
    /// program's standard input: Enter is a newline ("\n"), --eof closes it
    /// after the input (a send after that is refused), --paste adds no
    /// markers. At most 8MiB may wait for a program that does not read; a
    /// send beyond that is refused. Each send is recorded in the
    /// session's events with the sender's uid and pid, --as and --id; a
    /// repeated --id is not delivered twice.
    #[command(after_help = "Examples:\n  \
        codex-session send repl 'print(6*7)' --submit\n  \
        codex-session send repl --keys Up Enter            # run the previous line again\n  \
        codex-session send build --interrupt               # Ctrl-C, as a signal\n  \
        echo 'SELECT 1;' | codex-session send db --stdin --submit --wait-idle 1s\n  \
        codex-session send sh 'make test' --submit --wait-command --timeout 10m\n  \
        seq 3 | codex-session send db --stdin --eof       # then end of input (pipe: closed)")]
    Send(SendArgs),

    /// Wait until a session ends, goes quiet, prints something, ends a command or needs you
    ///
    /// --command waits for the shell's next command end (OSC 133 marks),
    /// prints that command's output and exits with its exit code; a session
    /// whose program reports no marks fails at once. --attention waits until
    /// the session needs a person (a notification or bell, or its program
    /// waiting for input attention.after after printing, since someone last
    /// attached or sent input) and prints the reason: notification, bell,
    /// input or idle.
    ///
    /// --output REGEX matches the output as plain text, line by line (and
    /// the line being written), and prints the first matching line. By
    /// default it searches everything the session printed that is still kept
    /// (rotated logs, then output.log), then the output as it comes, so a
    /// line printed before wait started is never missed. --from-now: only
    /// output after wait connected. --since-input: only the answer to the
    /// last input (a send or a person's keystrokes), i.e. what the program
    /// printed after the echo of that input: after the first as many line
    /// breaks as the input had line ends (an Enter, CR or LF; CR LF counts
    /// once) from the moment it was written, or from that moment when it had
    /// none. Of a session that has ended, all its kept output is searched.
    ///
    /// Of a pipe session (`run --pipe`, `exec`), --output searches both
    /// standard output and standard error, each line by line (--since-input:
    /// the answer on standard output only), and output on either stream
    /// counts for --idle.
    ///
    /// --exit waits until the session ends: a program that its restart
    /// policy (run --restart) will start again has not ended.
    ///
    /// Exit status: 0 when the condition is met (--exit: the program's exit
    /// status, 128+N for signal N); 124 when --timeout passed (counted from
    /// the start, connecting included); 1 when the session ended before its
    /// output matched, or was lost (its supervisor died without recording
    /// an exit).
    #[command(after_help = "Examples:\n  \
        codex-session wait api --output 'listening on' --timeout 60s\n  \
        codex-session wait build --exit\n  \
        codex-session send repl 'import time' --submit && codex-session wait repl --idle 2s\n  \
        codex-session send repl '6*7' --submit && codex-session wait repl --since-input --output 42\n  \
        codex-session wait agent --attention")]
    Wait(WaitArgs),

    /// Show a session's events: lifecycle, clients, input audit, idle/busy
    ///
    /// started, attached, detached, input, draft, resized, idle, busy, bell,
    /// title, timeout, rotated, dropped, refused, restarted, restart_failed,
    /// agent, exited; from what programs tell their terminal: prompt,
    /// command-start, command-end, notification, progress, attention.
    Events(EventsArgs),

    /// Start the agent (agent_command, default `codex exec`) with a prompt
    ///
    /// The session runs in the background, labelled with the prompt; follow
    /// it with list, logs and wait. It prints the session's name.
    ///
    /// The agent runs in pipe mode (see `run --pipe`): its final answer on
    /// standard output (`logs NAME`, OUT in `list`), its progress on standard
    /// error (`logs --stderr NAME`, ERR), its standard input a pipe for
    /// `send`. --tty gives it a terminal instead (one stream, a screen).
    #[command(after_help = "Examples:\n  \
        codex-session exec 'fix the failing test in src/parse.rs'\n  \
        codex-session exec --name docs 'update the README' && codex-session wait docs --exit\n  \
        codex-session exec --name fix 'fix the tests' && codex-session logs --stderr -f fix   # progress\n  \
        codex-session exec --tty --name tui 'explain this repo'   # with a terminal")]
    Exec(ExecArgs),

    /// List sessions, running and ended, oldest first
    ///
    /// The # column numbers every session in the store by creation, 0 the
    /// oldest; any verb takes that number where it takes a NAME. TYPE is
    /// `cmd`, `shell` (run with no command) or `agent` (exec). CREATED is an
    /// age (42s, 3m, 2h, 7d); OUT counts what the program printed; ERR, shown
    /// when a pipe session is listed, what it wrote to standard error (`-`:
    /// a terminal session, where both are OUT). A `!` before STATUS: the
    /// session needs you (a notification or bell, or its program waiting for
    /// input; --attention lists only those); a percentage after it: the
    /// progress the program reports (OSC 9;4).
    ///
    /// Control characters in a label, command or prompt are shown escaped
    /// (\e, \n, ?), and on a terminal each line is cut to its width
    /// (COLUMNS, else the terminal's; --wide: not cut). --json is the same
    /// list, whole, for scripts.
    #[command(
        visible_alias = "ls",
        alias = "status",
        after_help = "Examples:\n  \
        codex-session list --running\n  \
        codex-session list -q --ended              # names only\n  \
        codex-session list --json"
    )]
    List(ListArgs),

    /// Show everything known about one session
    Inspect(InspectArgs),

    /// Print a session's output, also after it ended
    ///
    /// To a terminal the raw bytes are written, colours and all. To a pipe or
    /// a file the output is plain text: escape sequences are removed and
    /// carriage-return rewrites (progress bars) are resolved the way a
    /// terminal would finally show each line.
    ///
    /// A pipe session (`run --pipe`, `exec`) keeps its standard error apart:
    /// `logs` prints its standard output, `logs --stderr` its standard error.
    ///
    /// The supervisor notes when output came (output.idx, to 100 ms, coarser
    /// in a log of days of continuous output), so --since, --until and
    /// --timestamps work as docker's do: a line's time is when its first
    /// byte came. --tail counts the lines in that window. Logs written
    /// without an index have no times: they are left out of a window, with
    /// a note on standard error.
    ///
    /// --format asciicast writes a recording that `asciinema play` replays,
    /// with the window's resizes; --since and --until apply.
    #[command(after_help = "Examples:\n  \
        codex-session logs api\n  \
        codex-session logs -f -n 20 api            # the last 20 lines, then follow\n  \
        codex-session logs 0 | tail -n 5           # plain text into a pipe\n  \
        codex-session logs --since 10m -t api      # the last 10 minutes, each line timed\n  \
        codex-session logs --since 2026-12-02T09:00:00Z --until 2026-12-02T10:00:00Z api\n  \
        codex-session logs --format asciicast api > api.cast   # then: asciinema play api.cast")]
    Logs(LogsArgs),

    /// `logs -f` (hidden)
    #[command(hide = true)]
    Follow(LogsArgs),

    /// Show each running session's command and last lines of output
    #[command(after_help = "Examples:\n  \
        codex-session ps\n  \
        codex-session ps -n 10 --json")]
    Ps(PsArgs),

    /// Stop sessions: SIGHUP and SIGTERM to the program's process group, SIGKILL later
    ///
    /// HUP and TERM together end what a closing terminal ends (an
    /// interactive shell ignores TERM) and what a service manager ends.
    /// --signal sends that one signal instead. Returns once each program has
    /// ended.
    #[command(
        alias = "kill",
        after_help = "Examples:\n  \
        codex-session stop api\n  \
        codex-session stop --signal INT --timeout 30s build   # Ctrl-C, KILL after 30s\n  \
        codex-session stop --all"
    )]
    Stop(StopArgs),

    /// Remove ended sessions' folders (their logs and records)
    #[command(visible_alias = "delete")]
    Rm(RmArgs),

    /// Remove ended sessions older than the retention period
    ///
    /// `run` and `list` do this on their own for sessions older than
    /// `retain_exited` (default 7d); running sessions are never removed.
    Prune(PruneArgs),

    /// Print the effective configuration and where each value came from
    ///
    /// The file is $CODEX_HOME/sessions.toml (or --config FILE, or
    /// $CODEX_SESSION_CONFIG). Every key is optional. --json prints each key's
    /// value and source as one object.
    #[command(after_help = CONFIG_KEYS)]
    Config(ConfigArgs),

    /// Print session names for shell completion (the completion scripts call it)
    #[command(hide = true)]
    Complete(CompleteArgs),

    /// Serve sessions to a coding agent over MCP (the Model Context Protocol)
    ///
    /// Speaks MCP on standard input and output (the stdio transport): the
    /// agent starts this command and calls its tools. The sessions it starts
    /// are ordinary sessions in the same store: a person can list, attach to
    /// and stop them, and they keep running when the agent or this server
    /// exits.
    ///
    /// Tools: session_start, session_send, session_wait, session_screen,
    /// session_logs, session_list, session_stop, session_remove. Resources:
    /// session://NAME/screen and session://NAME/log, with subscriptions that
    /// notify when a session goes idle or exits.
    ///
    /// Answers are plain text (escape sequences removed, progress bars
    /// resolved), at most [mcp] max_output (16KiB) each: the head and the
    /// tail are kept and a marker says which offsets session_logs pages to.
    /// Every call has a deadline (`timeout`, 30s unless given, at most [mcp]
    /// max_timeout). Input from the agent is recorded in the session's events
    /// as `mcp:<client name>`, and never typed into a line a person attached
    /// is writing.
    ///
    /// Nothing is printed to the terminal: run it from an agent's MCP
    /// configuration, not by hand.
    #[command(after_help = "Configure an agent:\n  \
        Codex (~/.codex/config.toml):\n    \
            [mcp_servers.sessions]\n    \
            command = \"codex-session\"\n    \
            args = [\"mcp\"]\n  \
        Claude Code:\n    \
            claude mcp add sessions -- codex-session mcp")]
    Mcp(McpArgs),
}

/// The configuration file's keys, as `config --help` and its man page show
/// them.
pub const CONFIG_KEYS: &str = "\
Keys, with their defaults:
  store = \"DIR\"              the sessions folder [$CODEX_HOME/sessions]
  max_sessions = 64          how many sessions may run at once
  detach_key = \"^\\\\\"          the key that detaches (^X notation, or \"none\")
  term = \"xterm-256color\"    TERM for programs (unless run --env TERM=...)
  retain_exited = \"7d\"       ended sessions older than this are removed (\"off\" keeps them)
  idle_timeout = \"off\"       stop a session after this long with no output or input
  ttl = \"off\"                stop a session this long after it started
  idle_after = \"2s\"          no output for this long is an `idle` event
  draft_quiet = \"2s\"         send waits until a person typing has paused this long
  agent_command = [\"codex\", \"exec\"]   what `exec PROMPT` runs
  restart = \"no\"             run's restart policy: \"on-failure\", \"always\" or \"no\"
  restart_delay = \"1s\"       the wait before a restart (doubles on quick failures, up to 60s)
  max_restarts = \"off\"       restarts in a row before the session ends (an integer, or \"off\")
  restart_marker = false     write a line into the output at each restart
  ssh_agent_follow = true    SSH_AUTH_SOCK follows the agent of the terminal that attached last
  shell_integration = true   run's bash, zsh and fish shells report their commands (OSC 133)

  [attach]
  stall = \"1s\"               a terminal holding the program back this long is cut loose

  [logs]
  max_size = \"64MiB\"         rotate output.log at this size (KiB, MiB, GiB; KB, MB, GB)
  keep = 3                   rotated logs to keep (output.log.1, ...)

  [events]
  max_size = \"1MiB\"          rotate events.jsonl at this size
  keep = 2                   rotated event files to keep (events.jsonl.1, ...)

  [mcp]
  max_output = \"16KiB\"       the most output one MCP answer carries (1KiB to 1MiB)
  max_timeout = \"10m\"        the longest `timeout` an MCP call may ask for

  [attention]
  after = \"5s\"               waiting for terminal input this long after printing needs you

Examples:
  codex-session config
  codex-session config --json";
