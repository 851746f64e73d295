//! `run --bg`: names, how the command is shaped, what the program sees, and
//! refusing what cannot work without leaving anything behind.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Stdio};

use serde_json::Value;

use crate::support::*;

/// The names of everything in the store root (empty when it does not exist).
fn root_entries(s: &Store) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(&s.root) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Session folders only (the root may hold the store's own lock file).
fn session_dirs(s: &Store) -> Vec<String> {
    root_entries(s)
        .into_iter()
        .filter(|n| !n.starts_with('.') && s.root.join(n).is_dir())
        .collect()
}

fn write_script(path: &Path, body: &str, mode: u32) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_str().expect("a string").to_string())
        .collect()
}

#[test]
fn prints_the_name_and_runs_one_string_through_sh() {
    let s = Store::new();
    let out = s.ok([
        "run",
        "--bg",
        "--name",
        "api-dev",
        "--",
        "echo a  b; sleep 60",
    ]);
    assert_eq!(out, "api-dev\n", "stdout is the name and nothing else");
    assert_eq!(
        strs(&s.meta("api-dev")["command"]),
        ["/bin/sh", "-c", "echo a  b; sleep 60"]
    );
    // The shell splits the words, so the two spaces collapse.
    s.wait_log("api-dev", "a b");
    s.wait_status("api-dev", "running");
}

#[test]
fn several_words_are_executed_directly() {
    let s = Store::new();
    s.start("direct", &["printf", "<%s>", "a  b", "c;d"]);
    assert_eq!(
        strs(&s.meta("direct")["command"]),
        ["printf", "<%s>", "a  b", "c;d"]
    );
    // No shell in between: the spaces and the `;` reach the program intact.
    s.wait_log("direct", "<a  b><c;d>");
    let e = s.wait_status("direct", "exited");
    assert_eq!(e["exit_code"], 0);
}

#[test]
fn no_command_starts_the_users_shell() {
    let s = Store::new();
    let shell = s.tmp.path().join("my-shell");
    write_script(
        &shell,
        "#!/bin/sh\necho my-shell-ran; exec sleep 60\n",
        0o755,
    );
    let out = output_with_timeout(
        s.cmd(["run", "--bg", "--name", "sh1"]).env("SHELL", &shell),
        CMD_TIMEOUT,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "sh1\n");
    assert_eq!(
        strs(&s.meta("sh1")["command"]),
        [shell.to_string_lossy().into_owned()]
    );
    s.wait_log("sh1", "my-shell-ran");
    s.wait_status("sh1", "running");
}

#[test]
fn a_name_is_generated_when_none_is_given() {
    let s = Store::new();
    let name = s
        .ok(["run", "--bg", "--", "sleep", "60"])
        .trim()
        .to_string();
    let parts: Vec<&str> = name.split('-').collect();
    assert_eq!(parts.len(), 3, "adjective-noun-NNNN, got {name:?}");
    assert!(
        !parts[0].is_empty() && parts[0].chars().all(|c| c.is_ascii_lowercase()),
        "{name:?}"
    );
    assert!(
        !parts[1].is_empty() && parts[1].chars().all(|c| c.is_ascii_lowercase()),
        "{name:?}"
    );
    assert!(
        parts[2].len() == 4 && parts[2].chars().all(|c| c.is_ascii_digit()),
        "{name:?}"
    );
    assert!(s.dir(&name).join("meta.json").is_file());
    s.wait_status(&name, "running");
}

