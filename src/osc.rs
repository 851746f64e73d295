//! Signs a program gives its terminal in OSC strings, found in its output
//! with their byte positions: command marks (OSC 133, "FinalTerm"),
//! notifications (OSC 9, OSC 777 `notify`, OSC 99 from kitty) and progress
//! (OSC 9;4). The supervisor records them as events; `send --wait-command`
//! and `wait --command` find the command's end in the stream the same way.
//!
//! The screen model parses the same output with `vte`, which says what an
//! OSC holds but not where it was; a command's output is the bytes between
//! two marks, so this scanner follows just enough of vte's state machine to
//! find OSC strings with their offsets (the rules of `logs::StringCap`: ESC
//! starts an escape from any state, `]` after it begins an OSC, which ends
//! at BEL or ESC and is dropped at CAN or SUB). Bounded: an OSC string is
//! kept up to [`MAX_STRING`] bytes, a kitty notification sent in chunks up
//! to as much.

/// The most bytes of one OSC string looked at (the rest is skipped).
pub const MAX_STRING: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sign {
    /// `133;A`: the shell prints its prompt.
    Prompt,
    /// `133;B`: the prompt is printed; the person types the command.
    Input,
    /// `133;C`: the command runs; its output follows. The command line
    /// when the shell says it (`cmdline_url=` percent-encoded, or `cmdline=`).
    CommandStart { command: Option<String> },
    /// `133;D;N`: the command ended, with its exit code when given.
    CommandEnd { exit: Option<i32> },
    /// OSC 9 (body only), 777 `notify;TITLE;BODY`, 99 (kitty).
    Notify { title: String, body: String },
    /// OSC 9;4;STATE;PERCENT. State 0 removes it, 1 normal, 2 error,
    /// 3 indeterminate, 4 paused.
    Progress { state: u8, percent: Option<u8> },
}

/// A sign and where its OSC string was in the output: bytes
/// `[start, end)`, counted from the first byte fed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub sign: Sign,
    pub start: u64,
    pub end: u64,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Ground,
    Escape,
    Osc,
    /// ESC inside an OSC: it ends there (ST is ESC `\`).
    OscEscape,
}

#[derive(Default)]
pub struct Scanner {
    state: State,
    /// Bytes fed so far.
    pos: u64,
    /// Where the OSC being read began (its ESC).
    start: u64,
    /// Its bytes after `ESC ]`, up to [`MAX_STRING`].
    buf: Vec<u8>,
    /// A kitty notification still arriving in chunks: id, title, body.
    kitty: Option<(String, String, String)>,
}

impl Scanner {
    pub fn new() -> Scanner {
        Scanner::default()
    }

    /// A scanner whose first byte fed is at output offset `pos`.
    pub fn at(pos: u64) -> Scanner {
        Scanner {
            pos,
            ..Scanner::default()
        }
    }

