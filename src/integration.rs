//! Shell integration: a bash, zsh or fish that `run` starts as the
//! session's shell (no command, or `--shell`) reads a small startup file
//! in the session's folder (`shell/`) that first reads the user's own, as
//! the shell would have, then prints the command marks (OSC 133) terminal
//! emulators use: `A` before each prompt, `B` at its end, `C;cmdline=...`
//! before a command runs, `D;STATUS` after it. Nothing else is changed.
//! The README's "Shell integration" section shows what each shell gets.
//!
//! - bash: `bash --rcfile shell/bashrc`; it reads `~/.bashrc`, then puts
//!   its hook first in `PROMPT_COMMAND` (D, A; B appended to `PS1`) and C
//!   in `PS0` (bash 4.4 or later).
//! - zsh: `ZDOTDIR=shell/zsh`; its `.zshenv` restores `ZDOTDIR`, reads the
//!   user's `.zshenv` (zsh then reads the user's other files as usual), and
//!   adds `precmd` and `preexec` hooks.
//! - fish: `fish --init-command 'source shell/config.fish'`, which runs
//!   after the user's configuration: handlers of `fish_prompt`,
//!   `fish_preexec` and `fish_postexec`.

use std::ffi::OsString;
use std::path::Path;

use crate::error::{IoContext, Result};

/// The folder in the session's folder that holds the startup files.
pub const DIR: &str = "shell";

const BASHRC: &str = r#"# codex-session shell integration for bash (written by `codex-session run`).
# First your own startup file, as bash reads it without --rcfile.
if [ -r ~/.bashrc ]; then . ~/.bashrc; fi
# Then the command marks (OSC 133): A prompt, B input, C command, D;STATUS end.
__codex_session_prompt() {
    local s=$?
    if [ -n "$__codex_session_ran" ]; then
        printf '\033]133;D;%s\007' "$s"
        __codex_session_ran=
    fi
    printf '\033]133;A\007'
    case $PS1 in *'133;B'*) ;; *) PS1=$PS1'\[\033]133;B\007\]' ;; esac
    return $s
}
__codex_session_command() {
    local c
    c=$(HISTTIMEFORMAT= builtin history 1)
    c=${c#*[0-9] }
    c=${c#"${c%%[! ]*}"}
    printf '\033]133;C;cmdline=%s\007' "${c//[[:cntrl:]]/ }"
}
PROMPT_COMMAND="__codex_session_prompt${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
PS0='$(__codex_session_command)${__codex_session_none[__codex_session_ran=1]}'"$PS0"
"#;

const ZSHENV: &str = r#"# codex-session shell integration for zsh (written by `codex-session run`).
# Restore ZDOTDIR and read your own .zshenv; zsh then reads your other files.
if [[ -n ${CODEX_SESSION_ZDOTDIR+x} ]]; then
    ZDOTDIR=$CODEX_SESSION_ZDOTDIR
else
    unset ZDOTDIR
fi
unset CODEX_SESSION_ZDOTDIR
[[ -r ${ZDOTDIR:-$HOME}/.zshenv ]] && source ${ZDOTDIR:-$HOME}/.zshenv
# Then the command marks (OSC 133): A prompt, B input, C command, D;STATUS end.
if [[ -o interactive ]]; then
    typeset -g __codex_session_ran=
    __codex_session_precmd() {
        local s=$?
        if [[ -n $__codex_session_ran ]]; then
            printf '\033]133;D;%s\007' $s
            __codex_session_ran=
        fi
        printf '\033]133;A\007'
        [[ $PS1 == *'133;B'* ]] || PS1=$PS1$'%{\033]133;B\007%}'
        return $s
    }
    __codex_session_preexec() {
        __codex_session_ran=1
        printf '\033]133;C;cmdline=%s\007' "${1//[[:cntrl:]]/ }"
    }
    autoload -Uz add-zsh-hook
    add-zsh-hook precmd __codex_session_precmd
    add-zsh-hook preexec __codex_session_preexec
fi
"#;

const FISH: &str = r#"# codex-session shell integration for fish (written by `codex-session run`),
# read after your own configuration: the command marks (OSC 133).
function __codex_session_prompt --on-event fish_prompt
    printf '\e]133;A\a'
end
function __codex_session_preexec --on-event fish_preexec
    printf '\e]133;C;cmdline=%s\a' (string replace -ra '[[:cntrl:]]' ' ' -- $argv[1])
end
function __codex_session_postexec --on-event fish_postexec
    printf '\e]133;D;%s\a' $status
end
"#;

/// A shell to integrate: its name (`bash`, `zsh`, `fish`) from `argv[0]`,
/// or None for any other program.
pub fn shell_kind(program: &str) -> Option<&'static str> {
    let base = program.rsplit('/').next().unwrap_or(program);
    match base.trim_start_matches('-') {
        "bash" => Some("bash"),
        "zsh" => Some("zsh"),
        "fish" => Some("fish"),
        _ => None,
    }
}

/// The arguments to add after the shell's name, and the variables to set.
pub type Injected = (Vec<String>, Vec<(String, String)>);

/// Write the startup file for `kind` into `session_dir/shell/`, and give
/// the arguments to add after the shell's name and the variables to set.
pub fn inject(kind: &str, session_dir: &Path, env: &[(OsString, OsString)]) -> Result<Injected> {
    let dir = session_dir.join(DIR);
    std::fs::create_dir_all(&dir).ctx("creating", &dir)?;
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).ctx("writing", &p)?;
        Ok::<_, crate::error::Error>(p.to_string_lossy().into_owned())
    };
    Ok(match kind {
        "bash" => {
            let rc = write("bashrc", BASHRC)?;
            (vec!["--rcfile".into(), rc], Vec::new())
        }
        "zsh" => {
            let z = dir.join("zsh");
            std::fs::create_dir_all(&z).ctx("creating", &z)?;
            write("zsh/.zshenv", ZSHENV)?;
            let mut vars = vec![("ZDOTDIR".into(), z.to_string_lossy().into_owned())];
            if let Some((_, v)) = env.iter().find(|(k, _)| k == "ZDOTDIR") {
                let v = v.to_string_lossy().into_owned();
                vars.push(("CODEX_SESSION_ZDOTDIR".into(), v));
            }
            (Vec::new(), vars)
        }
        _ => {
            let rc = write("config.fish", FISH)?;
            let quoted = rc.replace('\\', "\\\\").replace('\'', "\\'");
            (
                vec!["--init-command".into(), format!("source '{quoted}'")],
                Vec::new(),
            )
        }
    })
}
