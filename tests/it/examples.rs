//! Every example a person can copy is run: the `codex-session` lines of
//! the README's code blocks (and its first `cargo run -- ...` lines) and
//! the "Examples:" of every `--help`, each through `sh -c` against a
//! private store in which the sessions it names exist (running, or ended
//! when it follows one to its end, waits for its exit or removes it).
//! Programs it names that are not here (pnpm, npm, make, codex) are small
//! scripts first on PATH.
//!
//! Not run, the one exception: what takes over the terminal until a
//! person detaches (`attach`, and `run` without `--bg`), which no test can
//! type into here; attach itself is tested through a real PTY in attach.rs.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::support::*;

/// A session an example may name, and the program it runs: while running,
/// and when the example wants it ended.
struct Fixture {
    name: &'static str,
    running: &'static [&'static str],
    ended: &'static [&'static str],
}

const LISTENING: &str = "echo 'listening on http://localhost:3000'; exec sleep 300";

const FIXTURES: &[Fixture] = &[
    Fixture {
        name: "api",
        running: &["sh", "-c", LISTENING],
        ended: &["sh", "-c", "echo 'listening on http://localhost:3000'"],
    },
    Fixture {
        name: "build",
        running: &["sh", "-c", "echo building; exec sleep 300"],
        ended: &["sh", "-c", "echo built"],
    },
    Fixture {
        name: "repl",
        running: &[PYTHON, "-q", "-i"],
        ended: &[PYTHON, "-c", "print('bye')"],
    },
    Fixture {
        name: "db",
        running: &["cat"],
        ended: &["true"],
    },
    Fixture {
        name: "sh",
        running: &["sh", "-c", MARKING_SHELL],
        ended: &["true"],
    },
    Fixture {
        name: "agent",
        running: &[
            "sh",
            "-c",
            "printf '\\033]9;approval requested\\007'; exec sleep 300",
        ],
        ended: &["true"],
    },
    Fixture {
        name: "hello",
        running: &["sh", "-c", "echo hi; exec sleep 600"],
        ended: &["sh", "-c", "echo hi"],
    },
];

/// A shell that marks its prompts and commands (OSC 133), as bash with
/// `run`'s integration does.
const MARKING_SHELL: &str = r#"make() { echo "make $*: nothing to be done"; }
printf '\033]133;A\007$ '
while IFS= read -r l; do
    printf '\033]133;C\007'; eval "$l"; s=$?
    printf '\033]133;D;%s\007\033]133;A\007$ ' "$s"
done"#;

/// Stand-ins for the programs the examples run.
const PROGRAMS: &[(&str, &str)] = &[
    ("pnpm", LISTENING),
    ("npm", LISTENING),
    ("make", "echo \"make $*: nothing to be done\""),
];

/// The README's example lines, `cargo run --release --` read as the
/// installed `codex-session`.
fn readme_examples() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in readme.lines() {
        if let Some(lang) = line.strip_prefix("```") {
            in_sh = !in_sh && lang == "sh";
            continue;
        }
        let line = line.replace("cargo run --release -- ", "codex-session ");
        if in_sh && line.starts_with("codex-session ") {
            out.push(line);
        }
    }
    assert!(out.len() > 20, "{out:#?}");
    out
}

/// The lines under "Examples:" in `--help` of the binary and every verb
/// its help lists.
fn help_examples() -> Vec<String> {
    let help = |args: &[&str]| run_ok(Command::new(BIN).args(args).arg("--help"));
    let top = help(&[]);
    let verbs: Vec<String> = top
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands: section")
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|v| *v != "help")
        .map(String::from)
        .collect();
    assert!(verbs.len() > 15, "{verbs:?}");
    let mut out = Vec::new();
    for text in std::iter::once(top.clone()).chain(verbs.iter().map(|v| help(&[v]))) {
        if let Some(ex) = text.split("Examples:\n").nth(1) {
            out.extend(
                ex.lines()
                    .take_while(|l| l.starts_with("  "))
                    .map(|l| l.trim().to_string())
                    .filter(|l| l.contains("codex-session ")),
            );
        }
    }
    assert!(out.len() > 20, "{out:#?}");
    out
}

/// The verbs an example line runs, each with its words.
fn invocations(line: &str) -> Vec<Vec<&str>> {
    line.split("codex-session ")
        .skip(1)
        .map(|rest| {
            rest.split(['|', '&', ';', '#'])
                .next()
                .unwrap_or("")
                .split_whitespace()
                .skip_while(|w| w.starts_with('-'))
                .collect()
        })
        .collect()
}

/// Why an example cannot run here, if it cannot.
fn not_headless(line: &str) -> Option<&'static str> {
    for words in invocations(line) {
        let bg = words.iter().any(|w| ["--bg", "-d", "--detach"].contains(w));
        match words.first() {
            Some(&"attach") => return Some("attach takes over the terminal"),
            Some(&"run") if !bg => return Some("run without --bg attaches"),
            _ => {}
        }
    }
    None
}

