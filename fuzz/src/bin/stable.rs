//! The fuzz targets on a stable toolchain, without libFuzzer: each target
//! runs over its corpus (`corpus/NAME/`), then over generated inputs for
//! its share of the time: random bytes, and the corpus mutated (bytes
//! flipped, inserted, removed, runs repeated, pieces of two inputs spliced,
//! tokens the parsers care about inserted). An input that panics is saved
//! under `artifacts/NAME/` and the run fails.
//!
//! `stable [--seconds N] [--seed S] [TARGET...]` (N seconds per target,
//! default 10; every target when none is named). `cargo xtask fuzz` runs it.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicBool, Ordering};

use codex_session_fuzz::TARGETS;

/// A target is running (its panics are findings).
static IN_TARGET: AtomicBool = AtomicBool::new(false);

/// Bytes that mean something to one parser or another.
const TOKENS: &[&[u8]] = &[
    b"\x1b",
    b"\x1b[",
    b"\x1b]",
    b"\x1bP",
    b"\x1b_",
    b"\x1b\\",
    b"\x07",
    b"\x18",
    b"\x1a",
    b"\r",
    b"\n",
    b"\t",
    b"\x08",
    b"\xff",
    b"\xe2\x82",
    b"\xf0\x9f\xa6\x80",
    "日".as_bytes(),
    "\u{301}".as_bytes(),
    b"\x9b",
    b";",
    b"{",
    b"}",
    b"\"",
    b"[",
    b"]",
    b"=",
    b"\\u0000",
    b"null",
    b"true",
    b"1e308",
    b"-1",
    b"18446744073709551615",
    b"4294967295",
    b"65535",
    b"\xff\xff\xff\xff",
    b"\x00\x00\x10\x00",
    b"\x05\x00\x00\x00\x01",
    b"C-",
    b"M-",
    b"^",
    b"x",
    b"KiB",
    b"years",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// One generated input: random, or a corpus entry changed a few times.
fn generate(r: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    if corpus.is_empty() || r.below(8) == 0 {
        let n = [0, 1, 8, 64, 512, 4096][r.below(6)];
        let len = r.below(n + 1);
        return r.bytes(len);
    }
    let mut v = corpus[r.below(corpus.len())].clone();
    for _ in 0..r.below(8) + 1 {
        let at = r.below(v.len() + 1);
        match r.below(9) {
            0 if !v.is_empty() => {
                let i = r.below(v.len());
                v[i] ^= 1 << r.below(8);
            }
            1 if !v.is_empty() => {
                let i = r.below(v.len());
                v[i] = r.next() as u8;
            }
            2 => {
                let len = r.below(16) + 1;
                let b = r.bytes(len);
                v.splice(at..at, b);
            }
            3 if !v.is_empty() => {
                let end = (at + r.below(32) + 1).min(v.len());
                v.drain(at.min(end)..end);
            }
            4 if !v.is_empty() => {
                // A run repeated (a flood of one thing).
                let from = r.below(v.len());
                let end = (from + r.below(16) + 1).min(v.len());
                let run = v[from..end].repeat(r.below(64) + 1);
                v.splice(at..at, run);
            }
            5 => {
                // The end of another input spliced in.
                let other = &corpus[r.below(corpus.len())];
                let from = r.below(other.len() + 1);
                v.truncate(at);
                v.extend_from_slice(&other[from..]);
            }
            6 if v.len() >= 4 => {
                // A length field (frames, Send payloads) made interesting.
                let i = r.below(v.len() - 3);
                let n = [0u32, 1, 4, 0x10_0000, 0x11_0000, u32::MAX][r.below(6)];
                v[i..i + 4].copy_from_slice(&n.to_le_bytes());
            }
            _ => {
                let t = TOKENS[r.below(TOKENS.len())];
                v.splice(at..at, t.iter().copied());
            }
        }
    }
    v
}

fn read_corpus(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// Save an input that made a target panic; where.
fn save(root: &Path, name: &str, input: &[u8]) -> PathBuf {
    let mut h = DefaultHasher::new();
    input.hash(&mut h);
    let dir = root.join("artifacts").join(name);
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join(format!("crash-{:016x}", h.finish()));
    let _ = std::fs::write(&p, input);
    p
}

fn main() -> ExitCode {
    let mut seconds = 10.0f64;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    let mut names = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => match args.next().and_then(|v| v.parse().ok()) {
                Some(s) => seconds = s,
                None => return usage("--seconds takes a number"),
            },
            "--seed" => match args.next().and_then(|v| v.parse::<u64>().ok()) {
                Some(s) => seed = s | 1,
                None => return usage("--seed takes a number"),
            },
            n if TARGETS.iter().any(|t| t.0 == n) => names.push(n.to_string()),
            other => return usage(&format!("unknown target or option `{other}`")),
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // A target's panic is a finding, reported below: not its default
    // message too. Any other panic is the driver's, shown as usual.
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !IN_TARGET.load(Ordering::Relaxed) {
            default(info);
        }
    }));
    let mut failed = false;
    println!("fuzzing (stable driver, seed {seed}), {seconds} s a target");
    for &(name, target) in TARGETS {
        if !names.is_empty() && !names.iter().any(|n| n == name) {
            continue;
        }
        let corpus = read_corpus(&root.join("corpus").join(name));
        let mut r = Rng((seed ^ (name.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1);
        let start = Instant::now();
        let budget = Duration::from_secs_f64(seconds);
        let mut runs = 0u64;
        let mut finding = None;
        let inputs = corpus
            .iter()
            .cloned()
            .map(Some)
            .chain(std::iter::repeat(None));
        for given in inputs {
            if runs >= corpus.len() as u64 && start.elapsed() >= budget {
                break;
            }
            let input = given.unwrap_or_else(|| generate(&mut r, &corpus));
            runs += 1;
            IN_TARGET.store(true, Ordering::Relaxed);
            let result = catch_unwind(AssertUnwindSafe(|| target(&input)));
            IN_TARGET.store(false, Ordering::Relaxed);
            if let Err(e) = result {
                let why = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                finding = Some((save(root, name, &input), why));
                break;
            }
        }
        let took = start.elapsed().as_secs_f64();
        match finding {
            None => println!(
                "{name:<14} {runs:>9} runs in {took:>5.1} s ({} from the corpus): no finding",
                corpus.len()
            ),
            Some((path, why)) => {
                failed = true;
                println!(
                    "{name:<14} FINDING after {runs} runs: {why}\n               input saved as {}",
                    path.display()
                );
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn usage(msg: &str) -> ExitCode {
    let names: Vec<&str> = TARGETS.iter().map(|t| t.0).collect();
    eprintln!(
        "stable: {msg}\nusage: stable [--seconds N] [--seed S] [TARGET...]\ntargets: {}",
        names.join(" ")
    );
    ExitCode::from(2)
}
