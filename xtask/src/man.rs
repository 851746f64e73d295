//! The man pages: clap_mangen's title, NAME, SYNOPSIS, OPTIONS and
//! SUBCOMMANDS, and our own DESCRIPTION (preformatted blocks kept as
//! written, so the configuration's key table stays a table), EXAMPLES (from
//! each command's "Examples:" help, aligned), EXIT STATUS, ENVIRONMENT,
//! FILES and SEE ALSO.

use std::collections::BTreeMap;

use clap::Command;

use super::BIN;

/// Every man page, by file name: the top-level command's and one per
/// visible subcommand. Rendered without a date so the output depends only
/// on the clap definitions and the version.
pub fn pages(cmd: &Command) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let source = match cmd.get_version() {
        Some(version) => format!("{BIN} {version}"),
        None => BIN.to_owned(),
    };
    let verbs: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_owned())
        .collect();
    let mut pages = BTreeMap::new();
    for page in std::iter::once(cmd).chain(cmd.get_subcommands().filter(|s| !s.is_hide_set())) {
        let verb = (page.get_name() != BIN).then(|| page.get_name());
        let man = clap_mangen::Man::new(page.clone())
            .date("")
            .source(&source)
            .manual("User Commands");
        let render = |what: &str, r: std::io::Result<()>| {
            r.map_err(|e| format!("rendering {what} of `{}`: {e}", page.get_name()))
        };
        let mut out = Vec::new();
        render("the title", man.render_title(&mut out))?;
        let mut sections = Vec::new();
        render("NAME", man.render_name_section(&mut sections))?;
        render("SYNOPSIS", man.render_synopsis_section(&mut sections))?;
        strip_preamble(&mut out, &sections);
        let (notes, examples) = split_after_help(page);
        out.extend(description(page, &notes).as_bytes());
        if page.get_arguments().any(|a| !a.is_hide_set()) {
            let mut s = Vec::new();
            render("OPTIONS", man.render_options_section(&mut s))?;
            strip_preamble(&mut out, &s);
        }
        if page.get_subcommands().any(|s| !s.is_hide_set()) {
            let mut s = Vec::new();
            render("SUBCOMMANDS", man.render_subcommands_section(&mut s))?;
            strip_preamble(&mut out, &s);
        }
        if !examples.is_empty() {
            out.extend(section("EXAMPLES").as_bytes());
            out.extend(preformatted(&examples).as_bytes());
        }
        out.extend(exit_status(verb).as_bytes());
        out.extend(environment().as_bytes());
        out.extend(files(verb).as_bytes());
        out.extend(see_also(verb, &verbs).as_bytes());
        let mut s = Vec::new();
        render("VERSION", man.render_version_section(&mut s))?;
        strip_preamble(&mut out, &s);
        pages.insert(man.get_filename(), out);
    }
    Ok(pages)
}

/// Append a section rendered by clap_mangen without the two lines of roff
/// preamble each of its renderings starts with (the title kept them).
fn strip_preamble(out: &mut Vec<u8>, rendered: &[u8]) {
    let text = String::from_utf8_lossy(rendered);
    let body: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(".ie \\n(.g .ds Aq") && !l.starts_with(".el .ds Aq"))
        .collect();
    for l in body {
        out.extend(l.as_bytes());
        out.push(b'\n');
    }
}

/// A command's after-help, split into what is not an example (the
/// configuration's key table) and the example lines, indentation removed.
fn split_after_help(cmd: &Command) -> (String, Vec<String>) {
    let Some(after) = cmd.get_after_help().map(|s| s.to_string()) else {
        return (String::new(), Vec::new());
    };
    match after.split_once("Examples:\n") {
        Some((notes, ex)) => (
            notes.trim_end().to_owned(),
            ex.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.strip_prefix("  ").unwrap_or(l).to_owned())
                .collect(),
        ),
        None => (after.trim_end().to_owned(), Vec::new()),
    }
}

/// Text as roff reads it literally: backslashes, dashes, quotes and a
/// leading dot or apostrophe escaped.
fn escape(line: &str) -> String {
    let mut s = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '\\' => s.push_str("\\e"),
            '-' => s.push_str("\\-"),
            '\'' => s.push_str("\\*(Aq"),
            '`' => s.push_str("\\(ga"),
            c => s.push(c),
        }
    }
    if s.starts_with('.') {
        s.insert_str(0, "\\&");
    }
    s
}

fn section(name: &str) -> String {
    format!(".SH {name}\n")
}

