// The command line, and nothing else: this file is `include!`d by the xtask to
// generate man pages and shell completions, so it may only use clap and std.
// Doc comments here become `--help` and the man pages.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
        codex-session run --bg --name api -- pnpm dev     start a dev server in the background\n  \
        codex-session list                                 see every session and how it ended\n  \
        codex-session logs -f api                          follow its output\n  \
        codex-session stop api                             stop it (TERM, then KILL after 10s)"
)]
pub struct Cli {
    /// The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]
    #[arg(long, global = true, value_name = "DIR")]
    pub store: Option<PathBuf>,

    /// The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a program as a session and attach to it (or not, with --bg)
    ///
    /// Without --bg, the terminal attaches at once (like `dtach -A`); detach
    /// with Ctrl-\ and the program keeps running in the background.
    ///
    /// With one argument after `--` that contains spaces, the program runs
    /// through `sh -c` (so `-- "pnpm dev"` works); with several, they are
    /// executed directly; with none, your $SHELL starts.
    ///
    /// `run --bg` returns once the program has started and the session can be
    /// attached to. It prints the session's name on standard output.
    #[command(after_help = "Examples:\n  \
        codex-session run --bg --name api -- pnpm dev\n  \
        codex-session run --bg -- \"make -j8 2>&1 | tee build.txt\"\n  \
        codex-session run --bg --cwd ~/src/app --env PORT=4000 --label 'staging api' -- npm start")]
    Run(RunArgs),

    /// Attach the terminal to a running session
    ///
    /// The program's current screen is painted at once (text, colours,
    /// cursor and modes), then output streams live and keystrokes go to the
    /// program. The window follows the size of the client that attached or
    /// typed last. Detach with Ctrl-\ (see --detach-key); the program keeps
    /// running. When the program ends, attach exits with its exit code.
    #[command(after_help = "Examples:\n  \
        codex-session attach api\n  \
        codex-session attach --read-only api        watch without typing\n  \
        codex-session attach --detach-key ^Q api")]
    Attach(AttachArgs),

    /// Detach every client attached to a session
    Detach(DetachArgs),

    /// Print a session's current screen as text
    ///
    /// Trailing blanks are trimmed. After the session ended, the last screen
    /// it showed is printed.
    Capture(CaptureArgs),

    /// Send input to a session's program, as one unit
    ///
    /// The input goes through the supervisor, never interleaved with a
    /// person's keystrokes. While someone attached is typing a line, it waits
    /// until they pause (draft_quiet, 2s), up to --timeout, unless --force.
    /// Each send is recorded in the session's events with the sender's uid
    /// and pid, --as and --id; a repeated --id is not delivered twice.
    #[command(after_help = "Examples:\n  \
        codex-session send repl 'print(6*7)' --submit\n  \
        codex-session send repl --keys Up Enter            run the previous line again\n  \
        codex-session send build --interrupt                Ctrl-C, as a signal\n  \
        echo 'SELECT 1;' | codex-session send db --stdin --submit --wait-idle 1s")]
    Send(SendArgs),

    /// Wait until a session ends, goes quiet, or prints something
    ///
    /// Exits 0 when the condition is met (with --exit: the program's exit
    /// code), 124 on --timeout, 1 if the session ends first.
    #[command(after_help = "Examples:\n  \
        codex-session wait api --output 'listening on' --timeout 60s\n  \
        codex-session wait build --exit\n  \
        codex-session send repl 'import time' --submit && codex-session wait repl --idle 2s")]
    Wait(WaitArgs),

    /// Show a session's events: lifecycle, clients, input audit, idle/busy
    ///
    /// started, attached, detached, input, resized, idle, busy, bell, title,
    /// timeout, rotated, dropped, refused, exited.
    Events(EventsArgs),

    /// Start the agent (agent_command, default `codex exec`) with a prompt
    ///
    /// The session runs in the background, labelled with the prompt; follow
    /// it with list, logs and wait.
    #[command(after_help = "Examples:\n  \
        codex-session exec 'fix the failing test in src/parse.rs'\n  \
        codex-session exec --name docs 'update the README' && codex-session wait docs --exit")]
    Exec(ExecArgs),

    /// List sessions, running and ended
    #[command(visible_alias = "ls")]
    List(ListArgs),

    /// Show everything known about one session
    Inspect(InspectArgs),

    /// Print a session's output, also after it ended
    ///
    /// To a terminal the raw bytes are written, colours and all. To a pipe or
    /// a file the output is plain text: escape sequences are removed and
    /// carriage-return rewrites (progress bars) are resolved the way a
    /// terminal would finally show each line.
    Logs(LogsArgs),

    /// Show each running session's command and last lines of output
    Ps(PsArgs),

    /// Stop sessions: SIGTERM to the program's process group, SIGKILL later
    ///
    /// Returns once each program has ended.
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
    /// $CODEX_SESSION_CONFIG). Every key is optional:
    ///
    ///   store = "DIR"              the sessions folder [$CODEX_HOME/sessions]
    ///   max_sessions = 64          how many sessions may run at once
    ///   detach_key = "^\\"          the key that detaches (^X notation, or "none")
    ///   term = "xterm-256color"    TERM for programs (unless run --env TERM=...)
    ///   retain_exited = "7d"       ended sessions older than this are removed ("off" keeps them)
    ///   idle_timeout = "off"       stop a session after this long with no output or input
    ///   ttl = "off"                stop a session this long after it started
    ///   idle_after = "2s"          no output for this long is an `idle` event
    ///   draft_quiet = "2s"         send waits until a person typing has paused this long
    ///   agent_command = ["codex", "exec"]   what `exec PROMPT` runs
    ///
    ///   [logs]
    ///   max_size = "64MiB"         rotate output.log at this size (KiB, MiB, GiB; KB, MB, GB)
    ///   keep = 3                   rotated logs to keep (output.log.1, ...)
    ///
    ///   [mcp]
    ///   max_output = "16KiB"       the most output one MCP answer carries (1KiB to 1MiB)
    ///   max_timeout = "10m"        the longest `timeout` an MCP call may ask for
    Config(ConfigArgs),

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

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Start in the background and return at once
    #[arg(long, short = 'd', visible_alias = "detach")]
    pub bg: bool,

    /// The session's name [default: a generated one, like brisk-otter-4821]
    ///
    /// A letter, then letters, digits, '.', '_' or '-'; at most 64 characters.
    #[arg(long, short = 'n', value_name = "NAME")]
    pub name: Option<String>,

    /// The program's working directory [default: the current one]
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,

    /// Set an environment variable for the program (repeatable)
    #[arg(long, short = 'e', value_name = "KEY=VAL")]
    pub env: Vec<String>,

    /// A free-text description, shown by `list` instead of the command
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,

    /// The window size before any client attaches
    #[arg(long, value_name = "COLSxROWS", default_value = "80x24")]
    pub size: String,

    /// The key that detaches (without --bg), in ^X notation, or none [default: ^\\, or detach_key]
    #[arg(long, value_name = "KEY")]
    pub detach_key: Option<String>,

    /// Stop the session after this long with no output and no input [default: idle_timeout, off]
    #[arg(long, value_name = "DUR")]
    pub idle_timeout: Option<String>,

    /// Stop the session this long after it started [default: ttl, off]
    #[arg(long, value_name = "DUR")]
    pub ttl: Option<String>,

    /// Do nothing (exit 0) if a session of this name is running; for cron
    ///
    /// An ended session of the same name is removed and started anew.
    #[arg(long, requires = "name", conflicts_with = "replace")]
    pub if_absent: bool,

    /// Stop and remove a session of the same name first
    #[arg(long, requires = "name")]
    pub replace: bool,

    /// With --bg: print the program's first output, once quiet this long
    #[arg(long, value_name = "DUR", requires = "bg")]
    pub wait_idle: Option<String>,

    /// The program and its arguments
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The session
    pub name: String,

    /// Watch only: keystrokes are not sent and the window is not resized
    #[arg(long, short = 'r')]
    pub read_only: bool,

    /// The key that detaches, in ^X notation (^\\, ^Q, C-a), or none [default: ^\\, or detach_key]
    #[arg(long, value_name = "KEY")]
    pub detach_key: Option<String>,
}

