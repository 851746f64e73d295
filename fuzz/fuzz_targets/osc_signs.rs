//! libFuzzer's entry for the `osc_signs` target (the target itself is
//! `codex_session_fuzz::osc_signs`, which the stable driver runs too).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| codex_session_fuzz::osc_signs(data));
