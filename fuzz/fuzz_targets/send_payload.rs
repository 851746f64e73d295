//! libFuzzer's entry for the `send_payload` target (the target itself is
//! `codex_session_fuzz::send_payload`, which the stable driver runs too).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| codex_session_fuzz::send_payload(data));
