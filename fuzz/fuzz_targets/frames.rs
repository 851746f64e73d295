//! libFuzzer's entry for the `frames` target (the target itself is
//! `codex_session_fuzz::frames`, which the stable driver runs too).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| codex_session_fuzz::frames(data));
