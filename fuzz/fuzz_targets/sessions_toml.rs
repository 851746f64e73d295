//! libFuzzer's entry for the `sessions_toml` target (the target itself is
//! `codex_session_fuzz::sessions_toml`, which the stable driver runs too).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| codex_session_fuzz::sessions_toml(data));
