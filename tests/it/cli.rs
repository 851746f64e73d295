//! The command line people already know: the proposal's syntax, the names
//! tmux and docker taught them, quiet for cron, `stop` that ends a shell,
//! session names completed in bash, man pages with the usual sections, the
//! configuration as JSON, and the supervisor named in `ps`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::run_ok as ok;
use crate::support::*;

/// A folder of programs first on PATH: `codex-session` itself and the
/// given scripts; the PATH value.
fn bin_dir(s: &Store, scripts: &[(&str, &str)]) -> String {
    let dir = s.tmp.path().join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("codex-session");
    if !link.exists() {
        std::os::unix::fs::symlink(BIN, &link).unwrap();
    }
    for (name, body) in scripts {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    format!("{}:/usr/bin:/bin", dir.display())
}

fn argv(s: &Store, name: &str) -> Vec<String> {
    s.meta(name)["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_command_needs_no_double_dash() {
    let s = Store::new();
    let path = bin_dir(&s, &[("pnpm", "echo \"pnpm ran: $*\"; exec sleep 300")]);
    // The proposal's own example, exactly.
    let out = ok(s
        .cmd(["run", "--bg", "--name", "api-dev", "pnpm dev"])
        .env("PATH", &path));
    assert_eq!(out, "api-dev\n");
    s.wait_log("api-dev", "pnpm ran: dev");
    assert_eq!(argv(&s, "api-dev"), ["/bin/sh", "-c", "pnpm dev"]);

    // docker's -d, and several words executed directly.
    assert_eq!(s.ok(["run", "-d", "--name", "x", "sleep", "5"]), "x\n");
    assert_eq!(argv(&s, "x"), ["sleep", "5"]);
    // Options after the command are the command's.
    s.ok([
        "run", "-d", "--name", "y", "printf", "%s,", "--cwd", "/nowhere", "-d",
    ]);
    s.wait_log("y", "--cwd,/nowhere,-d,");
    assert_eq!(
        s.entry("y")["cwd"],
        std::env::current_dir().unwrap().to_str().unwrap()
    );
    // `--` still works, and still protects a command that looks like an option.
    s.ok(["run", "--bg", "--name", "z", "--", "sleep", "5"]);
    assert_eq!(argv(&s, "z"), ["sleep", "5"]);
    let out = s.run(["run", "--bg", "--name", "w", "--", "--version"]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
}

#[test]
fn the_names_tmux_and_docker_taught() {
    let s = Store::new();
    // new and create: run --bg.
    assert_eq!(s.ok(["new", "--name", "n1", "sleep", "300"]), "n1\n");
    assert_eq!(
        s.ok([
            "create",
            "--name",
            "n2",
            "--",
            "sh",
            "-c",
            "echo first; read x; echo second"
        ]),
        "n2\n"
    );
    s.wait_log("n2", "first");
    // status: list.
    assert_eq!(s.ok(["status", "-q"]), s.ok(["list", "-q"]));
    // follow: logs -f, until the session ends.
    let mut follow = spawn(s.cmd(["follow", "n2"]));
    wait_for("follow to print the output so far", WAIT, || {
        follow.text().contains("first").then_some(())
    });
    assert!(!follow.exited(), "it keeps following");
    s.ok(["send", "n2", "go", "--submit"]);
    let out = follow.finish_within(WAIT);
    assert!(out.status.success());
    assert!(stdout(&out).contains("second"), "{}", stdout(&out));
    // kill: stop; delete: rm.
    assert!(s.ok(["kill", "n1"]).contains("stopped n1"));
    s.ok(["delete", "n1"]);
    assert!(!s.dir("n1").exists());

    // Hidden: the help lists the verbs once, by their own names.
    let help = s.ok(["--help"]);
    for hidden in ["new", "create", "kill", "status", "follow", "complete"] {
        assert!(
            !help
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{hidden} "))),
            "{hidden} is not listed:\n{help}"
        );
    }
}

#[test]
fn tmux_target_flag() {
    let s = Store::new();
    s.start(
        "t",
        &[
            "sh",
            "-c",
            "echo ready; while read l; do echo \"got $l\"; done",
        ],
    );
    s.wait_log("t", "ready");
    assert!(s.ok(["capture", "-t", "t"]).contains("ready"));
    s.ok(["send", "-t", "t", "hello", "--submit"]);
    s.wait_log("t", "got hello");
    s.ok(["send", "--target", "t", "--keys", "x", "Enter"]);
    s.wait_log("t", "got x");
    let err = fails(&s.run(["attach", "-t", "nosuch"]));
    assert!(err.contains("no session named nosuch"), "{err}");
    // The session once, and at most one text with -t.
    for bad in [
        &["capture", "t", "-t", "t"][..],
        &["attach", "t", "-t", "t"],
        &["send", "-t", "t", "one", "two"],
    ] {
        let out = s.run(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
}

#[test]
fn quiet_silences_notes() {
    let s = Store::new();
    s.start("gone", &["true"]);
    s.wait_status("gone", "exited");
    let out = s.run(["stop", "gone"]);
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("not running"),
        "a note: {}",
        stderr(&out)
    );
    for args in [
        &["stop", "-q", "gone"][..],
        &["-q", "stop", "gone"],
        &["prune", "--quiet"],
    ] {
        let out = s.run(args);
        assert!(out.status.success(), "{args:?}");
        assert_eq!(stderr(&out), "", "{args:?}");
    }
    // Errors are not notes.
    let out = s.run(["-q", "logs", "nosuch"]);
    assert!(fails(&out).contains("no session named nosuch"));
    assert_eq!(s.ok(["list", "-q"]), "gone\n");
}

/// What `run` starts with no command: an interactive shell, which ignores
/// SIGTERM. `stop` ends it at once, with the HUP a closing terminal sends.
#[test]
fn stopping_a_shell_session_takes_under_a_second() {
    let s = Store::new();
    let mut shells = vec!["/bin/sh"];
    if Path::new("/bin/bash").exists() {
        shells.push("/bin/bash");
    }
    for (i, shell) in shells.iter().enumerate() {
        let name = format!("shell{i}");
        let mut c = s.cmd(["run", "--bg", "--name", &name]);
        c.env("SHELL", shell);
        ok(&mut c);
        assert_eq!(s.entry(&name)["type"], "shell");
        // Interactive (TERM ignored) once it has printed its prompt.
        wait_for("the prompt", WAIT, || {
            (s.entry(&name)["output_bytes"].as_u64() > Some(0)).then_some(())
        });
        let started = Instant::now();
        let out = s.ok(["stop", &name]);
        let took = started.elapsed();
        assert!(out.contains(&format!("stopped {name}")), "{out}");
        assert!(took < Duration::from_secs(1), "{shell}: stop took {took:?}");
        assert_eq!(s.entry(&name)["signal"], "SIGHUP", "{shell}");
    }
}

#[test]
fn session_names_are_completed_in_bash() {
    if !require("bash") {
        return;
    }
    let s = Store::new();
    s.start("alpha", &["sleep", "300"]);
    s.start("beta", &["sleep", "300"]);
    s.start("gamma", &["true"]);
    s.wait_status("gamma", "exited");
    let path = bin_dir(&s, &[]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/codex-session.bash");
    // Complete LINE (its last word, after the last space) as bash would.
    let complete = |line: &str| -> Vec<String> {
        let words: Vec<&str> = line.split(' ').collect();
        let body = r#"
source "$1"; shift
complete -p codex-session
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
_codex_session_names codex-session "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;
        let mut c = Command::new("bash");
        c.args(["--norc", "--noprofile", "-c", body, "bash"])
            .arg(&script)
            .args(&words);
        clean_env(&mut c, s.tmp.path());
        c.env("PATH", &path).env("CODEX_SESSION_STORE", &s.root);
        let out = ok(&mut c);
        let mut lines = out.lines();
        let registered = lines.next().unwrap_or_default();
        assert!(
            registered.contains("-F _codex_session_names"),
            "{registered}"
        );
        lines.map(String::from).filter(|l| !l.is_empty()).collect()
    };
    assert_eq!(complete("codex-session attach "), ["alpha", "beta"]);
    assert_eq!(complete("codex-session attach b"), ["beta"]);
    assert_eq!(complete("codex-session -q attach -t "), ["alpha", "beta"]);
    assert_eq!(complete("codex-session logs "), ["alpha", "beta", "gamma"]);
    assert_eq!(complete("codex-session stop alpha "), ["alpha", "beta"]);
    // Elsewhere clap's completion: verbs and options.
    assert!(complete("codex-session att").contains(&"attach".to_string()));
    assert!(complete("codex-session attach --re").contains(&"--read-only".to_string()));
    assert!(complete("codex-session run ").iter().all(|w| w != "alpha"));
}

#[test]
fn the_zsh_and_fish_scripts_ask_for_names() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let zsh = std::fs::read_to_string(dir.join("_codex-session")).unwrap();
    assert!(zsh.starts_with("#compdef codex-session"));
    assert!(
        zsh.contains("_codex-session_clap() {"),
        "clap's function renamed"
    );
    assert!(zsh.contains("codex-session complete $((CURRENT - 1))"));
    let fish = std::fs::read_to_string(dir.join("codex-session.fish")).unwrap();
    assert!(fish.contains("codex-session complete (math (count $words) - 1) $words"));
    for (shell, prog) in [("zsh", "zsh"), ("fish", "fish")] {
        if crate::support::skip::installed(prog) {
            let file = if shell == "zsh" {
                "_codex-session"
            } else {
                "codex-session.fish"
            };
            let check = if shell == "zsh" { "-n" } else { "--no-execute" };
            let out = output_with_timeout(
                Command::new(prog).arg(check).arg(dir.join(file)),
                CMD_TIMEOUT,
            );
            assert!(out.status.success(), "{shell}: {}", stderr(&out));
        }
    }
}

fn man_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man")
}

#[test]
fn man_pages_have_the_usual_sections() {
    let mut pages = 0;
    for e in std::fs::read_dir(man_dir()).unwrap().flatten() {
        let page = std::fs::read_to_string(e.path()).unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let sections: Vec<&str> = page
            .lines()
            .filter_map(|l| l.strip_prefix(".SH "))
            .collect();
        for w in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "SEE ALSO",
        ] {
            assert!(sections.contains(&w), "{name}: no {w} in {sections:?}");
        }
        assert!(!sections.contains(&"EXTRA"), "{name}: {sections:?}");
        for var in [
            "CODEX_HOME",
            "CODEX_SESSION_STORE",
            "CODEX_SESSION_CONFIG",
            "NO_COLOR",
            "CODEX_SESSION\\fR",
        ] {
            assert!(page.contains(var), "{name}: {var}");
        }
        assert!(page.contains("$CODEX_HOME/sessions/"), "{name}: FILES");
        pages += 1;
    }
    assert!(pages >= 15, "{pages} pages");

    let top = std::fs::read_to_string(man_dir().join("codex-session.1")).unwrap();
    assert!(top.contains("NAME/.reserve"), "the session folder's files");
    assert!(top.contains(".SH EXAMPLES"));
    for verb in ["run", "attach", "send", "wait", "list", "config"] {
        let page =
            std::fs::read_to_string(man_dir().join(format!("codex-session-{verb}.1"))).unwrap();
        assert!(page.contains(".SH EXAMPLES"), "{verb}");
    }
    // Examples and the key table are preformatted: aligned as written.
    let config = std::fs::read_to_string(man_dir().join("codex-session-config.1")).unwrap();
    let table = config
        .split(".nf\n")
        .nth(1)
        .and_then(|b| b.split("\n.fi").next())
        .expect("a preformatted block");
    let keys: Vec<&str> = table
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split(" = ").next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "store",
            "max_sessions",
            "detach_key",
            "term",
            "retain_exited",
            "idle_timeout",
            "ttl",
            "idle_after",
            "draft_quiet",
            "agent_command",
            "restart",
            "restart_delay",
            "max_restarts",
            "restart_marker",
            "ssh_agent_follow",
            "shell_integration",
            "[attach]",
            "stall",
            "[logs]",
            "max_size",
            "keep",
            "[events]",
            "max_size",
            "keep",
            "[mcp]",
            "max_output",
            "max_timeout",
            "[attention]",
            "after"
        ],
        "one key a line:\n{table}"
    );
    // Rendered by man, when it is there: the sections, and the table's
    // columns still lined up.
    if crate::support::skip::installed("man") {
        let out = output_with_timeout(
            Command::new("man")
                .arg("-l")
                .arg(man_dir().join("codex-session-config.1"))
                .env("MANWIDTH", "100")
                .env("PAGER", "cat"),
            CMD_TIMEOUT,
        );
        let text = String::from_utf8_lossy(&out.stdout);
        if out.status.success() && !text.is_empty() {
            let col = |key: &str| {
                let l = text
                    .lines()
                    .find(|l| l.trim_start().starts_with(key))
                    .unwrap_or_else(|| panic!("{key} in:\n{text}"));
                l.find(" the ").or_else(|| l.find(" how ")).unwrap_or(0)
            };
            assert_eq!(col("store ="), col("max_sessions ="), "{text}");
        }
    }
}