/// Lines kept exactly as written (alignment too), indented.
fn preformatted(lines: &[String]) -> String {
    let mut s = String::from(".PP\n.RS 4\n.nf\n");
    for l in lines {
        s.push_str(&escape(l));
        s.push('\n');
    }
    s.push_str(".fi\n.RE\n");
    s
}

/// Paragraphs as text; runs of indented lines (a table) preformatted.
fn paragraphs(text: &str) -> String {
    let mut s = String::new();
    let mut block: Vec<String> = Vec::new();
    let mut para = String::new();
    let flush_para = |s: &mut String, para: &mut String| {
        if !para.is_empty() {
            s.push_str(".PP\n");
            s.push_str(&escape(para));
            s.push('\n');
            para.clear();
        }
    };
    for line in text.lines() {
        if line.starts_with("  ") || (!block.is_empty() && line.trim().is_empty()) {
            flush_para(&mut s, &mut para);
            block.push(line.strip_prefix("  ").unwrap_or(line).to_owned());
            continue;
        }
        if !block.is_empty() {
            while block.last().is_some_and(|l| l.trim().is_empty()) {
                block.pop();
            }
            s.push_str(&preformatted(&block));
            block.clear();
        }
        if line.trim().is_empty() {
            flush_para(&mut s, &mut para);
        } else {
            if !para.is_empty() {
                para.push(' ');
            }
            para.push_str(line.trim());
        }
    }
    flush_para(&mut s, &mut para);
    if !block.is_empty() {
        s.push_str(&preformatted(&block));
    }
    s
}

fn description(cmd: &Command, notes: &str) -> String {
    let mut s = section("DESCRIPTION");
    if let Some(long) = cmd.get_long_about().or_else(|| cmd.get_about()) {
        let long = long.to_string();
        // NAME says the first line already.
        let about = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
        let rest = match long.strip_prefix(about.as_str()) {
            Some(rest) if !about.is_empty() && !rest.trim().is_empty() => rest,
            _ => long.as_str(),
        };
        s.push_str(&paragraphs(rest));
    }
    if !notes.is_empty() {
        s.push_str(&paragraphs(notes));
    }
    s
}

/// Definition-list items: `.TP`, the term in bold, the text.
fn items(list: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (term, text) in list {
        s.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            escape(term),
            escape(text)
        ));
    }
    s
}

fn exit_status(verb: Option<&str>) -> String {
    let mut list = vec![
        ("0", "Success."),
        (
            "1",
            "An error, printed on standard error as \"codex-session: what failed: why\". \
             A closed standard output (a reader such as head that stopped) is not one: \
             the command ends quietly with 0.",
        ),
        ("2", "A usage error: an unknown option, a malformed value."),
    ];
    match verb {
        None => list.extend([
            ("124", "A timeout: wait --timeout, send and run --wait-idle."),
            ("126, 127", "run: the program is not executable, or not found."),
            (
                "other",
                "attach, run without --bg and wait --exit end with the program's own exit \
                 status (128+N when signal N ended it).",
            ),
        ]),
        Some("run") => list.extend([
            ("126", "The program was found but is not executable."),
            ("127", "The program was not found."),
            ("124", "With --wait-idle: the output did not go quiet within a minute."),
            (
                "other",
                "Without --bg, as attach: the program's exit status when it ends while \
                 attached (128+N for signal N); 0 on detaching.",
            ),
        ]),
        Some("attach") => list.push((
            "other",
            "The program's exit status when it ends while attached (128+N for signal N); \
             0 on detaching.",
        )),
        Some("wait") => list.extend([
            ("124", "--timeout passed first."),
            ("other", "With --exit: the program's exit status (128+N for signal N)."),
        ]),
        Some("send") => list.push(("124", "--timeout passed before the input could be delivered, or --wait-idle's output did not go quiet in time.")),
        Some("stop") | Some("rm") => list.push((
            "1",
            "Also when one of several sessions could not be found or stopped; the others \
             are still handled.",
        )),
        _ => {}
    }
    let mut s = section("EXIT STATUS");
    s.push_str(&items(&list));
    s
}

