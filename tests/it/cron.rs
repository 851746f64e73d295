//! `run --if-absent` and `--replace` from cron's environment, and racing
//! `--if-absent` runs.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::*;

/// The binary as cron runs it: an empty environment but for PATH and HOME,
/// stdin /dev/null, no controlling terminal.
fn cron(home: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home);
    // Safety: setsid is async-signal-safe.
    unsafe {
        c.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    output_with_timeout(&mut c, CMD_TIMEOUT)
}

#[test]
fn cron_if_absent_and_replace() {
    let tmp = tempfile::Builder::new()
        .prefix("cs-test-")
        .tempdir()
        .unwrap();
    let home = tmp.path().to_path_buf();
    // The default store, ~/.codex/sessions: killed on drop like any other.
    let s = Store {
        root: home.join(".codex/sessions"),
        tmp,
        env: Vec::new(),
    };
    let job = [
        "run",
        "--bg",
        "--if-absent",
        "--name",
        "job",
        "--",
        "sleep",
        "100",
    ];

    let out = cron(&home, &job);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "job\n");
    let first = s.wait_status("job", "running");
    let pid = first["pid"].as_i64().unwrap() as i32;
    let sup = first["supervisor_pid"].as_i64().unwrap() as i32;
    assert!(alive(pid) && alive(sup), "it outlives the CLI");

    // Every later tick: nothing printed at all, so cron mails nothing.
    let out = cron(&home, &job);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "nothing started");
    assert_eq!(stderr(&out), "", "silent");
    // -v says why nothing happened.
    let verbose: Vec<&str> = std::iter::once("-v").chain(job).collect();
    let out = cron(&home, &verbose);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("job is already running"),
        "a note with -v: {}",
        stderr(&out)
    );
    assert_eq!(s.list().len(), 1);
    assert_eq!(s.entry("job")["pid"], pid, "the same session");

    let replace = [
        "run",
        "--bg",
        "--replace",
        "--name",
        "job",
        "--",
        "sleep",
        "100",
    ];
    let out = cron(&home, &replace);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "job\n");
    let second = s.wait_status("job", "running");
    let pid2 = second["pid"].as_i64().unwrap() as i32;
    assert_ne!(pid2, pid, "a new program");
    assert_ne!(second["id"], first["id"], "a new session");
    assert!(alive(pid2));
    wait_for("the old program to be gone", WAIT, || {
        (!alive(pid)).then_some(())
    });
    assert_eq!(s.list().len(), 1);

    // An ended session of that name does not count as present.
    s.ok(["stop", "job"]);
    let out = cron(&home, &job);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "job\n");
    let third = s.wait_status("job", "running");
    assert_ne!(third["id"], second["id"]);

    // --replace also works when nothing is there.
    let fresh = [
        "run",
        "--bg",
        "--replace",
        "--name",
        "job2",
        "--",
        "sleep",
        "100",
    ];
    let out = cron(&home, &fresh);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "job2\n");
    s.wait_status("job2", "running");
}

/// Two cron jobs (or a slow start and the next minute's run) racing with
/// `--if-absent`: one starts the session, the others see it and exit 0.
#[test]
fn racing_if_absent_runs_start_one_session_and_all_exit_0() {
    let s = Store::new();
    // First with nothing there, then with an ended session of that name.
    for round in 0..2 {
        let outs: Vec<Output> = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..6)
                .map(|_| {
                    sc.spawn(|| {
                        s.run([
                            "run",
                            "--bg",
                            "--if-absent",
                            "--name",
                            "job",
                            "--",
                            "sleep",
                            "100",
                        ])
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for o in &outs {
            assert_eq!(o.status.code(), Some(0), "round {round}: {}", stderr(o));
        }
        let started = outs.iter().filter(|o| stdout(o) == "job\n").count();
        assert_eq!(started, 1, "round {round}: one started");
        assert_eq!(s.list().len(), 1);
        s.wait_status("job", "running");
        s.ok(["stop", "job"]);
    }
}
