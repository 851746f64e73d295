//! The configuration file, `sessions.toml`: where it is found, its errors,
//! `config` and the sources it names, the store it sets, `term` and
//! `detach_key`.

use std::path::Path;
use std::process::Command;

use crate::support::attach::wait_raw_mode;
use crate::support::pty::Term;
use crate::support::*;

#[test]
fn config_errors_name_the_file_the_line_and_the_key() {
    let e = Env::new("");
    let path = e.config_path();
    let p = path.display().to_string();
    let check = |toml: &str, line: usize, needles: &[&str]| {
        e.config(toml);
        for args in [
            &["list"][..],
            &["config"],
            &["run", "--bg", "--name", "x", "--", "true"],
        ] {
            let err = fails(&e.run(args));
            assert!(
                err.contains(&format!("{p}:{line}")),
                "{args:?} names {p}:{line}: {err}"
            );
            for n in needles {
                assert!(err.contains(n), "{args:?}: {n:?} in {err}");
            }
        }
        assert!(!e.dir("x").exists(), "nothing started");
    };
    check(
        "# limits\nterm = \"xterm\"\nmax_session = 3\n",
        3,
        &["`max_session`", "did you mean `max_sessions`"],
    );
    check(
        "\n\nmax_sessions = \"many\"\n",
        3,
        &["`max_sessions`", "\"many\""],
    );
    check("max_sessions = 0\n", 1, &["`max_sessions`"]);
    check("term = \"x\"\nretain_exited = 7\n", 2, &["`retain_exited`"]);
    check("ttl = \"soon\"\n", 1, &["`ttl`"]);
    // 0 would stop every session at once, as the flags say too.
    check("\nttl = \"0s\"\n", 2, &["`ttl`", "longer than 0"]);
    check(
        "idle_timeout = \"0s\"\n",
        1,
        &["`idle_timeout`", "longer than 0"],
    );
    check("term = \"x\"\nthis is not toml\n", 2, &["malformed"]);
    check("[logs\nkeep = 2\n", 1, &["malformed"]);
    check(
        "[logs]\nmax_size = \"1MiB\"\nkeep = -1\n",
        3,
        &["`logs.keep`"],
    );
    check(
        "[logs]\nmax_sise = \"1MiB\"\n",
        2,
        &["`logs.max_sise`", "did you mean `logs.max_size`"],
    );
    check("[logs]\nmax_size = \"lots\"\n", 2, &["`logs.max_size`"]);
    check("detach_key = 5\n", 1, &["`detach_key`"]);

    // A named file must exist.
    e.config("");
    let missing = e.tmp.path().join("no-such.toml");
    let err = fails(&e.run(["--config", missing.to_str().unwrap(), "list"]));
    assert!(err.contains(missing.to_str().unwrap()), "{err}");
    let err = fails(&output_with_timeout(
        e.cmd(["list"]).env("CODEX_SESSION_CONFIG", &missing),
        CMD_TIMEOUT,
    ));
    assert!(err.contains(missing.to_str().unwrap()), "{err}");
}

/// The `config` line for a key: `key = value   # source: doc`.
fn config_line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no line for {key}:\n{out}"))
}

