//! Fuzz targets: one function per parser of `codex-session` that reads
//! untrusted bytes, each checking what must hold for any input besides not
//! panicking. The parsers are the binary's own source files, compiled here
//! as modules (`#[path]`), so there is nothing to keep in step: the
//! binary has no library target, and these files depend only on each
//! other.
//!
//! | target | parser | reads |
//! |---|---|---|
//! | `frames` | `proto::Decoder`, `proto::read_frame`, each message's JSON | a client's or the supervisor's socket |
//! | `send_payload` | `proto::decode_send` | a Send frame's payload |
//! | `meta_json` | `meta::Meta::parse` | a session's meta.json |
//! | `sessions_toml` | `config::Config::from_toml` | the configuration file |
//! | `plain_text` | `logs::Plain`, `logs::StringCap` | program output |
//! | `osc_signs` | `osc::Scanner` | program output (command marks, notifications) |
//! | `key_names` | `keys::encode`, `keys::parse_detach_key` | `send --keys`, `detach_key` |
//! | `values` | `fmt::parse_duration`, `parse_size`, `parse_window`, `parse_when` | flags and configuration values |

// The modules are the binary's; what only the binary uses is unused here.
#![allow(dead_code, unused_imports)]

#[path = "../../src/config.rs"]
mod config;
#[path = "../../src/error.rs"]
mod error;
#[path = "../../src/fmt.rs"]
mod fmt;
#[path = "../../src/keys.rs"]
mod keys;
#[path = "../../src/meta.rs"]
mod meta;
#[path = "../../src/osc.rs"]
mod osc;
#[path = "../../src/proto.rs"]
mod proto;
#[path = "../../src/store.rs"]
mod store;
#[path = "../../src/sys.rs"]
mod sys;

#[path = "../../src/logs/plain.rs"]
mod plain;

/// As the binary's `logs` module exports the renderer.
mod logs {
    pub use super::plain::{MAX_LINE, MAX_STRING, Plain, StringCap, plain};
}

use std::io::Cursor;

use proto::{Decoder, Kind};

/// A fuzz target: any bytes in, a panic when something that must hold
/// does not.
pub type Target = fn(&[u8]);

/// Every target, by name (the corpus of `NAME` is `corpus/NAME/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("frames", frames),
    ("send_payload", send_payload),
    ("meta_json", meta_json),
    ("sessions_toml", sessions_toml),
    ("plain_text", plain_text),
    ("osc_signs", osc_signs),
    ("key_names", key_names),
    ("values", values),
];

/// A stream of frames from a peer, read both ways the tool reads them: the
/// supervisor's incremental decoder (fed in pieces whose sizes come from
/// the input) and the CLI's blocking reader. Both must see the same
/// frames; no frame is larger than the cap; each frame's payload parses,
/// or is refused, as the message its kind says.
pub fn frames(data: &[u8]) {
    let (split, stream) = match data.split_first() {
        Some((&b, rest)) => (b as usize % 17 + 1, rest),
        None => return,
    };
    let mut dec = Decoder::default();
    let mut got = Vec::new();
    let mut broken = false;
    'feed: for piece in stream.chunks(split) {
        dec.push(piece);
        loop {
            match dec.next_frame() {
                Ok(Some(f)) => got.push(f),
                Ok(None) => break,
                Err(_) => {
                    broken = true;
                    break 'feed;
                }
            }
        }
    }
    let mut r = Cursor::new(stream);
    let mut read = Vec::new();
    while let Ok(f) = proto::read_frame(&mut r) {
        read.push(f);
    }
    assert_eq!(got.len(), read.len().min(got.len()));
    assert_eq!(got[..], read[..got.len()], "the two readers agree");
    if !broken {
        assert_eq!(got.len(), read.len(), "the decoder saw every frame");
    }
    let mut wire = Vec::new();
    for (kind, payload) in &got {
        assert!(payload.len() <= proto::MAX_FRAME);
        proto::encode(*kind, payload, &mut wire);
        message(*kind, payload);
    }
    assert_eq!(
        wire[..],
        stream[..wire.len()],
        "frames encode back to the bytes"
    );
}

/// Parse a payload as the message of its kind (errors are answers, not
/// failures).
fn message(kind: Kind, p: &[u8]) {
    let _ = match kind {
        Kind::Hello => proto::parse_json::<proto::Hello>(kind, p).map(drop),
        Kind::Welcome => proto::parse_json::<proto::Welcome>(kind, p).map(drop),
        Kind::Error => proto::parse_json::<proto::ErrorMsg>(kind, p).map(drop),
        Kind::Resize => proto::parse_json::<proto::Size>(kind, p).map(|s| {
            let c = s.clamped();
            assert!(c.cols <= proto::Size::MAX && c.rows <= proto::Size::MAX);
        }),
        Kind::Stop => proto::parse_json::<proto::StopReq>(kind, p).map(|s| {
            let _ = std::time::Instant::now() + proto::millis(s.grace_ms);
        }),
        Kind::Exit => proto::parse_json::<proto::ExitInfo>(kind, p).map(|e| {
            let _ = (e.status(), e.describe());
        }),
        Kind::Capture => proto::parse_json::<proto::CaptureReq>(kind, p).map(drop),
        Kind::Send => proto::decode_send(p).map(drop),
        Kind::Watch => proto::parse_json::<proto::WatchReq>(kind, p).map(|w| {
            if let Some(ms) = w.idle_ms {
                let _ = std::time::Instant::now() + proto::millis(ms);
            }
        }),
        Kind::Watching => proto::parse_json::<proto::WatchInfo>(kind, p).map(drop),
        Kind::Ok => proto::parse_json::<proto::SendResult>(kind, p).map(drop),
        // A Tty frame is an offer from a client, an answer from the
        // supervisor: either parses or is refused.
        Kind::Tty => proto::parse_json::<proto::TtyOffer>(kind, p)
            .map(drop)
            .or_else(|_| proto::parse_json::<proto::TtyAnswer>(kind, p).map(drop)),
        Kind::Output | Kind::ErrOutput | Kind::Input | Kind::Screen | Kind::Detach | Kind::Idle | Kind::Modes => {
            Ok(())
        }
    };
}

