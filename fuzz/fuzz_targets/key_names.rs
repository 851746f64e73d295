//! libFuzzer's entry for the `key_names` target (the target itself is
//! `codex_session_fuzz::key_names`, which the stable driver runs too).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| codex_session_fuzz::key_names(data));
