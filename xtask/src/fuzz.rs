//! `cargo xtask fuzz [--seconds N] [--stable | --libfuzzer] [TARGET...]`:
//! run the fuzz targets in `fuzz/` for N seconds each (default 10).
//!
//! With cargo-fuzz and a nightly toolchain installed (or `--libfuzzer`),
//! each target runs under libFuzzer (`cargo +nightly fuzz run TARGET
//! --features libfuzzer -- -max_total_time=N`), its corpus growing in
//! `fuzz/corpus/TARGET/`. Otherwise (or `--stable`) the stable driver,
//! `fuzz/src/bin/stable.rs`, runs the same target functions over the
//! corpus and generated inputs. Either way a finding is saved under
//! `fuzz/artifacts/TARGET/` and the task fails.
//!
//! The stable driver builds into the main target folder: the fuzz crate
//! declares its dependencies as the binary does, so a tree that was built
//! for the tests builds it in seconds.

use std::path::Path;
use std::process::{Command, ExitCode};

/// Every target (as `fuzz/Cargo.toml` lists them).
const TARGETS: [&str; 8] = [
    "frames",
    "send_payload",
    "meta_json",
    "sessions_toml",
    "plain_text",
    "osc_signs",
    "key_names",
    "values",
];

enum Engine {
    /// Whichever is installed: libFuzzer if cargo-fuzz and nightly are.
    Auto,
    Stable,
    LibFuzzer,
}

pub fn run(args: &[String], root: &Path) -> Result<ExitCode, String> {
    let mut seconds = 10u64;
    let mut engine = Engine::Auto;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("fuzz: --seconds takes a whole number")?;
            }
            "--stable" => engine = Engine::Stable,
            "--libfuzzer" => engine = Engine::LibFuzzer,
            t if TARGETS.contains(&t) => targets.push(t.to_string()),
            other => {
                return Err(format!(
                    "fuzz: unknown target or option `{other}` (targets: {})",
                    TARGETS.join(" ")
                ));
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }
    let fuzz = root.join("fuzz");
    let libfuzzer = match engine {
        Engine::Stable => false,
        Engine::LibFuzzer => true,
        Engine::Auto => cargo_fuzz_works(&fuzz),
    };
    if libfuzzer {
        println!("fuzz: cargo-fuzz (libFuzzer), {seconds} s a target");
        let mut failed = Vec::new();
        for t in &targets {
            let status = Command::new("cargo")
                .current_dir(&fuzz)
                .args(["+nightly", "fuzz", "run", t, "--features", "libfuzzer"])
                .arg("--")
                .arg(format!("-max_total_time={seconds}"))
                .status()
                .map_err(|e| format!("fuzz: running cargo fuzz: {e}"))?;
            if !status.success() {
                failed.push(t.clone());
            }
        }
        if !failed.is_empty() {
            return Err(format!("fuzz: findings in {}", failed.join(", ")));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let status = Command::new("cargo")
        .args(["run", "--quiet", "--manifest-path"])
        .arg(fuzz.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(root.join("target"))
        .args(["--bin", "stable", "--"])
        .args(["--seconds", &seconds.to_string()])
        .args(&targets)
        .status()
        .map_err(|e| format!("fuzz: running the stable driver: {e}"))?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Whether `cargo +nightly fuzz` runs here.
fn cargo_fuzz_works(fuzz: &Path) -> bool {
    Command::new("cargo")
        .current_dir(fuzz)
        .args(["+nightly", "fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}
