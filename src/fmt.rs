//! Human-readable sizes, ages and durations for listings, and the parsers
//! of sizes, durations and window sizes that flags and the configuration
//! take.

use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

/// 0 B, 512 B, 1.5K, 23M, 4.0G (like `ls -h`).
pub fn size(n: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
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
        format!("{v:.1}{}", UNITS[u])
    } else {
        format!("{v:.0}{}", UNITS[u])
    }
}

/// "just now", "42s ago", "3m ago", "5h ago", "2d ago".
pub fn ago(rfc3339: &str) -> String {
    let Ok(t) = humantime::parse_rfc3339(rfc3339) else {
        return "?".into();
    };
    let d = SystemTime::now()
        .duration_since(t)
        .unwrap_or(Duration::ZERO);
    format!("{} ago", short(d)).replace("0s ago", "just now")
}

/// 42s, 3m, 5h, 2d.
pub fn short(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
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
        assert_eq!(size(1536), "1.5K");
        assert_eq!(size(250 * 1024 * 1024), "250M");
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
}