fn environment() -> String {
    let mut s = section("ENVIRONMENT");
    s.push_str(&items(&[
        (
            "CODEX_HOME",
            "Codex's folder (an existing folder; default ~/.codex). Sessions live in \
             $CODEX_HOME/sessions and the configuration is $CODEX_HOME/sessions.toml.",
        ),
        (
            "CODEX_SESSION_STORE",
            "The sessions folder, unless --store is given.",
        ),
        (
            "CODEX_SESSION_CONFIG",
            "The configuration file, unless --config is given.",
        ),
        (
            "NO_COLOR",
            "When set and not empty, logs writes plain text to a terminal too.",
        ),
        (
            "COLUMNS",
            "The width list, ps and inspect cut their lines to on a terminal.",
        ),
        (
            "SHELL",
            "What run starts when given no command (/bin/sh if unset).",
        ),
        ("HOME", "Where ~/.codex is, when CODEX_HOME is not set."),
        (
            "SSH_AUTH_SOCK",
            "The agent run and attach bring: the session's agent.sock points at the one \
             of the client that attached last (ssh_agent_follow).",
        ),
        (
            "CODEX_SESSION_RELAY",
            "When set and not 0, attach relays the terminal's bytes through itself instead \
             of passing the terminal to the supervisor (slower; for debugging).",
        ),
        (
            "CODEX_SESSION",
            "Set in the program's environment to its session's name (with TERM, from the \
             configuration's term, unless run --env TERM=... gives one).",
        ),
    ]));
    s
}

fn files(verb: Option<&str>) -> String {
    let mut list: Vec<(&str, &str)> = vec![
        (
            "$CODEX_HOME/sessions.toml",
            "The configuration (see codex-session-config(1)).",
        ),
        (
            "$CODEX_HOME/sessions/",
            "The sessions folder: one folder per session (0700, refused if another user \
             owns it or group or others can write it). Anything else there (Codex's own \
             YYYY/MM/DD/rollout-*.jsonl) is ignored and never touched.",
        ),
        (
            "$CODEX_HOME/sessions/.codex-session.lock",
            "Taken while a session is being created, so the max_sessions limit holds.",
        ),
    ];
    let session: [(&str, &str); 10] = [
        (
            "NAME/meta.json",
            "The session's record: argv, cwd, label, type, status, pids, times, exit code \
             or signal, window size, byte counts. Rewritten atomically.",
        ),
        (
            "NAME/output.log, output.log.1 ...",
            "Every byte the program wrote, rotated at logs.max_size, logs.keep kept.",
        ),
        (
            "NAME/events.jsonl",
            "Lifecycle, clients, the input audit, idle and busy, bell, title, exit.",
        ),
        (
            "NAME/screen.txt, screen.ansi",
            "The last screen, saved when the program ends.",
        ),
        (
            "NAME/sock",
            "The supervisor's socket (0600, the peer's uid checked); gone when it ends.",
        ),
        ("NAME/lock", "Held by the supervisor for its whole life."),
        (
            "NAME/agent.sock",
            "A symbolic link to the SSH agent of the client that attached last: the \
             program's SSH_AUTH_SOCK, when run had one (ssh_agent_follow).",
        ),
        (
            "NAME/.reserve",
            "64 KiB kept allocated while the session runs and freed at its end, so its \
             final record fits on a full disk.",
        ),
        (
            "NAME/.meta.json.PID.tmp",
            "A record being written; renamed over meta.json.",
        ),
        (
            "NAME",
            "A session folder's name is the session's: a letter, then letters, digits, '.', \
             '_' or '-', at most 64.",
        ),
    ];
    if !matches!(verb, Some("config")) {
        list.extend(session);
    }
    let mut s = section("FILES");
    s.push_str(&items(&list));
    s
}

fn see_also(verb: Option<&str>, verbs: &[String]) -> String {
    let related: &[&str] = match verb {
        None => &[],
        Some("run") => &["attach", "list", "stop", "config"],
        Some("new") => &["run"],
        Some("attach") | Some("detach") => &["attach", "detach", "capture", "send"],
        Some("capture") => &["attach", "logs"],
        Some("send") | Some("wait") => &["send", "wait", "events"],
        Some("events") => &["logs", "wait"],
        Some("exec") => &["run", "wait", "config"],
        Some("list") | Some("ps") | Some("inspect") => &["list", "ps", "inspect", "logs"],
        Some("logs") => &["ps", "capture", "events"],
        Some("stop") | Some("rm") | Some("prune") => &["stop", "rm", "prune"],
        Some("config") => &["run", "prune"],
        Some(_) => &[],
    };
    let mut refs: Vec<String> = Vec::new();
    match verb {
        None => {
            refs.extend(verbs.iter().map(|v| format!("{BIN}-{v}(1)")));
            refs.extend(["dtach(1)", "tmux(1)"].map(String::from));
        }
        Some(v) => {
            refs.push(format!("{BIN}(1)"));
            refs.extend(
                related
                    .iter()
                    .filter(|r| **r != v && verbs.iter().any(|x| x == *r))
                    .map(|r| format!("{BIN}-{r}(1)")),
            );
        }
    }
    let mut s = section("SEE ALSO");
    s.push_str(&escape(&refs.join(", ")));
    s.push('\n');
    s
}
