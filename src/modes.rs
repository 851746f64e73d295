//! What undoes the terminal modes a program turned on, learned from its
//! output: `attach` restores the person's terminal with it when it leaves,
//! and the supervisor, holding a passed terminal, tells the client the same
//! (`supervisor/clients/tty.rs`).

/// The terminal modes the program turned on, so that leaving undoes them:
/// alternate screen, mouse reporting, bracketed paste, application cursor
/// keys and keypad, focus events, a hidden cursor.
#[derive(Default)]
pub struct Modes {
    alt: bool,
    mouse: bool,
    paste: bool,
    app_cursor: bool,
    keypad: bool,
    focus: bool,
    /// Bytes of an escape sequence cut by a read.
    partial: Vec<u8>,
}

impl Modes {
    pub fn feed(&mut self, data: &[u8]) {
        let mut i = 0;
        if !self.partial.is_empty() {
            // Finish the cut sequence with a few more bytes.
            let mut seq = std::mem::take(&mut self.partial);
            let take = data.len().min(32);
            seq.extend_from_slice(&data[..take]);
            let used = self.sequence(&seq);
            match used {
                Some(n) if n > seq.len() - take => i = n - (seq.len() - take),
                Some(_) => {}
                None if seq.len() < 32 => {
                    self.partial = seq;
                    return;
                }
                None => {}
            }
        }
        while let Some(p) = crate::osc::find_esc(&data[i..]) {
            let start = i + p;
            match self.sequence(&data[start..]) {
                Some(n) => i = start + n,
                None => {
                    if data.len() - start < 32 {
                        self.partial = data[start..].to_vec();
                    }
                    return;
                }
            }
        }
    }

    /// Look at one sequence starting with ESC; its length, or None when cut.
    fn sequence(&mut self, s: &[u8]) -> Option<usize> {
        match s.get(1)? {
            b'=' => {
                self.keypad = true;
                Some(2)
            }
            b'>' => {
                self.keypad = false;
                Some(2)
            }
            b'[' => {
                let end = s[2..].iter().position(|b| (0x40..=0x7e).contains(b))? + 2;
                let body = &s[2..end];
                if let (Some(b'?'), b'h' | b'l') = (body.first(), s[end]) {
                    let on = s[end] == b'h';
                    for p in body[1..].split(|&c| c == b';') {
                        match p {
                            b"1049" | b"47" | b"1047" => self.alt = on,
                            b"9" | b"1000" | b"1002" | b"1003" | b"1005" | b"1006" | b"1015" => {
                                self.mouse |= on
                            }
                            b"2004" => self.paste = on,
                            b"1" => self.app_cursor = on,
                            b"1004" => self.focus = on,
                            _ => {}
                        }
                    }
                }
                Some(end + 1)
            }
            _ => Some(1),
        }
    }

    /// What puts the terminal back the way a shell expects it.
    pub fn restore(&self) -> String {
        let mut s = String::new();
        if self.mouse {
            s.push_str("\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1005l\x1b[?1006l\x1b[?1015l");
        }
        if self.paste {
            s.push_str("\x1b[?2004l");
        }
        if self.app_cursor {
            s.push_str("\x1b[?1l");
        }
        if self.keypad {
            s.push_str("\x1b>");
        }
        if self.focus {
            s.push_str("\x1b[?1004l");
        }
        if self.alt {
            s.push_str("\x1b[?1049l");
        }
        s.push_str("\x1b[0m\x1b[?25h");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_survive_cut_sequences() {
        let input = b"a\x1b[?1049h\x1b[?2004hb\x1b[?1000;1006hc\x1b=\x1b[?1h";
        for cut in 0..input.len() {
            let mut m = Modes::default();
            m.feed(&input[..cut]);
            m.feed(&input[cut..]);
            assert!(
                m.alt && m.paste && m.mouse && m.keypad && m.app_cursor,
                "cut {cut}"
            );
        }
        let mut m = Modes::default();
        m.feed(b"\x1b[?1049h\x1b[?1049l");
        assert!(!m.alt);
        assert_eq!(m.restore(), "\x1b[0m\x1b[?25h");
    }
}
