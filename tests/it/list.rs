//! Reading the store: `list`, `inspect`, `ps`; which folder is the store;
//! folders that are not ours are left alone; a damaged record is shown.

use std::collections::BTreeMap;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::run_ok as ok;
use crate::support::*;

fn names(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|e| e["name"].as_str().expect("name").to_string())
        .collect()
}

#[test]
fn list_table_quiet_json_and_ls() {
    let s = Store::new();
    // An empty store: just the header.
    let empty = s.ok(["list"]);
    assert_eq!(empty.lines().count(), 1, "{empty}");
    assert!(s.list().is_empty());
    assert_eq!(s.ok(["list", "-q"]), "");

    s.start("web", &["sh", "-c", "echo served; exec sleep 300"]);
    s.start("job", &["sh", "-c", "exit 4"]);
    s.wait_log("web", "served");
    s.wait_status("job", "exited");

    let table = s.ok(["list"]);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "#", "NAME", "TYPE", "STATUS", "PID", "CLIENTS", "OUT", "CREATED", "COMMAND"
        ]
    );
    let web = list_row(&table, "web");
    assert!(web.starts_with("0  web  "), "numbered by creation: {web}");
    assert!(web.contains("running"), "{web}");
    assert!(
        web.ends_with("sh -c 'echo served; exec sleep 300'"),
        "{web}"
    );
    let pid = s.entry("web")["pid"].as_i64().unwrap();
    assert!(web.contains(&pid.to_string()), "{web}");
    let job = list_row(&table, "job");
    assert!(job.contains("exited 4"), "{job}");
    assert_eq!(lines.next(), Some(web));
    assert_eq!(lines.next(), Some(job), "oldest first");
    let cells: Vec<&str> = job.split_whitespace().collect();
    assert_eq!(cells[..5], ["1", "job", "cmd", "exited", "4"], "{job}");
    assert_eq!(cells[5], "-", "no pid once ended: {job}");

    assert_eq!(s.ok(["list", "-q"]), "web\njob\n");
    assert_eq!(s.ok(["list", "-q", "--running"]), "web\n");
    assert_eq!(s.ok(["list", "--ended", "-q"]), "job\n");
    // Filtered rows keep their numbers.
    let ended = s.ok(["list", "--ended"]);
    assert_eq!(ended.lines().count(), 2, "{ended}");
    assert!(list_row(&ended, "job").starts_with("1  job"), "{ended}");
    assert!(s.run(["list", "--running", "--ended"]).status.code() == Some(2));

    let all = s.list();
    assert_eq!(all.len(), 2);
    for e in &all {
        for key in [
            "index",
            "name",
            "type",
            "status",
            "pid",
            "supervisor_pid",
            "exit_code",
            "signal",
            "created",
            "ended",
            "command",
            "cwd",
            "label",
            "clients",
            "output_bytes",
        ] {
            assert!(
                e.as_object().unwrap().contains_key(key),
                "{key} missing: {e}"
            );
        }
        assert!(e["command"].is_array(), "{e}");
        assert!(e["created"].is_string(), "{e}");
        assert!(e["pid"].is_i64() && e["supervisor_pid"].is_i64(), "{e}");
        assert!(e["clients"].is_u64() && e["output_bytes"].is_u64(), "{e}");
    }
    let web = s.entry("web");
    assert_eq!(web["index"], 0);
    assert_eq!(web["type"], "cmd");
    assert_eq!(s.entry("job")["index"], 1);
    assert_eq!(web["status"], "running");
    assert!(web["ended"].is_null() && web["exit_code"].is_null());
    assert_eq!(web["command"][0], "sh");
    assert!(web["output_bytes"].as_u64().unwrap() >= "served".len() as u64);
    assert_ne!(web["pid"], web["supervisor_pid"]);
    let job = s.entry("job");
    assert_eq!(job["status"], "exited");
    assert_eq!(job["exit_code"], 4);
    assert!(job["ended"].is_string());

    // `ls` is `list`.
    let ls = s.ok(["ls"]);
    // (Column widths follow the contents, e.g. "9s" becoming "10s".)
    let words = |t: &str| -> Vec<String> {
        t.lines()
            .next()
            .unwrap()
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    assert_eq!(words(&ls), words(&table));
    assert_eq!(ls.lines().count(), 3, "{ls}");
    let ls_json: Vec<Value> = serde_json::from_str(&s.ok(["ls", "--json"])).unwrap();
    assert_eq!(names(&ls_json), names(&all));
}

