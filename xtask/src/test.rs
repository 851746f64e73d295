//! `cargo xtask test`: the whole test suite, with nothing but a Rust
//! toolchain, and a list of what did not run.
//!
//! - The runner: `cargo nextest run --workspace` when cargo-nextest is
//!   installed (faster; `--profile ci` under CI), else `cargo test
//!   --workspace`. Its own output and closing summary are passed through
//!   untouched, and so is its exit status.
//! - Skips: the tests that cannot run here (a program such as vim is not
//!   installed, not root) append `test<TAB>reason` to the file named by
//!   `CODEX_SESSION_SKIP_LOG` (see `tests/it/support/skip.rs`); this emptied
//!   that file before the run and lists its lines after it. Under `CI=true`
//!   the tests fail instead of skipping for a missing program.
//! - `--install`: first install what is missing, where this user may: the
//!   test-time programs through the system's package manager (as root, or
//!   with password-less sudo) and cargo-nextest with `cargo install` (a
//!   build from source, minutes on two cores).

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// The variable naming the file tests append their skips to.
const SKIP_LOG: &str = "CODEX_SESSION_SKIP_LOG";

/// The fixtures' interpreter; every run needs it (the tests run it by this
/// path: a python3 earlier on PATH may be a per-user shim).
const PYTHON: &str = "/usr/bin/python3";

/// The programs the tests drive, and the tests skip without (each a command
/// on PATH, and its package for apt-get / dnf / apk / pacman).
const OPTIONAL: [Program; 7] = [
    Program {
        cmd: "vim",
        packages: ["vim", "vim-enhanced", "vim", "vim"],
    },
    Program {
        cmd: "less",
        packages: ["less", "less", "less", "less"],
    },
    Program {
        cmd: "sqlite3",
        packages: ["sqlite3", "sqlite", "sqlite", "sqlite"],
    },
    Program {
        cmd: "tmux",
        packages: ["tmux", "tmux", "tmux", "tmux"],
    },
    Program {
        cmd: "vttest",
        packages: ["vttest", "vttest", "vttest", "vttest"],
    },
    Program {
        cmd: "zsh",
        packages: ["zsh", "zsh", "zsh", "zsh"],
    },
    Program {
        cmd: "fish",
        packages: ["fish", "fish", "fish", "fish"],
    },
];

const PYTHON_PACKAGES: [&str; 4] = ["python3", "python3", "python3", "python"];

struct Program {
    cmd: &'static str,
    /// For each of [`MANAGERS`], in order.
    packages: [&'static str; 4],
}

/// Package managers this knows, and how each installs without questions.
const MANAGERS: [(&str, &[&str]); 4] = [
    (
        "apt-get",
        &["install", "-y", "-q", "--no-install-recommends"],
    ),
    ("dnf", &["install", "-y", "-q"]),
    ("apk", &["add", "--no-cache"]),
    ("pacman", &["-S", "--noconfirm", "--needed"]),
];

struct Opts {
    install: bool,
    filters: Vec<String>,
    runner_args: Vec<String>,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut opts = Opts {
        install: false,
        filters: Vec::new(),
        runner_args: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--install" => opts.install = true,
            "--" => {
                opts.runner_args = args.cloned().collect();
                break;
            }
            other if other.starts_with('-') => {
                return Err(format!(
                    "test: unexpected option `{other}` (the runner's options go after `--`)\n\n{}",
                    super::USAGE
                ));
            }
            filter => opts.filters.push(filter.to_owned()),
        }
    }
    Ok(opts)
}

pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let opts = parse(args)?;
    let ci = in_ci();
    let root = super::repo_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    if opts.install {
        install_programs()?;
    }
    if !Path::new(PYTHON).is_file() {
        return Err(format!(
            "test: the tests need {PYTHON}, which is missing: install python3 \
             (`cargo xtask test --install` does, as root or with sudo)"
        ));
    }
    let missing: Vec<&str> = OPTIONAL
        .iter()
        .map(|p| p.cmd)
        .filter(|c| !on_path(c))
        .collect();
    if !missing.is_empty() {
        let them = if missing.len() == 1 { "it" } else { "them" };
        let what = if ci {
            format!("under CI=true the tests that need {them} fail")
        } else {
            format!("the tests that need {them} are skipped")
        };
        eprintln!("xtask: not installed: {} ({what})", missing.join(", "));
    }

    let mut nextest = has_nextest(&cargo);
    if !nextest && opts.install {
        eprintln!("xtask: installing cargo-nextest (cargo install --locked cargo-nextest)");
        let st = Command::new(&cargo)
            .args(["install", "--locked", "cargo-nextest"])
            .status()
            .map_err(|e| format!("test: running cargo install: {e}"))?;
        if !st.success() {
            return Err(format!("test: cargo install cargo-nextest failed ({st})"));
        }
        nextest = has_nextest(&cargo);
    }

    let mut cmd = Command::new(&cargo);
    cmd.current_dir(&root);
    if nextest {
        cmd.args(["nextest", "run", "--workspace"]);
        if ci {
            cmd.args(["--profile", "ci"]);
        }
        cmd.args(&opts.runner_args).args(&opts.filters);
    } else {
        eprintln!(
            "xtask: cargo-nextest is not installed, so `cargo test` runs the tests \
             (cargo-nextest is faster: cargo install --locked cargo-nextest)"
        );
        cmd.args(["test", "--workspace"]).args(&opts.runner_args);
        if !opts.filters.is_empty() {
            if !opts.runner_args.iter().any(|a| a == "--") {
                cmd.arg("--");
            }
            cmd.args(&opts.filters);
        }
    }

    let log = skip_log(&root);
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    std::fs::write(&log, "").map_err(|e| format!("emptying {}: {e}", log.display()))?;
    cmd.env(SKIP_LOG, &log);

    eprintln!("xtask: {}", shown(&cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("test: running {}: {e}", shown(&cmd)))?;

    report_skips(&log)?;
    if ci && !missing.is_empty() {
        eprintln!(
            "xtask: not installed under CI=true: {}; the tests that need {} failed \
             (the install step should have installed {})",
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" },
            if missing.len() == 1 { "it" } else { "them" },
        );
    }
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => {
            eprintln!("xtask: the test runner was killed ({status})");
            ExitCode::FAILURE
        }
    })
}