/// Whether the example wants the sessions it names to have ended: it
/// follows them to their end, waits for their exit, or removes them.
fn wants_ended(line: &str) -> bool {
    invocations(line).iter().any(|w| {
        let has = |f: &str| w.contains(&f);
        match w.first() {
            Some(&"logs") | Some(&"events") => has("-f") || has("--follow"),
            Some(&"follow") => true,
            Some(&"wait") => has("--exit"),
            Some(&"rm") | Some(&"delete") => !has("-f") && !has("--force"),
            _ => false,
        }
    })
}

/// The session names an example creates (`--name X`).
fn created(line: &str) -> BTreeSet<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[0] == "--name")
        .map(|w| w[1].to_string())
        .collect()
}

fn words(line: &str) -> BTreeSet<&str> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .collect()
}

/// Run one example in a store of its own; its output, or why it failed.
fn run_example(line: &str) -> Result<(), String> {
    let s = Store::new();
    let home = s.tmp.path().to_path_buf();
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("codex-session")).unwrap();
    for (name, body) in PROGRAMS {
        let p = bin.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!("{}:/usr/bin:/bin", bin.display());
    // The agent `exec` runs; the folders and scripts examples name.
    std::fs::create_dir_all(home.join(".codex")).unwrap();
    std::fs::write(
        home.join(".codex/sessions.toml"),
        "agent_command = [\"/bin/sh\", \"-c\", \"echo \\\"agent working on: $0\\\"\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(home.join("src/app")).unwrap();
    let work = home.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let job = work.join("job.sh");
    std::fs::write(&job, "#!/bin/sh\necho nightly job\nexec sleep 300\n").unwrap();
    std::fs::set_permissions(&job, std::fs::Permissions::from_mode(0o755)).unwrap();

    let made = created(line);
    let named = words(line);
    let ended = wants_ended(line);
    for f in FIXTURES {
        let wanted = named.contains(f.name) || f.name == "api";
        if !wanted || made.contains(f.name) {
            continue;
        }
        let mut args = vec!["run", "--bg", "--name", f.name, "--"];
        args.extend_from_slice(if ended { f.ended } else { f.running });
        let out = s.run(&args);
        if !out.status.success() {
            return Err(format!("starting {}: {}", f.name, stderr(&out)));
        }
        if ended {
            wait_for(&format!("{} to end", f.name), WAIT, || {
                (s.entry(f.name)["ended"].is_string()).then_some(())
            });
        } else if f.name == "repl" {
            s.wait_log("repl", ">>> ");
        } else if f.name == "sh" {
            wait_for("the shell's first prompt", WAIT, || {
                s.meta("sh")["last_prompt"].is_string().then_some(())
            });
        } else if f.name == "agent" {
            wait_for("the agent to need attention", WAIT, || {
                s.meta("agent")["attention"].is_object().then_some(())
            });
        }
    }

    let mut c = Command::new("/bin/sh");
    c.arg("-c").arg(line).current_dir(&work);
    clean_env(&mut c, &home);
    c.env("PATH", &path)
        .env("CODEX_SESSION_STORE", &s.root)
        .env_remove("COLUMNS");
    let out = output_with_timeout(&mut c, CMD_TIMEOUT);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "exit {:?}\nstdout: {}\nstderr: {}",
            out.status.code(),
            stdout(&out),
            stderr(&out)
        ))
    }
}

#[test]
fn every_example_in_the_readme_and_the_help_runs() {
    let mut lines: Vec<String> = readme_examples();
    lines.extend(help_examples());
    let mut seen = BTreeSet::new();
    lines.retain(|l| seen.insert(l.clone()));

    let (skipped, runnable): (Vec<&String>, Vec<&String>) =
        lines.iter().partition(|l| not_headless(l).is_some());
    // The exceptions stay few, and are what they say they are.
    assert!(skipped.len() <= 8, "{skipped:#?}");
    for l in &skipped {
        eprintln!("not run ({}): {l}", not_headless(l).unwrap());
    }

    // A few at a time: several examples wait for a quiet second or two.
    let failures: Vec<String> = std::thread::scope(|sc| {
        let chunks: Vec<Vec<&String>> = (0..3)
            .map(|k| runnable.iter().skip(k).step_by(3).copied().collect())
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                sc.spawn(move || {
                    chunk
                        .into_iter()
                        .filter_map(|l| run_example(l).err().map(|e| format!("{l}\n  {e}")))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} examples failed:\n\n{}",
        failures.len(),
        runnable.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_rules_that_pick_each_examples_sessions() {
    assert!(wants_ended("codex-session logs -f -n 20 api"));
    assert!(wants_ended("codex-session rm api"));
    assert!(!wants_ended("codex-session rm --force api"));
    assert!(wants_ended(
        "codex-session exec --name d 'x' && codex-session wait d --exit"
    ));
    assert!(!wants_ended("codex-session logs api"));
    assert_eq!(
        not_headless("codex-session run htop"),
        Some("run without --bg attaches")
    );
    assert_eq!(not_headless("codex-session run -d --name x sleep 5"), None);
    assert_eq!(not_headless("codex-session -q run --bg make"), None);
    assert!(not_headless("codex-session attach --read-only api").is_some());
    assert_eq!(
        created("codex-session run --bg --name api pnpm dev"),
        BTreeSet::from(["api".to_string()])
    );
}