#[test]
fn cwd_env_and_label() {
    let s = Store::new();
    let work = s.tmp.path().join("work dir");
    std::fs::create_dir(&work).unwrap();
    let work = work.canonicalize().unwrap();
    s.ok([
        "run",
        "--bg",
        "--name",
        "cfg",
        "--cwd",
        work.to_str().unwrap(),
        "--env",
        "FOO=one",
        "-e",
        "BAR=two words",
        "--env",
        "FOO=three",
        "--label",
        "staging api",
        "--",
        "sh",
        "-c",
        "echo \"pwd=$(pwd -P)\"; echo \"foo=$FOO bar=$BAR\"; echo done; exec sleep 60",
    ]);
    let log = s.wait_log("cfg", "done");
    assert!(
        log.contains(&format!("pwd={}", work.display())),
        "the program runs in --cwd: {log:?}"
    );
    assert!(
        log.contains("foo=three bar=two words"),
        "--env is repeatable, the last one wins: {log:?}"
    );

    let e = s.wait_status("cfg", "running");
    assert_eq!(e["label"], "staging api");
    assert_eq!(e["cwd"], work.to_str().unwrap());
    let table = s.ok(["list"]);
    let row = list_row(&table, "cfg");
    assert!(row.ends_with("staging api"), "{row:?}");
    assert!(
        !row.contains("sleep 60"),
        "the label replaces the command: {row:?}"
    );
}