#[test]
fn which_config_file_is_read() {
    let e = Env::new("max_sessions = 11\n");
    let p = e.config_path().display().to_string();
    // $CODEX_HOME/sessions.toml by default.
    let out = e.ok(["config"]);
    assert!(out.starts_with(&format!("# {p}\n")), "{out}");
    let l = config_line(&out, "max_sessions");
    assert!(
        l.starts_with("max_sessions = 11 ") && l.contains(&format!("# {p}:1")),
        "{l}"
    );

    // CODEX_SESSION_CONFIG beats it, --config beats both.
    let env_file = e.tmp.path().join("env.toml");
    std::fs::write(&env_file, "\nmax_sessions = 12\n").unwrap();
    let flag_file = e.tmp.path().join("flag.toml");
    std::fs::write(&flag_file, "\n\nmax_sessions = 13\n").unwrap();
    let out = output_with_timeout(
        e.cmd(["config"]).env("CODEX_SESSION_CONFIG", &env_file),
        CMD_TIMEOUT,
    );
    let out = stdout(&out);
    let l = config_line(&out, "max_sessions");
    assert!(
        l.starts_with("max_sessions = 12 ") && l.contains(&format!("# {}:2", env_file.display())),
        "{l}"
    );
    let out = output_with_timeout(
        e.cmd(["config", "--config", flag_file.to_str().unwrap()])
            .env("CODEX_SESSION_CONFIG", &env_file),
        CMD_TIMEOUT,
    );
    let out = stdout(&out);
    let l = config_line(&out, "max_sessions");
    assert!(
        l.starts_with("max_sessions = 13 ") && l.contains(&format!("# {}:3", flag_file.display())),
        "{l}"
    );
    // And it is what `run` obeys.
    std::fs::write(&flag_file, "max_sessions = 1\n").unwrap();
    let flag = ["--config", flag_file.to_str().unwrap()];
    e.ok([
        &flag[..],
        &["run", "--bg", "--name", "one", "--", "sleep", "100"],
    ]
    .concat());
    let err = fails(
        &e.run(
            [
                &flag[..],
                &["run", "--bg", "--name", "two", "--", "sleep", "100"],
            ]
            .concat(),
        ),
    );
    assert!(err.contains("max_sessions is 1"), "{err}");
    e.start("two", &[], &["sleep", "100"]);

    // No file at all: every default, and everything works.
    std::fs::remove_file(e.config_path()).unwrap();
    let out = e.ok(["config"]);
    assert!(out.starts_with(&format!("# {p} (not found")), "{out}");
    for (key, value) in [
        ("max_sessions", "64"),
        ("detach_key", "\"^\\\\\""),
        ("term", "\"xterm-256color\""),
        ("retain_exited", "\"7days\""),
        ("idle_timeout", "\"off\""),
        ("ttl", "\"off\""),
        ("max_size", "\"64MiB\""),
        ("keep", "3"),
    ] {
        let l = config_line(&out, key);
        assert!(l.starts_with(&format!("{key} = {value} ")), "{key}: {l}");
        assert!(l.contains("# default"), "{key}: {l}");
    }
    e.start("three", &[], &["true"]);
    e.wait_ended("three", WAIT);
}

#[test]
fn config_shows_each_value_and_where_it_came_from() {
    let e = Env::new(
        "# my settings\nmax_sessions = 7\nterm = \"screen\"\n\n[logs]\nkeep = 5\nmax_size = \"2MiB\"\n",
    );
    let p = e.config_path().display().to_string();
    let out = e.ok(["config"]);
    let from_file = [
        ("max_sessions", "7", 2),
        ("term", "\"screen\"", 3),
        ("keep", "5", 6),
        ("max_size", "\"2MiB\"", 7),
    ];
    for (key, value, line) in from_file {
        let l = config_line(&out, key);
        assert!(l.starts_with(&format!("{key} = {value} ")), "{l}");
        assert!(
            l.contains(&format!("# {p}:{line}")),
            "{key} from {p}:{line}: {l}"
        );
    }
    for key in ["detach_key", "retain_exited", "idle_timeout", "ttl"] {
        assert!(
            config_line(&out, key).contains("# default"),
            "{key}:\n{out}"
        );
    }
    assert!(out.contains("\n[logs]\n"), "{out}");
    let logs_at = out.find("\n[logs]\n").unwrap();
    assert!(
        out.find("\nkeep = ").unwrap() > logs_at,
        "keep is under [logs]"
    );
    // The store line names the folder in use (here --store).
    let l = config_line(&out, "store");
    assert!(
        l.contains(&format!("{:?}", e.root.display().to_string())),
        "{l}"
    );
}

/// The binary with a private CODEX_HOME and no --store.
fn bare(home: &Path, codex_home: &Path) -> Command {
    let mut c = crate::support::bare(home);
    c.env("CODEX_HOME", codex_home);
    c
}