#[test]
fn config_as_json_and_its_help_table() {
    let e = Env::new("max_sessions = 5\n\n[logs]\nkeep = 2\n");
    let v: Value = serde_json::from_str(&e.ok(["config", "--json"])).unwrap();
    assert_eq!(v["file"], e.config_path().to_str().unwrap());
    assert_eq!(v["found"], true);
    let keys = &v["keys"];
    assert_eq!(keys["max_sessions"]["value"], 5);
    assert_eq!(keys["max_sessions"]["source"], "file");
    assert_eq!(keys["max_sessions"]["line"], 1);
    assert_eq!(keys["logs.keep"]["value"], 2);
    assert_eq!(keys["logs.keep"]["line"], 4);
    assert_eq!(keys["logs.max_size"]["value"], "64MiB");
    assert_eq!(keys["logs.max_size"]["source"], "default");
    assert_eq!(keys["retain_exited"]["value"], "7days");
    assert_eq!(
        keys["agent_command"]["value"],
        serde_json::json!(["codex", "exec"])
    );
    assert_eq!(keys["store"]["value"], e.root.to_str().unwrap());
    assert_eq!(keys["store"]["source"], "--store");

    // `config --help`: the key table as written, one key a line.
    let help = e.ok(["config", "--help"]);
    for line in [
        "  max_sessions = 64          how many sessions may run at once\n",
        "  agent_command = [\"codex\", \"exec\"]   what `exec PROMPT` runs\n",
        "  [logs]\n",
        "  keep = 3                   rotated logs to keep (output.log.1, ...)\n",
    ] {
        assert!(help.contains(line), "{line:?} in:\n{help}");
    }
}

#[test]
fn the_supervisor_names_itself_in_ps() {
    if !cfg!(target_os = "linux") {
        return skip("the process title is set on Linux only");
    }
    let s = Store::new();
    s.start("titled", &["sleep", "300"]);
    let sup = s.wait_status("titled", "running")["supervisor_pid"]
        .as_i64()
        .unwrap();
    let cmdline = std::fs::read(format!("/proc/{sup}/cmdline")).unwrap();
    assert_eq!(cmdline, b"codex-session: supervisor titled\0");
    // Linux: after `run` returns (at the session's first work, or 50 ms
    // on) the supervisor execs a fresh image of itself
    // (`supervisor/fresh.rs`); its command line is the title across the
    // exec, and the command name is set again right after it.
    let comm = wait_for("the supervisor's command name", WAIT, || {
        let comm = std::fs::read_to_string(format!("/proc/{sup}/comm")).ok()?;
        (comm != "exe\n").then_some(comm)
    });
    assert_eq!(comm, "cs:titled\n");
    let cmdline = std::fs::read(format!("/proc/{sup}/cmdline")).unwrap();
    assert_eq!(cmdline, b"codex-session: supervisor titled\0");
}
