//! The completion scripts: clap_complete's (verbs, options, values) with a
//! hook in front that asks the binary, `codex-session complete INDEX
//! WORDS...`, whether the word being completed is a session; if it is
//! (exit 0), the names it prints are the completions, else clap's script
//! goes on. The binary decides from the same clap definitions, so the
//! scripts hold no list of verbs or options of their own.

use std::collections::BTreeMap;

use clap_complete::{Generator, Shell};

use super::{BIN, command};

const BASH_HOOK: &str = r#"
# Session names where a session is expected: `codex-session complete`
# decides from the command line (exit 0 and the names, or 1); anywhere else,
# clap's completion above.
_codex_session_names() {
    local out
    if out=$(codex-session complete "$COMP_CWORD" "${COMP_WORDS[@]}" 2>/dev/null); then
        # No file names in place of a session.
        compopt +o default +o bashdefault 2>/dev/null
        local IFS=$'\n'
        COMPREPLY=($out)
        return 0
    fi
    _codex__session "$@"
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _codex_session_names -o nosort -o bashdefault -o default codex-session
else
    complete -F _codex_session_names -o bashdefault -o default codex-session
fi
"#;

const ZSH_HOOK: &str = r#"
# Session names where a session is expected: `codex-session complete`
# decides from the command line (exit 0 and the names, or 1); anywhere else,
# clap's completion above.
_codex-session() {
    local out
    if out=$(codex-session complete $((CURRENT - 1)) "${words[@]}" 2>/dev/null); then
        local -a names
        names=(${(f)out})
        compadd -a names
        return 0
    fi
    _codex-session_clap "$@"
}
"#;

const FISH_HOOK: &str = r#"
# Session names where a session is expected: `codex-session complete`
# decides from the command line (exit 0 and the names, or 1); anywhere else,
# clap's completions above.
function __codex_session_names
    set -l words (commandline -opc) (commandline -ct)
    codex-session complete (math (count $words) - 1) $words 2>/dev/null
end
complete -c codex-session -f -n '__codex_session_names >/dev/null' -a '(__codex_session_names)'
"#;

/// The scripts, by file name: `codex-session.bash`, `_codex-session` and
/// `codex-session.fish`.
pub fn files() -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut files = BTreeMap::new();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut cmd = command();
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut cmd, BIN, &mut script);
        let script = String::from_utf8(script).map_err(|e| format!("{shell}: {e}"))?;
        let script = match shell {
            Shell::Bash => {
                // clap_complete 4.6 names the verbs' cases
                // `codex__subcmd__session__subcmd__VERB` but sets
                // `cmd=codex__session__subcmd__VERB`, so no verb's options
                // would ever complete: one spelling for both.
                let script = script.replace("codex__subcmd__session", "codex__session");
                // Register the hook instead of clap's function.
                let at = script
                    .find("\nif [[ \"${BASH_VERSINFO[0]}\" -eq 4")
                    .ok_or("bash: clap's `complete -F` lines were not found")?;
                format!("{}\n{}", &script[..at], BASH_HOOK.trim_start())
            }
            Shell::Zsh => {
                // clap's function becomes `_codex-session_clap`; the hook
                // takes its name, which compdef and the autoloader call.
                let def = "\n_codex-session() {\n";
                let tail = "\nif [ \"$funcstack[1]\" = \"_codex-session\" ]; then";
                let (Some(d), Some(t)) = (script.find(def), script.rfind(tail)) else {
                    return Err("zsh: clap's function or its tail was not found".into());
                };
                format!(
                    "{}\n_codex-session_clap() {{\n{}{}{}",
                    &script[..d],
                    &script[d + def.len()..t],
                    ZSH_HOOK,
                    &script[t..]
                )
            }
            _ => format!("{script}{FISH_HOOK}"),
        };
        files.insert(shell.file_name(BIN), script.into_bytes());
    }
    Ok(files)
}