#[test]
fn term_defaults_and_codex_session_is_exported() {
    let s = Store::new();
    let prog = "echo \"term=$TERM session=$CODEX_SESSION\"; exec sleep 60";
    // Codex's own tool shell exports TERM=dumb; the session outlives it.
    let out = output_with_timeout(
        s.cmd(["run", "--bg", "--name", "envy", "--", prog])
            .env("TERM", "dumb"),
        CMD_TIMEOUT,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    s.wait_log("envy", "term=xterm-256color session=envy");

    // An explicit --env TERM=... is respected.
    s.ok([
        "run",
        "--bg",
        "--name",
        "envy3",
        "--env",
        "TERM=vt100",
        "--",
        prog,
    ]);
    s.wait_log("envy3", "term=vt100 session=envy3");
}

#[test]
fn a_missing_program_is_127_and_leaves_nothing() {
    let s = Store::new();
    let out = s.run([
        "run",
        "--bg",
        "--name",
        "typo",
        "--",
        "no-such-program-xyz",
        "--flag",
    ]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no-such-program-xyz"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "");
    assert!(session_dirs(&s).is_empty(), "{:?}", root_entries(&s));

    // A path that does not exist.
    let out = s.run(["run", "--bg", "--name", "typo", "--", "./nowhere/prog"]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(stderr(&out).contains("nowhere/prog"), "{}", stderr(&out));
    assert!(session_dirs(&s).is_empty(), "{:?}", root_entries(&s));
}

#[test]
fn an_exec_failure_after_the_fork_is_127_and_leaves_nothing() {
    // The file exists and is executable, so only exec itself can tell that
    // its interpreter is missing: the errno travels back on the ready pipe.
    let s = Store::new();
    let script = s.tmp.path().join("bad-interp");
    write_script(&script, "#!/nonexistent/interpreter\necho hi\n", 0o755);
    let out = s.run([
        "run",
        "--bg",
        "--name",
        "badi",
        "--",
        script.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(stderr(&out).contains("bad-interp"), "{}", stderr(&out));
    assert!(session_dirs(&s).is_empty(), "{:?}", root_entries(&s));
}

#[test]
fn a_file_that_is_not_executable_is_126_and_leaves_nothing() {
    let s = Store::new();
    let script = s.tmp.path().join("not-exec.sh");
    write_script(&script, "#!/bin/sh\necho hi\n", 0o644);
    let out = s.run([
        "run",
        "--bg",
        "--name",
        "noexec",
        "--",
        script.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(126), "{}", stderr(&out));
    assert!(stderr(&out).contains("not-exec.sh"), "{}", stderr(&out));
    assert!(session_dirs(&s).is_empty(), "{:?}", root_entries(&s));

    // Found on PATH but not executable.
    let bin = s.tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    write_script(&bin.join("tool-xyz"), "#!/bin/sh\necho hi\n", 0o644);
    let out = output_with_timeout(
        s.cmd(["run", "--bg", "--name", "noexec", "--", "tool-xyz"])
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display())),
        CMD_TIMEOUT,
    );
    assert_eq!(out.status.code(), Some(126), "{}", stderr(&out));
    assert!(stderr(&out).contains("tool-xyz"), "{}", stderr(&out));
    assert!(session_dirs(&s).is_empty(), "{:?}", root_entries(&s));
}

#[test]
fn a_missing_cwd_is_refused() {
    let s = Store::new();
    let missing = s.tmp.path().join("no-such-dir");
    let out = s.run([
        "run",
        "--bg",
        "--name",
        "nocwd",
        "--cwd",
        missing.to_str().unwrap(),
        "--",
        "sleep",
        "60",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no-such-dir"), "{}", stderr(&out));
    assert!(session_dirs(&s).is_empty(), "{:?}", root_entries(&s));
    assert!(!missing.exists(), "--cwd is not created");
}

#[test]
fn bad_names_are_usage_errors() {
    let s = Store::new();
    let long = format!("a{}", "b".repeat(64));
    assert_eq!(long.len(), 65);
    for bad in [
        "1abc",
        "a/b",
        long.as_str(),
        "",
        "_x",
        ".hidden",
        "a b",
        "é",
    ] {
        let out = s.run(["run", "--bg", "--name", bad, "--", "sleep", "60"]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("starts with a letter") && err.contains("64"),
            "{bad:?}: the message states the rule: {err}"
        );
        assert!(
            session_dirs(&s).is_empty(),
            "{bad:?}: {:?}",
            root_entries(&s)
        );
    }
    // The longest allowed name works.
    let max = format!("a{}", "b".repeat(63));
    assert_eq!(s.start(&max, &["sleep", "60"]), max);
}

#[test]
fn twenty_racing_if_absent_runs_start_it_once_and_all_succeed() {
    // Overlapping cron ticks: one starts the session, the others find it
    // running or starting (folder and lock made, meta.json not written
    // yet) and wait for it, quietly, with 0.
    let s = Store::new();
    s.ok(["list"]);
    let mut kids: Vec<Child> = (0..20)
        .map(|_| {
            s.cmd([
                "run",
                "--bg",
                "--if-absent",
                "--name",
                "job",
                "--",
                "sleep",
                "60",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning")
        })
        .collect();
    let mut printed = Vec::new();
    for k in &mut kids {
        let st = wait_child(k, CMD_TIMEOUT);
        let mut out = String::new();
        let mut err = String::new();
        use std::io::Read;
        k.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        k.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert_eq!(st.code(), Some(0), "{err}");
        assert_eq!(err, "");
        printed.push(out);
    }
    assert_eq!(
        printed.iter().filter(|o| *o == "job\n").count(),
        1,
        "{printed:?}"
    );
    assert_eq!(session_dirs(&s), ["job"]);
    let e = s.wait_status("job", "running");
    assert!(alive(e["pid"].as_i64().unwrap() as i32));
}

#[test]
fn twenty_racing_runs_of_one_name_make_one_session() {
    let s = Store::new();
    // Create the root first so that every racer only races on the name.
    s.ok(["list"]);
    let mut kids: Vec<Child> = (0..20)
        .map(|_| {
            s.cmd(["run", "--bg", "--name", "same", "--", "sleep", "60"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawning")
        })
        .collect();
    let mut results = Vec::new();
    for k in &mut kids {
        let st = wait_child(k, CMD_TIMEOUT);
        let mut out = String::new();
        let mut err = String::new();
        use std::io::Read;
        k.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        k.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        results.push((st.code(), out, err));
    }
    let winners: Vec<_> = results.iter().filter(|r| r.0 == Some(0)).collect();
    assert_eq!(winners.len(), 1, "exactly one wins: {results:#?}");
    assert_eq!(winners[0].1, "same\n");
    for (code, out, err) in results.iter().filter(|r| r.0 != Some(0)) {
        assert_eq!(*code, Some(1), "{err}");
        assert_eq!(out, "", "{err}");
        assert!(
            err.contains("already exists") && err.contains("same"),
            "a clear message: {err}"
        );
    }
    assert_eq!(session_dirs(&s), ["same"]);
    let e = s.wait_status("same", "running");
    assert!(alive(e["pid"].as_i64().unwrap() as i32));
    assert_eq!(s.list().len(), 1);
}
