//! `complete` (hidden): the session names the shell completion scripts
//! offer. Given the command line's words and the index of the one being
//! completed, it decides from the clap definitions whether that word is a
//! session (a NAME operand, or the value of `-t`); if so it prints the
//! names that fit, one a line, and exits 0; if not it prints nothing and
//! exits 1, and the script falls back to its own completion.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Arg, Command, CommandFactory};

use super::Ctx;
use crate::cli::{Cli, CompleteArgs};
use crate::error::{Result, stdout_error};
use crate::store::{Session, Store};

/// Which sessions a verb can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    Running,
    Any,
}

pub fn run(a: CompleteArgs, ctx: &Ctx) -> Result<ExitCode> {
    let words = &a.words;
    let current = words.get(a.index).map_or("", String::as_str);
    let before = words.get(1..a.index.min(words.len())).unwrap_or(&[]);
    let Some((wanted, store_flag)) = session_position(before, current) else {
        return Ok(ExitCode::FAILURE);
    };
    let store = match store_flag {
        Some(dir) => Store::open(Some(&dir), None),
        None => ctx.store(),
    };
    // No store, nothing to offer; never an error message mid-completion.
    let Ok(sessions) = store.and_then(|s| s.sessions()) else {
        return Ok(ExitCode::SUCCESS);
    };
    let mut out = io::stdout().lock();
    for s in sessions
        .iter()
        .filter(|s| wanted == Wanted::Any || Session::is_running(s))
        .filter(|s| s.name.starts_with(current))
    {
        writeln!(out, "{}", s.name).map_err(stdout_error)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether the word after `before` is a session, and which sessions fit
/// there; also the `--store DIR` given on the line.
fn session_position(before: &[String], current: &str) -> Option<(Wanted, Option<PathBuf>)> {
    let top = Cli::command();
    let mut store = None;
    let mut verb: Option<&Command> = None;
    let mut operands = 0usize;
    let mut rest_are_operands = false;
    let mut i = 0;
    while i < before.len() {
        let w = before[i].as_str();
        i += 1;
        if !rest_are_operands && w == "--" {
            rest_are_operands = true;
            continue;
        }
        if rest_are_operands || !w.starts_with('-') || w == "-" {
            match verb {
                None => verb = Some(top.find_subcommand(w)?),
                Some(_) => operands += 1,
            }
            continue;
        }
        let (flag, inline) = match w.split_once('=') {
            Some((f, _)) => (f, true),
            None => (w, false),
        };
        let arg = find_option(verb, &top, flag)?;
        if inline || !arg.get_action().takes_values() {
            continue;
        }
        // The option's value is the word being completed.
        if i == before.len() {
            let verb = verb.filter(|_| arg.get_id() == "target")?;
            return Some((wanted(verb), store));
        }
        if arg.get_id() == "store" {
            store = Some(PathBuf::from(&before[i]));
        }
        i += 1;
        // Options with several values (`send --keys Up Enter`) take every
        // word up to the next option.
        if arg.get_num_args().is_some_and(|n| n.max_values() > 1) {
            while i < before.len() && !before[i].starts_with('-') {
                i += 1;
            }
            if i == before.len() {
                return None;
            }
        }
    }
    let verb = verb?;
    if current.starts_with('-') && !rest_are_operands {
        return None;
    }
    // The operand this word would be: the last one takes every word left
    // when it takes several.
    let positionals: Vec<&Arg> = verb.get_positionals().collect();
    let arg = positionals.get(operands).or_else(|| {
        positionals
            .last()
            .filter(|a| a.get_num_args().is_some_and(|n| n.max_values() > 1))
    })?;
    let is_session = arg
        .get_value_names()
        .is_some_and(|v| v.iter().any(|n| n == "NAME"));
    is_session.then(|| (wanted(verb), store))
}

/// An option by `--long` or `-s` (the last of a cluster), in the verb or
/// among the global ones.
fn find_option<'a>(verb: Option<&'a Command>, top: &'a Command, flag: &str) -> Option<&'a Arg> {
    let matches = |a: &&Arg| match flag.strip_prefix("--") {
        Some(long) => a.get_long() == Some(long),
        None => flag.chars().last() == a.get_short(),
    };
    verb.and_then(|v| v.get_arguments().find(matches))
        .or_else(|| top.get_arguments().find(matches))
}

fn wanted(verb: &Command) -> Wanted {
    match verb.get_name() {
        "attach" | "detach" | "send" | "stop" => Wanted::Running,
        _ => Wanted::Any,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: &str) -> Option<Wanted> {
        let mut words: Vec<String> = line.split(' ').map(String::from).collect();
        let current = words.pop().unwrap();
        session_position(&words[1..], &current).map(|(w, _)| w)
    }

    #[test]
    fn where_a_session_is_expected() {
        assert_eq!(at("codex-session attach "), Some(Wanted::Running));
        assert_eq!(at("codex-session attach a"), Some(Wanted::Running));
        assert_eq!(
            at("codex-session attach --read-only "),
            Some(Wanted::Running)
        );
        assert_eq!(at("codex-session attach -t "), Some(Wanted::Running));
        assert_eq!(at("codex-session attach --detach-key "), None);
        assert_eq!(at("codex-session attach -"), None);
        assert_eq!(at("codex-session logs -n 5 "), Some(Wanted::Any));
        assert_eq!(at("codex-session follow "), Some(Wanted::Any));
        assert_eq!(at("codex-session --store /x logs "), Some(Wanted::Any));
        assert_eq!(at("codex-session stop a b "), Some(Wanted::Running));
        assert_eq!(at("codex-session kill "), Some(Wanted::Running));
        assert_eq!(at("codex-session rm -f "), Some(Wanted::Any));
        assert_eq!(at("codex-session send "), Some(Wanted::Running));
        assert_eq!(at("codex-session send repl "), None, "the text");
        assert_eq!(at("codex-session send --keys Up Enter "), None);
        assert_eq!(
            at("codex-session send --timeout 5s "),
            Some(Wanted::Running)
        );
        assert_eq!(at("codex-session wait api --exit "), None);
        assert_eq!(at("codex-session run "), None);
        assert_eq!(at("codex-session run --name "), None);
        assert_eq!(at("codex-session exec "), None);
        assert_eq!(at("codex-session list "), None);
        assert_eq!(at("codex-session "), None, "the verb");
        assert_eq!(at("codex-session nosuchverb "), None);
    }

    #[test]
    fn the_store_on_the_line_is_used() {
        let words: Vec<String> = ["--store", "/tmp/s", "logs"].map(String::from).to_vec();
        assert_eq!(
            session_position(&words, ""),
            Some((Wanted::Any, Some(PathBuf::from("/tmp/s"))))
        );
    }
}