#[derive(Debug, Args)]
pub struct DetachArgs {
    /// The session
    pub name: String,
}

#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// The session
    pub name: String,

    /// Keep colours and attributes as escape sequences
    #[arg(long)]
    pub ansi: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array of session objects
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    /// Print names only
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The session
    pub name: String,

    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Raw bytes to a terminal (unless NO_COLOR is set), plain text otherwise
    Auto,
    /// Always the raw bytes, escape sequences and all
    Always,
    /// Always plain text
    Never,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The session
    pub name: String,

    /// Keep printing new output until the session ends
    #[arg(long, short = 'f')]
    pub follow: bool,

    /// Start with the last N lines
    #[arg(long = "tail", short = 'n', value_name = "N")]
    pub tail: Option<u64>,

    /// When to keep escape sequences
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Output lines to show per session
    #[arg(long, short = 'n', default_value_t = 3, value_name = "N")]
    pub lines: usize,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// The sessions to stop
    #[arg(required_unless_present = "all", value_name = "NAME")]
    pub names: Vec<String>,

    /// Stop every running session
    #[arg(long, short = 'a', conflicts_with = "names")]
    pub all: bool,

    /// The first signal to send (name or number)
    #[arg(long, short = 's', default_value = "TERM", value_name = "SIG")]
    pub signal: String,

    /// How long to wait before SIGKILL
    #[arg(long, short = 't', default_value = "10s", value_name = "DUR")]
    pub timeout: String,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// The sessions to remove
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,

    /// Stop running sessions first instead of refusing
    #[arg(long, short = 'f')]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove ended sessions that ended longer ago than this [default: retain_exited, 7d]
    #[arg(long, value_name = "DUR")]
    pub older_than: Option<String>,

    /// Say what would be removed, remove nothing
    #[arg(long, short = 'n')]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {}

