//! Keys by name. Named keys for `send --keys`, encoded the way the program
//! expects them now (cursor keys differ in application cursor mode); a word
//! that is not a key name is sent as literal text, as tmux's send-keys does.
//! And the detach key, in `^X` notation.

use crate::error::{Error, Result};

/// The bytes for one key name, or None if it is not a key name.
pub fn encode(name: &str, app_cursor: bool) -> Option<Vec<u8>> {
    let csi_or_ss3 = |c: u8| -> Vec<u8> {
        if app_cursor {
            vec![0x1b, b'O', c]
        } else {
            vec![0x1b, b'[', c]
        }
    };
    let tilde = |n: &str| format!("\x1b[{n}~").into_bytes();
    let lower = name.to_ascii_lowercase();
    let bytes = match lower.as_str() {
        "enter" | "return" | "cr" => b"\r".to_vec(),
        "tab" => b"\t".to_vec(),
        "btab" | "backtab" => b"\x1b[Z".to_vec(),
        "escape" | "esc" => b"\x1b".to_vec(),
        "bspace" | "backspace" => b"\x7f".to_vec(),
        "space" => b" ".to_vec(),
        "up" => csi_or_ss3(b'A'),
        "down" => csi_or_ss3(b'B'),
        "right" => csi_or_ss3(b'C'),
        "left" => csi_or_ss3(b'D'),
        "home" => csi_or_ss3(b'H'),
        "end" => csi_or_ss3(b'F'),
        "pageup" | "ppage" | "pgup" => tilde("5"),
        "pagedown" | "npage" | "pgdn" => tilde("6"),
        "insert" | "ic" => tilde("2"),
        "delete" | "dc" => tilde("3"),
        "f1" => b"\x1bOP".to_vec(),
        "f2" => b"\x1bOQ".to_vec(),
        "f3" => b"\x1bOR".to_vec(),
        "f4" => b"\x1bOS".to_vec(),
        "f5" => tilde("15"),
        "f6" => tilde("17"),
        "f7" => tilde("18"),
        "f8" => tilde("19"),
        "f9" => tilde("20"),
        "f10" => tilde("21"),
        "f11" => tilde("23"),
        "f12" => tilde("24"),
        _ => return modified(name),
    };
    Some(bytes)
}

/// C-x (control) and M-x (meta: ESC then x), combinable: M-C-x.
fn modified(name: &str) -> Option<Vec<u8>> {
    if let Some(rest) = name.strip_prefix("M-").or_else(|| name.strip_prefix("m-")) {
        let mut inner = match encode(rest, false) {
            Some(b) => b,
            None if rest.chars().count() == 1 => rest.as_bytes().to_vec(),
            None => return None,
        };
        inner.insert(0, 0x1b);
        return Some(inner);
    }
    let rest = name
        .strip_prefix("C-")
        .or_else(|| name.strip_prefix("c-"))?;
    let mut chars = rest.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return None;
    };
    let b = match c {
        '?' => 0x7f,
        ' ' | '@' | '2' => 0,
        'a'..='z' => c as u8 - b'a' + 1,
        '[' | '\\' | ']' | '^' | '_' | 'A'..='Z' => c as u8 & 0x1f,
        _ => return None,
    };
    Some(vec![b])
}

/// All the words of `--keys`, in order.
pub fn encode_all(words: &[String], app_cursor: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for w in words {
        match encode(w, app_cursor) {
            Some(b) => out.extend(b),
            None => out.extend_from_slice(w.as_bytes()),
        }
    }
    out
}

/// A detach key: `^\`, `^Q`, `C-q`, or `none` (no detach key).
pub fn parse_detach_key(s: &str) -> Result<Option<u8>> {
    let bad = || {
        Error::usage(format!(
            "invalid detach key {s:?}: use ^X or C-x notation (like ^\\ or ^Q), or none"
        ))
    };
    if s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let c = s
        .strip_prefix('^')
        .or_else(|| s.strip_prefix("C-"))
        .or_else(|| s.strip_prefix("c-"))
        .ok_or_else(bad)?;
    let mut chars = c.chars();
    let (Some(ch), None) = (chars.next(), chars.next()) else {
        return Err(bad());
    };
    match ch {
        '?' => Ok(Some(0x7f)),
        '@'..='_' => Ok(Some(ch as u8 - 0x40)),
        'a'..='z' => Ok(Some(ch as u8 - 0x60)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(encode("Enter", false).unwrap(), b"\r");
        assert_eq!(encode("Up", false).unwrap(), b"\x1b[A");
        assert_eq!(encode("Up", true).unwrap(), b"\x1bOA");
        assert_eq!(encode("C-c", false).unwrap(), b"\x03");
        assert_eq!(encode("C-\\", false).unwrap(), b"\x1c");
        assert_eq!(encode("M-x", false).unwrap(), b"\x1bx");
        assert_eq!(encode("F5", false).unwrap(), b"\x1b[15~");
        assert_eq!(encode("BSpace", false).unwrap(), b"\x7f");
        assert!(encode("hello", false).is_none());
        let words = [
            "ls".to_string(),
            "Space".into(),
            "-l".into(),
            "Enter".into(),
        ];
        assert_eq!(encode_all(&words, false), b"ls -l\r");
    }

    #[test]
    fn detach_keys() {
        assert_eq!(parse_detach_key("^\\").unwrap(), Some(0x1c));
        assert_eq!(parse_detach_key("^Q").unwrap(), Some(0x11));
        assert_eq!(parse_detach_key("C-a").unwrap(), Some(0x01));
        assert_eq!(parse_detach_key("^?").unwrap(), Some(0x7f));
        assert_eq!(parse_detach_key("none").unwrap(), None);
        assert!(parse_detach_key("x").is_err());
    }
}