    /// Bytes fed so far.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// Scan the next output bytes; the signs whose OSC ended in them.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<Found>) {
        let mut i = 0;
        while i < data.len() {
            if self.state == State::Ground {
                match find_esc(&data[i..]) {
                    Some(k) => i += k,
                    None => break,
                }
            }
            let b = data[i];
            let at = self.pos + i as u64;
            i += 1;
            match (self.state, b) {
                (State::Osc, 0x07) => self.dispatch(at + 1, out),
                (State::Osc, 0x1b) => self.state = State::OscEscape,
                (State::OscEscape, b'\\') => self.dispatch(at + 1, out),
                (State::OscEscape, _) => {
                    // vte ends the OSC at the ESC; this byte follows it.
                    self.dispatch(at, out);
                    self.state = State::Escape;
                    self.start = at - 1;
                    i -= 1;
                }
                (_, 0x1b) => {
                    self.state = State::Escape;
                    self.start = at;
                }
                (State::Escape, b']') => {
                    self.state = State::Osc;
                    self.buf.clear();
                }
                (State::Escape, 0x18 | 0x1a) => self.state = State::Ground,
                (State::Escape, 0x00..=0x1f | 0x7f..=0xff) => {}
                (State::Escape, _) => self.state = State::Ground,
                (State::Osc, 0x18 | 0x1a) => self.state = State::Ground,
                (State::Osc, _) => {
                    if self.buf.len() < MAX_STRING {
                        self.buf.push(b);
                    }
                }
                (State::Ground, _) => {}
            }
        }
        self.pos += data.len() as u64;
    }

    fn dispatch(&mut self, end: u64, out: &mut Vec<Found>) {
        self.state = State::Ground;
        let s = String::from_utf8_lossy(&self.buf).into_owned();
        if let Some(sign) = self.sign(&s) {
            out.push(Found {
                sign,
                start: self.start,
                end,
            });
        }
    }

    fn sign(&mut self, s: &str) -> Option<Sign> {
        let (kind, rest) = s.split_once(';').unwrap_or((s, ""));
        match kind {
            "133" => mark(rest),
            "9" => {
                if let Some(p) = rest.strip_prefix("4;") {
                    return Some(progress(p));
                }
                // Other ConEmu codes (`9;N;...`) are not notifications.
                let first = rest.split(';').next().unwrap_or("");
                if !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                Some(Sign::Notify {
                    title: String::new(),
                    body: rest.to_string(),
                })
            }
            "777" => {
                let mut f = rest.splitn(3, ';');
                (f.next() == Some("notify")).then(|| Sign::Notify {
                    title: f.next().unwrap_or("").to_string(),
                    body: f.next().unwrap_or("").to_string(),
                })
            }
            "99" => self.kitty(rest),
            _ => None,
        }
    }

    /// `99;METADATA;PAYLOAD`: metadata `key=value` pairs joined by `:`;
    /// `i` an id, `d=0` more chunks follow, `p` title (default) or body,
    /// `e=1` base64.
    fn kitty(&mut self, rest: &str) -> Option<Sign> {
        let (meta, payload) = rest.split_once(';').unwrap_or((rest, ""));
        let (mut id, mut done, mut part, mut b64) = ("", true, "title", false);
        for kv in meta.split(':') {
            match kv.split_once('=') {
                Some(("i", v)) => id = v,
                Some(("d", v)) => done = v != "0",
                Some(("p", v)) => part = v,
                Some(("e", v)) => b64 = v == "1",
                _ => {}
            }
        }
        let text = if b64 {
            String::from_utf8_lossy(&base64(payload)).into_owned()
        } else {
            payload.to_string()
        };
        let mut n = match self.kitty.take() {
            Some(k) if k.0 == id => k,
            _ => (id.to_string(), String::new(), String::new()),
        };
        match part {
            "title" => push_capped(&mut n.1, &text),
            "body" => push_capped(&mut n.2, &text),
            // Icons, buttons, queries: nothing to tell.
            _ => {}
        }
        if !done {
            self.kitty = Some(n);
            return None;
        }
        (!n.1.is_empty() || !n.2.is_empty()).then_some(Sign::Notify {
            title: n.1,
            body: n.2,
        })
    }
}

/// Where the first ESC in `data` is. Output is mostly text and the
/// supervisor looks at every byte of it for escapes (the scanner here;
/// `modes.rs` for a passed terminal; the screen's capture filter in
/// `logs/plain.rs`), so this is [`find`].
pub fn find_esc(data: &[u8]) -> Option<usize> {
    find(data, |b| b == 0x1b)
}

/// Where the first byte `hit` is in `data`. It tests 64 bytes at a time
/// without a branch, which the compiler turns into vector compares (for a
/// `hit` without branches either: `|`, not `||`): about five times faster
/// than `position` a byte at a time.
#[inline(always)]
pub fn find(data: &[u8], hit: impl Fn(u8) -> bool) -> Option<usize> {
    const N: usize = 64;
    let (chunks, rest) = data.as_chunks::<N>();
    for (n, c) in chunks.iter().enumerate() {
        if c.iter().fold(0u8, |a, &b| a | u8::from(hit(b))) != 0 {
            return c.iter().position(|&b| hit(b)).map(|k| n * N + k);
        }
    }
    let k = rest.iter().position(|&b| hit(b))?;
    Some(chunks.len() * N + k)
}

fn push_capped(s: &mut String, more: &str) {
    for c in more.chars() {
        if s.len() + c.len_utf8() > MAX_STRING {
            return;
        }
        s.push(c);
    }
}

fn mark(rest: &str) -> Option<Sign> {
    let mut f = rest.split(';');
    match f.next()? {
        // `A;k=s` (and the like) is a continuation prompt, not a new one.
        "A" if !rest.contains("k=") => Some(Sign::Prompt),
        "B" => Some(Sign::Input),
        "C" => {
            let command = f.find_map(|kv| match kv.split_once('=') {
                Some(("cmdline_url", v)) => Some(percent_decode(v)),
                Some(("cmdline", v)) => Some(v.to_string()),
                _ => None,
            });
            Some(Sign::CommandStart { command })
        }
        "D" => Some(Sign::CommandEnd {
            exit: f.next().and_then(|c| c.parse().ok()),
        }),
        _ => None,
    }
}

