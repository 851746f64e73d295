// Each command's arguments: the rest of the command line of `cli.rs`,
// compiled by the xtask the same way (clap and std only).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

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

    /// The key that detaches (without --bg), in ^X notation, or none [default: ^\, or detach_key]
    #[arg(long, value_name = "KEY")]
    pub detach_key: Option<String>,

    /// Stop the session (as `stop` does: HUP and TERM, KILL 10s later) after this long with no output and no input [default: idle_timeout, off]
    #[arg(long, value_name = "DUR")]
    pub idle_timeout: Option<String>,

    /// Stop the session (as `stop` does) this long after it started [default: ttl, off]
    #[arg(long, value_name = "DUR")]
    pub ttl: Option<String>,

    /// Do nothing (exit 0, silently unless -v) if a session of this name is running; for cron
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

    /// Start this shell (bash, zsh, fish, ...) instead of $SHELL, as with no command
    #[arg(long, value_name = "PROGRAM", conflicts_with = "command")]
    pub shell: Option<String>,

    /// Start the shell as it is, without codex-session's shell integration
    ///
    /// By default a bash, zsh or fish started with no command (or --shell) reads a small
    /// startup file in the session's folder that reads your own, then marks each prompt and
    /// command (OSC 133), which `send --wait-command` and `wait --command` use.
    #[arg(long)]
    pub no_shell_integration: bool,

    /// No terminal: stdout to output.log, stderr to stderr.log, stdin a pipe for `send`
    #[arg(long, conflicts_with_all = ["restart", "restart_delay", "max_restarts", "restart_marker"])]
    pub pipe: bool,

    /// Start the program again when it ends: on-failure (an exit code other than 0, or a signal), always, or no [default: restart, no]
    ///
    /// It starts on the same terminal: the screen, the log and attached
    /// clients carry on. `stop` ends the policy, also during the delay;
    /// until then `wait --exit` waits. Each restart is a `restarted` event.
    #[arg(long, value_name = "WHEN", value_parser = ["no", "on-failure", "always"])]
    pub restart: Option<String>,

    /// The wait before a restart; it doubles after each run shorter than 10s, up to 60s [default: restart_delay, 1s]
    #[arg(long, value_name = "DUR")]
    pub restart_delay: Option<String>,

    /// At most N restarts in a row (a run of 10s or more starts the count over) [default: max_restarts, no limit]
    #[arg(long, value_name = "N")]
    pub max_restarts: Option<u32>,

    /// Write a line into the output (log and screen) at each restart [default: restart_marker, false]
    #[arg(long)]
    pub restart_marker: bool,

    /// The program and its arguments [default: $SHELL]
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,

    /// Started by `exec`: the session's type is `agent`.
    #[arg(skip)]
    pub agent: bool,
}

/// The session as a positional NAME or tmux's `-t NAME`.
#[derive(Debug, Args)]
pub struct Target {
    /// The session: its name, or its number in `list`
    #[arg(value_name = "NAME", required_unless_present = "target")]
    pub session: Option<String>,

    /// The session, as tmux's -t takes it (instead of NAME)
    #[arg(short = 't', long = "target", value_name = "NAME")]
    pub target: Option<String>,
}

impl Target {
    /// The one session named, or a usage message.
    pub fn name(&self) -> Result<String, String> {
        match (&self.session, &self.target) {
            (Some(_), Some(_)) => Err("give the session once: NAME or -t NAME".into()),
            (Some(n), None) | (None, Some(n)) => Ok(n.clone()),
            (None, None) => Err("which session? give NAME or -t NAME".into()),
        }
    }
}

#[derive(Debug, Args)]
pub struct AttachArgs {
    #[command(flatten)]
    pub target: Target,

    /// Watch only: keystrokes are not sent and the window is not resized
    #[arg(long, short = 'r')]
    pub read_only: bool,

    /// The key that detaches, in ^X notation (^\, ^Q, C-a), or none [default: ^\, or detach_key]
    #[arg(long, value_name = "KEY")]
    pub detach_key: Option<String>,
}