#[test]
fn the_store_from_the_file_and_what_overrides_it() {
    let base = Store::new();
    let codex_home = base.tmp.path().join("codex-home");
    std::fs::create_dir(&codex_home).unwrap();
    // Each store's sessions are killed when it drops.
    let in_file = Store::new();
    let by_flag = Store::new();
    let by_env = Store::new();
    let cfg = codex_home.join("sessions.toml");
    std::fs::write(
        &cfg,
        format!("\nstore = {:?}\n", in_file.root.display().to_string()),
    )
    .unwrap();
    let ok = run_ok;
    let home = base.tmp.path();
    let run = |name: &str| ["run", "--bg", "--name", name, "--", "sleep", "100"].map(String::from);

    ok(bare(home, &codex_home).args(run("from-file")));
    assert!(in_file.dir("from-file").join("meta.json").is_file());
    assert!(
        !codex_home.join("sessions").exists(),
        "not the default store"
    );
    assert_eq!(in_file.list().len(), 1);
    let out = ok(bare(home, &codex_home).arg("config"));
    let l = config_line(&out, "store");
    assert!(
        l.contains(&format!("{:?}", in_file.root.display().to_string())),
        "{l}"
    );
    assert!(l.contains(&format!("# {}:2", cfg.display())), "{l}");
    assert_eq!(
        ok(bare(home, &codex_home).args(["list", "-q"])),
        "from-file\n"
    );

    // --store beats the file.
    ok(bare(home, &codex_home)
        .arg("--store")
        .arg(&by_flag.root)
        .args(run("from-flag")));
    assert!(by_flag.dir("from-flag").join("meta.json").is_file());
    assert!(!in_file.dir("from-flag").exists());
    let out = ok(bare(home, &codex_home)
        .arg("--store")
        .arg(&by_flag.root)
        .arg("config"));
    let l = config_line(&out, "store");
    assert!(
        l.contains(&format!("{:?}", by_flag.root.display().to_string())),
        "{l}"
    );
    assert!(l.contains("# --store"), "the flag is the source: {l}");

    // CODEX_SESSION_STORE beats the file.
    ok(bare(home, &codex_home)
        .env("CODEX_SESSION_STORE", &by_env.root)
        .args(run("from-env")));
    assert!(by_env.dir("from-env").join("meta.json").is_file());
    assert!(!in_file.dir("from-env").exists());
    let out = ok(bare(home, &codex_home)
        .env("CODEX_SESSION_STORE", &by_env.root)
        .arg("config"));
    let l = config_line(&out, "store");
    assert!(
        l.contains(&format!("{:?}", by_env.root.display().to_string())),
        "{l}"
    );
    assert!(l.contains("# $CODEX_SESSION_STORE"), "{l}");
    assert_eq!(
        in_file.list().len(),
        1,
        "nothing else went to the file's store"
    );
}

#[test]
fn term_from_the_config() {
    let e = Env::new("term = \"screen\"\n");
    e.start("t", &[], &["sh", "-c", "echo T=$TERM."]);
    e.wait_ended("t", WAIT);
    assert_eq!(e.ok(["logs", "t"]), "T=screen.\n");
    e.start(
        "u",
        &["--env", "TERM=vt100"],
        &["sh", "-c", "echo T=$TERM."],
    );
    e.wait_ended("u", WAIT);
    assert_eq!(e.ok(["logs", "u"]), "T=vt100.\n", "--env TERM wins");
    e.config("");
    e.start("v", &[], &["sh", "-c", "echo T=$TERM."]);
    e.wait_ended("v", WAIT);
    assert_eq!(e.ok(["logs", "v"]), "T=xterm-256color.\n");
}

#[test]
fn detach_key_from_the_config() {
    let e = Env::new("detach_key = \"^Q\"\n");
    e.start("d", &[], &["sh", "-c", "echo READY; exec sleep 100"]);
    e.wait_log("d", "READY");
    let mut t = Term::spawn(e.cmd(["attach", "d"]), 80, 24);
    t.wait_screen("the repaint", |sc| sc.contains("READY"));
    wait_raw_mode(&mut t);
    t.write(b"\x11");
    let st = t.wait();
    assert_eq!(st.code(), Some(0), "{}", t.screen());
    t.wait_screen("the detach notice", |sc| sc.contains("[detached from d]"));
    assert_eq!(e.entry("d")["status"], "running");
}