fn progress(p: &str) -> Sign {
    let mut f = p.split(';');
    let state = f.next().and_then(|s| s.parse().ok()).unwrap_or(0u8).min(4);
    let percent = f
        .next()
        .and_then(|s| s.parse::<u32>().ok())
        .map(|n| n.min(100) as u8);
    let percent = match state {
        1 | 2 | 4 => percent,
        _ => None,
    };
    Sign::Progress { state, percent }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = b"\x1b]133;A\x07$ \x1b]133;B\x1b\\echo hi\r\n\
        \x1b]133;C;cmdline_url=echo%20hi\x07hi\r\n\x1b]133;D;0\x1b\\\
        \x1b]0;title\x07\x1b[1mx\x1b]9;done!\x07\x1b]777;notify;T;B;c\x07\
        \x1b]99;i=1:d=0;Hel\x1b\\\x1b]99;i=1:p=body:e=1;d29ybGQ=\x1b\\\
        \x1b]9;4;1;42\x07\x1b]9;4;0\x07\x1b]133;D;130\x07";

    fn scan_pieces(pieces: &[&[u8]]) -> Vec<Found> {
        let mut s = Scanner::new();
        let mut out = Vec::new();
        for p in pieces {
            s.feed(p, &mut out);
        }
        out
    }

    #[test]
    fn find_esc_finds_the_first_anywhere() {
        for len in [0, 1, 63, 64, 65, 130, 200] {
            assert_eq!(find_esc(&vec![b'a'; len]), None);
            for at in 0..len {
                let mut d = vec![b'a'; len];
                d[at] = 0x1b;
                d[len - 1] = 0x1b;
                assert_eq!(find_esc(&d), Some(at), "{len} {at}");
            }
        }
    }

    #[test]
    fn finds_every_sign_with_its_position() {
        let f = scan_pieces(&[SAMPLE]);
        let signs: Vec<&Sign> = f.iter().map(|f| &f.sign).collect();
        assert_eq!(
            signs,
            [
                &Sign::Prompt,
                &Sign::Input,
                &Sign::CommandStart {
                    command: Some("echo hi".into())
                },
                &Sign::CommandEnd { exit: Some(0) },
                &Sign::Notify {
                    title: "".into(),
                    body: "done!".into()
                },
                &Sign::Notify {
                    title: "T".into(),
                    body: "B;c".into()
                },
                &Sign::Notify {
                    title: "Hel".into(),
                    body: "world".into()
                },
                &Sign::Progress {
                    state: 1,
                    percent: Some(42)
                },
                &Sign::Progress {
                    state: 0,
                    percent: None
                },
                &Sign::CommandEnd { exit: Some(130) },
            ]
        );
        // The command's output is exactly what lies between C and D.
        let out = &SAMPLE[f[2].end as usize..f[3].start as usize];
        assert_eq!(out, b"hi\r\n");
        for x in &f {
            assert_eq!(SAMPLE[x.start as usize], 0x1b);
            let last = SAMPLE[x.end as usize - 1];
            assert!(last == 0x07 || last == b'\\', "{x:?}");
        }
    }

    #[test]
    fn split_at_every_byte_boundary_finds_the_same() {
        let whole = scan_pieces(&[SAMPLE]);
        for i in 0..=SAMPLE.len() {
            let (a, b) = SAMPLE.split_at(i);
            assert_eq!(scan_pieces(&[a, b]), whole, "split at {i}");
        }
        let bytes: Vec<&[u8]> = SAMPLE.chunks(1).collect();
        assert_eq!(scan_pieces(&bytes), whole, "one byte at a time");
    }

    #[test]
    fn long_strings_are_bounded_and_aborted_strings_ignored() {
        let mut data = b"\x1b]9;".to_vec();
        data.extend(std::iter::repeat_n(b'x', 100_000));
        data.extend_from_slice(b"\x07\x1b]133;A\x18\x1b]133;B\x07");
        let f = scan_pieces(&[&data]);
        assert_eq!(f.len(), 2);
        match &f[0].sign {
            Sign::Notify { body, .. } => assert_eq!(body.len(), MAX_STRING - 2),
            s => panic!("{s:?}"),
        }
        assert_eq!(f[1].sign, Sign::Input);
    }
}