#[derive(Debug, Args)]
pub struct McpArgs {}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The session
    pub name: String,

    /// The text to send (as is: add --submit for Enter)
    #[arg(conflicts_with = "stdin")]
    pub text: Option<String>,

    /// Read the text from standard input
    #[arg(long)]
    pub stdin: bool,

    /// Named keys after the text: Enter Tab Escape BSpace Up Down Left Right
    /// Home End PageUp PageDown F1-F12 C-x M-x (other words are sent as text)
    #[arg(long, num_args = 1.., value_name = "KEY")]
    pub keys: Vec<String>,

    /// Press Enter after the text
    #[arg(long)]
    pub submit: bool,

    /// Wrap the text in bracketed-paste markers if the program asked for them
    #[arg(long)]
    pub paste: bool,

    /// Send SIGINT to the terminal's foreground process group
    #[arg(long)]
    pub interrupt: bool,

    /// Send the terminal's end-of-file character (Ctrl-D)
    #[arg(long)]
    pub eof: bool,

    /// Deliver even while someone attached is typing a line
    #[arg(long)]
    pub force: bool,

    /// How long to wait for a typing person to pause (and, with
    /// --wait-idle, for the output to go quiet)
    #[arg(long, default_value = "10s", value_name = "DUR")]
    pub timeout: String,

    /// Who is sending, for the audit record
    #[arg(long = "as", value_name = "LABEL")]
    pub as_label: Option<String>,

    /// Deliver at most once: a repeated id is acknowledged, not delivered
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,

    /// Then print the output that follows, once quiet this long
    #[arg(long, value_name = "DUR")]
    pub wait_idle: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("until").required(true).args(["exit", "idle", "output"])))]
pub struct WaitArgs {
    /// The session
    pub name: String,

    /// Until the program ends; exits with its exit code
    #[arg(long)]
    pub exit: bool,

    /// Until there has been no output for DUR
    #[arg(long, value_name = "DUR")]
    pub idle: Option<String>,

    /// Until the output (as plain text) matches REGEX; prints the matching line
    #[arg(long, value_name = "REGEX")]
    pub output: Option<String>,

    /// With --output: also search the output from the start
    #[arg(long, requires = "output", conflicts_with = "since_input")]
    pub from_start: bool,

    /// With --output: also search the output since the last input
    #[arg(long, requires = "output")]
    pub since_input: bool,

    /// Give up after DUR (exit 124)
    #[arg(long, value_name = "DUR")]
    pub timeout: Option<String>,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// The session
    pub name: String,

    /// Keep printing new events until the session ends
    #[arg(long, short = 'f')]
    pub follow: bool,

    /// Print the JSON lines as recorded
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The session's name [default: a generated one]
    #[arg(long, short = 'n', value_name = "NAME")]
    pub name: Option<String>,

    /// The agent's working directory [default: the current one]
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<std::path::PathBuf>,

    /// The prompt
    pub prompt: String,
}
