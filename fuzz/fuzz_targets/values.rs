//! libFuzzer's entry for the `values` target (the target itself is
//! `codex_session_fuzz::values`, which the stable driver runs too).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| codex_session_fuzz::values(data));
