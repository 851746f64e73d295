# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_codex_session_global_optspecs
    string join \n store= config= q/quiet v/verbose h/help V/version
end

function __fish_codex_session_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_codex_session_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_codex_session_using_subcommand
    set -l cmd (__fish_codex_session_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c codex-session -n "__fish_codex_session_needs_command" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_needs_command" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_needs_command" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_needs_command" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codex-session -n "__fish_codex_session_needs_command" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "run" -d 'Start a program as a session and attach to it (or not, with --bg)'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "new" -d '`run --bg` (hidden: `new` and `create`, for tmux and docker hands)'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "attach" -d 'Attach the terminal to a running session'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "detach" -d 'Detach every client attached to a session'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "capture" -d 'Print a session\'s current screen as text'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "send" -d 'Send input to a session\'s program, as one unit'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "wait" -d 'Wait until a session ends, goes quiet, prints something, ends a command or needs you'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "events" -d 'Show a session\'s events: lifecycle, clients, input audit, idle/busy'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "exec" -d 'Start the agent (agent_command, default `codex exec`) with a prompt'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "list" -d 'List sessions, running and ended, oldest first'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "ls" -d 'List sessions, running and ended, oldest first'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "inspect" -d 'Show everything known about one session'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "logs" -d 'Print a session\'s output, also after it ended'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "follow" -d '`logs -f` (hidden)'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "ps" -d 'Show each running session\'s command and last lines of output'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "stop" -d 'Stop sessions: SIGHUP and SIGTERM to the program\'s process group, SIGKILL later'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "rm" -d 'Remove ended sessions\' folders (their logs and records)'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "delete" -d 'Remove ended sessions\' folders (their logs and records)'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "prune" -d 'Remove ended sessions older than the retention period'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "config" -d 'Print the effective configuration and where each value came from'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "complete" -d 'Print session names for shell completion (the completion scripts call it)'
complete -c codex-session -n "__fish_codex_session_needs_command" -f -a "mcp" -d 'Serve sessions to a coding agent over MCP (the Model Context Protocol)'
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -s n -l name -d 'The session\'s name [default: a generated one, like brisk-otter-4821]' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l cwd -d 'The program\'s working directory [default: the current one]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -s e -l env -d 'Set an environment variable for the program (repeatable)' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l label -d 'A free-text description, shown by `list` instead of the command' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l size -d 'The window size before any client attaches' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l detach-key -d 'The key that detaches (without --bg), in ^X notation, or none [default: ^\\, or detach_key]' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l idle-timeout -d 'Stop the session (as `stop` does: HUP and TERM, KILL 10s later) after this long with no output and no input [default: idle_timeout, off]' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l ttl -d 'Stop the session (as `stop` does) this long after it started [default: ttl, off]' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l wait-idle -d 'With --bg: print the program\'s first output, once quiet this long' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l shell -d 'Start this shell (bash, zsh, fish, ...) instead of $SHELL, as with no command' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l restart -d 'Start the program again when it ends: on-failure (an exit code other than 0, or a signal), always, or no [default: restart, no]' -r -f -a "no\t''
on-failure\t''
always\t''"
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l restart-delay -d 'The wait before a restart; it doubles after each run shorter than 10s, up to 60s [default: restart_delay, 1s]' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l max-restarts -d 'At most N restarts in a row (a run of 10s or more starts the count over) [default: max_restarts, no limit]' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -s d -l bg -l detach -d 'Start in the background and return at once'
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l if-absent -d 'Do nothing (exit 0, silently unless -v) if a session of this name is running; for cron'
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l replace -d 'Stop and remove a session of the same name first'
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l no-shell-integration -d 'Start the shell as it is, without codex-session\'s shell integration'
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l pipe -d 'No terminal: stdout to output.log, stderr to stderr.log, stdin a pipe for `send`'
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -l restart-marker -d 'Write a line into the output (log and screen) at each restart [default: restart_marker, false]'
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codex-session -n "__fish_codex_session_using_subcommand run" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -s n -l name -d 'The session\'s name [default: a generated one, like brisk-otter-4821]' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l cwd -d 'The program\'s working directory [default: the current one]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -s e -l env -d 'Set an environment variable for the program (repeatable)' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l label -d 'A free-text description, shown by `list` instead of the command' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l size -d 'The window size before any client attaches' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l detach-key -d 'The key that detaches (without --bg), in ^X notation, or none [default: ^\\, or detach_key]' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l idle-timeout -d 'Stop the session (as `stop` does: HUP and TERM, KILL 10s later) after this long with no output and no input [default: idle_timeout, off]' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l ttl -d 'Stop the session (as `stop` does) this long after it started [default: ttl, off]' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l wait-idle -d 'With --bg: print the program\'s first output, once quiet this long' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l shell -d 'Start this shell (bash, zsh, fish, ...) instead of $SHELL, as with no command' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l restart -d 'Start the program again when it ends: on-failure (an exit code other than 0, or a signal), always, or no [default: restart, no]' -r -f -a "no\t''
on-failure\t''
always\t''"
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l restart-delay -d 'The wait before a restart; it doubles after each run shorter than 10s, up to 60s [default: restart_delay, 1s]' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l max-restarts -d 'At most N restarts in a row (a run of 10s or more starts the count over) [default: max_restarts, no limit]' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -s d -l bg -l detach -d 'Start in the background and return at once'
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l if-absent -d 'Do nothing (exit 0, silently unless -v) if a session of this name is running; for cron'
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l replace -d 'Stop and remove a session of the same name first'
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l no-shell-integration -d 'Start the shell as it is, without codex-session\'s shell integration'
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l pipe -d 'No terminal: stdout to output.log, stderr to stderr.log, stdin a pipe for `send`'
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -l restart-marker -d 'Write a line into the output (log and screen) at each restart [default: restart_marker, false]'
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codex-session -n "__fish_codex_session_using_subcommand new" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand attach" -s t -l target -d 'The session, as tmux\'s -t takes it (instead of NAME)' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand attach" -l detach-key -d 'The key that detaches, in ^X notation (^\\, ^Q, C-a), or none [default: ^\\, or detach_key]' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand attach" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand attach" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand attach" -s r -l read-only -d 'Watch only: keystrokes are not sent and the window is not resized'
complete -c codex-session -n "__fish_codex_session_using_subcommand attach" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand attach" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand attach" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codex-session -n "__fish_codex_session_using_subcommand attach" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand detach" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand detach" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand detach" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand detach" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand detach" -s h -l help -d 'Print help'
complete -c codex-session -n "__fish_codex_session_using_subcommand detach" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand capture" -s t -l target -d 'The session, as tmux\'s -t takes it (instead of NAME)' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand capture" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand capture" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand capture" -l ansi -d 'Keep colours and attributes as escape sequences'
complete -c codex-session -n "__fish_codex_session_using_subcommand capture" -l join -d 'Join a row that the text wrapped from with the next one (one line per line of text rather than per screen row)'
complete -c codex-session -n "__fish_codex_session_using_subcommand capture" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand capture" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand capture" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codex-session -n "__fish_codex_session_using_subcommand capture" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -s t -l target -d 'The session, as tmux\'s -t takes it (then the first word is the text)' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -l keys -d 'Named keys after the text: Enter Tab Escape BSpace Up Down Left Right Home End PageUp PageDown F1-F12 C-x M-x (other words are sent as text)' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -l timeout -d 'Give up after DUR, counted from the start (exit 124): waiting for a person\'s line, then with --wait-idle for the output to go quiet (--wait-command: for the command\'s end)' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -l as -d 'Who is sending, for the audit record' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -l id -d 'Deliver at most once: a repeated id is acknowledged, not delivered' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -l wait-idle -d 'Then print the program\'s answer (after the echo of the input), once the output has been quiet this long' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -l stdin -d 'Read the text from standard input (with --submit, a final newline of it is dropped: one Enter is sent)'
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -l submit -d 'Press Enter after the text'
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -l paste -d 'Wrap the text in bracketed-paste markers if the program asked for them'
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -l interrupt -d 'Send SIGINT to the terminal\'s foreground process group'
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -l eof -d 'Send the terminal\'s end-of-file character (Ctrl-D); to a pipe session, close the program\'s standard input'
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -l force -d 'Deliver even while someone attached has an unfinished line or is typing'
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -l wait-command -d 'Then wait for the shell to report the command\'s end (OSC 133): print its output, exit with its exit code. Needs a shell that marks its commands (run\'s shell integration); otherwise fails at once'
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codex-session -n "__fish_codex_session_using_subcommand send" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand wait" -l idle -d 'Until there has been no output for DUR' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand wait" -l output -d 'Until the output (as plain text) matches REGEX; prints the matching line. Searches all the kept output, then what comes' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand wait" -l timeout -d 'Give up after DUR, counted from the start (exit 124)' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand wait" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand wait" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand wait" -l exit -d 'Until the program ends; exits with its exit code'
complete -c codex-session -n "__fish_codex_session_using_subcommand wait" -l command -d 'Until the shell reports the next command\'s end (OSC 133); prints the command\'s output, exits with its exit code. Fails at once when the shell marks no commands (use --idle then)'
complete -c codex-session -n "__fish_codex_session_using_subcommand wait" -l attention -d 'Until the session needs a person (at once if it does): a notification, a bell, or a program waiting for input; prints why'
complete -c codex-session -n "__fish_codex_session_using_subcommand wait" -l from-start -d 'With --output: search all the kept output, then what comes (the default)'
complete -c codex-session -n "__fish_codex_session_using_subcommand wait" -l from-now -d 'With --output: only output after wait connected'
complete -c codex-session -n "__fish_codex_session_using_subcommand wait" -l since-input -d 'With --output: only the answer to the last input, after its echo'
complete -c codex-session -n "__fish_codex_session_using_subcommand wait" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand wait" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand wait" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codex-session -n "__fish_codex_session_using_subcommand wait" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand events" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand events" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand events" -s f -l follow -d 'Keep printing new events until the session ends'
complete -c codex-session -n "__fish_codex_session_using_subcommand events" -l json -d 'Print the JSON lines as recorded'
complete -c codex-session -n "__fish_codex_session_using_subcommand events" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand events" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand events" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codex-session -n "__fish_codex_session_using_subcommand events" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand exec" -s n -l name -d 'The session\'s name [default: a generated one]' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand exec" -l cwd -d 'The agent\'s working directory [default: the current one]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand exec" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand exec" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand exec" -l tty -d 'Give the agent a terminal (one output stream, a screen) instead of pipes'
complete -c codex-session -n "__fish_codex_session_using_subcommand exec" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand exec" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand exec" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codex-session -n "__fish_codex_session_using_subcommand exec" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand list" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand list" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand list" -l json -d 'Print a JSON array of session objects (every one, whole)'
complete -c codex-session -n "__fish_codex_session_using_subcommand list" -l running -d 'Only running sessions (and those starting)'
complete -c codex-session -n "__fish_codex_session_using_subcommand list" -l ended -d 'Only ended sessions (and lost or damaged ones)'
complete -c codex-session -n "__fish_codex_session_using_subcommand list" -l attention -d 'Only sessions that need a person (`!` before the status): a notification or bell, or a program waiting for input, since someone last attached or sent input'
complete -c codex-session -n "__fish_codex_session_using_subcommand list" -s w -l wide -d 'Do not cut lines to the terminal\'s width'
complete -c codex-session -n "__fish_codex_session_using_subcommand list" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand list" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codex-session -n "__fish_codex_session_using_subcommand list" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand ls" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand ls" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand ls" -l json -d 'Print a JSON array of session objects (every one, whole)'
complete -c codex-session -n "__fish_codex_session_using_subcommand ls" -l running -d 'Only running sessions (and those starting)'
complete -c codex-session -n "__fish_codex_session_using_subcommand ls" -l ended -d 'Only ended sessions (and lost or damaged ones)'
complete -c codex-session -n "__fish_codex_session_using_subcommand ls" -l attention -d 'Only sessions that need a person (`!` before the status): a notification or bell, or a program waiting for input, since someone last attached or sent input'
complete -c codex-session -n "__fish_codex_session_using_subcommand ls" -s w -l wide -d 'Do not cut lines to the terminal\'s width'
complete -c codex-session -n "__fish_codex_session_using_subcommand ls" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand ls" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codex-session -n "__fish_codex_session_using_subcommand ls" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand inspect" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand inspect" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand inspect" -l json -d 'Print one JSON object'
complete -c codex-session -n "__fish_codex_session_using_subcommand inspect" -s w -l wide -d 'Do not cut values to the terminal\'s width'
complete -c codex-session -n "__fish_codex_session_using_subcommand inspect" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand inspect" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand inspect" -s h -l help -d 'Print help'
complete -c codex-session -n "__fish_codex_session_using_subcommand inspect" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand logs" -s n -l tail -d 'Start with the last N lines (of the window, with --since or --until)' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand logs" -l color -d 'When to keep escape sequences' -r -f -a "auto\t'Raw bytes to a terminal (unless NO_COLOR is set), plain text otherwise'
always\t'Always the raw bytes, escape sequences and all'
never\t'Always plain text'"
complete -c codex-session -n "__fish_codex_session_using_subcommand logs" -l since -d 'Only lines that began at or after TIME: a duration ago (10m, 1h30m), an RFC 3339 time (2026-12-02T10:00:00Z, 2026-12-02T11:00:00+01:00) or Unix seconds' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand logs" -l until -d 'Only lines that began at or before TIME (written as for --since)' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand logs" -l format -d 'What to write: the output as text, or an asciicast v2 recording' -r -f -a "text\t'The output, raw or plain (see --color)'
asciicast\t'asciicast v2 for `asciinema play`: a header with the window\'s size, then each batch of output with its time. The output is JSON text: bytes that are not UTF-8 become U+FFFD'"
complete -c codex-session -n "__fish_codex_session_using_subcommand logs" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand logs" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand logs" -s f -l follow -d 'Keep printing new output until the session ends'
complete -c codex-session -n "__fish_codex_session_using_subcommand logs" -l stderr -d 'A pipe session\'s standard error (stderr.log) instead of its output'
complete -c codex-session -n "__fish_codex_session_using_subcommand logs" -s t -l timestamps -d 'Begin each line with the time it began (RFC 3339, UTC, nanoseconds)'
complete -c codex-session -n "__fish_codex_session_using_subcommand logs" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand logs" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand logs" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codex-session -n "__fish_codex_session_using_subcommand logs" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand follow" -s n -l tail -d 'Start with the last N lines (of the window, with --since or --until)' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand follow" -l color -d 'When to keep escape sequences' -r -f -a "auto\t'Raw bytes to a terminal (unless NO_COLOR is set), plain text otherwise'
always\t'Always the raw bytes, escape sequences and all'
never\t'Always plain text'"
complete -c codex-session -n "__fish_codex_session_using_subcommand follow" -l since -d 'Only lines that began at or after TIME: a duration ago (10m, 1h30m), an RFC 3339 time (2026-12-02T10:00:00Z, 2026-12-02T11:00:00+01:00) or Unix seconds' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand follow" -l until -d 'Only lines that began at or before TIME (written as for --since)' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand follow" -l format -d 'What to write: the output as text, or an asciicast v2 recording' -r -f -a "text\t'The output, raw or plain (see --color)'
asciicast\t'asciicast v2 for `asciinema play`: a header with the window\'s size, then each batch of output with its time. The output is JSON text: bytes that are not UTF-8 become U+FFFD'"
complete -c codex-session -n "__fish_codex_session_using_subcommand follow" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand follow" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand follow" -s f -l follow -d 'Keep printing new output until the session ends'
complete -c codex-session -n "__fish_codex_session_using_subcommand follow" -l stderr -d 'A pipe session\'s standard error (stderr.log) instead of its output'
complete -c codex-session -n "__fish_codex_session_using_subcommand follow" -s t -l timestamps -d 'Begin each line with the time it began (RFC 3339, UTC, nanoseconds)'
complete -c codex-session -n "__fish_codex_session_using_subcommand follow" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand follow" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand follow" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codex-session -n "__fish_codex_session_using_subcommand follow" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand ps" -s n -l lines -d 'Output lines to show per session' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand ps" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand ps" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand ps" -l json -d 'Print a JSON array: list --json\'s objects, each with its `lines`'
complete -c codex-session -n "__fish_codex_session_using_subcommand ps" -s w -l wide -d 'Do not cut lines to the terminal\'s width'
complete -c codex-session -n "__fish_codex_session_using_subcommand ps" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand ps" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand ps" -s h -l help -d 'Print help'
complete -c codex-session -n "__fish_codex_session_using_subcommand ps" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand stop" -s s -l signal -d 'Send only this signal (name or number) instead of HUP and TERM' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand stop" -s t -l timeout -d 'How long to wait before SIGKILL' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand stop" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand stop" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand stop" -s a -l all -d 'Stop every running session'
complete -c codex-session -n "__fish_codex_session_using_subcommand stop" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand stop" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand stop" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codex-session -n "__fish_codex_session_using_subcommand stop" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand rm" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand rm" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand rm" -s f -l force -d 'Stop running sessions first instead of refusing'
complete -c codex-session -n "__fish_codex_session_using_subcommand rm" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand rm" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand rm" -s h -l help -d 'Print help'
complete -c codex-session -n "__fish_codex_session_using_subcommand rm" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand delete" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand delete" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand delete" -s f -l force -d 'Stop running sessions first instead of refusing'
complete -c codex-session -n "__fish_codex_session_using_subcommand delete" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand delete" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand delete" -s h -l help -d 'Print help'
complete -c codex-session -n "__fish_codex_session_using_subcommand delete" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand prune" -l older-than -d 'Remove ended sessions that ended longer ago than this [default: retain_exited, 7d]' -r
complete -c codex-session -n "__fish_codex_session_using_subcommand prune" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand prune" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand prune" -s n -l dry-run -d 'Say what would be removed, remove nothing'
complete -c codex-session -n "__fish_codex_session_using_subcommand prune" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand prune" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codex-session -n "__fish_codex_session_using_subcommand prune" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand config" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand config" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand config" -l json -d 'Print one JSON object: the file, and each key\'s value and source'
complete -c codex-session -n "__fish_codex_session_using_subcommand config" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand config" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand config" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codex-session -n "__fish_codex_session_using_subcommand config" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand complete" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand complete" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand complete" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand complete" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand complete" -s h -l help -d 'Print help'
complete -c codex-session -n "__fish_codex_session_using_subcommand complete" -s V -l version -d 'Print version'
complete -c codex-session -n "__fish_codex_session_using_subcommand mcp" -l store -d 'The sessions folder [default: $CODEX_SESSION_STORE, else $CODEX_HOME/sessions]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand mcp" -l config -d 'The configuration file [default: $CODEX_SESSION_CONFIG, else $CODEX_HOME/sessions.toml]' -r -F
complete -c codex-session -n "__fish_codex_session_using_subcommand mcp" -s q -l quiet -d 'Print no notes (what was not done and why); `list -q` and `ps -q` print names only'
complete -c codex-session -n "__fish_codex_session_using_subcommand mcp" -s v -l verbose -d 'Print notes that are silent by default (`run --if-absent` finding the session running)'
complete -c codex-session -n "__fish_codex_session_using_subcommand mcp" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c codex-session -n "__fish_codex_session_using_subcommand mcp" -s V -l version -d 'Print version'

# Session names where a session is expected: `codex-session complete`
# decides from the command line (exit 0 and the names, or 1); anywhere else,
# clap's completions above.
function __codex_session_names
    set -l words (commandline -opc) (commandline -ct)
    codex-session complete (math (count $words) - 1) $words 2>/dev/null
end
complete -c codex-session -f -n '__codex_session_names >/dev/null' -a '(__codex_session_names)'
