//! libFuzzer's entry for the `meta_json` target (the target itself is
//! `codex_session_fuzz::meta_json`, which the stable driver runs too).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| codex_session_fuzz::meta_json(data));
