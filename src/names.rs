//! Readable generated session names: adjective-noun-NNNN.

use std::hash::{BuildHasher, Hasher};

const ADJECTIVES: &[&str] = &[
    "amber", "bold", "brisk", "calm", "clever", "crisp", "dapper", "eager", "fancy", "gentle",
    "glad", "grand", "happy", "jolly", "keen", "lively", "lucky", "mellow", "merry", "nimble",
    "noble", "plucky", "proud", "quick", "quiet", "rapid", "ready", "shy", "silent", "sleek",
    "snug", "sunny", "swift", "tidy", "vivid", "warm", "wise", "witty", "young", "zesty",
];

const NOUNS: &[&str] = &[
    "badger", "beaver", "bison", "crane", "dingo", "eagle", "falcon", "ferret", "gecko", "heron",
    "ibis", "jaguar", "koala", "lemur", "lynx", "marten", "mole", "moose", "newt", "ocelot",
    "otter", "owl", "panda", "puffin", "quail", "raven", "robin", "salmon", "seal", "shrew",
    "sloth", "stork", "swan", "tapir", "tern", "toad", "viper", "walrus", "wombat", "yak",
];

/// A fresh random u64 (std's hasher keys are seeded from the OS).
pub fn random_u64() -> u64 {
    let mut h = std::hash::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    h.finish()
}

pub fn generate() -> String {
    let r = random_u64();
    let a = ADJECTIVES[(r % ADJECTIVES.len() as u64) as usize];
    let n = NOUNS[((r >> 16) % NOUNS.len() as u64) as usize];
    format!("{a}-{n}-{:04}", (r >> 32) % 10_000)
}

pub fn session_id() -> String {
    format!("{:016x}", random_u64())
}
