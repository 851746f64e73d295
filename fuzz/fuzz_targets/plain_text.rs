//! libFuzzer's entry for the `plain_text` target (the target itself is
//! `codex_session_fuzz::plain_text`, which the stable driver runs too).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| codex_session_fuzz::plain_text(data));