/// A file's contents (None for a folder), mtime (s, ns) and mode.
type Seen = (Option<Vec<u8>>, i64, i64, u32);

/// Contents and mtime of every file and folder under `dir`.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Seen> {
    let mut m = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let md = std::fs::symlink_metadata(&p).unwrap();
            let body = if md.is_dir() {
                stack.push(p.clone());
                None
            } else {
                Some(std::fs::read(&p).unwrap())
            };
            m.insert(p, (body, md.mtime(), md.mtime_nsec(), md.mode()));
        }
    }
    m
}

#[test]
fn folders_that_are_not_sessions_are_never_touched() {
    let s = Store::new();
    let day = s.root.join("2025/11/20");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&day)
        .unwrap();
    std::fs::write(day.join("rollout-x.jsonl"), "{\"codex\":true}\n").unwrap();
    std::fs::create_dir(s.root.join("notes")).unwrap();
    std::fs::write(s.root.join("notes/todo.txt"), "buy milk\n").unwrap();
    std::fs::write(s.root.join("README"), "not a session\n").unwrap();
    let foreign = [
        s.root.join("2025"),
        s.root.join("notes"),
        s.root.join("README"),
    ];
    let before: Vec<_> = foreign
        .iter()
        .map(|p| {
            let md = std::fs::symlink_metadata(p).unwrap();
            (md.mtime(), md.mtime_nsec(), md.mode())
        })
        .collect();
    let inside = [
        snapshot(&s.root.join("2025")),
        snapshot(&s.root.join("notes")),
    ];

    s.ok(["list"]);
    assert!(s.list().is_empty(), "{:?}", s.list());
    assert_eq!(s.ok(["list", "-q"]), "");
    s.start("mine", &["sleep", "300"]);
    assert_eq!(names(&s.list()), ["mine"]);
    let table = s.ok(["list"]);
    assert!(
        !table.contains("notes") && !table.contains("2025"),
        "{table}"
    );
    s.ok(["ps"]);
    s.ok(["stop", "mine"]);
    s.ok(["stop", "--all"]);
    s.ok(["rm", "mine"]);
    // Naming a foreign folder does not make it a session.
    for verb in [
        &["rm", "notes"][..],
        &["rm", "--force", "notes"],
        &["stop", "notes"],
    ] {
        let out = s.run(verb);
        assert_eq!(out.status.code(), Some(1), "{verb:?}");
        assert!(
            stderr(&out).contains("no session named notes"),
            "{verb:?}: {}",
            stderr(&out)
        );
    }
    assert!(s.run(["inspect", "notes"]).status.code() == Some(1));
    assert!(s.run(["logs", "notes"]).status.code() == Some(1));

    let after: Vec<_> = foreign
        .iter()
        .map(|p| {
            let md = std::fs::symlink_metadata(p).unwrap();
            (md.mtime(), md.mtime_nsec(), md.mode())
        })
        .collect();
    assert_eq!(before, after, "foreign entries' mtimes and modes");
    assert_eq!(
        inside,
        [
            snapshot(&s.root.join("2025")),
            snapshot(&s.root.join("notes"))
        ],
        "foreign contents"
    );
    assert_eq!(
        std::fs::read_to_string(s.root.join("README")).unwrap(),
        "not a session\n"
    );
    assert!(s.list().is_empty());
}

