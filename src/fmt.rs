//! Human-readable sizes, ages and durations for listings, and the parsers
//! of sizes, durations and window sizes that flags and the configuration
//! take.

use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

/// 0 B, 512 B, 1.5 KiB, 23 MiB, 4.0 GiB: binary units, as the
/// configuration writes them.
pub fn size(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if v < 10.0 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

/// How long ago an RFC 3339 time was: "42s", "3m", "5h", "2d" ("?" when
/// it cannot be read).
pub fn age(rfc3339: &str) -> String {
    let Ok(t) = humantime::parse_rfc3339(rfc3339) else {
        return "?".into();
    };
    short(
        SystemTime::now()
            .duration_since(t)
            .unwrap_or(Duration::ZERO),
    )
}

/// "42s ago", "3m ago", "5h ago", "2d ago".
pub fn ago(rfc3339: &str) -> String {
    format!("{} ago", age(rfc3339))
}

/// 42s, 3m, 5h, 2d: the words a duration is written with in the
/// configuration, rounded down to one unit.
pub fn short(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// A field as it may be shown on someone's terminal: escape, newline,
/// carriage return and tab as `\e`, `\n`, `\r`, `\t`; every other control
/// character (C0, DEL, C1) and the invisible bidirectional controls as `?`.
/// Nothing a session's label, command or prompt holds can move the cursor,
/// retitle the window or reorder the text around it.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\x1b' => out.push_str("\\e"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                out.push('?')
            }
            c if c.is_control() => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// The columns a character takes on a terminal: 0 for combining marks, 2
/// for East Asian wide and fullwidth characters and emoji, else 1. An
/// approximation of wcwidth good enough to cut lines.
pub fn char_width(c: char) -> usize {
    match c as u32 {
        0x0300..=0x036f | 0x200b..=0x200f | 0x20d0..=0x20ff | 0xfe00..=0xfe0f => 0,
        0x1100..=0x115f
        | 0x2e80..=0x303e
        | 0x3041..=0x33ff
        | 0x3400..=0x4dbf
        | 0x4e00..=0x9fff
        | 0xa000..=0xa4cf
        | 0xac00..=0xd7a3
        | 0xf900..=0xfaff
        | 0xfe30..=0xfe4f
        | 0xff00..=0xff60
        | 0xffe0..=0xffe6
        | 0x1f300..=0x1f64f
        | 0x1f900..=0x1f9ff
        | 0x20000..=0x3fffd => 2,
        _ => 1,
    }
}

/// The columns a string takes on a terminal.
pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// `s` cut to at most `max` columns, ending with `…` when cut.
pub fn cut(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = char_width(c);
        if w + cw + 1 > max {
            break;
        }
        w += cw;
        out.push(c);
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// The width to cut lines to: the terminal's (COLUMNS, else the window
/// size) when standard output is a terminal and not `wide`; none into a
/// pipe or a file.
pub fn line_width(wide: bool) -> Option<usize> {
    let stdout = std::io::stdout();
    if wide || !rustix::termios::isatty(&stdout) {
        return None;
    }
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return Some(n);
    }
    rustix::termios::tcgetwinsize(&stdout)
        .ok()
        .map(|w| w.ws_col as usize)
        .filter(|&n| n > 0)
}

/// Rows as columns padded to their widest cell (the last column is not
/// padded), each line cut to `width`. Cells must be sanitized already.
pub fn table(rows: &[Vec<String>], width_limit: Option<usize>) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut w = vec![0usize; n];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(width(c));
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < r.len() {
                line.extend(std::iter::repeat_n(' ', w[i] - width(c) + 2));
            }
        }
        let line = line.trim_end();
        match width_limit {
            Some(max) => out.push_str(&cut(line, max)),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The longest duration taken anywhere (100 years): a deadline further
/// than that would overflow a clock.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 86400);

/// Parse a human duration: "90s", "10m", "1h30m", "500ms", or plain
/// seconds; at most [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let d = if let Ok(secs) = t.parse::<f64>()
        && secs >= 0.0
        && secs.is_finite()
    {
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
    } else {
        humantime::parse_duration(t)
            .map_err(|e| format!("invalid duration {s:?}: {e} (try 90s, 10m, 1h30m)"))?
    };
    if d > MAX_DURATION {
        return Err(format!("invalid duration {s:?}: longer than 100 years"));
    }
    Ok(d)
}

/// A duration given to `flag`, or a usage error naming the flag.
pub fn duration_arg(flag: &str, value: &str) -> Result<Duration> {
    parse_duration(value).map_err(|e| Error::usage(format!("{flag}: {e}")))
}

