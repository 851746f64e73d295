//! Tests that cannot run here say so where a person looks.
//!
//! A test that needs a program calls [`require`] first; one that needs
//! something of the machine (root, a tmpfs mount) calls [`skip`] when it is
//! not there. Either way the test returns early and passes, and the skip is
//! written to stderr and appended to the file named by
//! `CODEX_SESSION_SKIP_LOG` (`cargo xtask test` sets it, and lists every
//! skip with its reason after the runner's own summary).
//!
//! Under `CI=true` a missing program is an error instead: CI installs every
//! test-time program, so a skip there would mean the install step broke. A
//! missing machine feature stays a skip there too.

use std::io::Write;

/// The variable naming the file each skip is appended to.
pub const SKIP_LOG: &str = "CODEX_SESSION_SKIP_LOG";

/// Whether `prog` is installed; if not, the test is skipped (or, under
/// `CI=true`, fails). Use as `if !require("vim") { return; }`.
#[track_caller]
pub fn require(prog: &str) -> bool {
    if installed(prog) {
        return true;
    }
    missing(prog, &format!("{prog} is not installed"));
    false
}

/// `prog` (a program, named as a package manager would) is missing, as
/// `why` says: a skip, or under `CI=true` a failure naming it.
#[track_caller]
pub fn missing(prog: &str, why: &str) {
    if in_ci() {
        panic!(
            "{why}: under CI=true a missing test-time program is an error, not a skip \
             (CI installs {prog}; see .ci/run)"
        );
    }
    skip(why);
}

/// Skip the rest of the test because of `reason`, something about the
/// machine rather than a missing program (the caller returns).
pub fn skip(reason: &str) {
    let test = test_name();
    eprintln!("skipped: {test}: {reason}");
    let Some(path) = std::env::var_os(SKIP_LOG).filter(|p| !p.is_empty()) else {
        return;
    };
    // One short append per skip: whole lines even from parallel tests.
    let line = format!("{test}\t{reason}\n");
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        panic!(
            "recording the skip in {}: {e}",
            std::path::Path::new(&path).display()
        );
    }
}

/// Whether the tests run under CI (`CI` set to anything but empty, `0` or
/// `false`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"))
}

/// The running test's name: the test harness names each test's thread
/// after it (`attach::attach_restores_vim`).
fn test_name() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_owned(),
        _ => std::env::args()
            .skip(1)
            .find(|a| !a.starts_with('-'))
            .unwrap_or_else(|| "(unknown test)".to_owned()),
    }
}

/// Whether `prog` is an executable on PATH.
pub fn installed(prog: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|d| {
        let p = d.join(prog);
        std::fs::metadata(&p).is_ok_and(|m| {
            use std::os::unix::fs::PermissionsExt;
            m.is_file() && m.permissions().mode() & 0o111 != 0
        })
    })
}

/// Whether the tests run as root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}