#[derive(Debug, Args)]
pub struct DetachArgs {
    /// The session: its name, or its number in `list`
    pub name: String,
}

#[derive(Debug, Args)]
pub struct CaptureArgs {
    #[command(flatten)]
    pub target: Target,

    /// Keep colours and attributes as escape sequences
    #[arg(long)]
    pub ansi: bool,

    /// Join a row that the text wrapped from with the next one (one line
    /// per line of text rather than per screen row)
    #[arg(long, conflicts_with = "ansi")]
    pub join: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array of session objects (every one, whole)
    #[arg(long)]
    pub json: bool,

    /// Only running sessions (and those starting)
    #[arg(long, conflicts_with = "ended")]
    pub running: bool,

    /// Only ended sessions (and lost or damaged ones)
    #[arg(long)]
    pub ended: bool,

    /// Only sessions that need a person (`!` before the status): a
    /// notification or bell, or a program waiting for input, since someone
    /// last attached or sent input
    #[arg(long)]
    pub attention: bool,

    /// Do not cut lines to the terminal's width
    #[arg(long, short = 'w')]
    pub wide: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The session: its name, or its number in `list`
    pub name: String,

    /// Print one JSON object
    #[arg(long)]
    pub json: bool,

    /// Do not cut values to the terminal's width
    #[arg(long, short = 'w')]
    pub wide: bool,
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
    /// The session: its name, or its number in `list`
    pub name: String,

    /// Keep printing new output until the session ends
    #[arg(long, short = 'f')]
    pub follow: bool,

    /// Start with the last N lines (of the window, with --since or --until)
    #[arg(long = "tail", short = 'n', value_name = "N")]
    pub tail: Option<u64>,

    /// When to keep escape sequences
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// A pipe session's standard error (stderr.log) instead of its output
    #[arg(long)]
    pub stderr: bool,

    /// Only lines that began at or after TIME: a duration ago (10m, 1h30m),
    /// an RFC 3339 time (2026-12-02T10:00:00Z, 2026-12-02T11:00:00+01:00)
    /// or Unix seconds
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only lines that began at or before TIME (written as for --since)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Begin each line with the time it began (RFC 3339, UTC, nanoseconds)
    #[arg(long, short = 't')]
    pub timestamps: bool,

    /// What to write: the output as text, or an asciicast v2 recording
    #[arg(
        long,
        value_enum,
        default_value_t = LogFormat::Text,
        value_name = "FORMAT",
        conflicts_with = "timestamps"
    )]
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// The output, raw or plain (see --color)
    Text,
    /// asciicast v2 for `asciinema play`: a header with the window's size,
    /// then each batch of output with its time. The output is JSON text:
    /// bytes that are not UTF-8 become U+FFFD.
    Asciicast,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Output lines to show per session
    #[arg(long, short = 'n', default_value_t = 3, value_name = "N")]
    pub lines: usize,

    /// Print a JSON array: list --json's objects, each with its `lines`
    #[arg(long)]
    pub json: bool,

    /// Do not cut lines to the terminal's width
    #[arg(long, short = 'w')]
    pub wide: bool,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// The sessions to stop: names, or numbers in `list`
    #[arg(required_unless_present = "all", value_name = "NAME")]
    pub names: Vec<String>,

    /// Stop every running session
    #[arg(long, short = 'a', conflicts_with = "names")]
    pub all: bool,

    /// Send only this signal (name or number) instead of HUP and TERM
    #[arg(long, short = 's', value_name = "SIG")]
    pub signal: Option<String>,

    /// How long to wait before SIGKILL
    #[arg(long, short = 't', default_value = "10s", value_name = "DUR")]
    pub timeout: String,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// The sessions to remove: names, or numbers in `list`
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
pub struct ConfigArgs {
    /// Print one JSON object: the file, and each key's value and source
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// The index in WORDS of the word being completed
    pub index: usize,

    /// The command line's words, the program's name first
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}

