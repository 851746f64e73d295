//! Project chores: `cargo xtask <task>`.
//!
//! - `test [--install] [FILTER...] [-- ARGS...]`: run the test suite, then
//!   list the tests skipped and why
//! - `man [--check]`: write the man pages into `man/`, or check they are current
//! - `completions [--check] [--dir DIR]`: write bash, zsh and fish completions
//! - `bench [ARGS...]`: run the benchmarks
//! - `fuzz [--seconds N] [--stable | --libfuzzer] [TARGET...]`: run the fuzz
//!   targets in `fuzz/` (libFuzzer where cargo-fuzz is installed, else the
//!   stable driver)
//!
//! The man pages and completions come from the same clap definitions as the
//! binary's `--help`: `src/cli.rs` and `src/cli_args.rs` are compiled here as they are.

mod bench;
mod complete;
mod fuzz;
mod man;
mod test;

#[allow(dead_code)]
#[path = "../../src/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "../../src/cli_args.rs"]
mod cli_args;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;

const BIN: &str = "codex-session";

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test [--install] [FILTER...] [-- ARGS...]
                            run every test (cargo nextest if installed, else cargo test),
                            then list the tests skipped and why. FILTER: part of a test's
                            name. ARGS go to the runner (-- -E 'test(/vim/)' for nextest).
                            --install: first install the missing test-time programs (as
                            root or with sudo) and cargo-nextest (built from source: slow)
  man [--check]             write the man pages into man/ (--check: fail if they are stale)
  completions [--check] [--dir DIR]
                            write bash, zsh and fish completions [default dir: completions/]
                            (--check: fail if they are stale)
  bench [ARGS...]           run the benchmarks
  fuzz [--seconds N] [--stable | --libfuzzer] [TARGET...]
                            run each fuzz target for N seconds [default 10]: under
                            libFuzzer where cargo-fuzz and nightly are installed, else
                            with the stable driver; a finding fails the task";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("xtask: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some((task, rest)) = args.split_first() else {
        return Err(format!("no task given\n\n{USAGE}"));
    };
    if task == "test" {
        // The test runner's own exit status, passed through.
        return test::run(rest);
    }
    if task == "fuzz" {
        return fuzz::run(rest, &repo_root());
    }
    match task.as_str() {
        "man" => man(rest),
        "completions" => completions(rest),
        "bench" => bench::run(rest),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown task `{other}`\n\n{USAGE}")),
    }
    .map(|()| ExitCode::SUCCESS)
}

/// The repository's root: the folder above this crate's.
fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .expect("xtask's manifest folder has a parent")
        .to_path_buf()
}

/// The binary's command line, built the way clap builds it at run time, so
/// subcommands know their full names (`codex-session-run`, `codex-session run`).
fn command() -> clap::Command {
    let mut cmd = cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

// ---------------------------------------------------------------------------
// man

fn man(args: &[String]) -> Result<(), String> {
    let mut check = false;
    for arg in args {
        match arg.as_str() {
            "--check" => check = true,
            other => return Err(format!("man: unexpected argument `{other}`\n\n{USAGE}")),
        }
    }

    let dir = repo_root().join("man");
    let pages = man_pages()?;
    if check {
        check_dir(&dir, &pages, "cargo xtask man")
    } else {
        write_dir(&dir, &pages)?;
        println!("wrote {} man pages to {}/", pages.len(), show(&dir));
        Ok(())
    }
}

/// Every man page, by file name (see `man.rs`).
fn man_pages() -> Result<BTreeMap<String, Vec<u8>>, String> {
    man::pages(&command())
}

// ---------------------------------------------------------------------------
// completions

fn completions(args: &[String]) -> Result<(), String> {
    let mut dir = repo_root().join("completions");
    let mut check = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--dir" => {
                let value = args
                    .next()
                    .ok_or_else(|| "completions: --dir needs a folder".to_owned())?;
                dir = PathBuf::from(value);
            }
            other => match other.strip_prefix("--dir=") {
                Some(value) => dir = PathBuf::from(value),
                None => {
                    return Err(format!(
                        "completions: unexpected argument `{other}`\n\n{USAGE}"
                    ));
                }
            },
        }
    }

    let files = complete::files()?;
    if check {
        return check_dir(&dir, &files, "cargo xtask completions");
    }
    write_dir(&dir, &files)?;
    println!(
        "wrote {} completion scripts to {}/",
        files.len(),
        show(&dir)
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// generated folders

/// A path for messages: relative to the repository's root when inside it.
fn show(path: &Path) -> String {
    let root = repo_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The regular, non-hidden files directly in `dir`, by name. A missing folder
/// has none.
fn existing_files(dir: &Path) -> Result<BTreeMap<String, PathBuf>, String> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("reading {}: {e}", dir.display())),
    };
    let mut files = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("reading {}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let file_type = entry
            .file_type()
            .map_err(|e| format!("reading {}: {e}", entry.path().display()))?;
        if file_type.is_file() && !name.starts_with('.') {
            files.insert(name, entry.path());
        }
    }
    Ok(files)
}

/// Make `dir` hold exactly `files`: write what differs, remove what is extra.
/// Unchanged files are left alone, so their times are too.
fn write_dir(dir: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    for (name, path) in existing_files(dir)? {
        if !files.contains_key(&name) {
            fs::remove_file(&path).map_err(|e| format!("removing {}: {e}", path.display()))?;
            println!("removed {}", show(&path));
        }
    }
    for (name, contents) in files {
        let path = dir.join(name);
        if fs::read(&path).ok().as_deref() == Some(contents.as_slice()) {
            continue;
        }
        fs::write(&path, contents).map_err(|e| format!("writing {}: {e}", path.display()))?;
        println!("updated {}", show(&path));
    }
    Ok(())
}

/// Fail, naming each file, unless `dir` holds exactly `files`.
fn check_dir(dir: &Path, files: &BTreeMap<String, Vec<u8>>, fix: &str) -> Result<(), String> {
    let existing = existing_files(dir)?;
    let mut problems = Vec::new();
    for (name, contents) in files {
        let path = dir.join(name);
        match fs::read(&path) {
            Ok(found) if found == *contents => {}
            Ok(_) => problems.push(format!("  stale:   {}", show(&path))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                problems.push(format!("  missing: {}", show(&path)));
            }
            Err(e) => return Err(format!("reading {}: {e}", path.display())),
        }
    }
    for (name, path) in &existing {
        if !files.contains_key(name) {
            problems.push(format!("  extra:   {}", show(path)));
        }
    }
    if problems.is_empty() {
        println!("{}/ is up to date ({} files)", show(dir), files.len());
        Ok(())
    } else {
        Err(format!(
            "{}/ is out of date with src/cli.rs:\n{}\nrun `{fix}` to regenerate it",
            show(dir),
            problems.join("\n")
        ))
    }
}