/// A point in time as `logs --since/--until` take it, as docker does: a
/// duration before `now` (`10m`, `1h30m`), an RFC 3339 time with its zone
/// (`2026-12-02T10:00:00Z`, `2026-12-02 11:00:00.5+01:00`), or Unix
/// seconds (`1795000000`, `1795000000.25`).
pub fn parse_when(s: &str, now: SystemTime) -> Result<SystemTime, String> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let secs: f64 = t.parse().map_err(|_| format!("invalid time {s:?}"))?;
        let d = Duration::try_from_secs_f64(secs).map_err(|_| format!("invalid time {s:?}"))?;
        return SystemTime::UNIX_EPOCH
            .checked_add(d)
            .ok_or_else(|| format!("invalid time {s:?}"));
    }
    if t.len() >= 19 && t.as_bytes()[4] == b'-' {
        return parse_rfc3339(t).ok_or_else(|| {
            format!("invalid time {s:?} (try 2026-12-02T10:00:00Z or 2026-12-02T11:00:00+01:00)")
        });
    }
    let d = parse_duration(t).map_err(|_| {
        format!("invalid time {s:?} (try 10m, 1h30m, 2026-12-02T10:00:00Z or Unix seconds)")
    })?;
    Ok(now.checked_sub(d).unwrap_or(SystemTime::UNIX_EPOCH))
}

/// RFC 3339 with `Z` or a numeric offset (`+01:00`, `-0530`), a `T` or a
/// space between date and time, any fraction of a second.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let s = &s.to_ascii_uppercase();
    let (local, offset) = if let Some(rest) = s.strip_suffix('Z') {
        (rest, 0i64)
    } else {
        let at = s.get(19..)?.rfind(['+', '-'])? + 19;
        let (local, zone) = s.split_at(at);
        let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (h, m): (i64, i64) = (digits[..2].parse().ok()?, digits[2..].parse().ok()?);
        if h > 23 || m > 59 {
            return None;
        }
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        (local, sign * (h * 3600 + m * 60))
    };
    // humantime reads the local part exactly (it takes no zone but Z).
    let t = humantime::parse_rfc3339_weak(local).ok()?;
    let shift = Duration::from_secs(offset.unsigned_abs());
    if offset >= 0 {
        t.checked_sub(shift)
    } else {
        t.checked_add(shift)
    }
}

/// RFC 3339 in UTC with nanoseconds, always nine digits (docker's
/// `--timestamps`): `2026-12-02T10:00:00.123456789Z`. Times before 1970
/// or after 9999 are written as those ends.
pub fn rfc3339_nanos(t: SystemTime) -> String {
    let last = SystemTime::UNIX_EPOCH + Duration::new(253_402_300_799, 999_999_999);
    humantime::format_rfc3339_nanos(t.clamp(SystemTime::UNIX_EPOCH, last)).to_string()
}

/// "64MiB", "1M", "500KB", "4096": K/M/G and KiB/MiB/GiB are powers of
/// 1024, KB/MB/GB powers of 1000.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?} (try \"64MiB\" or \"500KB\")"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => {
            return Err(format!(
                "invalid size {s:?}: unknown unit {unit:?} (use KiB, MiB, GiB, KB, MB or GB)"
            ));
        }
    };
    Ok((n * mult as f64) as u64)
}

/// A size exactly, in the largest binary unit that divides it: "64MiB",
/// "4097" (as `config` shows `logs.max_size`).
pub fn size_exact(n: u64) -> String {
    for (unit, m) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if n >= m && n.is_multiple_of(m) {
            return format!("{}{unit}", n / m);
        }
    }
    n.to_string()
}

/// A window size, `COLSxROWS` (`--size 120x40`), each from 1 to
/// [`crate::proto::Size::MAX`].
pub fn parse_window(s: &str) -> Result<(u16, u16)> {
    let max = crate::proto::Size::MAX;
    let bad = || {
        Error::usage(format!(
            "invalid --size {s:?}: expected COLSxROWS, like 120x40, at most {max}x{max}"
        ))
    };
    let (c, r) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let c: u32 = c.trim().parse().map_err(|_| bad())?;
    let r: u32 = r.trim().parse().map_err(|_| bad())?;
    if c == 0 || r == 0 {
        return Err(bad());
    }
    if c > max.into() || r > max.into() {
        return Err(Error::usage(format!(
            "invalid --size {s:?}: the largest window is {max}x{max}"
        )));
    }
    Ok((c as u16, r as u16))
}