#[derive(Debug, Args)]
pub struct McpArgs {}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The session: its name, or its number in `list` (or -t NAME)
    #[arg(value_name = "NAME", required_unless_present = "target")]
    pub session: Option<String>,

    /// The text to send (as is: add --submit for Enter)
    #[arg(conflicts_with = "stdin")]
    pub text: Option<String>,

    /// The session, as tmux's -t takes it (then the first word is the text)
    #[arg(short = 't', long = "target", value_name = "NAME")]
    pub target: Option<String>,

    /// The session, from NAME or -t NAME (see [`SendArgs::resolve`]).
    #[arg(skip)]
    pub name: String,

    /// Read the text from standard input (with --submit, a final newline
    /// of it is dropped: one Enter is sent)
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

    /// Send the terminal's end-of-file character (Ctrl-D); to a pipe
    /// session, close the program's standard input
    #[arg(long)]
    pub eof: bool,

    /// Deliver even while someone attached has an unfinished line or is
    /// typing
    #[arg(long)]
    pub force: bool,

    /// Give up after DUR, counted from the start (exit 124): waiting for a
    /// person's line, then with --wait-idle for the output to go quiet
    /// (--wait-command: for the command's end)
    #[arg(long, default_value = "10s", value_name = "DUR")]
    pub timeout: String,

    /// Who is sending, for the audit record
    #[arg(long = "as", value_name = "LABEL")]
    pub as_label: Option<String>,

    /// Deliver at most once: a repeated id is acknowledged, not delivered
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,

    /// Then print the program's answer (after the echo of the input), once
    /// the output has been quiet this long
    #[arg(long, value_name = "DUR")]
    pub wait_idle: Option<String>,

    /// Then wait for the shell to report the command's end (OSC 133): print
    /// its output, exit with its exit code. Needs a shell that marks its
    /// commands (run's shell integration); otherwise fails at once
    #[arg(long, conflicts_with = "wait_idle")]
    pub wait_command: bool,
}

impl SendArgs {
    /// Fill `name` from NAME or -t NAME; with -t, the one word after the
    /// options is the text.
    pub fn resolve(mut self) -> Result<Self, String> {
        match self.target.take() {
            None => self.name = self.session.take().unwrap_or_default(),
            Some(t) => {
                if self.text.is_some() {
                    return Err("with -t NAME, give at most one TEXT".into());
                }
                self.text = self.session.take();
                if self.text.is_some() && self.stdin {
                    return Err("the argument '--stdin' cannot be used with '[TEXT]'".into());
                }
                self.name = t;
            }
        }
        Ok(self)
    }
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("until").required(true).args(["exit", "idle", "output", "command", "attention"])))]
pub struct WaitArgs {
    /// The session: its name, or its number in `list`
    pub name: String,

    /// Until the program ends; exits with its exit code
    #[arg(long)]
    pub exit: bool,

    /// Until there has been no output for DUR
    #[arg(long, value_name = "DUR")]
    pub idle: Option<String>,

    /// Until the output (as plain text) matches REGEX; prints the matching
    /// line. Searches all the kept output, then what comes
    #[arg(long, value_name = "REGEX")]
    pub output: Option<String>,

    /// Until the shell reports the next command's end (OSC 133); prints the
    /// command's output, exits with its exit code. Fails at once when the
    /// shell marks no commands (use --idle then)
    #[arg(long)]
    pub command: bool,

    /// Until the session needs a person (at once if it does): a
    /// notification, a bell, or a program waiting for input; prints why
    #[arg(long)]
    pub attention: bool,

    /// With --output: search all the kept output, then what comes (the
    /// default)
    #[arg(long, requires = "output", conflicts_with_all = ["since_input", "from_now"])]
    pub from_start: bool,

    /// With --output: only output after wait connected
    #[arg(long, requires = "output", conflicts_with = "since_input")]
    pub from_now: bool,

    /// With --output: only the answer to the last input, after its echo
    #[arg(long, requires = "output")]
    pub since_input: bool,

    /// Give up after DUR, counted from the start (exit 124)
    #[arg(long, value_name = "DUR")]
    pub timeout: Option<String>,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// The session: its name, or its number in `list`
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

    /// Give the agent a terminal (one output stream, a screen) instead of pipes
    #[arg(long)]
    pub tty: bool,

    /// The prompt
    pub prompt: String,
}