/// Print every skip the tests recorded, once each, sorted by test.
fn report_skips(log: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(log)
        .map_err(|e| format!("reading the skipped tests from {}: {e}", log.display()))?;
    let skips: BTreeSet<(&str, &str)> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split_once('\t').unwrap_or((l, "no reason given")))
        .collect();
    if skips.is_empty() {
        eprintln!("xtask: every selected test ran (none skipped itself)");
        return Ok(());
    }
    let n = skips.len();
    eprintln!(
        "xtask: {n} test{} not run here (skipped, counted as passed above):",
        if n == 1 { " was" } else { "s were" }
    );
    for (test, reason) in &skips {
        eprintln!("  {test}: {reason}");
    }
    if skips.iter().any(|(_, r)| r.contains("not installed")) {
        eprintln!(
            "xtask: install the programs named to run them (`cargo xtask test --install` does, \
             as root or with sudo)"
        );
    }
    Ok(())
}

/// `target/test-skips.log` (in CARGO_TARGET_DIR if set).
fn skip_log(root: &Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let target = if target.is_relative() {
        root.join(target)
    } else {
        target
    };
    target.join("test-skips.log")
}

/// Whether `cargo nextest` works.
fn has_nextest(cargo: &OsString) -> bool {
    Command::new(cargo)
        .args(["nextest", "--version"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The same test as the tests' own: `CI` set to anything but empty, `0`
/// or `false`.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"))
}

/// Whether `cmd` is an executable file on PATH.
fn on_path(cmd: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|d| {
        std::fs::metadata(d.join(cmd))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// A command line for messages: `cargo nextest run --workspace`.
fn shown(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or(cmd.get_program())
        .to_string_lossy()
        .into_owned();
    std::iter::once(program)
        .chain(cmd.get_args().map(|a| {
            let a = a.to_string_lossy();
            if a.is_empty()
                || a.contains(|c: char| c.is_whitespace() || "'\"$()|&;<>*?".contains(c))
            {
                format!("'{}'", a.replace('\'', r"'\''"))
            } else {
                a.into_owned()
            }
        }))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Install the missing test-time programs with the system's package
/// manager, if this user may. Not being allowed to, or knowing no package
/// manager, is reported and is not an error: the tests then skip.
fn install_programs() -> Result<(), String> {
    let Some(m) = MANAGERS.iter().position(|(name, _)| on_path(name)) else {
        eprintln!(
            "xtask: no package manager known here (apt-get, dnf, apk, pacman): \
             install python3, vim, less, sqlite3, tmux, vttest, zsh and fish yourself"
        );
        return Ok(());
    };
    let mut want: Vec<&str> = Vec::new();
    if !Path::new(PYTHON).is_file() {
        want.push(PYTHON_PACKAGES[m]);
    }
    for p in &OPTIONAL {
        if !on_path(p.cmd) {
            want.push(p.packages[m]);
        }
    }
    if want.is_empty() {
        return Ok(());
    }
    let (manager, install_args) = MANAGERS[m];
    let sudo: &[&str] = if is_root() {
        &[]
    } else if on_path("sudo")
        && Command::new("sudo")
            .args(["-n", "true"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    {
        &["sudo", "-n"]
    } else {
        eprintln!(
            "xtask: cannot install {} (not root, and no password-less sudo): \
             install them with {manager} yourself",
            want.join(" ")
        );
        return Ok(());
    };
    let command = |args: &[&str]| {
        let mut argv: Vec<&str> = sudo.to_vec();
        argv.push(manager);
        argv.extend_from_slice(args);
        let mut c = Command::new(argv[0]);
        c.args(&argv[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    if manager == "apt-get" {
        let mut update = command(&["update", "-q"]);
        eprintln!("xtask: {}", shown(&update));
        let st = update
            .status()
            .map_err(|e| format!("test: running apt-get: {e}"))?;
        if !st.success() {
            eprintln!("xtask: apt-get update failed ({st}); trying the install anyway");
        }
    }
    let mut args: Vec<&str> = install_args.to_vec();
    args.extend_from_slice(&want);
    let mut install = command(&args);
    eprintln!("xtask: {}", shown(&install));
    let st = install
        .status()
        .map_err(|e| format!("test: running {manager}: {e}"))?;
    if !st.success() {
        eprintln!("xtask: {manager} failed ({st}); the tests that need what is missing skip");
    }
    Ok(())
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}