/// Quote a word for display the way a shell would need it.
pub fn shell_word(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(1258291), "1.2 MiB");
        assert_eq!(size(250 * 1024 * 1024), "250 MiB");
    }

    #[test]
    fn ages_use_the_words_of_the_configuration() {
        for (secs, want) in [
            (0, "0s"),
            (20, "20s"),
            (42, "42s"),
            (59, "59s"),
            (180, "3m"),
            (7200, "2h"),
            (7 * 86400, "7d"),
        ] {
            assert_eq!(short(Duration::from_secs(secs)), want);
            let t = SystemTime::now() - Duration::from_secs(secs);
            let rfc = humantime::format_rfc3339_seconds(t).to_string();
            assert_eq!(age(&rfc), want, "{secs}s");
            // Not "2just now" (20s once read "20s ago" with "0s ago" replaced).
            assert_eq!(ago(&rfc), format!("{want} ago"));
        }
        assert_eq!(age("not a time"), "?");
    }

    #[test]
    fn sanitizing_shows_control_characters() {
        assert_eq!(sanitize("plain text"), "plain text");
        assert_eq!(sanitize("\x1b]0;PWNED\x07\x1b[2J"), "\\e]0;PWNED?\\e[2J");
        assert_eq!(sanitize("a\nb\rc\td"), "a\\nb\\rc\\td");
        assert_eq!(sanitize("\x00\x7f\u{9b}x"), "???x");
        assert_eq!(sanitize("abc\u{202e}def"), "abc?def");
        assert_eq!(sanitize("日本 ünïcödé"), "日本 ünïcödé");
    }

    #[test]
    fn cutting_to_a_width() {
        assert_eq!(cut("hello", 10), "hello");
        assert_eq!(cut("hello", 5), "hello");
        assert_eq!(cut("hello world", 8), "hello w…");
        assert_eq!(width(&cut("hello world", 8)), 8);
        // Wide characters count twice and are never split.
        assert_eq!(cut("日本語のテキスト", 7), "日本語…");
        assert!(width(&cut("日本語のテキスト", 8)) <= 8);
        assert_eq!(cut("x", 0), "");
    }

    #[test]
    fn tables_align_and_cut() {
        let rows = vec![
            vec!["#".to_string(), "NAME".into(), "COMMAND".into()],
            vec!["0".into(), "web".into(), "a very long command line".into()],
        ];
        assert_eq!(
            table(&rows, None),
            "#  NAME  COMMAND\n0  web   a very long command line\n"
        );
        assert_eq!(
            table(&rows, Some(16)),
            "#  NAME  COMMAND\n0  web   a very…\n"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn exact_sizes() {
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("1.5K").unwrap(), 1536);
        assert_eq!(parse_size("500KB").unwrap(), 500_000);
        assert!(parse_size("12 parsecs").is_err());
        assert_eq!(size_exact(64 << 20), "64MiB");
        assert_eq!(size_exact(4097), "4097");
    }

    #[test]
    fn windows() {
        assert_eq!(parse_window("120x40").unwrap(), (120, 40));
        assert_eq!(parse_window("80X24").unwrap(), (80, 24));
        assert!(parse_window("80x0").is_err());
        assert!(parse_window("wide").is_err());
        assert_eq!(parse_window("1000x1000").unwrap(), (1000, 1000));
        for big in ["1001x24", "80x1001", "65535x65535", "99999x1"] {
            let e = parse_window(big).unwrap_err();
            assert_eq!(e.code(), 2);
            assert!(e.message().contains("1000x1000"), "{}", e.message());
        }
        assert!(parse_duration("1e30").is_err());
    }

    #[test]
    fn times_as_docker_takes_them() {
        let now = humantime::parse_rfc3339("2026-12-02T10:00:00Z").unwrap();
        let at = |s: &str| rfc3339_nanos(parse_when(s, now).unwrap());
        assert_eq!(at("10m"), "2026-12-02T09:50:00.000000000Z");
        assert_eq!(at("1h30m"), "2026-12-02T08:30:00.000000000Z");
        assert_eq!(at("2026-12-02T10:00:00Z"), "2026-12-02T10:00:00.000000000Z");
        assert_eq!(
            at("2026-12-02T11:00:00.5+01:00"),
            "2026-12-02T10:00:00.500000000Z"
        );
        assert_eq!(
            at("2026-12-02 04:30:00-0530"),
            "2026-12-02T10:00:00.000000000Z"
        );
        assert_eq!(
            at("2026-12-02t10:00:00.123456789z"),
            "2026-12-02T10:00:00.123456789Z"
        );
        assert_eq!(
            at("1970-01-01T00:00:00+01:00"),
            "1970-01-01T00:00:00.000000000Z"
        );
        assert_eq!(at("99999999999999"), "9999-12-31T23:59:59.999999999Z");
        assert_eq!(at("1795000000.25"), "2026-11-18T11:06:40.250000000Z");
        for bad in [
            "",
            "soon",
            "2026-12-02T10:00:00",
            "2026-12-02T10:00:00+1",
            "2026-12-02T10:00:00+24:00",
            "2026-13-02T10:00:00Z",
            "2026-12-02",
            "1.2.3",
        ] {
            assert!(parse_when(bad, now).is_err(), "{bad:?}");
        }
    }
}