/// A Send frame's payload: what decodes encodes back to the same request
/// and text.
pub fn send_payload(data: &[u8]) {
    let Ok((req, text)) = proto::decode_send(data) else {
        return;
    };
    let again = proto::encode_send(&req, text);
    let (back, text2) = proto::decode_send(&again).expect("an encoded send decodes");
    assert_eq!(text, text2);
    assert_eq!(
        serde_json::to_value(&req).unwrap(),
        serde_json::to_value(&back).unwrap()
    );
    let _ = std::time::Instant::now() + proto::millis(req.timeout_ms);
    let _ = keys::encode_all(&req.keys, false);
}

/// meta.json: a record that parses writes back to one that parses the same.
pub fn meta_json(data: &[u8]) {
    let Ok(m) = meta::Meta::parse(data) else {
        return;
    };
    let _ = (m.ended_status(), m.display_command(), m.is_ended());
    let again = serde_json::to_vec(&m).unwrap();
    let back = meta::Meta::parse(&again).expect("a written record parses");
    assert_eq!(
        serde_json::to_value(&m).unwrap(),
        serde_json::to_value(&back).unwrap()
    );
}

/// sessions.toml: accepted or refused with an error naming the file; every
/// value accepted is within its bounds.
pub fn sessions_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match config::Config::from_toml("/fuzz/sessions.toml".into(), text) {
        Ok(c) => {
            for k in config::KEYS {
                let _ = c.value(k.name);
            }
            assert!(c.max_sessions >= 1);
            assert!(!c.term.chars().any(char::is_control));
            assert!(c.log_max_size >= 4096 && c.events_max_size >= 4096);
            for d in [c.idle_timeout, c.ttl, c.retain_exited]
                .into_iter()
                .flatten()
            {
                let _ = std::time::Instant::now() + d;
            }
        }
        Err(e) => assert!(
            e.message().starts_with("/fuzz/sessions.toml:"),
            "{}",
            e.message()
        ),
    }
}

/// Program output as plain text: fed in pieces or whole, the same lines;
/// no line wider than the bound; OSC strings cut to their bound.
pub fn plain_text(data: &[u8]) {
    let whole = logs::plain(data);
    let step = data.first().map_or(1, |&b| b as usize % 13 + 1);
    let mut p = logs::Plain::new();
    let mut out = Vec::new();
    for piece in data.chunks(step) {
        p.feed(piece, &mut out);
        let _ = p.current_line();
    }
    p.finish(&mut out);
    assert_eq!(String::from_utf8(out).expect("UTF-8"), whole);
    for l in whole.lines() {
        assert!(l.chars().count() <= logs::MAX_LINE * 33);
    }
    let mut cap = logs::StringCap::default();
    let kept = cap.filter(data);
    assert!(kept.len() <= data.len());
}

/// Program output scanned for signs: fed in pieces (sizes from the input)
/// it finds what it finds fed whole; each sign lies within the input, its
/// OSC string starting with ESC.
pub fn osc_signs(data: &[u8]) {
    let scan = |pieces: &mut dyn Iterator<Item = &[u8]>| {
        let mut s = osc::Scanner::new();
        let mut out = Vec::new();
        for p in pieces {
            s.feed(p, &mut out);
        }
        out
    };
    let whole = scan(&mut std::iter::once(data));
    let step = data.first().map_or(1, |&b| b as usize % 7 + 1);
    assert_eq!(scan(&mut data.chunks(step)), whole);
    for f in &whole {
        assert!(f.start < f.end && f.end <= data.len() as u64, "{f:?}");
        assert_eq!(data[f.start as usize], 0x1b);
    }
}

/// Key names, one a word: each is encoded (or is text), in both cursor
/// modes; the detach key is one control byte or none.
pub fn key_names(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    for app in [false, true] {
        for w in &words {
            if let Some(b) = keys::encode(w, app) {
                assert!(!b.is_empty(), "{w:?}");
            }
        }
        let _ = keys::encode_all(&words, app);
    }
    if let Ok(Some(b)) = keys::parse_detach_key(&text) {
        assert!(b < 0x20 || b == 0x7f, "{text:?} -> {b}");
    }
}

/// Durations, sizes and window sizes as flags and the file give them.
pub fn values(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(d) = fmt::parse_duration(&text) {
        assert!(d <= fmt::MAX_DURATION);
        let _ = std::time::Instant::now() + d;
        let _ = fmt::short(d);
    }
    if let Ok(n) = fmt::parse_size(&text) {
        let _ = (fmt::size(n), fmt::size_exact(n));
    }
    if let Ok((c, r)) = fmt::parse_window(&text) {
        assert!((1..=proto::Size::MAX).contains(&c) && (1..=proto::Size::MAX).contains(&r));
    }
    let _ = fmt::shell_word(&text);
    let _ = fmt::ago(&text);
    if let Ok(t) = fmt::parse_when(&text, std::time::SystemTime::now()) {
        assert_eq!(fmt::rfc3339_nanos(t).len(), 30);
    }
}