#[test]
fn a_damaged_record_is_listed_as_damaged() {
    let s = Store::new();
    s.start("good", &["sleep", "300"]);
    let bad = s.root.join("broken");
    std::fs::DirBuilder::new().mode(0o700).create(&bad).unwrap();
    std::fs::write(bad.join("meta.json"), "{ this is not json").unwrap();

    let out = s.run(["list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    let row = list_row(&table, "broken");
    assert!(row.contains("damaged"), "{row}");
    assert!(row.contains("meta.json"), "a reason: {row}");
    assert!(list_row(&table, "good").contains("running"), "{table}");

    let all = s.list();
    let e = all
        .iter()
        .find(|e| e["name"] == "broken")
        .expect("broken in --json");
    assert_eq!(e["status"], "damaged");
    assert!(
        e["error"].as_str().is_some_and(|r| !r.is_empty()),
        "a reason: {e}"
    );
    assert_eq!(
        all.iter().find(|e| e["name"] == "good").unwrap()["status"],
        "running"
    );
    let mut q: Vec<String> = s.ok(["list", "-q"]).lines().map(String::from).collect();
    q.sort();
    assert_eq!(q, ["broken", "good"]);
    // Its number names it too, and says what is wrong.
    let n = e["index"].to_string();
    let out = s.run(["logs", &n]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("broken"), "{}", stderr(&out));

    // Other verbs work around it, and `stop --all` does not trip on it.
    s.ok(["ps"]);
    let out = s.ok(["stop", "--all"]);
    assert!(out.contains("stopped good"), "{out}");
    // Naming it says what is wrong.
    let out = s.run(["inspect", "broken"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("broken"), "{}", stderr(&out));
    // An empty meta.json is damaged too.
    std::fs::write(bad.join("meta.json"), "").unwrap();
    assert_eq!(s.entry("broken")["status"], "damaged");
}

#[test]
fn inspect_shows_the_record_and_the_files() {
    let s = Store::new();
    s.ok([
        "run", "--bg", "--name", "insp", "--label", "my label", "--", "sleep", "300",
    ]);
    let e = s.wait_status("insp", "running");
    let dir = s.dir("insp");

    let v: Value = serde_json::from_str(&s.ok(["inspect", "insp", "--json"])).unwrap();
    assert_eq!(v["name"], "insp");
    assert_eq!(v["status"], "running");
    assert_eq!(v["pid"], e["pid"]);
    assert_eq!(v["supervisor_pid"], e["supervisor_pid"]);
    assert_eq!(v["label"], "my label");
    assert_eq!(v["command"], serde_json::json!(["sleep", "300"]));
    assert!(v["created"].is_string() && v["cwd"].is_string());
    for (k, f) in [
        ("dir", ""),
        ("log", "output.log"),
        ("events", "events.jsonl"),
        ("socket", "sock"),
    ] {
        let want = if f.is_empty() {
            dir.clone()
        } else {
            dir.join(f)
        };
        assert_eq!(v[k].as_str(), Some(want.to_str().unwrap()), "{k}: {v}");
    }
    assert!(dir.join("sock").exists());
    // Written just after `run` returns (the `started` event).
    wait_for("insp's events.jsonl", WAIT, || {
        dir.join("events.jsonl").is_file().then_some(())
    });

    let text = s.ok(["inspect", "insp"]);
    let field = |k: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(k))
            .map(|l| l[k.len()..].trim().to_string())
            .unwrap_or_else(|| panic!("{k} in:\n{text}"))
    };
    assert_eq!(field("name"), "insp");
    assert_eq!(field("status"), "running");
    assert_eq!(field("label"), "my label");
    assert_eq!(field("socket"), dir.join("sock").to_str().unwrap());
    assert_eq!(field("pid"), e["pid"].to_string());

    let out = s.run(["inspect", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no session named nosuch"),
        "{}",
        stderr(&out)
    );
    let out = s.run(["inspect", "nosuch", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");

    s.ok(["stop", "insp"]);
    let v: Value = serde_json::from_str(&s.ok(["inspect", "insp", "--json"])).unwrap();
    assert_eq!(v["status"], "killed");
    assert_eq!(v["signal"], "SIGHUP");
    // By its number, as list shows it.
    assert_eq!(s.ok(["inspect", "0"]), s.ok(["inspect", "insp"]));
    assert!(v["ended"].is_string());
}

#[test]
fn ps_shows_running_sessions_and_their_last_lines() {
    let s = Store::new();
    s.start(
        "p1",
        &["for i in 1 2 3 4 5; do echo p1-line$i; done; echo; echo '   '; exec sleep 300"],
    );
    s.ok([
        "run",
        "--bg",
        "--name",
        "p2",
        "--label",
        "second one",
        "--",
        "sh",
        "-c",
        "printf 'only\\n'; exec sleep 300",
    ]);
    s.start("ended", &["sh", "-c", "echo ended-output"]);
    s.wait_log("p1", "p1-line5");
    s.wait_log("p2", "only");
    s.wait_status("ended", "exited");

    let out = s.ok(["ps"]);
    let blocks: Vec<&str> = out.split("\n\n").collect();
    assert_eq!(blocks.len(), 2, "one block per running session:\n{out}");
    let block = |name: &str| {
        *blocks
            .iter()
            .find(|b| b.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no block for {name}:\n{out}"))
    };
    let b1 = block("p1");
    let mut l1 = b1.lines();
    let head = l1.next().unwrap();
    assert!(head.contains("for i in 1 2 3 4 5"), "the command: {head}");
    let rest: Vec<&str> = l1.map(str::trim).collect();
    assert_eq!(rest, ["p1-line3", "p1-line4", "p1-line5"], "{b1}");

    let b2 = block("p2");
    assert!(b2.lines().next().unwrap().contains("second one"), "{b2}");
    let rest: Vec<&str> = b2.lines().skip(1).map(str::trim).collect();
    assert_eq!(rest, ["only"], "{b2}");

    assert!(
        !out.contains("ended"),
        "an ended session is not shown:\n{out}"
    );

    // `-n` changes how many lines.
    let out = s.ok(["ps", "-n", "1"]);
    assert!(
        out.contains("p1-line5") && !out.contains("p1-line4"),
        "{out}"
    );
}

#[test]
fn which_folder_is_the_store() {
    // Each store's sessions are killed when it drops.
    let flag = Store::new();
    let env = Store::new();
    let home = Store::new();
    let dflt = Store::new();
    let run = |c: &mut Command, name: &str| {
        c.args(["run", "--bg", "--name", name, "--", "sleep", "300"]);
        assert_eq!(ok(c), format!("{name}\n"));
    };

    // --store beats CODEX_SESSION_STORE and CODEX_HOME.
    run(
        bare(flag.tmp.path())
            .arg("--store")
            .arg(&flag.root)
            .env("CODEX_SESSION_STORE", &env.root)
            .env("CODEX_HOME", home.tmp.path()),
        "by-flag",
    );
    assert!(flag.dir("by-flag").join("meta.json").is_file());
    // The flag also works after the verb.
    let out = ok(bare(flag.tmp.path())
        .args(["list", "-q", "--store"])
        .arg(&flag.root));
    assert_eq!(out, "by-flag\n");

    // CODEX_SESSION_STORE beats CODEX_HOME.
    run(
        bare(env.tmp.path())
            .env("CODEX_SESSION_STORE", &env.root)
            .env("CODEX_HOME", home.tmp.path()),
        "by-env",
    );
    assert!(env.dir("by-env").join("meta.json").is_file());
    assert!(!flag.dir("by-env").exists());

    // CODEX_HOME: sessions live in $CODEX_HOME/sessions.
    run(
        bare(dflt.tmp.path()).env("CODEX_HOME", home.tmp.path()),
        "by-home",
    );
    assert!(home.tmp.path().join("sessions/by-home/meta.json").is_file());
    let out = ok(bare(dflt.tmp.path())
        .env("CODEX_HOME", home.tmp.path())
        .args(["list", "-q"]));
    assert_eq!(out, "by-home\n");

    // Neither: ~/.codex/sessions.
    let dot = dflt.tmp.path().join(".codex");
    std::fs::create_dir(&dot).unwrap();
    let home_store = Store {
        tmp: tempfile::tempdir().unwrap(),
        root: dot.join("sessions"),
        env: Vec::new(),
    };
    run(&mut bare(dflt.tmp.path()), "by-default");
    assert!(home_store.dir("by-default").join("meta.json").is_file());
    assert_eq!(home_store.list().len(), 1);

    // A CODEX_HOME that does not exist is an error naming it.
    let missing = dflt.tmp.path().join("no-such-codex-home");
    let out = output_with_timeout(
        bare(dflt.tmp.path())
            .env("CODEX_HOME", &missing)
            .args(["list"]),
        CMD_TIMEOUT,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(missing.to_str().unwrap()),
        "{}",
        stderr(&out)
    );
    assert!(!missing.exists(), "it is not created");
    let out = output_with_timeout(
        bare(dflt.tmp.path())
            .env("CODEX_HOME", &missing)
            .args(["run", "--bg", "--name", "nope", "--", "sleep", "300"]),
        CMD_TIMEOUT,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!missing.exists());
    drop(home_store);
}

/// What a command prints on a terminal `cols` wide: its lines, as the
/// bytes came (escape sequences and all). COLUMNS is unset unless given.
fn on_a_terminal(s: &Store, args: &[&str], cols: u16, columns: Option<&str>) -> Vec<String> {
    let mut c = Command::new("/bin/sh");
    c.arg("-c")
        .arg("\"$@\"; echo END-OF-OUTPUT")
        .arg("sh")
        .arg(BIN)
        .arg("--store")
        .arg(&s.root)
        .args(args);
    clean_env(&mut c, s.tmp.path());
    c.env_remove("COLUMNS");
    if let Some(n) = columns {
        c.env("COLUMNS", n);
    }
    let mut t = crate::support::pty::Term::spawn(c, cols, 50);
    t.wait_raw(b"END-OF-OUTPUT");
    assert!(t.wait().success());
    let raw = String::from_utf8(t.raw()).expect("utf-8");
    raw.split("\r\n")
        .take_while(|l| *l != "END-OF-OUTPUT")
        .map(String::from)
        .collect()
}

/// The columns a line takes (every character here is one column wide).
fn cols(l: &str) -> usize {
    l.chars().count()
}

#[test]
fn escape_sequences_in_a_label_are_shown_escaped_and_long_lines_cut() {
    let s = Store::new();
    let evil = "\x1b]0;PWNED\x07\x1b[2J";
    s.ok([
        "run", "--bg", "--name", "evil", "--label", evil, "--", "sleep", "300",
    ]);
    s.ok([
        "run",
        "--bg",
        "--name",
        "lines",
        "--",
        "sh",
        "-c",
        "printf 'a\\033[2Jb\\007\\n'; exec sleep 300",
    ]);
    let huge = "x".repeat(100 * 1024);
    s.ok([
        "run", "--bg", "--name", "huge", "--label", &huge, "--", "sleep", "300",
    ]);
    s.wait_log("lines", "b");

    // Into a pipe: escaped, never cut.
    let table = s.ok(["list"]);
    assert!(
        !table.contains('\x1b') && !table.contains('\x07'),
        "{table:?}"
    );
    assert!(
        list_row(&table, "evil").ends_with(r"\e]0;PWNED?\e[2J"),
        "{table}"
    );
    assert!(list_row(&table, "huge").ends_with(&huge));
    let ps = s.ok(["ps"]);
    assert!(!ps.contains('\x1b') && !ps.contains('\x07'), "{ps:?}");
    assert!(ps.contains(r"\e]0;PWNED?\e[2J"), "{ps}");
    let inspect = s.ok(["inspect", "evil"]);
    assert!(!inspect.contains('\x1b'), "{inspect:?}");
    assert!(inspect.contains(r"\e]0;PWNED?\e[2J"), "{inspect}");
    // --json keeps the label whole, in JSON's own escapes.
    assert_eq!(s.entry("evil")["label"], evil);
    assert_eq!(s.entry("huge")["label"], huge.as_str());

    // On a terminal 80 columns wide: every line fits, the cut ones end in …
    let lines = on_a_terminal(&s, &["list"], 80, None);
    assert_eq!(lines.len(), 4, "{lines:#?}");
    for l in &lines {
        assert!(cols(l) <= 80, "{} columns: {l}", cols(l));
        assert!(!l.contains('\x1b'), "{l:?}");
    }
    let huge_row = lines.iter().find(|l| l.contains(" huge ")).unwrap();
    assert_eq!(cols(huge_row), 80);
    assert!(huge_row.ends_with("xx…"), "{huge_row}");
    for args in [&["ps"][..], &["inspect", "huge"]] {
        let lines = on_a_terminal(&s, args, 80, None);
        assert!(lines.iter().all(|l| cols(l) <= 80), "{args:?}: {lines:#?}");
        assert!(lines.iter().any(|l| l.ends_with('…')), "{args:?}");
    }
    // COLUMNS wins over the terminal's width; --wide cuts nothing.
    let lines = on_a_terminal(&s, &["list"], 80, Some("40"));
    assert!(lines.iter().all(|l| cols(l) <= 40), "{lines:#?}");
    let lines = on_a_terminal(&s, &["list", "--wide"], 80, None);
    assert!(lines.iter().any(|l| l.ends_with(&huge)));
}

#[test]
fn row_numbers_name_sessions_in_every_verb() {
    let s = Store::new();
    s.start("first", &["sh", "-c", "echo one; exec sleep 300"]);
    s.start("second", &["sh", "-c", "echo two"]);
    s.start("third", &["sh", "-c", "echo three; exec sleep 300"]);
    s.wait_status("second", "exited");
    s.wait_log("third", "three");

    // The proposal's `logs 0`.
    assert_eq!(s.ok(["logs", "0"]), "one\n");
    assert_eq!(s.ok(["logs", "1"]), "two\n");
    assert!(s.ok(["inspect", "2"]).contains("third"));
    let out = s.run(["logs", "7"]);
    let err = fails(&out);
    assert!(err.contains("no session #7 (there are 3: 0-2)"), "{err}");
    assert!(fails(&s.run(["attach", "9"])).contains("no session #9"));
    // Names cannot be numbers, so there is no doubt which is meant.
    let out = s.run(["run", "--bg", "--name", "3", "--", "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    assert!(s.ok(["stop", "2"]).contains("stopped third"));
    // rm looks every number up before removing any: 0 and 1 are the two
    // first even though removing the first renumbers the rest.
    s.ok(["stop", "0"]);
    s.ok(["rm", "0", "1"]);
    assert_eq!(names(&s.list()), ["third"]);
    assert_eq!(s.entry("third")["index"], 0);
}

#[test]
fn the_type_column_says_cmd_shell_or_agent() {
    let s = Env::new(r#"agent_command = ["/bin/sh", "-c", "echo agent: $0; exec sleep 300"]"#);
    s.start("c", &[], &["sleep", "300"]);
    // No command: the user's shell.
    let mut c = s.cmd(["run", "--bg", "--name", "sh"]);
    c.env("SHELL", "/bin/sh");
    ok(&mut c);
    s.ok(["exec", "--name", "ag", "do the thing"]);
    let table = s.ok(["list"]);
    for (name, kind) in [("c", "cmd"), ("sh", "shell"), ("ag", "agent")] {
        let cells: Vec<&str> = list_row(&table, name).split_whitespace().collect();
        assert_eq!(cells[2], kind, "{table}");
        assert_eq!(s.entry(name)["type"], kind);
    }
    assert!(
        list_row(&table, "ag").ends_with("do the thing"),
        "the prompt"
    );
}

#[test]
fn ps_json_and_quiet() {
    let s = Store::new();
    s.start("p", &["sh", "-c", "echo l1; echo l2; exec sleep 300"]);
    s.start("done", &["true"]);
    s.wait_log("p", "l2");
    s.wait_status("done", "exited");
    let v: Vec<Value> = serde_json::from_str(&s.ok(["ps", "--json", "-n", "1"])).unwrap();
    assert_eq!(v.len(), 1, "running sessions only: {v:?}");
    assert_eq!(v[0]["name"], "p");
    assert_eq!(v[0]["index"], 0);
    assert_eq!(v[0]["status"], "running");
    assert_eq!(v[0]["lines"], serde_json::json!(["l2"]));
    assert_eq!(s.ok(["ps", "-q"]), "p\n");
    let out = s.ok(["ps"]);
    assert!(out.starts_with("p  (#0, pid "), "{out}");
}
